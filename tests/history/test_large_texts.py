"""Huge texts: over-long fields and reasons are refused and write nothing, and
the search text of a version stays bounded while keeping every part."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from history.validation import MAX_REASON_LENGTH
from history.versions import MAX_SEARCH_TEXT, fair_shares, search_text
from history.writes import history_save
from products.models import (
    MAX_DESCRIPTION_LENGTH,
    Product,
)
from products.services import (
    product_create,
)
from tests.helpers import gid
from tests.history.trail_checks import CREATE, UPDATE, HistoricalProduct

# -- large texts -----------------------------------------------------------------


def invalid(field: str) -> dict[str, Any]:
    """The payload of a write refused for an invalid `field`."""
    return {
        "__typename": "OperationInfo",
        "messages": [{"kind": "VALIDATION", "code": "INVALID", "field": field}],
    }


def test_an_over_long_description_is_refused_and_writes_nothing(gql, editor):
    answer = gql(
        CREATE,
        {
            "input": {
                "name": "Lamp",
                "price": "1.00",
                "description": "x" * (MAX_DESCRIPTION_LENGTH + 1),
            }
        },
        user=editor,
    )

    assert answer == {"data": {"createProduct": invalid("description")}}
    assert not Product.objects.exists()
    assert not HistoricalProduct.objects.exists()


def test_an_over_long_update_of_the_description_is_refused(gql, editor):
    lamp = product_create(data={"name": "Lamp", "price": "1.00"}, actor=None)

    answer = gql(
        UPDATE,
        {"input": {"id": gid("Product", lamp.pk), "description": "y" * 800_000}},
        user=editor,
    )

    assert answer["data"]["updateProduct"] == invalid("description")
    assert HistoricalProduct.objects.count() == 1


def test_an_over_long_reason_is_refused(gql, editor):
    answer = gql(
        CREATE,
        {
            "input": {
                "name": "Lamp",
                "price": "1.00",
                "reason": "r" * (MAX_REASON_LENGTH + 1),
            }
        },
        user=editor,
    )

    assert answer == {"data": {"createProduct": invalid("reason")}}
    assert not Product.objects.exists()
    ok = gql(
        CREATE,
        {"input": {"name": "Lamp", "price": "1.00", "reason": "r" * MAX_REASON_LENGTH}},
        user=editor,
    )
    assert ok["data"]["createProduct"]["__typename"] == "Product"


def test_fair_shares_keep_short_texts_whole():
    assert fair_shares([10, 1000, 5, 1000], 100) == [10, 42, 5, 43]
    assert fair_shares([3, 4], 100) == [3, 4]
    assert fair_shares([], 100) == []


class Version:
    def __init__(self, reason: str, changes: dict[str, Any]) -> None:
        self.history_change_reason = reason
        self.history_changes = changes


def test_search_text_is_bounded_and_keeps_every_part():
    text = search_text(
        Version(
            "why " * 100_000,
            {
                "name": ["Lamp", "Desk lamp"],
                "description": ["a" * 500_000, "b" * 500_000],
                "tags": [["red"], ["red", "sale"]],
            },
        )
    )

    assert len(text) <= MAX_SEARCH_TEXT
    assert text.startswith("why why")
    for word in ("Lamp", "Desk lamp", "aaaa", "bbbb", "red sale"):
        assert word in text


def test_search_text_of_small_versions_is_unchanged():
    version = Version("Sale", {"price": ["1.00", "2.00"], "tags": [[], ["red"]]})

    assert search_text(version) == "Sale 1.00 2.00 red"


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL: the tsvector size limit of the search index",
)
def test_a_version_with_a_huge_search_text_saves(db, gql, staff):
    lamp = product_create(data={"name": "Lamp", "price": "1.00"}, actor=None)
    lamp.description = " ".join(f"w{n}" for n in range(1_500))
    # Services refuse such a reason; the engine below them must not fail on one.
    reason = " ".join(f"reason{n}" for n in range(150_000))

    history_save(instance=lamp, actor=None, reason=reason)

    latest = HistoricalProduct.objects.filter(id=lamp.pk).first()
    assert latest.history_change_reason == reason
    assert len(latest.history_search) <= MAX_SEARCH_TEXT
    answer = gql(
        '{ productHistory(filters: {search: "reason7"}) { totalCount } }', user=staff
    )
    assert answer == {"data": {"productHistory": {"totalCount": 1}}}
