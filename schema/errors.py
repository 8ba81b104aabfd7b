"""Error codes of the GraphQL layer (`extensions.code` of GraphQL errors).

Mutation failures use `history.errors.HistoryErrorCode` in `OperationInfo`.
"""

from enum import StrEnum


class AuthErrorCode(StrEnum):
    """Why a request or a login was refused."""

    UNAUTHENTICATED = "UNAUTHENTICATED"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    CSRF_FAILED = "CSRF_FAILED"
    PERMISSION_DENIED = "PERMISSION_DENIED"
