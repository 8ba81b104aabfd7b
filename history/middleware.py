"""Request middleware: request ids and the request context versions record."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import sync_and_async_middleware

from history.changesets import changeset_scope
from history.context import REQUEST_ID_HEADER, request_context_from, request_id_from

Handler = Callable[[HttpRequest], Any]


@sync_and_async_middleware
def RequestIdMiddleware(get_response: Handler) -> Handler:
    """Give every request an id (the client's `X-Request-ID` or a new one).

    The id, the client address and the user agent are captured here, once, as
    the `history_context` that versions written during the request record; the
    id is echoed in the response's `X-Request-ID` header. Everything the request
    writes is one changeset (`changeset_scope`).
    """

    def prepare(request: HttpRequest) -> None:
        request.request_id = request_id_from(request)  # type: ignore[attr-defined]
        request.history_context = request_context_from(request)  # type: ignore[attr-defined]

    def finish(request: HttpRequest, response: HttpResponse) -> HttpResponse:
        response[REQUEST_ID_HEADER] = request.request_id  # type: ignore[attr-defined]
        return response

    if iscoroutinefunction(get_response):

        async def amiddleware(request: HttpRequest) -> HttpResponse:
            prepare(request)
            with changeset_scope():
                return finish(request, await get_response(request))

        return amiddleware

    def middleware(request: HttpRequest) -> HttpResponse:
        prepare(request)
        with changeset_scope():
            return finish(request, get_response(request))

    return middleware
