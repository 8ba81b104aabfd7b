"""ASGI entry point: `uvicorn config.asgi:application`."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

Scope = dict[str, Any]
Message = dict[str, Any]


class BodyLimit:
    """Read at most one byte more of a request body than the limit allows.

    Django's ASGI handler reads a whole body (to a temporary file) before any
    view runs. This hands it the first `limit + 1` bytes and then the end of the
    body, so an oversized upload is never read further; the view, seeing more
    than the limit (or a Content-Length over it), answers 413 `BODY_TOO_LARGE`.
    The limit is `limit`, else `GRAPHQL_MAX_BODY_BYTES` read per request.
    """

    def __init__(self, app: Any, limit: int | None = None) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit: int = (
            settings.GRAPHQL_MAX_BODY_BYTES if self.limit is None else self.limit
        )
        allowed = limit + 1
        received = 0
        cut = False

        async def limited_receive() -> Message:
            nonlocal received, cut
            if cut:
                # What is left of the body is never read; Django's wait for a
                # disconnect ends with the response.
                await asyncio.Event().wait()
            message: Message = await receive()
            if message["type"] != "http.request":
                return message
            body = message.get("body", b"")
            if received + len(body) >= allowed and message.get("more_body", False):
                body = body[: allowed - received]
                message = {"type": "http.request", "body": body, "more_body": False}
                cut = True
            received += len(body)
            return message

        await self.app(scope, limited_receive, send)


application: Any = BodyLimit(get_asgi_application())
# Which handlers wrap the application is decided once, at start-up.
if settings.DEBUG:
    # Serve the admin's static files in development, as runserver would.
    application = ASGIStaticFilesHandler(application)
