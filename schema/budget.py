"""The database time budget of one GraphQL request.

PostgreSQL's `statement_timeout` bounds each statement; a document of many
aliased fields runs many statements. Each request therefore also gets a total:
statements keep running while the request's time in the database is under
`DATABASE_REQUEST_BUDGET_MS`, and the next one after that is refused with
`RequestOverBudget` (answered as `TIMEOUT`), so a request spends at most its
budget plus one statement's timeout in the database.

The budget travels in a context variable, which asgiref copies into the
threads that run the request's queries; a wrapper on every connection of the
process reads it. Outside a GraphQL request there is no budget.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from time import perf_counter
from typing import Any

from django.db import connections
from django.db.backends.signals import connection_created
from django.db.utils import OperationalError


class RequestOverBudget(OperationalError):
    """The request has spent its database time budget."""


@dataclass
class Budget:
    """What one request may still spend in the database, in seconds."""

    limit: float
    spent: float = 0.0


_budget: ContextVar[Budget | None] = ContextVar("database_budget", default=None)


@contextmanager
def database_budget(milliseconds: int) -> Iterator[Budget | None]:
    """Give the code inside a database time budget (0: none)."""
    budget = Budget(limit=milliseconds / 1000) if milliseconds > 0 else None
    token = _budget.set(budget)
    try:
        yield budget
    finally:
        _budget.reset(token)


def _within_budget(
    execute: Callable[..., Any],
    sql: str,
    params: Any,
    many: bool,
    context: dict[str, Any],
) -> Any:
    budget = _budget.get()
    if budget is None:
        return execute(sql, params, many, context)
    if budget.spent >= budget.limit:
        raise RequestOverBudget(
            f"The request spent its database time budget of "
            f"{round(budget.limit * 1000)} ms."
        )
    started = perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        budget.spent += perf_counter() - started


def _install_on(sender: Any, connection: Any, **kwargs: Any) -> None:
    if _within_budget not in connection.execute_wrappers:
        connection.execute_wrappers.append(_within_budget)


def install() -> None:
    """Watch the budget on every database connection, open or to come."""
    for connection in connections.all(initialized_only=True):
        _install_on(None, connection)
    connection_created.connect(_install_on, dispatch_uid="schema.budget.install")
