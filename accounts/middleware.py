"""Request middleware: bearer tokens, and CSRF protection for sessions."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.decorators import sync_and_async_middleware

from accounts.tokens import InvalidToken, api_token_authenticate

Handler = Callable[[HttpRequest], Any]


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
