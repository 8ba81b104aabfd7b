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
from history.validation import text_problem
from schema.history import HistoryTypeEnum
from schema.ids import changeset_key, pk_of

MATCH_NOTHING = Q(pk__in=[])
MATCH_ALL = Q(pk__isnull=False)


@strawberry.input(name="DecimalFilterLookup", description="Lookups on a decimal value.")
class DecimalFilterLookup(ComparisonFilterLookup[Decimal]):
    pass


@strawberry.input(name="IntFilterLookup", description="Lookups on an integer value.")
class IntFilterLookup(ComparisonFilterLookup[int]):
    pass


MAX_FILTER_TEXT = 1000


def filter_text(value: str) -> str:
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
        return _lookup(prefix, "exact", filter_text(value))

    @strawberry_django.filter_field(description="Case-insensitive exact match.")
    def i_exact(self, value: str, prefix: str) -> Q:
        return _lookup(prefix, "iexact", filter_text(value))

    @strawberry_django.filter_field(description="Case-sensitive containment.")
    def contains(self, value: str, prefix: str) -> Q:
        return _lookup(prefix, "contains", filter_text(value))

    @strawberry_django.filter_field(description="Case-insensitive containment.")
    def i_contains(self, value: str, prefix: str) -> Q:
        return _lookup(prefix, "icontains", filter_text(value))

    @strawberry_django.filter_field(description="Case-sensitive starts-with.")
    def starts_with(self, value: str, prefix: str) -> Q:
        return _lookup(prefix, "startswith", filter_text(value))

    @strawberry_django.filter_field(description="Case-insensitive starts-with.")
    def i_starts_with(self, value: str, prefix: str) -> Q:
        return _lookup(prefix, "istartswith", filter_text(value))

    @strawberry_django.filter_field(description="Case-sensitive ends-with.")
    def ends_with(self, value: str, prefix: str) -> Q:
        return _lookup(prefix, "endswith", filter_text(value))

    @strawberry_django.filter_field(description="Case-insensitive ends-with.")
    def i_ends_with(self, value: str, prefix: str) -> Q:
        return _lookup(prefix, "iendswith", filter_text(value))

    @strawberry_django.filter_field(description="Exact match of one of these.")
    def in_list(self, value: list[str], prefix: str) -> Q:
        return _lookup(
            prefix, "in", [filter_text(item) for item in value[:MAX_FILTER_TEXT]]
        )

    @strawberry_django.filter_field(description="Whether the value is null.")
    def is_null(self, value: bool, prefix: str) -> Q:
        return _lookup(prefix, "isnull", value)


def pk_filter(prefix: str, field: str, global_id: strawberry.ID, type_name: str) -> Q:
    pk = pk_of(global_id, type_name)
    return MATCH_NOTHING if pk is None else Q(**{f"{prefix}{field}": pk})


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
        return pk_filter(prefix, "history_user_pk", value, "User")

    @strawberry_django.filter_field(
        description=(
            "Versions whose changes include this field (its API name, as "
            "FieldChange.field gives it)."
        )
    )
    def changed_field(self, value: str, prefix: str) -> Q:
        return Q(
            **{f"{prefix}history_changes__has_key": to_snake_case(filter_text(value))}
        )

    @strawberry_django.filter_field(description="Versions written in this changeset.")
    def changeset(self, value: strawberry.ID, prefix: str) -> Q:
        key = changeset_key(value)
        if key is None:
            return MATCH_NOTHING
        return Q(**{f"{prefix}history_changeset_id": key})

    @strawberry_django.filter_field(
        description=(
            "Versions whose reason or changed values contain every word of this "
            "text (full-text search)."
        )
    )
    def search(
        self, value: str, queryset: QuerySet[Any], prefix: str
    ) -> tuple[QuerySet[Any], Q]:
        return search_versions(queryset, filter_text(value), prefix=prefix)


__all__ = [
    "DecimalFilterLookup",
    "IntFilterLookup",
    "StrFilterLookup",
    "VersionFilter",
    "filter_text",
    "pk_filter",
]
