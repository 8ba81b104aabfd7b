"""The user type."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import strawberry
import strawberry_django
from django.contrib.auth import get_user_model
from strawberry import relay
from strawberry.types import Info
from strawberry_django.resolvers import django_resolver

from schema.context import viewer_of
from schema.ids import int64_of


def _visible_users(info: Info[Any, Any], node_ids: Iterable[Any]) -> dict[str, Any]:
    """The users among `node_ids` the viewer may look up by id: all for staff,
    themselves for others."""
    viewer = viewer_of(info)
    wanted = {str(node_id) for node_id in node_ids}
    if not viewer.is_staff:
        own = str(viewer.user.pk) if viewer.is_authenticated else None
        wanted = {node_id for node_id in wanted if node_id == own}
    # Only ids that are 64-bit integers can name a user (see `int64_of`).
    pks = [pk for node_id in wanted if (pk := int64_of(node_id)) is not None]
    users = get_user_model()._default_manager.filter(pk__in=pks)
    return {str(user.pk): user for user in users}


@strawberry_django.type(
    get_user_model(), name="User", description="A user who changes the catalog."
)
class UserType(relay.Node):
    # Declared, so strawberry finds it once (see IntegerKeyNode).
    pk: relay.NodeID[int]
    username: strawberry.auto = strawberry_django.field(
        description="The user's login name."
    )

    @classmethod
    def resolve_nodes(
        cls,
        *,
        info: Info[Any, Any],
        node_ids: Iterable[str],
        required: bool = False,
    ) -> Any:
        """Look users up by id: staff see everyone, others only themselves."""
        ids = [str(node_id) for node_id in node_ids]

        def resolve() -> list[Any]:
            users = _visible_users(info, ids)
            return [users.get(node_id) for node_id in ids]

        return django_resolver(resolve)()

    @classmethod
    def resolve_node(
        cls, node_id: str, *, info: Info[Any, Any], required: bool = False
    ) -> Any:
        return django_resolver(
            lambda: _visible_users(info, [node_id]).get(str(node_id))
        )()
