"""Mutation inputs."""

from __future__ import annotations

from decimal import Decimal

import strawberry

REASON = "Why: stored as the version's change reason."


@strawberry.input(name="CreateProductInput", description="A new product.")
class CreateProductInput:
    name: str = strawberry.field(description="Display name, at most 200 characters.")
    price: Decimal = strawberry.field(
        description='Unit price, at least 0, e.g. "19.90".'
    )
    description: str = strawberry.field(default="", description="Free text.")
    quantity: int = strawberry.field(default=0, description="Units in stock, >= 0.")
    reason: str | None = strawberry.field(default=None, description=REASON)


@strawberry.input(
    name="UpdateProductInput",
    description="Changes to a product; omitted fields keep their values.",
)
class UpdateProductInput:
    id: strawberry.ID = strawberry.field(description="The product.")
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="New display name."
    )
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="New description."
    )
    price: Decimal | None = strawberry.field(
        default=strawberry.UNSET, description="New unit price."
    )
    quantity: int | None = strawberry.field(
        default=strawberry.UNSET, description="New units in stock."
    )
    reason: str | None = strawberry.field(default=None, description=REASON)


@strawberry.input(name="DeleteProductInput", description="A product to delete.")
class DeleteProductInput:
    id: strawberry.ID = strawberry.field(description="The product.")
    reason: str | None = strawberry.field(
        default=None, description="Why: stored as the DELETED version's change reason."
    )


@strawberry.input(
    name="RevertProductInput",
    description="Bring a product back to one of its versions.",
)
class RevertProductInput:
    id: strawberry.ID = strawberry.field(
        description="The product; a deleted product is restored under the same id."
    )
    record: strawberry.ID = strawberry.field(
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
    expected_latest: strawberry.ID | None = strawberry.field(
        default=None,
        description="Refuse (code STALE) unless this is still the newest version.",
    )
    dry_run: bool | None = strawberry.field(
        default=False, description="Report the changes, write nothing."
    )
