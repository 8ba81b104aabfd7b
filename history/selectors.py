"""Reads over the versions of any tracked model."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import models
from django.db.models import Q, QuerySet

from history.tracking import DELETED, NEWEST_FIRST, history_model_for, tracked_model_for


def history_versions(*, model: type[models.Model], pk: Any) -> QuerySet[Any]:
    """Every version of one object, newest first, deleted objects included."""
    history_model = history_model_for(model)
    pk_name = model._meta.pk.attname
    return history_model.objects.filter(**{pk_name: pk}).order_by(*NEWEST_FIRST)


def history_latest(*, model: type[models.Model], pk: Any) -> Any | None:
    """The newest version of one object, or None if it was never recorded."""
    return history_versions(model=model, pk=pk).first()


def history_as_of(
    *, model: type[models.Model], pk: Any, at: datetime.datetime
) -> Any | None:
    """The version of an object in force at `at`; None if it did not exist then."""
    version = history_versions(model=model, pk=pk).filter(history_date__lte=at).first()
    if version is None or version.history_type == DELETED:
        return None
    return version


def _neighbours(record: Any) -> QuerySet[Any]:
    model = tracked_model_for(type(record))
    return history_versions(model=model, pk=getattr(record, model._meta.pk.attname))


def history_previous(*, record: Any) -> Any | None:
    """The version of the same object just before `record`."""
    return (
        _neighbours(record)
        .filter(
            Q(history_date__lt=record.history_date)
            | Q(history_date=record.history_date, history_id__lt=record.history_id)
        )
        .first()
    )


def history_next(*, record: Any) -> Any | None:
    """The version of the same object just after `record`."""
    return (
        _neighbours(record)
        .filter(
            Q(history_date__gt=record.history_date)
            | Q(history_date=record.history_date, history_id__gt=record.history_id)
        )
        .order_by("history_date", "history_id")
        .first()
    )
