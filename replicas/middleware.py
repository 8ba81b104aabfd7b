"""Each request starts with nothing written, for `replicas.routers`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import sync_and_async_middleware

from replicas.routers import read_scope_begin, read_scope_end

Handler = Callable[[HttpRequest], Any]


@sync_and_async_middleware
def ReplicaMiddleware(get_response: Handler) -> Handler:
    """Give every request its own read scope: its history reads go to the
    replica until it writes, and to the primary after.

    Placed after authentication: the bearer token's last-use stamp, written
    there, is no write the request's history reads depend on.
    """
    if iscoroutinefunction(get_response):

        async def amiddleware(request: HttpRequest) -> HttpResponse:
            token = read_scope_begin()
            try:
                return await get_response(request)
            finally:
                read_scope_end(token)

        return amiddleware

    def middleware(request: HttpRequest) -> HttpResponse:
        token = read_scope_begin()
        try:
            return get_response(request)
        finally:
            read_scope_end(token)

    return middleware
