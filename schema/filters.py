"""Filters and orderings of the connections."""

from __future__ import annotations

from decimal import Decimal

import strawberry
import strawberry_django
from django.db.models import Q
from strawberry.utils.str_converters import to_snake_case
from strawberry_django import (
    ComparisonFilterLookup,
    DatetimeFilterLookup,
    StrFilterLookup,
)

from products.models import Product
from schema.history import HistoryTypeEnum
from schema.ids import pk_of
from schema.types import HistoricalProduct

MATCH_NOTHING = Q(pk__in=[])


@strawberry.input(name="DecimalFilterLookup", description="Lookups on a decimal value.")
class DecimalFilterLookup(ComparisonFilterLookup[Decimal]):
    pass


@strawberry.input(name="IntFilterLookup", description="Lookups on an integer value.")
class IntFilterLookup(ComparisonFilterLookup[int]):
    pass


def _pk_filter(prefix: str, field: str, global_id: strawberry.ID, type_name: str) -> Q:
    pk = pk_of(global_id, type_name)
    return MATCH_NOTHING if pk is None else Q(**{f"{prefix}{field}": pk})


@strawberry_django.filter_type(
    Product, name="ProductFilter", description="Filters of the product connection."
)
class ProductFilter:
    """Filters of the product connection."""

    name: StrFilterLookup | None = strawberry_django.filter_field(
        description='The name, e.g. { iContains: "lamp" }.'
    )
    description: StrFilterLookup | None = strawberry_django.filter_field(
        description="The description."
    )
    price: DecimalFilterLookup | None = strawberry_django.filter_field(
        description='The price, e.g. { gt: "1000" }.'
    )
    quantity: IntFilterLookup | None = strawberry_django.filter_field(
        description="Units in stock."
    )
    created_at: DatetimeFilterLookup | None = strawberry_django.filter_field(
        description="When the product was created."
    )
    updated_at: DatetimeFilterLookup | None = strawberry_django.filter_field(
        description="When the product was last changed."
    )
    AND: ProductFilter | None = strawberry_django.filter_field(
        description="Also match this filter."
    )
    OR: ProductFilter | None = strawberry_django.filter_field(
        description="Or match this filter."
    )
    NOT: ProductFilter | None = strawberry_django.filter_field(
        description="Do not match this filter."
    )


@strawberry_django.order_type(
    Product, name="ProductOrder", description="Orderings of the product connection."
)
class ProductOrder:
    """Orderings of the product connection."""

    id: strawberry.auto = strawberry_django.order_field(description="Creation order.")
    name: strawberry.auto = strawberry_django.order_field(description="Name.")
    price: strawberry.auto = strawberry_django.order_field(description="Price.")
    quantity: strawberry.auto = strawberry_django.order_field(
        description="Units in stock."
    )
    created_at: strawberry.auto = strawberry_django.order_field(
        description="Creation time."
    )
    updated_at: strawberry.auto = strawberry_django.order_field(
        description="Time of the last change."
    )


@strawberry_django.filter_type(
    HistoricalProduct,
    name="HistoricalProductFilter",
    description="Filters of both history connections.",
)
class HistoricalProductFilter:
    """Filters of both history connections."""

    history_date: DatetimeFilterLookup | None = strawberry_django.filter_field(
        description='When the change was made, e.g. { gte: "...", lt: "..." }.'
    )
    price: DecimalFilterLookup | None = strawberry_django.filter_field(
        description='The version\'s own price, e.g. { gt: "1000" }.'
    )
    quantity: IntFilterLookup | None = strawberry_django.filter_field(
        description="The version's own quantity."
    )
    name: StrFilterLookup | None = strawberry_django.filter_field(
        description='The version\'s own name, e.g. { iContains: "lap" }.'
    )
    description: StrFilterLookup | None = strawberry_django.filter_field(
        description="The version's own description."
    )
    AND: HistoricalProductFilter | None = strawberry_django.filter_field(
        description="Also match this filter."
    )
    OR: HistoricalProductFilter | None = strawberry_django.filter_field(
        description="Or match this filter."
    )
    NOT: HistoricalProductFilter | None = strawberry_django.filter_field(
        description="Do not match this filter."
    )

    @strawberry_django.filter_field(
        description="Versions of one product, deleted ones included."
    )
    def product(self, value: strawberry.ID, prefix: str) -> Q:
        return _pk_filter(prefix, "id", value, "Product")

    @strawberry_django.filter_field(description="Versions made by this kind of change.")
    def history_type(self, value: HistoryTypeEnum, prefix: str) -> Q:
        return Q(**{f"{prefix}history_type": value.value})

    @strawberry_django.filter_field(description="Versions made by this user.")
    def history_user(self, value: strawberry.ID, prefix: str) -> Q:
        return _pk_filter(prefix, "history_user_id", value, "User")

    @strawberry_django.filter_field(
        description='Versions whose changes include this field, e.g. "price".'
    )
    def changed_field(self, value: str, prefix: str) -> Q:
        return Q(**{f"{prefix}history_changes__has_key": to_snake_case(value)})


__all__ = [
    "DecimalFilterLookup",
    "HistoricalProductFilter",
    "IntFilterLookup",
    "ProductFilter",
    "ProductOrder",
]
