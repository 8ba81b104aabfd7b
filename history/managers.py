"""Querysets of tracked models that refuse writes which would skip history.

`QuerySet.update()`, `bulk_update()` and `bulk_create()` write rows without
saving instances, so simple-history records nothing. On a tracked model they
raise `UntrackedWriteError`, unless a service runs them inside `tracked_bulk()`
and records the versions itself (`history.bulk.history_bulk_create` and
`history_bulk_update`).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import models

_bulk_allowed: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "history_bulk_allowed", default=False
)


class UntrackedWriteError(RuntimeError):
    """A bulk write that would change a tracked model without recording versions."""


@contextmanager
def tracked_bulk() -> Iterator[None]:
    """Allow bulk writes to tracked models for code that records their versions."""
    token = _bulk_allowed.set(True)
    try:
        yield
    finally:
        _bulk_allowed.reset(token)


def _refuse(queryset: models.QuerySet[Any], operation: str) -> None:
    if _bulk_allowed.get():
        return
    label = queryset.model._meta.label
    raise UntrackedWriteError(
        f"{label}.objects.{operation}() would change {label} without recording "
        "its history. Save instances through the model's services, or use "
        "history.bulk.history_bulk_create / history_bulk_update, which record "
        "complete, chained versions inside history.managers.tracked_bulk()."
    )


class TrackedQuerySet(models.QuerySet[Any]):
    """A queryset whose bulk writes must go through history-recording code."""

    def update(self, **kwargs: Any) -> int:
        _refuse(self, "update")
        return super().update(**kwargs)

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        _refuse(self, "bulk_update")
        return super().bulk_update(objs, fields, batch_size=batch_size)

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[Any]:
        _refuse(self, "bulk_create")
        return super().bulk_create(objs, *args, **kwargs)


class TrackedManager(models.Manager.from_queryset(TrackedQuerySet)):  # type: ignore[misc]
    """The default manager of a tracked model."""
