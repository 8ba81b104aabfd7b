"""What a tracked model records: its historical model and its tracked fields.

A model is tracked when it declares
`history = HistoricalRecords(related_name=..., bases=[VersionExtras])`. Fields
listed in simple-history's `excluded_fields` are never stored in versions; of the
stored ones, the editable fields are the ones diffed and reverted.
"""

from __future__ import annotations

import datetime
import functools
from decimal import Decimal
from typing import Any

from django.db import models

HistoryModel = type[models.Model]

CREATED = "+"
UPDATED = "~"
DELETED = "-"
NEWEST_FIRST = ("-history_date", "-history_id")
# The most fields a tracked model tracks, so the most changes one diff lists: the
# declared bound of `changes` lists (a test checks every tracked model).
MAX_CHANGES = 8
# The most text fields (`is_text`: the ones with segments) a tracked model tracks.
MAX_TEXT_FIELDS = 2
# The most items a tracked many-to-many field holds, so the most a diff lists
# as added or removed (a test checks every tracked model's limit).
MAX_M2M_ITEMS = 100


def history_model_for(model: type[models.Model]) -> Any:
    """The historical model of a tracked model."""
    attribute = getattr(model._meta, "simple_history_manager_attribute", None)
    if attribute is None:
        raise TypeError(f"{model.__name__} is not tracked by simple-history.")
    return _history_model(model, attribute)


@functools.cache
def _history_model(model: type[models.Model], attribute: str) -> Any:
    # simple-history's descriptor builds a manager class on every access
    # (about 120 us): the historical model it leads to never changes.
    return getattr(model, attribute).model


def is_tracked(model: type[models.Model]) -> bool:
    """Whether simple-history records versions of `model`."""
    return getattr(model._meta, "simple_history_manager_attribute", None) is not None


def history_view_permission(model: type[models.Model]) -> str:
    """The permission that lets a user read the versions of `model`."""
    return f"{model._meta.app_label}.view_historical{model._meta.model_name}"


def tracked_model_for(history_model: Any) -> type[models.Model]:
    """The tracked model a historical model records."""
    model: type[models.Model] = history_model.instance_type
    return model


@functools.cache
def tracked_fields(model: type[models.Model]) -> tuple[models.Field[Any, Any], ...]:
    """The fields a version of `model` diffs and reverts, in declaration order:
    its stored editable fields, then its tracked many-to-many fields."""
    stored = {field.name for field in history_model_for(model).tracked_fields}
    concrete = tuple(
        field
        for field in model._meta.concrete_fields
        if field.name in stored and field.editable and not field.primary_key
    )
    return concrete + m2m_fields(model)


@functools.cache
def m2m_fields(
    model: type[models.Model],
) -> tuple[models.ManyToManyField[Any, Any], ...]:
    """The many-to-many fields of `model` whose membership versions record."""
    return tuple(getattr(history_model_for(model), "_history_m2m_fields", ()))


def m2m_history_model(model: type[models.Model], field: models.Field[Any, Any]) -> Any:
    """simple-history's model recording the rows of a many-to-many field."""
    return getattr(history_model_for(model), field.name).model


def is_m2m(field: models.Field[Any, Any]) -> bool:
    """Whether a tracked field is a many-to-many relation."""
    return isinstance(field, models.ManyToManyField)


def is_foreign_key(field: models.Field[Any, Any]) -> bool:
    """Whether a tracked field points to one other object."""
    return isinstance(field, models.ForeignKey)


def tracked_field_names(model: type[models.Model]) -> list[str]:
    """The names of `model`'s tracked fields."""
    return [field.name for field in tracked_fields(model)]


def stored_fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    """Every non-key field a version of `model` stores, editable or not."""
    return [
        field
        for field in history_model_for(model).tracked_fields
        if not field.primary_key
    ]


def object_pk_of(record: Any) -> Any:
    """The primary key of the object a version records."""
    return getattr(record, tracked_model_for(type(record))._meta.pk.attname)


def is_numeric(field: models.Field[Any, Any]) -> bool:
    """Whether a field holds a number (and so gets a `delta`)."""
    return isinstance(
        field, models.IntegerField | models.DecimalField | models.FloatField
    )


def is_text(field: models.Field[Any, Any]) -> bool:
    """Whether a field holds free text (and so gets word-level segments)."""
    return (
        isinstance(field, models.CharField | models.TextField)
        and not field.choices
        and not field.is_relation
    )


def canonical_text(field: models.Field[Any, Any], value: Any) -> str | None:
    """A value's canonical text form: the form diffs store and clients see."""
    if value is None:
        return None
    if isinstance(field, models.DecimalField):
        number = Decimal(value)
        exponent = number.as_tuple().exponent
        if (
            not number.is_finite()
            or abs(number.adjusted()) > field.max_digits
            or (isinstance(exponent, int) and -exponent > field.decimal_places)
        ):
            return str(number)  # not a valid value of the field: never rounded
        return f"{number:.{field.decimal_places}f}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    return str(value)
