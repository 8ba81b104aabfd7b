"""Execution with a short path for plain leaf fields.

graphql-core executes every field alike: it builds a path and a resolve info,
calls the resolver, and completes the value through the type's dispatch. For a
leaf that only reads an attribute (a version's `historyDate`, a change's
`oldValue`) that machinery is most of the cost of a large answer: a page of
50 products with 20 versions each holds about 10,000 such leaves.

`LeanExecutionContext` reads those leaves directly: the value the field's own
resolver would return, coerced by the field's own scalar. Whenever the
short path cannot be sure of giving the same answer (a read that raises, a
null in a non-null field, a value other than a string, number, boolean, date,
decimal or enum member, a value the scalar refuses, a column not loaded yet, a
field with arguments, a resolver, a permission or any other field extension,
a schema extension that wraps every resolver) the field goes the ordinary
way, so errors and their paths are graphql-core's own.
"""

from __future__ import annotations

import datetime
import decimal
import inspect
from collections.abc import Callable
from enum import Enum
from typing import Any

from django.db.models import FileField
from django.db.models.query_utils import DeferredAttribute
from graphql import (
    GraphQLField,
    GraphQLObjectType,
    Undefined,
    get_nullable_type,
    is_leaf_type,
    is_non_null_type,
)
from graphql.execution.collect_fields import GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry_django.fields.field import StrawberryDjangoField

# What a short read returns when the field must go the ordinary way.
ORDINARY: Any = object()
# A short read: the source object in, the coerced value (or ORDINARY) out.
Read = Callable[[Any], Any]

_NOT_PLANNED: Any = object()
# Where a field keeps its short reads, by class of source object.
PLANS_ATTRIBUTE = "_short_reads"
# The classes of value a short read coerces itself (besides enum members).
PLAIN_VALUES = frozenset(
    {str, int, float, bool, decimal.Decimal, datetime.datetime, datetime.date}
)


def _column_reader(definition: Any, source_class: type) -> Read | None:
    """A strawberry-django field that returns a loaded model column as it is:
    what its `get_result` does when the value is in the instance's `__dict__`."""
    if (
        type(definition).get_result is not StrawberryDjangoField.get_result
        or definition.base_resolver is not None
        or definition.extensions
        or definition.is_relation
        or definition.is_async
    ):
        return None
    name = definition.django_name or definition.python_name
    attribute = getattr(source_class, name, None)
    if type(attribute) is not DeferredAttribute or isinstance(
        attribute.field, FileField
    ):
        return None
    column = attribute.field.attname

    def read(source: Any) -> Any:
        return source.__dict__.get(column, ORDINARY)

    return read


def _reader(field: GraphQLField, source_class: type) -> Read | None:
    """How to read a field's raw value without its resolve info, if there is a
    way that returns exactly what its resolver would."""
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if isinstance(definition, StrawberryDjangoField):
        return _column_reader(definition, source_class)
    resolve = field.resolve
    if getattr(resolve, "__name__", None) == "_get_basic_result":
        # strawberry's resolver for a basic field (no resolver, extension or
        # exception handler): the attribute, no info used.
        return lambda source: resolve(source, None)  # type: ignore[misc]
    return None


def plan(field: GraphQLField, source_class: type) -> Read | None:
    """The short read of a leaf field on objects of `source_class`, or None
    when the field always goes the ordinary way."""
    if field.args or not is_leaf_type(get_nullable_type(field.type)):
        return None
    read = _reader(field, source_class)
    if read is None:
        return None
    non_null = is_non_null_type(field.type)
    coerce = get_nullable_type(field.type).coerce_output_value  # type: ignore[union-attr]

    def short(source: Any) -> Any:
        try:
            value = read(source)
        except Exception:  # the ordinary way raises it again, at its path
            return ORDINARY
        if value is None:
            return ORDINARY if non_null else None
        if value.__class__ not in PLAIN_VALUES and not isinstance(value, Enum):
            # ORDINARY itself, an awaitable, an exception as a value, Undefined
            # or anything else: the ordinary way decides what it means.
            if inspect.iscoroutine(value):
                value.close()  # the ordinary way calls the resolver again
            return ORDINARY
        try:
            coerced = coerce(value)
        except Exception:  # the ordinary way reports it, at its path
            return ORDINARY
        if coerced is None or coerced is Undefined:
            return ORDINARY
        return coerced

    return short


def short_read(field: GraphQLField, source_class: type) -> Read | None:
    """`plan(field, source_class)`, made once: kept on the field, which lives
    as long as its schema."""
    plans: dict[type, Read | None] | None = vars(field).get(PLANS_ATTRIBUTE)
    if plans is None:
        plans = vars(field).setdefault(PLANS_ATTRIBUTE, {})
    short = plans.get(source_class, _NOT_PLANNED)
    if short is _NOT_PLANNED:
        short = plans[source_class] = plan(field, source_class)
    return short


class LeanExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's execution, with plain leaf fields read directly."""

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        manager = self.middleware_manager
        if manager is not None and manager.middlewares:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        # graphql-core's `execute_fields`, with the short path first.
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        source_class = type(source_value)
        get_field = self.schema.get_field
        try:
            for response_name, field_details_list in grouped_field_set.items():
                field_name = field_details_list[0].node.name.value
                if field_name == "__typename":
                    results[response_name] = parent_type.name
                    continue
                field = get_field(parent_type, field_name)
                if field is not None:
                    short = short_read(field, source_class)
                    if short is not None:
                        value = short(source_value)
                        if value is not ORDINARY:
                            results[response_name] = value
                            continue
                result = self.execute_field(
                    parent_type,
                    source_value,
                    field_details_list,
                    Path(path, response_name, parent_type.name),
                    position_context,
                )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background(
                    [results[field] for field in awaitable_fields]
                )
            raise
        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                field = awaitable_fields[0]
                results[field] = await results[field]
            else:
                awaited: list[Any] = await gather_with_cancel(
                    *(results[field] for field in awaitable_fields)
                )
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()
