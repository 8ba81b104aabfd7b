"""Stable error codes of history operations and the exceptions that carry them.

Expected failures are Django `ValidationError` or `PermissionDenied` with one of
these codes; the GraphQL layer turns them into `OperationInfo` messages. A
client's malformed input outside a mutation payload is a `BadInput`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError


class HistoryErrorCode(StrEnum):
    """What went wrong, for clients to branch on."""

    NOT_FOUND = "NOT_FOUND"
    RECORD_MISMATCH = "RECORD_MISMATCH"
    STALE = "STALE"
    REASON_REQUIRED = "REASON_REQUIRED"
    UNKNOWN_FIELD = "UNKNOWN_FIELD"
    NOTHING_TO_REVERT = "NOTHING_TO_REVERT"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    INVALID = "INVALID"
    RELATED_DELETED = "RELATED_DELETED"


class BadInput(ValueError):
    """A client's mistake in what it sent (a value no field can hold), told to
    the client as it is.

    Only this exception's message reaches the client: any other exception,
    a plain `ValueError` included, is a bug, answered as an unexpected error
    and logged with its traceback.
    """


class OperationDenied(PermissionDenied):
    """The actor may not do this."""

    code = HistoryErrorCode.PERMISSION_DENIED.value

    def __init__(self, message: str = "You do not have permission to do this.") -> None:
        super().__init__(message)
        self.msg = message


def operation_error(
    code: HistoryErrorCode, message: str, *, field: str | None = None
) -> ValidationError:
    """A `ValidationError` with a stable code, attached to `field` when given."""
    error = ValidationError(message, code=code)
    if field is None:
        return error
    return ValidationError({field: [error]})


def as_invalid(error: ValidationError) -> ValidationError:
    """Re-code model validation errors as INVALID, keeping fields and messages."""
    if not hasattr(error, "error_dict"):
        return ValidationError(" ".join(error.messages), code=HistoryErrorCode.INVALID)
    fields: dict[str, Any] = {
        name: [
            ValidationError(e.message, code=HistoryErrorCode.INVALID, params=e.params)
            for e in errors
        ]
        for name, errors in error.error_dict.items()
    }
    return ValidationError(fields)
