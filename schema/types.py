"""GraphQL object types: users, products, their versions and diffs."""

from __future__ import annotations

import datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
import strawberry_django
from django.contrib.auth import get_user_model
from strawberry import relay
from strawberry.types import Info
from strawberry.utils.str_converters import to_camel_case
from strawberry_django.relay import DjangoListConnection

from history import diff, selectors
from history.errors import HistoryErrorCode
from products.models import Product
from schema.context import viewer_of
from schema.permissions import can_view_history, history_permission

if TYPE_CHECKING:
    from schema.filters import HistoricalProductFilter

HistoricalProduct = Product.history.model


@strawberry.enum(name="HistoryType", description="What kind of change made a version.")
class HistoryTypeEnum(Enum):
    CREATED = "+"
    UPDATED = "~"
    DELETED = "-"


@strawberry.enum(name="DiffOp", description="What a text segment does in a diff.")
class DiffOpEnum(Enum):
    EQUAL = "equal"
    INSERT = "insert"
    DELETE = "delete"


@strawberry.type(
    name="TextSegment", description="A run of text kept, inserted or deleted."
)
class TextSegmentType:
    op: DiffOpEnum
    text: str


@strawberry.type(
    name="FieldChange", description="One field's change between two versions."
)
class FieldChangeType:
    field: str = strawberry.field(description='API field name, e.g. "price".')
    label: str = strawberry.field(description='Human label, e.g. "Price".')
    old_value: str | None = strawberry.field(
        description="Canonical text form of the old value; null where there was none."
    )
    new_value: str | None = strawberry.field(
        description="Canonical text form of the new value; null where there is none."
    )
    delta: str | None = strawberry.field(
        description='Numeric fields only: newValue - oldValue, e.g. "-50.00".'
    )
    segments: list[TextSegmentType] | None = strawberry.field(
        description="Text fields only: a word-level diff from oldValue to newValue."
    )

    @classmethod
    def from_change(cls, change: diff.FieldChange) -> FieldChangeType:
        segments = change.segments
        return cls(
            field=to_camel_case(change.field),
            label=change.label,
            old_value=change.old_value,
            new_value=change.new_value,
            delta=change.delta,
            segments=None
            if segments is None
            else [
                TextSegmentType(op=DiffOpEnum(s.op.value), text=s.text)
                for s in segments
            ],
        )


def field_changes(changes: list[diff.FieldChange]) -> list[FieldChangeType]:
    """GraphQL form of a list of changes."""
    return [FieldChangeType.from_change(change) for change in changes]


@strawberry_django.type(
    get_user_model(), name="User", description="A user of the catalog."
)
class UserType(relay.Node):
    username: strawberry.auto


@strawberry_django.type(
    Product,
    name="Product",
    description=(
        "A product in the catalog. Every change to it is recorded as a "
        "HistoricalProduct."
    ),
)
class ProductType(relay.Node):
    name: strawberry.auto
    description: strawberry.auto
    price: Decimal
    quantity: int
    created_at: datetime.datetime
    updated_at: datetime.datetime
    history: DjangoListConnection[HistoricalProductType] = strawberry_django.connection(
        field_name="versions",
        filters=Annotated["HistoricalProductFilter", strawberry.lazy("schema.filters")],
        permission_classes=[history_permission(Product)],
        description="Every recorded version of this product, newest first.",
    )


def _same_object_version(info: Info[Any, Any], record: Any) -> Any | None:
    """A version, but only for viewers who may read the history."""
    if record is None or not can_view_history(info, Product):
        return None
    return record


@strawberry_django.type(
    HistoricalProduct,
    name="HistoricalProduct",
    description=(
        "One immutable version of a product: its field values right after a "
        "change, and who/when/why."
    ),
)
class HistoricalProductType(relay.Node):
    history_id: int = strawberry_django.field(
        description="Sequential id of this version."
    )
    history_date: datetime.datetime = strawberry_django.field(
        description="When the change was made."
    )
    history_type: HistoryTypeEnum = strawberry_django.field(
        description="Whether the change created, updated or deleted the product."
    )
    history_user: UserType | None = strawberry_django.field(
        description="Who made the change; null for changes made outside a request."
    )
    history_change_reason: str | None = strawberry_django.field(
        description="Why the change was made."
    )
    name: str
    description: str
    price: Decimal
    quantity: int

    @strawberry_django.field(
        only=["id"],
        description="Global id of the product; valid even after it was deleted.",
    )
    def product_id(self) -> relay.GlobalID:
        return relay.GlobalID("Product", str(self.id))  # type: ignore[attr-defined]

    @strawberry_django.field(
        only=["history_changes"],
        description=(
            "What this version changed against the one before it; empty for CREATED."
        ),
    )
    async def changes(self) -> list[FieldChangeType]:
        stored = self.history_changes  # type: ignore[attr-defined]
        if not stored:
            return []
        return field_changes(diff.changes_from_stored(Product, stored))

    @strawberry_django.field(
        description=(
            "The difference from another version of the same product to this one."
        )
    )
    def diff(
        self, info: Info[Any, Any], against: relay.GlobalID
    ) -> list[FieldChangeType]:
        other = None
        if against.type_name == "HistoricalProduct":
            other = HistoricalProduct.objects.filter(
                history_id=_int_or_none(against.node_id)
            ).first()
        if other is None:
            raise _query_error(
                "`against` names no version.", HistoryErrorCode.NOT_FOUND
            )
        if other.id != self.id:  # type: ignore[attr-defined]
            raise _query_error(
                "`against` is a version of another product.",
                HistoryErrorCode.RECORD_MISMATCH,
            )
        return field_changes(diff.history_diff(model=Product, old=other, new=self))

    @strawberry_django.field(
        description="The version of this product just before this one."
    )
    def previous(self, info: Info[Any, Any]) -> HistoricalProductType | None:
        return _same_object_version(info, selectors.history_previous(record=self))

    @strawberry_django.field(
        description="The version of this product just after this one."
    )
    def next(self, info: Info[Any, Any]) -> HistoricalProductType | None:
        return _same_object_version(info, selectors.history_next(record=self))

    @strawberry_django.field(
        description="The live product; null once it has been deleted."
    )
    def product(self) -> ProductType | None:
        return Product.objects.filter(pk=self.id).first()  # type: ignore[attr-defined,return-value]

    @strawberry_django.field(
        only=["history_reverted_from_id"],
        description=(
            "Set when revertProduct made this version: the version it went back to."
        ),
    )
    def reverted_from(self, info: Info[Any, Any]) -> HistoricalProductType | None:
        reverted_from_id = self.history_reverted_from_id  # type: ignore[attr-defined]
        if reverted_from_id is None:
            return None
        return _same_object_version(
            info, HistoricalProduct.objects.filter(history_id=reverted_from_id).first()
        )

    @strawberry_django.field(
        only=["history_ip_address"],
        description="Client IP address of the request; staff only.",
    )
    async def ip_address(self, info: Info[Any, Any]) -> str | None:
        return self.history_ip_address if viewer_of(info).is_staff else None  # type: ignore[attr-defined]

    @strawberry_django.field(
        only=["history_user_agent"],
        description="User agent of the request; staff only.",
    )
    async def user_agent(self, info: Info[Any, Any]) -> str | None:
        return self.history_user_agent if viewer_of(info).is_staff else None  # type: ignore[attr-defined]

    @strawberry_django.field(
        only=["history_request_id"],
        description="Id of the request (X-Request-ID); staff only.",
    )
    async def request_id(self, info: Info[Any, Any]) -> str | None:
        return self.history_request_id if viewer_of(info).is_staff else None  # type: ignore[attr-defined]

    @classmethod
    def get_queryset(cls, queryset: Any, info: Info[Any, Any], **kwargs: Any) -> Any:
        if not can_view_history(info, Product):
            return queryset.none()
        return queryset


def _int_or_none(value: str) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _query_error(message: str, code: HistoryErrorCode) -> Exception:
    from graphql import GraphQLError

    return GraphQLError(message, extensions={"code": code.value})
