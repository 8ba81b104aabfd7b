"""Filters and orderings of the connections."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import strawberry
import strawberry_django
from django.db.models import Q, QuerySet
from graphql import GraphQLError
from strawberry.utils.str_converters import to_snake_case
from strawberry_django import ComparisonFilterLookup, DatetimeFilterLookup

from history.search import search_versions
from history.tracking import history_model_for, m2m_history_model
from history.validation import text_problem
from products.models import Category, Product
from schema.history import HistoryTypeEnum
from schema.ids import pk_of

HistoricalProduct = history_model_for(Product)
HistoricalCategory = history_model_for(Category)

# The reverse relation from a product version to its recorded tag rows.
TAG_ROWS = (
    m2m_history_model(Product, Product._meta.get_field("tags"))
    ._meta.get_field("history")
    .related_query_name()
)

MATCH_NOTHING = Q(pk__in=[])


@strawberry.input(name="DecimalFilterLookup", description="Lookups on a decimal value.")
class DecimalFilterLookup(ComparisonFilterLookup[Decimal]):
    pass


@strawberry.input(name="IntFilterLookup", description="Lookups on an integer value.")
class IntFilterLookup(ComparisonFilterLookup[int]):
    pass


MAX_FILTER_TEXT = 1000


def _text(value: str) -> str:
    """A filter text, refused when it is too long to be a sensible pattern or
    holds characters no stored text can."""
    problem = text_problem(value)
    if len(value) > MAX_FILTER_TEXT:
        problem = f"Filter texts are at most {MAX_FILTER_TEXT} characters."
    if problem:
        raise GraphQLError(problem, extensions={"code": "BAD_USER_INPUT"})
    return value


def _lookup(prefix: str, lookup: str, value: Any) -> Q:
    return Q(**{f"{prefix}{lookup}": value})


@strawberry.input(
    name="StrFilterLookup",
    description="Lookups on a text value (texts of at most 1000 characters).",
)
class StrFilterLookup:
    @strawberry_django.filter_field(description="Exact match.")
    def exact(self, value: str, prefix: str) -> Q:
        return _lookup(prefix, "exact", _text(value))

    @strawberry_django.filter_field(description="Case-insensitive exact match.")
    def i_exact(self, value: str, prefix: str) -> Q:
        return _lookup(prefix, "iexact", _text(value))

    @strawberry_django.filter_field(description="Case-sensitive containment.")
    def contains(self, value: str, prefix: str) -> Q:
        return _lookup(prefix, "contains", _text(value))

    @strawberry_django.filter_field(description="Case-insensitive containment.")
    def i_contains(self, value: str, prefix: str) -> Q:
        return _lookup(prefix, "icontains", _text(value))

    @strawberry_django.filter_field(description="Case-sensitive starts-with.")
    def starts_with(self, value: str, prefix: str) -> Q:
        return _lookup(prefix, "startswith", _text(value))

    @strawberry_django.filter_field(description="Case-insensitive starts-with.")
    def i_starts_with(self, value: str, prefix: str) -> Q:
        return _lookup(prefix, "istartswith", _text(value))

    @strawberry_django.filter_field(description="Case-sensitive ends-with.")
    def ends_with(self, value: str, prefix: str) -> Q:
        return _lookup(prefix, "endswith", _text(value))

    @strawberry_django.filter_field(description="Case-insensitive ends-with.")
    def i_ends_with(self, value: str, prefix: str) -> Q:
        return _lookup(prefix, "iendswith", _text(value))

    @strawberry_django.filter_field(description="Exact match of one of these.")
    def in_list(self, value: list[str], prefix: str) -> Q:
        return _lookup(prefix, "in", [_text(item) for item in value[:MAX_FILTER_TEXT]])

    @strawberry_django.filter_field(description="Whether the value is null.")
    def is_null(self, value: bool, prefix: str) -> Q:
        return _lookup(prefix, "isnull", value)


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

    @strawberry_django.filter_field(description="Products in this category.")
    def category(self, value: strawberry.ID, prefix: str) -> Q:
        return _pk_filter(prefix, "category_id", value, "Category")

    @strawberry_django.filter_field(description="Products with this tag (by name).")
    def tag(self, value: str, prefix: str) -> Q:
        return Q(**{f"{prefix}tags__name": _text(value)})


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


@strawberry.input(description="Filters every history connection has.")
class VersionFilter:
    history_date: DatetimeFilterLookup | None = strawberry_django.filter_field(
        description='When the change was made, e.g. { gte: "...", lt: "..." }.'
    )

    @strawberry_django.filter_field(description="Versions made by this kind of change.")
    def history_type(self, value: HistoryTypeEnum, prefix: str) -> Q:
        return Q(**{f"{prefix}history_type": value.value})

    @strawberry_django.filter_field(description="Versions made by this user.")
    def history_user(self, value: strawberry.ID, prefix: str) -> Q:
        return _pk_filter(prefix, "history_user_pk", value, "User")

    @strawberry_django.filter_field(
        description='Versions whose changes include this field, e.g. "price".'
    )
    def changed_field(self, value: str, prefix: str) -> Q:
        return Q(**{f"{prefix}history_changes__has_key": to_snake_case(_text(value))})

    @strawberry_django.filter_field(
        description=(
            "Versions whose reason or changed values contain every word of this "
            "text (full-text search)."
        )
    )
    def search(
        self, value: str, queryset: QuerySet[Any], prefix: str
    ) -> tuple[QuerySet[Any], Q]:
        return search_versions(queryset, _text(value), prefix=prefix)


@strawberry_django.filter_type(
    HistoricalProduct,
    name="HistoricalProductFilter",
    description="Filters of both product history connections.",
)
class HistoricalProductFilter(VersionFilter):
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

    @strawberry_django.filter_field(
        description="Versions in which the product was in this category."
    )
    def category(self, value: strawberry.ID, prefix: str) -> Q:
        return _pk_filter(prefix, "category_id", value, "Category")

    @strawberry_django.filter_field(
        description="Versions in which the product had this tag (by name)."
    )
    def tag(self, value: str, prefix: str) -> Q:
        return Q(**{f"{prefix}{TAG_ROWS}__tag__name": _text(value)})


@strawberry_django.filter_type(
    HistoricalCategory,
    name="HistoricalCategoryFilter",
    description="Filters of both category history connections.",
)
class HistoricalCategoryFilter(VersionFilter):
    name: StrFilterLookup | None = strawberry_django.filter_field(
        description="The version's own name."
    )
    AND: HistoricalCategoryFilter | None = strawberry_django.filter_field(
        description="Also match this filter."
    )
    OR: HistoricalCategoryFilter | None = strawberry_django.filter_field(
        description="Or match this filter."
    )
    NOT: HistoricalCategoryFilter | None = strawberry_django.filter_field(
        description="Do not match this filter."
    )

    @strawberry_django.filter_field(
        description="Versions of one category, deleted ones included."
    )
    def category(self, value: strawberry.ID, prefix: str) -> Q:
        return _pk_filter(prefix, "id", value, "Category")


@strawberry_django.filter_type(
    Category, name="CategoryFilter", description="Filters of the category connection."
)
class CategoryFilter:
    name: StrFilterLookup | None = strawberry_django.filter_field(
        description='The name, e.g. { iContains: "lamp" }.'
    )
    AND: CategoryFilter | None = strawberry_django.filter_field(
        description="Also match this filter."
    )
    OR: CategoryFilter | None = strawberry_django.filter_field(
        description="Or match this filter."
    )
    NOT: CategoryFilter | None = strawberry_django.filter_field(
        description="Do not match this filter."
    )


@strawberry_django.order_type(
    Category, name="CategoryOrder", description="Orderings of the category connection."
)
class CategoryOrder:
    id: strawberry.auto = strawberry_django.order_field(description="Creation order.")
    name: strawberry.auto = strawberry_django.order_field(description="Name.")


__all__ = [
    "CategoryFilter",
    "CategoryOrder",
    "DecimalFilterLookup",
    "HistoricalCategoryFilter",
    "HistoricalProductFilter",
    "IntFilterLookup",
    "ProductFilter",
    "ProductOrder",
]
