"""Mutation inputs."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from history.errors import HistoryErrorCode, operation_error

REASON = "Why: stored as the version's change reason."


@strawberry.input(name="CreateProductInput", description="A new product.")
class CreateProductInput:
    name: str = strawberry.field(description="Display name, at most 200 characters.")
    price: Decimal = strawberry.field(
        description='Unit price, at least 0, e.g. "19.90".'
    )
    description: str = strawberry.field(default="", description="Free text.")
    quantity: int = strawberry.field(default=0, description="Units in stock, >= 0.")
    category: strawberry.ID | None = strawberry.field(
        default=None, description="The category to put it in."
    )
    tags: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Tag names; missing tags are created."
    )
    supplier_cost: Decimal | None = strawberry.field(
        default=strawberry.UNSET, description="What the supplier charges; staff only."
    )
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
    category: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="New category; null for none."
    )
    tags: list[str] | None = strawberry.field(
        default=strawberry.UNSET,
        description="The complete new list of tag names; missing tags are created.",
    )
    supplier_cost: Decimal | None = strawberry.field(
        default=strawberry.UNSET, description="New supplier cost; staff only."
    )
    reason: str | None = strawberry.field(default=None, description=REASON)


@strawberry.input(
    name="RevertInput",
    description="Bring any tracked object back to one of its versions.",
)
class RevertInput:
    record: strawberry.ID = strawberry.field(
        description="The version to go back to: any version of any tracked model."
    )
    reason: str = strawberry.field(
        description="Required, not blank; stored as the new version's change reason."
    )
    fields: list[str] | None = strawberry.field(
        default=None,
        description=(
            "Revert only these fields (API names, as FieldChange.field gives them)."
        ),
    )
    expected_latest: strawberry.ID | None = strawberry.field(
        default=None,
        description=(
            "Refuse (code STALE) unless this is still the object's newest version."
        ),
    )
    dry_run: bool | None = strawberry.field(
        default=False, description="Report the changes, write nothing."
    )


@strawberry.input(
    name="RevertChangesetInput",
    description="Undo everything one changeset wrote, in one transaction.",
)
class RevertChangesetInput:
    id: strawberry.ID = strawberry.field(description="The changeset.")
    reason: str = strawberry.field(
        description="Required, not blank; stored on every version the revert writes."
    )
    dry_run: bool | None = strawberry.field(
        default=False, description="Report the changes, write nothing."
    )


@strawberry.input(description="What every per-model revert input has.")
class RevertFields:
    """What every revert input has, besides what it reverts."""

    reason: str = strawberry.field(
        description="Required, not blank; stored as the new version's change reason."
    )
    fields: list[str] | None = strawberry.field(
        default=None,
        description=(
            "Revert only these fields (API names, as FieldChange.field gives them)."
        ),
    )
    expected_latest: strawberry.ID | None = strawberry.field(
        default=None,
        description="Refuse (code STALE) unless this is still the newest version.",
    )
    dry_run: bool | None = strawberry.field(
        default=False, description="Report the changes, write nothing."
    )


@strawberry.input(name="CreateCategoryInput", description="A new category.")
class CreateCategoryInput:
    name: str = strawberry.field(description="Display name, at most 100 characters.")
    description: str = strawberry.field(default="", description="Free text.")
    reason: str | None = strawberry.field(default=None, description=REASON)


@strawberry.input(
    name="UpdateCategoryInput",
    description="Changes to a category; omitted fields keep their values.",
)
class UpdateCategoryInput:
    id: strawberry.ID = strawberry.field(description="The category.")
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="New display name."
    )
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="New description."
    )
    reason: str | None = strawberry.field(default=None, description=REASON)


@strawberry.input(
    name="PriceChangeInput",
    one_of=True,
    description="How prices change: exactly one of a percentage and an amount.",
)
class PriceChangeInput:
    percent: Decimal | None = strawberry.field(
        default=strawberry.UNSET,
        description='Change by this percentage, e.g. "-10" or "2.5".',
    )
    amount: Decimal | None = strawberry.field(
        default=strawberry.UNSET,
        description='Change by this amount, e.g. "5.00" or "-1".',
    )


DEPRECATED_CHANGE = "Give `by` instead: exactly one of a percentage and an amount."


@strawberry.input(
    name="AdjustPricesInput",
    description=(
        "Change the price of many products at once by a percentage or an amount; "
        "one version per product, all or nothing."
    ),
)
class AdjustPricesInput:
    ids: list[strawberry.ID] = strawberry.field(
        description="The products (at most 1000)."
    )
    reason: str = strawberry.field(
        description="Required, not blank; stored on every version written."
    )
    by: PriceChangeInput | None = strawberry.field(
        default=None,
        description='The change, e.g. {percent: "-10"} or {amount: "5.00"}.',
    )
    percent: Decimal | None = strawberry.field(
        default=None,
        description='Change by this percentage, e.g. "-10" or "2.5".',
        deprecation_reason=DEPRECATED_CHANGE,
    )
    amount: Decimal | None = strawberry.field(
        default=None,
        description='Change by this amount, e.g. "5.00" or "-1".',
        deprecation_reason=DEPRECATED_CHANGE,
    )

    def change(self) -> tuple[Decimal | None, Decimal | None]:
        """(percent, amount) from `by`, or from the deprecated fields; the
        service refuses anything but exactly one of them."""
        if self.by is None:
            return self.percent, self.amount
        if self.percent is not None or self.amount is not None:
            raise operation_error(
                HistoryErrorCode.INVALID,
                "Give the change in `by` only.",
                field="by",
            )
        percent = None if self.by.percent is strawberry.UNSET else self.by.percent
        amount = None if self.by.amount is strawberry.UNSET else self.by.amount
        return percent, amount


@strawberry.input(name="ImportProductRow", description="One product to import.")
class ImportProductRow:
    name: str = strawberry.field(description="Display name, at most 200 characters.")
    price: Decimal = strawberry.field(description="Unit price, at least 0.")
    description: str = strawberry.field(default="", description="Free text.")
    quantity: int = strawberry.field(default=0, description="Units in stock, >= 0.")
    category: strawberry.ID | None = strawberry.field(
        default=None, description="The category to put it in."
    )


@strawberry.input(
    name="ImportProductsInput",
    description="Products to create at once, each with a CREATED version.",
)
class ImportProductsInput:
    products: list[ImportProductRow] = strawberry.field(
        description="The products (at most 1000); all or nothing."
    )
    reason: str | None = strawberry.field(default=None, description=REASON)
