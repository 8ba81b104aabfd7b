"""The per-request GraphQL context: the viewer and their permissions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from strawberry.django.views import AsyncGraphQLView
from strawberry.types import Info


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
    """The GraphQL endpoint, with a `Context` carrying the viewer."""

    async def get_context(
        self, request: HttpRequest, response: HttpResponse
    ) -> Context:
        return Context(
            request=request, response=response, viewer=await load_viewer(request)
        )
