"""Request middleware: request ids, bearer tokens and session CSRF protection."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.decorators import sync_and_async_middleware

from history.changesets import changeset_scope
from history.context import REQUEST_ID_HEADER, request_context_from, request_id_from
from history.tokens import InvalidToken, api_token_authenticate

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


def _unauthenticated(message: str) -> HttpResponse:
    body = {"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]}
    response = HttpResponse(
        json.dumps(body), status=401, content_type="application/json"
    )
    response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


def _bearer_token(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()


def _authenticate(request: HttpRequest, user: Any) -> None:
    async def auser() -> Any:
        return user

    request.user = user
    request.auser = auser
    # A bearer token is not sent by browsers on their own, so CSRF cannot forge it.
    request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]


@sync_and_async_middleware
def BearerTokenMiddleware(get_response: Handler) -> Handler:
    """Authenticate `Authorization: Bearer <token>` requests as the token's user.

    A bad, expired or revoked token is refused with a 401 GraphQL error: it never
    falls back to anonymous access.
    """
    if iscoroutinefunction(get_response):
        aget_response: Callable[[HttpRequest], Awaitable[HttpResponse]] = get_response

        async def amiddleware(request: HttpRequest) -> HttpResponse:
            raw = _bearer_token(request)
            if raw is not None:
                try:
                    user = await sync_to_async(api_token_authenticate)(raw)
                except InvalidToken as error:
                    return _unauthenticated(str(error))
                _authenticate(request, user)
            return await aget_response(request)

        return amiddleware

    def middleware(request: HttpRequest) -> HttpResponse:
        raw = _bearer_token(request)
        if raw is not None:
            try:
                user = api_token_authenticate(raw)
            except InvalidToken as error:
                return _unauthenticated(str(error))
            _authenticate(request, user)
        response: HttpResponse = get_response(request)
        return response

    return middleware


class SessionCsrfViewMiddleware(CsrfViewMiddleware):
    """Django's CSRF protection for sessions and browsers; scripts are exempt.

    A request with no session cookie and no `Origin` header carries no ambient
    authority a forged cross-site request could borrow (browsers add `Origin`
    to every POST), so scripts may POST without a CSRF token. A request with a
    session cookie or from a browser goes through Django's full check, `login`
    included.
    """

    def process_view(
        self,
        request: HttpRequest,
        callback: Callable[..., Any],
        callback_args: Any,
        callback_kwargs: Any,
    ) -> HttpResponseForbidden | None:
        from_browser = (
            settings.SESSION_COOKIE_NAME in request.COOKIES
            or "Origin" in request.headers
        )
        if not from_browser:
            return None
        return super().process_view(request, callback, callback_args, callback_kwargs)
