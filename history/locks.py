"""Locks that serialise the writers of tracked objects, rows or not."""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import Any

from django.db import connection, models


def lock_key(model: type[models.Model], pk: Any) -> int:
    """The advisory-lock key of one object: its model and primary key, hashed."""
    label = zlib.crc32(model._meta.label_lower.encode())
    return ((label << 32) | (zlib.crc32(str(pk).encode()) & 0xFFFFFFFF)) - (1 << 63)


def lock_objects(
    model: type[models.Model], pks: Iterable[Any], *, shared: bool = False
) -> None:
    """Serialise writers of some objects, whether or not their rows exist.

    On PostgreSQL, transaction-scoped advisory locks on (model, pk) cover deleted
    objects too, whose restore has no row to lock; they are taken in one
    statement, in key order, so that concurrent callers cannot deadlock.
    SQLite runs one writing transaction at a time anyway.

    `shared` locks are for writers that only point to the objects (an object
    put into a group): they do not wait for each other, only for holders of
    the exclusive lock (a writer or deleter of the object itself), so an object
    cannot be deleted while a reference to it is being written.
    """
    keys = sorted({lock_key(model, pk) for pk in pks if pk is not None})
    if connection.vendor != "postgresql" or not keys:
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {function}(key) FROM unnest(%s::bigint[]) AS key ORDER BY key",
            [keys],
        )


def lock_object(model: type[models.Model], pk: Any, *, shared: bool = False) -> None:
    """Serialise writers of one object; see `lock_objects`."""
    lock_objects(model, [pk], shared=shared)
