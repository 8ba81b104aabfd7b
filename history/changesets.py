"""Changesets: everything one request, or one service call outside a request,
wrote.

`changeset_scope` opens one (the request middleware around each request, every
writing service around its call; a scope inside another is the outer one). Its
`Changeset` row is written lazily, by `changeset_for_version`, the first time a
version is written in it, and again (an INSERT that ignores conflicts) only
when the transaction that wrote it may have rolled back since: the row of every
version's changeset exists once that version commits.

The scope is a mutable holder in a `ContextVar`: a copy of the context (asgiref's
`sync_to_async` runs the view's database work in a thread with one) still holds
the same holder, so the request and its thread share one changeset.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from django.db import connections, router, transaction
from django.db.models.constants import OnConflict

from history.context import RequestContext
from history.models import Changeset


@dataclass
class _Scope:
    """The changeset being written and whether its row is known to exist."""

    id: uuid.UUID
    reason: str | None
    committed: bool = False
    # The on-commit callback registered with the row's insert: while Django
    # still holds it, the transaction (or savepoint) that wrote the row is
    # alive; gone without having run, it rolled back.
    marker: Callable[[], None] | None = None


_current: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar(
    "history_changeset", default=None
)


@contextmanager
def changeset_scope(*, reason: str | None = None) -> Iterator[uuid.UUID]:
    """Record the versions written inside as one changeset; yields its id.

    Usable as a decorator (`@changeset_scope()`). A scope opened inside another
    is the outer one: a service called during a request adds to the request's
    changeset.

    Args:
        reason: The changeset's reason; by default its first version's.
    """
    scope = _current.get()
    if scope is not None:
        yield scope.id
        return
    scope = _Scope(id=uuid.uuid4(), reason=reason)
    token = _current.set(scope)
    try:
        yield scope.id
    finally:
        _current.reset(token)


def current_changeset_id() -> uuid.UUID | None:
    """The id of the open changeset, or None outside any scope."""
    scope = _current.get()
    return None if scope is None else scope.id


def _row_written(scope: _Scope, using: str) -> bool:
    if scope.committed:
        return True
    pending = connections[using].run_on_commit
    return scope.marker is not None and any(
        entry[1] is scope.marker for entry in pending
    )


def _insert(
    changeset_id: uuid.UUID,
    version: Any,
    *,
    reason: str | None,
    context: RequestContext | None,
    using: str,
) -> None:
    row = Changeset(
        id=changeset_id,
        history_date=version.history_date,
        history_user_id=version.history_user_id,
        history_user_pk=version.history_user_pk,
        history_username=version.history_username,
        history_change_reason=reason
        if reason is not None
        else version.history_change_reason,
    )
    if context is not None:
        row.history_ip_address = context.ip_address
        row.history_user_agent = context.user_agent
        row.history_request_id = context.request_id
    _insert_ignoring_conflicts(row, using)


# The INSERT of a changeset's row, by database alias.
_INSERT_SQL: dict[str, str] = {}


def _insert_ignoring_conflicts(row: Changeset, using: str) -> None:
    """INSERT `row` unless a row with its id exists: the one statement
    `bulk_create(ignore_conflicts=True)` runs for it, its values prepared by
    their fields as there, without building the statement for every write."""
    connection = connections[using]
    fields = Changeset._meta.concrete_fields
    sql = _INSERT_SQL.get(using)
    if sql is None:
        ops = connection.ops
        columns = ", ".join(ops.quote_name(cast(str, field.column)) for field in fields)
        values = ", ".join(["%s"] * len(fields))
        suffix = ops.on_conflict_suffix_sql(fields, OnConflict.IGNORE, None, None)
        sql = (
            f"{ops.insert_statement(on_conflict=OnConflict.IGNORE)} "
            f"{ops.quote_name(Changeset._meta.db_table)} ({columns}) "
            f"VALUES ({values}) {suffix}"
        ).rstrip()
        _INSERT_SQL[using] = sql
    params = [
        field.get_db_prep_save(field.pre_save(row, True), connection)
        for field in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def changeset_for_version(*, version: Any, context: RequestContext | None) -> uuid.UUID:
    """The changeset a new version belongs to, its row written if need be.

    Outside any scope a version is a changeset of its own. The row takes the
    version's date, user and reason (the scope's reason, if it has one) and the
    request context.
    """
    using = router.db_for_write(Changeset)
    scope = _current.get()
    if scope is None:
        changeset_id = uuid.uuid4()
        _insert(changeset_id, version, reason=None, context=context, using=using)
        return changeset_id
    if not _row_written(scope, using):
        _insert(scope.id, version, reason=scope.reason, context=context, using=using)

        def committed() -> None:
            scope.committed = True

        scope.marker = committed
        transaction.on_commit(committed, using=using)
    return scope.id
