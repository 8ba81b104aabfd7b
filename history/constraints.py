"""Check constraints evaluated in Python, where Django would ask the database.

Django validates a `CheckConstraint` with a query per constraint (`SELECT 1
WHERE <condition>`, in a savepoint of its own on PostgreSQL). A condition made
of plain comparisons of a field with a constant (`price__gte=0`,
`quantity__isnull=True`, ...) gives the same answer in Python, with SQL's
three-valued logic: a comparison with NULL is unknown, and a constraint fails
only when its condition is false. Anything else (expressions, joins, text
ordering, which depends on the database's collation) is left to Django.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Collection
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Q

_ORDERED = (int, float, Decimal, datetime.date, datetime.time, datetime.timedelta)
_COMPARISONS = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


class Unsupported(Exception):
    """A condition this module does not evaluate; Django's check runs instead."""


def _comparable(value: Any) -> bool:
    return isinstance(value, _ORDERED) and not isinstance(value, bool)


Evaluator = Callable[[models.Model], "bool | None"]


def _lookup(model: type[models.Model], path: str, expected: Any) -> Evaluator:
    """The evaluator of one `field__lookup=constant` of `model`.

    Raises:
        Unsupported: a lookup, field or value this module does not evaluate
            (an expression, a relation, ordering of non-numbers...); some only
            show with the instance's value, so the evaluator raises them too.
    """
    if hasattr(expected, "resolve_expression"):
        raise Unsupported(path)
    name, _, lookup = path.partition("__")
    lookup = lookup or "exact"
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist as error:
        raise Unsupported(path) from error
    if field.is_relation or not field.concrete:
        raise Unsupported(path)
    attname = field.attname
    if lookup == "isnull":
        wanted = bool(expected)
        return lambda instance: (getattr(instance, attname) is None) == wanted
    if lookup == "exact":
        if expected is None:
            return lambda instance: getattr(instance, attname) is None
        text = isinstance(expected, str)

        def exact(instance: models.Model) -> bool | None:
            value = getattr(instance, attname)
            if value is None:
                return None
            if isinstance(value, str) != text:
                raise Unsupported(path)
            return bool(value == expected)

        return exact
    if lookup in _COMPARISONS:
        compare = _COMPARISONS[lookup]
        if expected is None:
            return lambda instance: None
        ordered = _comparable(expected)

        def comparison(instance: models.Model) -> bool | None:
            value = getattr(instance, attname)
            if value is None:
                return None
            if not (ordered and _comparable(value)):
                raise Unsupported(path)
            return bool(compare(value, expected))

        return comparison
    raise Unsupported(path)


def _compile(condition: Q, model: type[models.Model]) -> Evaluator:
    """The evaluator of a condition on instances of `model`: True, False or
    None (unknown), with SQL's three-valued AND, OR and NOT. A condition with
    any part this module cannot evaluate is left to Django whole, before any
    part is evaluated.

    Raises:
        Unsupported: as `_lookup`.
    """
    children: list[Evaluator] = []
    for child in condition.children:
        if isinstance(child, Q):
            children.append(_compile(child, model))
        elif isinstance(child, tuple) and len(child) == 2:
            children.append(_lookup(model, *child))
        else:
            raise Unsupported(repr(child))
    if condition.connector not in (Q.AND, Q.OR):
        raise Unsupported(condition.connector)
    conjunction = condition.connector == Q.AND
    negated = condition.negated

    def evaluate(instance: models.Model) -> bool | None:
        # Every child is evaluated, so one the module cannot answer for this
        # instance is never skipped.
        results = [child(instance) for child in children]
        if conjunction:
            value = False if False in results else (None if None in results else True)
        else:
            value = True if True in results else (None if None in results else False)
        if negated and value is not None:
            value = not value
        return value

    return evaluate


def referenced_fields(condition: Q) -> set[str]:
    """The names of the fields a condition refers to."""
    names: set[str] = set()
    for child in condition.children:
        if isinstance(child, Q):
            names |= referenced_fields(child)
        elif isinstance(child, tuple) and len(child) == 2:
            names.add(child[0].partition("__")[0])
    return names


@dataclass(frozen=True)
class _Compiled:
    constraint: models.CheckConstraint  # kept, so its id is not reused
    names: frozenset[str]
    evaluate: Evaluator | None
    # Why it cannot be evaluated: the exception's arguments only, as its
    # traceback's frames would keep the instance first checked alive.
    unsupported: tuple[Any, ...] | None


# By (id of the constraint, model): constraints are declared once per process,
# and compared by value, not hashed. Emptied when it grows past
# `_COMPILED_MAX`, for constraints built on the fly.
_compiled: dict[tuple[int, type[models.Model]], _Compiled] = {}
_COMPILED_MAX = 256


def _compiled_check(
    constraint: models.CheckConstraint, model: type[models.Model]
) -> _Compiled:
    key = (id(constraint), model)
    compiled = _compiled.get(key)
    if compiled is None or compiled.constraint is not constraint:
        condition = Q(constraint.condition)
        try:
            evaluate: Evaluator | None = _compile(condition, model)
            unsupported = None
        except Unsupported as error:
            evaluate, unsupported = None, error.args
        compiled = _Compiled(
            constraint, frozenset(referenced_fields(condition)), evaluate, unsupported
        )
        if len(_compiled) >= _COMPILED_MAX:
            _compiled.clear()
        _compiled[key] = compiled
    return compiled


def check_passes(
    constraint: models.CheckConstraint,
    instance: models.Model,
    exclude: Collection[str] | None = None,
) -> bool:
    """Whether `instance` satisfies `constraint` (True, as Django's check does,
    when the constraint refers to an excluded field). Each constraint's
    condition is read once per model.

    Raises:
        Unsupported: the condition is not one this module evaluates.
    """
    compiled = _compiled_check(constraint, type(instance))
    if exclude and not compiled.names.isdisjoint(exclude):
        return True
    if compiled.evaluate is None:
        assert compiled.unsupported is not None
        # A new exception each time: one raised again would keep every
        # traceback (and the instances in its frames) it was ever raised with.
        raise Unsupported(*compiled.unsupported)
    return compiled.evaluate(instance) is not False
