"""The data stamp: one cheap statement whose answer changes whenever anything a
GraphQL query can read has changed, so that answers cached under it are never
served once stale.

What a query reads, and what moves the stamp when it changes:

- versions of every tracked model: appended, never changed (on PostgreSQL the
  guards refuse UPDATE and DELETE of versions, and refuse at commit a tracked
  row written without a version): the newest `history_id` of each historical
  table;
- signed checkpoints, appended only; every prune, the one delete of versions,
  writes one: the newest checkpoint id;
- everything else a query reads that records no version: the models named by
  the `RESPONSE_CACHE_WATCHED_MODELS` setting (users, groups, tags).
  Each save, delete or many-to-many change of one bumps the `DataStamp` row in
  the writing transaction, so the bump is visible exactly when the change is.

Versions get their ids from a sequence when written, not when committed: a
transaction that took id 10 may commit after one that took id 11 was read as
the newest. An answer stored meanwhile would miss version 10 under a stamp that
never moves again. So on PostgreSQL the statement also counts the other
transactions of this database that hold a transaction id (that have written);
an answer is stored only when there were none (`Stamp.settled`). SQLite has a
single writer, so its ids are taken in commit order.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, models, router
from django.db.models.signals import m2m_changed, post_delete, post_save

from responsecache.models import DataStamp

STAMP_ROW = 1
# Columns of watched models that no query reads: saving only these moves no
# stamp.
UNREAD_FIELDS = frozenset({"last_login"})
# Counts the transactions of this database, other than the caller's, that have
# written something and not ended (PostgreSQL).
WRITERS_IN_FLIGHT = (
    "(SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid())"
)


@dataclass(frozen=True)
class Stamp:
    """The data stamp as read.

    Attributes:
        value: Newest version id per tracked model, newest checkpoint id and
            the watched-writes counter, as text.
        settled: No other transaction of the database was writing when it was
            read: an answer computed now may be stored under it.
    """

    value: str
    settled: bool


def stamp_aliases() -> tuple[str, str]:
    """The database the stamp is read from, the primary (whose activity shows
    the writers in flight), and the one history reads go to (a replica, when
    the router sends them there; else the same)."""
    from history.selectors import tracked_models
    from history.tracking import history_model_for

    # Asked of no router: a router may count asking for the primary as a write.
    primary = DEFAULT_DB_ALIAS
    tracked = tracked_models()
    if not tracked:
        return primary, primary
    return primary, router.db_for_read(history_model_for(tracked[0]))


@functools.cache
def stamp_statement(alias: str, *, writers: bool = True) -> str:
    """The one SELECT that reads the stamp on database `alias` (with the
    count of writers in flight, on PostgreSQL, when `writers`)."""
    from history.models import Checkpoint
    from history.selectors import tracked_models
    from history.tracking import history_model_for

    connection = connections[alias]
    quote = connection.ops.quote_name

    def newest(model: type[models.Model]) -> str:
        column = quote(str(model._meta.pk.column))
        return f"(SELECT MAX({column}) FROM {quote(model._meta.db_table)})"

    parts = [newest(history_model_for(model)) for model in tracked_models()]
    parts.append(newest(Checkpoint))
    parts.append(
        f"(SELECT {quote('value')} FROM {quote(DataStamp._meta.db_table)} "
        f"WHERE {quote('id')} = {STAMP_ROW})"
    )
    if connection.vendor == "postgresql" and writers:
        parts.append(WRITERS_IN_FLIGHT)
        # Inside a transaction pg_stat_activity answers from a snapshot taken
        # at its first read; discarded first, it is read as it is now.
        return f"SELECT {', '.join(parts)} FROM pg_stat_clear_snapshot()"
    parts.append("0")
    return "SELECT " + ", ".join(parts)


def read_stamp() -> Stamp:
    """Read the data stamp: one statement, on the primary.

    With history reads on a replica, the replica's stamp is read too (a second
    statement): an answer computed from a replica that has not caught up with
    the primary is not stored, since the primary's stamp would outlive it.
    """
    primary, reads = stamp_aliases()
    with connections[primary].cursor() as cursor:
        cursor.execute(stamp_statement(primary))
        row = cursor.fetchone()
    assert row is not None
    *values, writers = row
    value = ".".join("-" if v is None else str(v) for v in values)
    settled = not writers
    if reads != primary and settled:
        with connections[reads].cursor() as cursor:
            cursor.execute(stamp_statement(reads, writers=False))
            replica_row = cursor.fetchone()
        assert replica_row is not None
        settled = list(replica_row[: len(values)]) == list(values)
    return Stamp(value=value, settled=settled)


def bump_stamp(*, using: str | None = None) -> None:
    """Move the watched-writes counter, in the caller's transaction.

    An upsert: if the row was deleted (a test database flushed), it is written
    anew from the clock in microseconds, above any value it held before.
    """
    alias = using or router.db_for_write(DataStamp)
    connection = connections[alias]
    quote = connection.ops.quote_name
    table = quote(DataStamp._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({quote('id')}, {quote('value')}) VALUES (%s, %s) "
            f"ON CONFLICT ({quote('id')}) DO UPDATE "
            f"SET {quote('value')} = {table}.{quote('value')} + 1",
            [STAMP_ROW, time.time_ns() // 1000],
        )


def _written(
    sender: Any,
    *,
    using: str | None = None,
    update_fields: frozenset[str] | None = None,
    **kwargs: Any,
) -> None:
    if update_fields is not None and update_fields <= UNREAD_FIELDS:
        # A login records its time; no query reads it.
        return
    bump_stamp(using=using)


def _relations_changed(
    sender: Any, *, action: str, using: str | None = None, **kwargs: Any
) -> None:
    if action in {"post_add", "post_remove", "post_clear"}:
        bump_stamp(using=using)


def watched_models() -> list[type[models.Model]]:
    """The models of the `RESPONSE_CACHE_WATCHED_MODELS` setting."""
    return [apps.get_model(label) for label in settings.RESPONSE_CACHE_WATCHED_MODELS]


def watch_models() -> None:
    """Bump the stamp on every save, delete and many-to-many change of a
    watched model (its own many-to-many fields: a user's groups and
    permissions, a group's permissions)."""
    for model in watched_models():
        label = model._meta.label_lower
        post_save.connect(_written, sender=model, dispatch_uid=f"stamp.save.{label}")
        post_delete.connect(
            _written, sender=model, dispatch_uid=f"stamp.delete.{label}"
        )
        for field in model._meta.many_to_many:
            through = field.remote_field.through
            m2m_changed.connect(
                _relations_changed,
                sender=through,
                dispatch_uid=f"stamp.m2m.{label}.{field.name}",
            )
