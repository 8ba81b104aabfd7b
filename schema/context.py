"""The per-request GraphQL context: the viewer and their permissions."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from cross_web import HTTPException
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.middleware.csrf import get_token
from strawberry.django.views import AsyncGraphQLView
from strawberry.types import Info

from schema.errors import REQUEST_ERROR_ATTRIBUTE
from schema.loaders import Loaders


@dataclass
class Viewer:
    """Who is asking, with their permissions loaded once per request."""

    user: Any
    permissions: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_authenticated(self) -> bool:
        return bool(self.user.is_authenticated)

    @property
    def is_staff(self) -> bool:
        return bool(self.user.is_authenticated and self.user.is_staff)

    def has_perm(self, permission: str) -> bool:
        """Whether the viewer holds `permission` (superusers hold them all)."""
        if not self.user.is_active:
            return False
        return bool(self.user.is_superuser) or permission in self.permissions


@dataclass
class Context:
    """What every resolver sees as `info.context`."""

    request: HttpRequest
    response: HttpResponse
    viewer: Viewer
    loaders: Loaders = field(default_factory=Loaders)


async def load_viewer(request: HttpRequest) -> Viewer:
    """Resolve the request's user and load their permissions in one query."""
    user = await request.auser()
    if user is None or not user.is_authenticated:
        return Viewer(user=AnonymousUser())
    if user.is_superuser or not user.is_active:
        return Viewer(user=user)
    permissions = await sync_to_async(user.get_all_permissions)()
    return Viewer(user=user, permissions=frozenset(permissions))


def viewer_of(info: Info[Any, Any]) -> Viewer:
    """The viewer of the request being resolved."""
    viewer: Viewer = info.context.viewer
    return viewer


def refresh_viewer(info: Info[Any, Any], user: Any) -> None:
    """Point the context at a user who just logged in or out."""
    info.context.viewer = Viewer(
        user=user,
        permissions=frozenset(user.get_all_permissions())
        if user.is_authenticated
        else frozenset(),
    )


class GraphQLView(AsyncGraphQLView[Context, None]):
    """The GraphQL endpoint, with a `Context` carrying the viewer.

    Requests it cannot even read (a body that is not a JSON object, an unknown
    content type) get a 4xx answer in the GraphQL error format, never a 500.
    A GET (GraphiQL in a browser) sets the CSRF cookie that session requests
    send back in `X-CSRFToken`.
    """

    async def get_context(
        self, request: HttpRequest, response: HttpResponse
    ) -> Context:
        return Context(
            request=request, response=response, viewer=await load_viewer(request)
        )

    def parse_json(self, data: str | bytes) -> Any:
        try:
            decoded = self.decode_json(data)
        except ValueError as error:  # bad JSON, or bytes that are not UTF-8
            raise HTTPException(400, "Unable to parse request body as JSON") from error
        if not isinstance(decoded, dict | list):
            raise HTTPException(400, "The request body must be a JSON object.")
        return decoded

    def create_response(
        self,
        response_data: Any,
        sub_response: HttpResponse,
    ) -> HttpResponseBase:
        """Answer in `application/graphql-response+json` to clients that accept
        it, as the GraphQL-over-HTTP specification says: a document that could
        not be parsed or validated gets a 400 and no `data`. `application/json`
        clients keep getting 200 answers."""
        response = super().create_response(response_data, sub_response)
        if not accepts_graphql_response(self.request):
            return response
        if getattr(self.request, REQUEST_ERROR_ATTRIBUTE, False):
            response_data = {k: v for k, v in response_data.items() if k != "data"}
            assert isinstance(response, HttpResponse)
            response.content = self.encode_json(response_data)
            response.status_code = 400
        response["Content-Type"] = GRAPHQL_RESPONSE_TYPE
        return response

    async def dispatch(  # type: ignore[override]
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        if request.method == "GET":
            get_token(request)
        try:
            return await self.run(request=request)
        except HTTPException as error:
            if request.method == "GET" and "mutations are not allowed" in error.reason:
                # GraphQL over HTTP: a mutation sent with GET is 405.
                response = request_error(error.reason, status=405)
                response["Allow"] = "POST"
                return response
            response = request_error(error.reason, status=error.status_code)
            if error.status_code == 405:
                response["Allow"] = "GET, POST"
            return response


GRAPHQL_RESPONSE_TYPE = "application/graphql-response+json"


def accepts_graphql_response(request: HttpRequest) -> bool:
    """Whether the client accepts the GraphQL response media type."""
    return GRAPHQL_RESPONSE_TYPE in request.headers.get("Accept", "")


def request_error(
    message: str, *, status: int, code: str = "BAD_REQUEST"
) -> HttpResponse:
    """A GraphQL-format error answer for a request that could not be executed."""
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return HttpResponse(
        json.dumps(body), status=status, content_type="application/json"
    )
