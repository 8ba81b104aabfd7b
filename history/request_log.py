"""One log line per request, in plain text or JSON lines.

`RequestLogMiddleware` writes the line when the response is ready: method,
path, status, duration in milliseconds, the view's operation name (the GraphQL
view records it in `OPERATION_ATTRIBUTE`), the user and the request id. Django's
own `django.request` warnings and uvicorn's access log repeat the same facts and
are switched off (see `LOGGING` in `config/settings.py` and `make run`); server
errors still log their traceback through `django.request`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.decorators import sync_and_async_middleware
from django.utils.functional import LazyObject, empty

Handler = Callable[[HttpRequest], Any]

logger = logging.getLogger("requests")

# The attribute of the request in which a view names the operation it ran.
OPERATION_ATTRIBUTE = "log_operation"
# The fields of a request's line, in order; `JsonFormatter` writes them as keys.
REQUEST_FIELDS = (
    "method",
    "path",
    "status",
    "duration_ms",
    "operation",
    "user",
    "request_id",
)


def username_of(request: HttpRequest) -> str:
    """Who made the request, without a database query: the user the request
    already loaded (`-` if none was), `anonymous`, or the username."""
    user = request.__dict__.get("user")
    if isinstance(user, LazyObject) and user._wrapped is empty:
        # Not read in sync code; `await request.auser()` caches it here.
        user = getattr(request, "_acached_user", None)
    if user is None:
        return "-"
    if not user.is_authenticated:
        return "anonymous"
    return str(user.get_username())


# The longest path written; longer ones are cut (a line's size stays bounded).
MAX_PATH_CHARS = 200


def printable(text: str, *, limit: int = MAX_PATH_CHARS) -> str:
    """`text` cut to `limit` characters, control characters escaped, so a
    client cannot break a line or forge another."""
    text = text[:limit]
    if text.isprintable():
        return text
    return text.encode("unicode_escape").decode("ascii")


def request_fields(
    request: HttpRequest, response: HttpResponseBase, started: float
) -> dict[str, Any]:
    """The facts of one finished request, keyed by `REQUEST_FIELDS`."""
    return {
        "method": request.method,
        "path": printable(request.path),
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        "operation": printable(getattr(request, OPERATION_ATTRIBUTE, None) or "-"),
        "user": printable(username_of(request)),
        "request_id": printable(getattr(request, "request_id", None) or "-"),
    }


def log_request(
    request: HttpRequest, response: HttpResponseBase, started: float
) -> None:
    """Write the request's one line: `ERROR` for a 5xx answer, `WARNING` for a
    4xx, else `INFO`."""
    fields = request_fields(request, response, started)
    status = fields["status"]
    level = (
        logging.ERROR
        if status >= 500
        else logging.WARNING
        if status >= 400
        else logging.INFO
    )
    logger.log(
        level,
        "%(method)s %(path)s %(status)s %(duration_ms)sms operation=%(operation)s "
        "user=%(user)s request_id=%(request_id)s",
        fields,
        extra={"request_fields": fields},
    )


@sync_and_async_middleware
def RequestLogMiddleware(get_response: Handler) -> Handler:
    """Log one line per request when its response is ready (`log_request`)."""
    if iscoroutinefunction(get_response):

        async def amiddleware(request: HttpRequest) -> HttpResponseBase:
            started = time.perf_counter()
            response: HttpResponseBase = await get_response(request)
            log_request(request, response, started)
            return response

        return amiddleware

    def middleware(request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        response: HttpResponseBase = get_response(request)
        log_request(request, response, started)
        return response

    return middleware


class JsonFormatter(logging.Formatter):
    """Every record as one JSON object per line (`LOG_FORMAT=json`).

    Keys: `time` (ISO 8601, UTC), `level`, `logger`, `message`, a request's
    fields (`REQUEST_FIELDS`) when the record is a request's line, and
    `exception` (the formatted traceback) when it carries one.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "request_fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str)
