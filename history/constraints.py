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
from collections.abc import Collection
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


def _lookup(instance: models.Model, path: str, expected: Any) -> bool | None:
    if hasattr(expected, "resolve_expression"):
        raise Unsupported(path)
    name, _, lookup = path.partition("__")
    lookup = lookup or "exact"
    try:
        field = instance._meta.get_field(name)
    except FieldDoesNotExist as error:
        raise Unsupported(path) from error
    if field.is_relation or not field.concrete:
        raise Unsupported(path)
    value = getattr(instance, field.attname)
    if lookup == "isnull":
        return (value is None) == bool(expected)
    if lookup == "exact":
        if expected is None:
            return value is None
        if value is None:
            return None
        if isinstance(value, str) != isinstance(expected, str):
            raise Unsupported(path)
        return bool(value == expected)
    if lookup in _COMPARISONS:
        if value is None or expected is None:
            return None
        if not (_comparable(value) and _comparable(expected)):
            raise Unsupported(path)
        return bool(_COMPARISONS[lookup](value, expected))
    raise Unsupported(path)


def _evaluate(condition: Q, instance: models.Model) -> bool | None:
    results: list[bool | None] = []
    for child in condition.children:
        if isinstance(child, Q):
            results.append(_evaluate(child, instance))
        elif isinstance(child, tuple) and len(child) == 2:
            results.append(_lookup(instance, *child))
        else:
            raise Unsupported(repr(child))
    if condition.connector == Q.AND:
        value = False if False in results else (None if None in results else True)
    elif condition.connector == Q.OR:
        value = True if True in results else (None if None in results else False)
    else:
        raise Unsupported(condition.connector)
    if condition.negated and value is not None:
        value = not value
    return value


def referenced_fields(condition: Q) -> set[str]:
    """The names of the fields a condition refers to."""
    names: set[str] = set()
    for child in condition.children:
        if isinstance(child, Q):
            names |= referenced_fields(child)
        elif isinstance(child, tuple) and len(child) == 2:
            names.add(child[0].partition("__")[0])
    return names


def check_passes(
    constraint: models.CheckConstraint,
    instance: models.Model,
    exclude: Collection[str] | None = None,
) -> bool:
    """Whether `instance` satisfies `constraint` (True, as Django's check does,
    when the constraint refers to an excluded field).

    Raises:
        Unsupported: the condition is not one this module evaluates.
    """
    condition = Q(constraint.condition)
    if exclude and referenced_fields(condition) & set(exclude):
        return True
    return _evaluate(condition, instance) is not False
