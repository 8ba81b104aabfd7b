"""Mutation inputs."""

from __future__ import annotations

from decimal import Decimal

import strawberry
from strawberry import relay


@strawberry.input(name="CreateProductInput", description="A new product.")
class CreateProductInput:
    name: str
    price: Decimal
    description: str = ""
    quantity: int = 0
    reason: str | None = strawberry.field(
        default=None, description="Why: stored as the version's change reason."
    )


@strawberry.input(
    name="UpdateProductInput",
    description="Changes to a product; omitted fields keep their values.",
)
class UpdateProductInput:
    id: relay.GlobalID
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    price: Decimal | None = strawberry.UNSET
    quantity: int | None = strawberry.UNSET
    reason: str | None = strawberry.field(
        default=None, description="Why: stored as the version's change reason."
    )


@strawberry.input(name="DeleteProductInput", description="A product to delete.")
class DeleteProductInput:
    id: relay.GlobalID
    reason: str | None = strawberry.field(
        default=None, description="Why: stored as the DELETED version's change reason."
    )


@strawberry.input(
    name="RevertProductInput",
    description="Bring a product back to one of its versions.",
)
class RevertProductInput:
    id: relay.GlobalID = strawberry.field(
        description="The product; a deleted product is restored under the same id."
    )
    record: relay.GlobalID = strawberry.field(
        description=(
            "The HistoricalProduct to go back to; it must belong to this product."
        )
    )
    reason: str = strawberry.field(
        description="Required, not blank; stored as the new version's change reason."
    )
    fields: list[str] | None = strawberry.field(
        default=None, description='Revert only these fields (API names, e.g. "price").'
    )
    expected_latest: relay.GlobalID | None = strawberry.field(
        default=None,
        description="Refuse (code STALE) unless this is still the newest version.",
    )
    dry_run: bool = strawberry.field(
        default=False, description="Report the changes, write nothing."
    )
