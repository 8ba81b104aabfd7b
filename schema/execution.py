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

Fields of object and list types (an edge's `node`, a version's `historyUser`
and `changes`) keep graphql-core's completion, but skip strawberry's resolver
machinery (its `Info`, argument conversion and extension chain) where that
machinery would only call what the short path calls itself: an attribute, a
relation already loaded with its object, or a resolver marked `plain_when`
that takes nothing but the object, given no arguments.
"""

from __future__ import annotations

import datetime
import decimal
import inspect
import operator
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol, TypeVar, runtime_checkable

from django.db.models import FileField, QuerySet
from django.db.models.fields.related_descriptors import ForwardManyToOneDescriptor
from django.db.models.manager import BaseManager
from django.db.models.query_utils import DeferredAttribute
from graphql import (
    GraphQLField,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    Undefined,
    get_nullable_type,
    is_leaf_type,
    is_non_null_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.execution.executor import to_nodes
from graphql.pyutils import AwaitableOrValue, Path, UndefinedType, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField
from strawberry.types.fields.resolver import (
    INFO_PARAMSPEC,
    PARENT_PARAMSPEC,
    ROOT_PARAMSPEC,
    SELF_PARAMSPEC,
)
from strawberry_django.fields.base import StrawberryDjangoFieldBase
from strawberry_django.fields.field import StrawberryDjangoField

# What a short read returns when the field must go the ordinary way.
ORDINARY: Any = object()
# A short read: the source object in, the coerced value (or ORDINARY) out.
Read = Callable[[Any], Any]
Resolver = TypeVar("Resolver", bound=Callable[..., Any])

# Where a field keeps its plans, by class of source object.
PLANS_ATTRIBUTE = "_lean_plans"
# The classes of value a short read coerces itself (besides enum members).
PLAIN_VALUES = frozenset(
    {str, int, float, bool, decimal.Decimal, datetime.datetime, datetime.date}
)


@runtime_checkable
class LoadedRead(Protocol):
    """A strawberry-django field class whose `get_result` differs from its
    base's only by what it makes of the loaded value: `loaded_read` wraps the
    base's short read (whose ORDINARY it must pass on) in the same change."""

    def loaded_read(self, read: Read) -> Read: ...


def _loaded_reader(definition: Any, source_class: type) -> Read | None:
    """A strawberry-django field without a resolver over a model column or a
    forward relation: what its `get_result` returns when the column, or the
    related object, is already loaded in the instance."""
    own_result = type(definition).get_result is not StrawberryDjangoField.get_result
    if (
        (own_result and not isinstance(definition, LoadedRead))
        or definition.base_resolver is not None
        or definition.extensions
        or definition.is_async
    ):
        return None
    name = definition.django_name or definition.python_name
    attribute = getattr(source_class, name, None)
    read: Read
    if type(attribute) is DeferredAttribute and not isinstance(
        attribute.field, FileField
    ):
        column = attribute.field.attname

        def read(source: Any) -> Any:
            return source.__dict__.get(column, ORDINARY)

    elif type(attribute) is ForwardManyToOneDescriptor:
        cached = attribute.field.get_cached_value

        def read(source: Any) -> Any:
            return cached(source, ORDINARY)

    else:
        return None
    return definition.loaded_read(read) if own_result else read


class PlainResultError(TypeError):
    """A resolver marked `plain_when` returned what strawberry-django would go
    on to work on."""


def plain_when(ready: Callable[[Any], bool]) -> Callable[[Resolver], Resolver]:
    """Mark the resolver of a strawberry-django field as one that, called on an
    object for which `ready(object)` holds, needs no `Info`, runs no query and
    returns the field's value itself: never a query set, a manager or an
    awaitable, which strawberry-django would go on to filter or await. The
    short path then calls it directly (see `_resolver_reader`); on other
    objects the field goes the ordinary way."""

    def mark(resolver: Resolver) -> Resolver:
        resolver.plain_when = ready  # type: ignore[attr-defined]
        return resolver

    return mark


def _resolver_reader(definition: Any, field: GraphQLField) -> Read | None:
    """A strawberry-django field whose resolver is marked `plain_when` and
    takes only the object (as `self` or `root`), never an `Info`: called with
    the object alone, as strawberry calls it when the document gives it no
    arguments (and the schema gives them no defaults), on the objects its mark
    says are ready; the others go the ordinary way."""
    resolver = definition.base_resolver
    field_class = type(definition)
    if (
        resolver is None
        or field_class.get_result is not StrawberryDjangoField.get_result
        or field_class.resolver is not StrawberryDjangoFieldBase.resolver
        or field_class.safe_resolver is not StrawberryDjangoFieldBase.safe_resolver
        or definition.extensions
        or definition.is_async
        or resolver.is_async
    ):
        return None
    function = resolver.wrapped_func
    ready = getattr(function, "plain_when", None)
    if ready is None:
        return None
    reserved = resolver.reserved_parameters
    if reserved.get(INFO_PARAMSPEC) is not None or reserved.get(PARENT_PARAMSPEC):
        return None
    self_parameter = reserved.get(SELF_PARAMSPEC)
    root_parameter = reserved.get(ROOT_PARAMSPEC)
    objects = (self_parameter is not None) + (root_parameter is not None)
    if len(resolver.signature.parameters) != objects + len(resolver.arguments):
        return None
    # As strawberry's `get_arguments` passes the object: first for `self`,
    # by name for `root`.
    call: Read
    if self_parameter is not None and root_parameter is None:
        call = function
    elif self_parameter is None and root_parameter is not None:
        name = root_parameter.name

        def call(source: Any) -> Any:
            return function(**{name: source})

    else:
        return None

    def read(source: Any) -> Any:
        if not ready(source):
            return ORDINARY
        result = call(source)
        if isinstance(result, BaseManager | QuerySet) or inspect.isawaitable(result):
            if inspect.iscoroutine(result):
                result.close()
            raise PlainResultError(
                f"{resolver.name} is marked plain_when but returned "
                f"{type(result).__name__}"
            )
        return result

    return read


def _reader(field: GraphQLField, source_class: type) -> Read | None:
    """How to read a field's raw value without its resolve info, if there is a
    way that returns exactly what its resolver would: returning ORDINARY when,
    for this source, there is not (no resolver-calling read does)."""
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if isinstance(definition, StrawberryDjangoField):
        return _loaded_reader(definition, source_class)
    resolve = field.resolve
    if getattr(resolve, "__name__", None) != "_get_basic_result":
        return None
    # strawberry's resolver for a basic field (no resolver, extension or
    # exception handler): its `get_result`, no info used. That of a plain
    # `StrawberryField` is the default resolver, `getattr` unless configured.
    if (
        isinstance(definition, StrawberryField)
        and type(definition).get_result is StrawberryField.get_result
        and definition.base_resolver is None
        and definition.default_resolver is getattr
    ):
        return operator.attrgetter(definition.python_name)
    return lambda source: resolve(source, None)  # type: ignore[misc]


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


def plan_raw(
    field: GraphQLField, source_class: type, *, resolvers: bool
) -> Read | None:
    """The read of a field of an object or list type on objects of
    `source_class` that returns what its resolver would (or ORDINARY), or None
    when the field always goes the ordinary way. `resolvers`: whether
    resolvers may be called directly (not when the schema has exception
    handlers, which strawberry's resolver machinery applies)."""
    if is_leaf_type(get_nullable_type(field.type)) or any(
        # Left out of the document, such an argument still reaches the
        # resolver: the ordinary way passes it.
        argument.default_value is not Undefined
        for argument in field.args.values()
    ):
        return None
    read = _reader(field, source_class)
    if read is not None or not resolvers:
        return read
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if isinstance(definition, StrawberryDjangoField):
        return _resolver_reader(definition, field)
    return None


@dataclass(frozen=True, slots=True)
class FieldPlan:
    """How a field is executed on objects of one class: a leaf's short read
    (coerced), or the raw read of a field of an object or list type; at most
    one of them, or neither (the ordinary way)."""

    leaf: Read | None
    raw: Read | None


NO_PLAN = FieldPlan(leaf=None, raw=None)


def field_plan(
    field: GraphQLField, source_class: type, *, resolvers: bool
) -> FieldPlan:
    """The field's plan for objects of `source_class`, made once: kept on the
    field, which lives as long as its schema (`resolvers`: whether its
    schema's resolvers may be called directly, the same for every call)."""
    plans: dict[type, FieldPlan] | None = vars(field).get(PLANS_ATTRIBUTE)
    if plans is None:
        plans = vars(field).setdefault(PLANS_ATTRIBUTE, {})
    made = plans.get(source_class)
    if made is None:
        try:
            made = FieldPlan(
                leaf=plan(field, source_class),
                raw=plan_raw(field, source_class, resolvers=resolvers),
            )
        except Exception:  # e.g. a class attribute that raises when read
            made = NO_PLAN
        plans[source_class] = made
    return made


def resolvers_callable_directly(schema: GraphQLSchema) -> bool:
    """Whether strawberry's machinery around a resolver is only a call for
    `schema`: not when it has exception handlers to apply (or when this
    strawberry keeps them where this function does not look)."""
    strawberry_schema = getattr(schema, "_strawberry_schema", None)
    converter = getattr(strawberry_schema, "schema_converter", None)
    handlers = getattr(converter, "_exception_handler_specs", None)
    return handlers is not None and not handlers


# A grouped field set's plan on one class of object: per response name, the
# field's nodes, its definition (TYPENAME for `__typename`, None when the
# schema has no such field) and how it is executed.
TYPENAME: Any = object()
Planned = tuple[str, FieldDetailsList, Any, FieldPlan]


class LeanExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's execution, with plain leaf fields read directly and
    fields of object and list types read past strawberry's resolver machinery
    where it would only call what the read calls."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.resolvers_direct = resolvers_callable_directly(self.schema)
        # By (parent type, grouped field set, class of object): the grouped
        # field set (kept, so its id is not reused) and its plan.
        self._planned: dict[
            tuple[GraphQLObjectType, int, type], tuple[GroupedFieldSet, list[Planned]]
        ] = {}

    def plan_fields(
        self,
        parent_type: GraphQLObjectType,
        grouped_field_set: GroupedFieldSet,
        source_class: type,
    ) -> list[Planned]:
        """The plan of a grouped field set on objects of `source_class`, made
        once per request (graphql-core collects a selection's fields once, and
        hands every object of a list the same grouped field set)."""
        key = (parent_type, id(grouped_field_set), source_class)
        made = self._planned.get(key)
        if made is not None:
            return made[1]
        get_field = self.schema.get_field
        planned: list[Planned] = []
        for response_name, field_details_list in grouped_field_set.items():
            node = field_details_list[0].node
            field_name = node.name.value
            if field_name == "__typename":
                planned.append((response_name, field_details_list, TYPENAME, NO_PLAN))
                continue
            field = get_field(parent_type, field_name)
            how = NO_PLAN
            if field is not None:
                how = field_plan(field, source_class, resolvers=self.resolvers_direct)
                if node.arguments and how.raw is not None:
                    how = FieldPlan(leaf=how.leaf, raw=None)
            planned.append((response_name, field_details_list, field, how))
        self._planned[key] = (grouped_field_set, planned)
        return planned

    def execute_planned(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
        field_def: GraphQLField,
        read: Read | None,
    ) -> AwaitableOrValue[Any] | UndefinedType:
        """`execute_field` of a field whose raw read is `read` (None: the
        ordinary way)."""
        if read is None:
            return super().execute_field(
                parent_type, source, field_details_list, path, position_context
            )
        return_type = field_def.type
        try:
            result = read(source)
            if result is ORDINARY:
                return super().execute_field(
                    parent_type, source, field_details_list, path, position_context
                )
            info = self.build_resolve_info(
                field_def, to_nodes(field_details_list), parent_type, path
            )
            if self.is_awaitable(result):
                return self.complete_awaitable_value(
                    return_type,
                    field_details_list,
                    info,
                    path,
                    result,
                    position_context,
                )
            completed = self.complete_value(
                return_type, field_details_list, info, path, result, position_context
            )
            if self.is_awaitable(completed):
                return self._settle(completed, return_type, field_details_list, path)
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
        return completed

    async def _settle(
        self,
        completed: Awaitable[Any],
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        path: Path,
    ) -> Any:
        """`completed`, or null with its error recorded at `path`."""
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None

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
        # graphql-core's `execute_fields`, with the planned ways first.
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        planned = self.plan_fields(parent_type, grouped_field_set, type(source_value))
        try:
            for response_name, field_details_list, field, how in planned:
                if field is TYPENAME:
                    results[response_name] = parent_type.name
                    continue
                if field is None:  # graphql-core leaves it out
                    continue
                if how.leaf is not None:
                    value = how.leaf(source_value)
                    if value is not ORDINARY:
                        results[response_name] = value
                        continue
                result = self.execute_planned(
                    parent_type,
                    source_value,
                    field_details_list,
                    Path(path, response_name, parent_type.name),
                    position_context,
                    field,
                    how.raw,
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
