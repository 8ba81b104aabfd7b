"""Queries every schema has: any object by its id, and the viewer.

Each tracked model's queries are generated from its declaration
(`schema.registry`); those that serve every tracked model at once are in
`schema.audit`.
"""

from __future__ import annotations

from typing import Any

import strawberry
import strawberry_django
from strawberry import relay
from strawberry.types import Info

from schema.context import viewer_of
from schema.users import UserType


@strawberry.type(description="Reads of the catalog and its history.")
class Query:
    node: relay.Node | None = strawberry_django.node(
        description="Any object by its global id."
    )

    @strawberry.field(description="The logged-in user; null when anonymous.")
    def me(self, info: Info[Any, Any]) -> UserType | None:
        viewer = viewer_of(info)
        return viewer.user if viewer.is_authenticated else None
