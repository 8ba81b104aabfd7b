"""Error codes of the GraphQL layer (`extensions.code` of GraphQL errors), and
the policy that gives every error a code and hides unexpected ones.

Mutation failures use `history.errors.HistoryErrorCode` in `OperationInfo`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import OperationalError
from graphql import GraphQLError, GraphQLSyntaxError
from psycopg.errors import QueryCanceled
from strawberry.extensions import SchemaExtension
from strawberry.relay import GlobalIDValueError
from strawberry.types.execution import PreExecutionError

from history.errors import BadInput
from schema.budget import RequestOverBudget


class AuthErrorCode(StrEnum):
    """Why a request or a login was refused."""

    UNAUTHENTICATED = "UNAUTHENTICATED"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    CSRF_FAILED = "CSRF_FAILED"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"


class RequestErrorCode(StrEnum):
    """Why a document could not run, or failed unexpectedly."""

    BAD_REQUEST = "BAD_REQUEST"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    BODY_TOO_LARGE = "BODY_TOO_LARGE"
    URI_TOO_LONG = "URI_TOO_LONG"
    TIMEOUT = "TIMEOUT"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")
REQUEST_ERROR_ATTRIBUTE = "graphql_request_error"
logger = logging.getLogger(__name__)


def _with_code(error: GraphQLError, code: str) -> GraphQLError:
    if not (error.extensions or {}).get("code"):
        error.extensions = {**(error.extensions or {}), "code": code}
    return error


def is_statement_timeout(error: BaseException | None) -> bool:
    """Whether the database cancelled a statement that overran its time budget
    (`DATABASE_STATEMENT_TIMEOUT_MS`, PostgreSQL only: SQLite has no statement
    timeout), or the request had spent its own (`DATABASE_REQUEST_BUDGET_MS`)."""
    return isinstance(error, RequestOverBudget) or (
        isinstance(error, OperationalError)
        and isinstance(error.__cause__, QueryCanceled)
    )


# Exceptions whose message is meant for the client: our own, and strawberry's
# for a global id that does not decode (`node(id: "...")`).
BAD_INPUT_ERRORS: tuple[type[Exception], ...] = (BadInput, GlobalIDValueError)


def is_bad_input(error: GraphQLError) -> bool:
    """Whether an error reports a client's malformed input, shown as it is."""
    return isinstance(error.original_error, BAD_INPUT_ERRORS)


def is_expected(error: GraphQLError) -> bool:
    """Whether an error is meant for the client (not a bug to hide).

    Errors graphql-core or our code made as `GraphQLError`s are; so are
    `BAD_INPUT_ERRORS` and spent time budgets. Any other exception is not, a
    plain `ValueError` included: its message may hold internals.
    """
    original = error.original_error
    return (
        original is None
        or isinstance(original, GraphQLError)
        or is_bad_input(error)
        or is_statement_timeout(original)
    )


def timeout_error(error: GraphQLError) -> GraphQLError:
    """The answer to a statement cancelled by the database's time budget, or
    refused because the request had spent its own."""
    if isinstance(error.original_error, RequestOverBudget):
        spent = (
            "The request spent its database time budget of "
            f"{settings.DATABASE_REQUEST_BUDGET_MS} ms; the rest of it did not run"
        )
    else:
        spent = (
            "The database did not answer within its time budget of "
            f"{settings.DATABASE_STATEMENT_TIMEOUT_MS} ms; the statement was cancelled"
        )
    return GraphQLError(
        f"{spent} and a change it belonged to rolled back. Ask for less (a narrower "
        "filter, a smaller page, fewer aliases) or try again later.",
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={"code": RequestErrorCode.TIMEOUT.value},
    )


class ErrorPolicy(SchemaExtension):
    """Give every error an `extensions.code`; in production, hide the details
    of unexpected errors (they are logged with their traceback) behind a short
    message carrying the request id, and drop "Did you mean ...?" suggestions.

    A document that fails to parse or validate is flagged on the request, so the
    HTTP layer can answer it with a 4xx status.
    """

    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context
        result = context.result
        if result is None or not result.errors:
            return
        request = getattr(context.context, "request", None)
        request_error = isinstance(result, PreExecutionError) or (
            # Variables that cannot be coerced: no data, no path, no other code.
            result.data is None
            and all(e.path is None and not (e.extensions or {}) for e in result.errors)
        )
        if request_error and request is not None:
            setattr(request, REQUEST_ERROR_ATTRIBUTE, True)
        result.errors = [
            self._policy(error, request_error=request_error, request=request)
            for error in result.errors
        ]

    def _policy(
        self, error: GraphQLError, *, request_error: bool, request: Any
    ) -> GraphQLError:
        if not settings.DEBUG:
            error.message = _SUGGESTION.sub("", error.message)
        if request_error:
            code = (
                RequestErrorCode.GRAPHQL_PARSE_FAILED
                if isinstance(error, GraphQLSyntaxError)
                else RequestErrorCode.GRAPHQL_VALIDATION_FAILED
            )
            return _with_code(error, code.value)
        if is_statement_timeout(error.original_error):
            # Expected under load, not a bug: no traceback, but worth a line.
            logger.warning(
                "Database time budget spent in request %s: %s",
                getattr(request, "request_id", ""),
                error.original_error,
            )
            return timeout_error(error)
        if is_expected(error):
            code = (
                RequestErrorCode.BAD_USER_INPUT
                if is_bad_input(error)
                else RequestErrorCode.BAD_REQUEST
            )
            return _with_code(error, code.value)
        if settings.DEBUG:
            return _with_code(error, RequestErrorCode.INTERNAL_SERVER_ERROR.value)
        request_id = getattr(request, "request_id", "")
        return GraphQLError(
            f"Unexpected error; quote request id {request_id} when reporting it.",
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={
                "code": RequestErrorCode.INTERNAL_SERVER_ERROR.value,
                "requestId": request_id,
            },
        )
