"""simple-history's records of many-to-many rows, for versions it did not write
itself (deletions)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from django.db import models

from history.tracking import m2m_fields, m2m_history_model


def _through_columns(field: models.ManyToManyField[Any, Any]) -> list[str]:
    through = cast(Any, field.remote_field).through
    return [f.attname for f in through._meta.concrete_fields]


def copy_m2m_rows(
    model: type[models.Model], *, source: Any, targets: Iterable[Any]
) -> None:
    """Record for each target version the many-to-many rows `source` recorded."""
    targets = list(targets)
    for field in m2m_fields(model):
        history_m2m = m2m_history_model(model, field)
        columns = _through_columns(field)
        rows = list(history_m2m.objects.filter(history=source).values(*columns))
        history_m2m.objects.bulk_create(
            history_m2m(history=target, **row) for target in targets for row in rows
        )
