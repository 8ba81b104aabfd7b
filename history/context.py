"""The request context recorded on every version: user, IP, user agent, request id.

The middleware in `history.middleware` captures it once per request; simple-history's
`HistoryRequestMiddleware` keeps the request in an `asgiref.local.Local` that
follows the request into `sync_to_async` threads, so the version writer can read
it at save time without any resolver passing it around.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from django.http import HttpRequest
from simple_history.models import HistoricalRecords

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
MAX_USER_AGENT_LENGTH = 512


@dataclass(frozen=True)
class RequestContext:
    """What a version records about the request that made it."""

    ip_address: str | None
    user_agent: str
    request_id: str


def request_id_from(request: HttpRequest) -> str:
    """The client's `X-Request-ID` when it is well-formed, else a new UUID."""
    given = request.headers.get(REQUEST_ID_HEADER, "")
    if _REQUEST_ID_RE.match(given):
        return given
    return uuid.uuid4().hex


def request_context_from(request: HttpRequest) -> RequestContext:
    """Capture the context of a request."""
    return RequestContext(
        ip_address=request.META.get("REMOTE_ADDR") or None,
        user_agent=request.headers.get("User-Agent", "")[:MAX_USER_AGENT_LENGTH],
        request_id=getattr(request, "request_id", "") or request_id_from(request),
    )


def current_request_context() -> RequestContext | None:
    """The context of the request being served, or None outside a request."""
    request = getattr(HistoricalRecords.context, "request", None)
    if request is None:
        return None
    context = getattr(request, "history_context", None)
    if context is None:
        context = request_context_from(request)
    return context
