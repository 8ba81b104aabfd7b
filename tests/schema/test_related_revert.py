"""Reverting a product restores its category and tags, over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from products import services
from products.models import Category, Product
from tests.helpers import Mentions, gid, ok, refused
from tests.schema.related_history import (
    REVERT_CATEGORY,
    REVERT_PRODUCT,
    category_versions,
    change,
    change_product,
    database_state,
    make_category,
    make_product,
    product_versions,
    tag_names,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def moved(curator: Any) -> tuple[Product, Category, Category]:
    """A lamp created in Lamps (red, sale) at 10.00, then moved to Desks (blue) at
    12.00."""
    lamps = make_category(curator, "Lamps")
    desks = make_category(curator, "Desks")
    product = make_product(
        curator, "Lamp", price="10.00", category=lamps, tags=["red", "sale"]
    )
    change_product(
        product, curator, "move", price="12.00", category=desks, tags=["blue"]
    )
    return product, lamps, desks


def current(product: Product) -> tuple[str, str | None, list[str]]:
    product.refresh_from_db()
    return (
        str(product.price),
        product.category.name if product.category else None,
        sorted(product.tags.values_list("name", flat=True)),
    )


def test_revert_restores_category_and_tags(
    gql: Any, curator: Any, moved: tuple[Product, Category, Category]
) -> None:
    product, _, _ = moved
    first = product_versions(product.pk)[0]

    answer = gql(
        REVERT_PRODUCT,
        {
            "input": {
                "id": gid("Product", product.pk),
                "record": gid("HistoricalProduct", first.history_id),
                "reason": "Undo the move",
            }
        },
        user=curator,
    )

    changes = [
        change("category", "Desks", "Lamps"),
        change("price", "12.00", "10.00", delta="-2.00"),
        change("tags", "blue", "red, sale", added=["red", "sale"], removed=["blue"]),
    ]
    assert answer == {
        "data": {
            "revertProduct": {
                "__typename": "RevertProductResult",
                "product": {
                    "id": gid("Product", product.pk),
                    "price": "10.00",
                    "category": {"name": "Lamps"},
                    "tags": tag_names("red", "sale"),
                },
                "record": {
                    "historyType": "UPDATED",
                    "historyChangeReason": "Undo the move",
                    "revertedFrom": {"historyId": first.history_id},
                    "price": "10.00",
                    "category": {"name": "Lamps"},
                    "tags": tag_names("red", "sale"),
                    "changes": changes,
                },
                "changes": changes,
            }
        }
    }
    assert current(product) == ("10.00", "Lamps", ["red", "sale"])
    assert len(product_versions(product.pk)) == 3


def test_revert_of_only_category_and_tags(
    gql: Any, curator: Any, moved: tuple[Product, Category, Category]
) -> None:
    product, _, _ = moved
    first = product_versions(product.pk)[0]

    answer = gql(
        REVERT_PRODUCT,
        {
            "input": {
                "id": gid("Product", product.pk),
                "record": gid("HistoricalProduct", first.history_id),
                "reason": "Back to Lamps",
                "fields": ["category", "tags"],
            }
        },
        user=curator,
    )

    changes = [
        change("category", "Desks", "Lamps"),
        change("tags", "blue", "red, sale", added=["red", "sale"], removed=["blue"]),
    ]
    assert answer == {
        "data": {
            "revertProduct": {
                "__typename": "RevertProductResult",
                "product": {
                    "id": gid("Product", product.pk),
                    "price": "12.00",
                    "category": {"name": "Lamps"},
                    "tags": tag_names("red", "sale"),
                },
                "record": {
                    "historyType": "UPDATED",
                    "historyChangeReason": "Back to Lamps",
                    "revertedFrom": {"historyId": first.history_id},
                    "price": "12.00",
                    "category": {"name": "Lamps"},
                    "tags": tag_names("red", "sale"),
                    "changes": changes,
                },
                "changes": changes,
            }
        }
    }
    assert current(product) == ("12.00", "Lamps", ["red", "sale"])


def test_revert_of_only_tags_keeps_the_category(
    gql: Any, curator: Any, moved: tuple[Product, Category, Category]
) -> None:
    product, _, _ = moved
    first = product_versions(product.pk)[0]

    answer = ok(
        gql(
            REVERT_PRODUCT,
            {
                "input": {
                    "id": gid("Product", product.pk),
                    "record": gid("HistoricalProduct", first.history_id),
                    "reason": "Tags back",
                    "fields": ["tags"],
                }
            },
            user=curator,
        )
    )

    assert answer["revertProduct"]["changes"] == [
        change("tags", "blue", "red, sale", added=["red", "sale"], removed=["blue"])
    ]
    assert current(product) == ("12.00", "Desks", ["red", "sale"])


def test_revert_dry_run_reports_category_and_tags_and_writes_nothing(
    gql: Any, curator: Any, moved: tuple[Product, Category, Category]
) -> None:
    product, _, _ = moved
    first = product_versions(product.pk)[0]
    before = database_state()

    answer = gql(
        REVERT_PRODUCT,
        {
            "input": {
                "id": gid("Product", product.pk),
                "record": gid("HistoricalProduct", first.history_id),
                "reason": "What if",
                "fields": ["category", "tags"],
                "dryRun": True,
            }
        },
        user=curator,
    )

    assert answer == {
        "data": {
            "revertProduct": {
                "__typename": "RevertProductResult",
                # As it would be after the revert.
                "product": {
                    "id": gid("Product", product.pk),
                    "price": "12.00",
                    "category": {"name": "Lamps"},
                    "tags": tag_names("red", "sale"),
                },
                "record": None,
                "changes": [
                    change("category", "Desks", "Lamps"),
                    change(
                        "tags",
                        "blue",
                        "red, sale",
                        added=["red", "sale"],
                        removed=["blue"],
                    ),
                ],
            }
        }
    }
    assert database_state() == before


def test_revert_to_a_deleted_category_is_refused_until_it_is_restored(
    gql: Any, curator: Any
) -> None:
    lamps = make_category(curator, "Lamps")
    product = make_product(curator, "Lamp", category=lamps, tags=["red"])
    change_product(product, curator, "retag", tags=["blue"])
    services.category_delete(pk=lamps.pk, actor=curator, reason="Range dropped")
    first = product_versions(product.pk)[0]
    revert_input = {
        "id": gid("Product", product.pk),
        "record": gid("HistoricalProduct", first.history_id),
        "reason": "Undo",
    }
    before = database_state()

    extras: list[dict[str, Any]] = [{}, {"fields": ["category"]}, {"dryRun": True}]
    for extra in extras:
        answer = gql(REVERT_PRODUCT, {"input": {**revert_input, **extra}}, user=curator)

        assert answer == refused("revertProduct", "RELATED_DELETED", field="category")
        assert answer["data"]["revertProduct"]["messages"][0]["message"] == Mentions(
            "Lamps"
        )
        assert database_state() == before

    # Fields that do not involve the category still revert.
    tags_only = ok(
        gql(
            REVERT_PRODUCT,
            {"input": {**revert_input, "fields": ["tags"]}},
            user=curator,
        )
    )["revertProduct"]
    assert tags_only["product"]["tags"] == tag_names("red")
    assert tags_only["product"]["category"] is None

    restored = ok(
        gql(
            REVERT_CATEGORY,
            {
                "input": {
                    "id": gid("Category", lamps.pk),
                    "record": gid(
                        "HistoricalCategory", category_versions(lamps.pk)[0].history_id
                    ),
                    "reason": "Range is back",
                }
            },
            user=curator,
        )
    )
    assert restored["revertCategory"]["category"]["id"] == gid("Category", lamps.pk)

    answer = gql(REVERT_PRODUCT, {"input": revert_input}, user=curator)

    assert answer == {
        "data": {
            "revertProduct": {
                "__typename": "RevertProductResult",
                "product": {
                    "id": gid("Product", product.pk),
                    "price": "10.00",
                    "category": {"name": "Lamps"},
                    "tags": tag_names("red"),
                },
                "record": {
                    "historyType": "UPDATED",
                    "historyChangeReason": "Undo",
                    "revertedFrom": {"historyId": first.history_id},
                    "price": "10.00",
                    "category": {"name": "Lamps"},
                    "tags": tag_names("red"),
                    "changes": [change("category", None, "Lamps")],
                },
                "changes": [change("category", None, "Lamps")],
            }
        }
    }
    product.refresh_from_db()
    assert product.category_id == lamps.pk


def test_restoring_a_deleted_product_brings_back_its_category_and_tags(
    gql: Any, curator: Any
) -> None:
    lamps = make_category(curator, "Lamps")
    product = make_product(curator, "Lamp", category=lamps, tags=["red", "sale"])
    services.product_delete(pk=product.pk, actor=curator, reason="gone")
    first = product_versions(product.pk)[0]

    answer = ok(
        gql(
            REVERT_PRODUCT,
            {
                "input": {
                    "id": gid("Product", product.pk),
                    "record": gid("HistoricalProduct", first.history_id),
                    "reason": "Back",
                }
            },
            user=curator,
        )
    )

    assert answer["revertProduct"]["product"] == {
        "id": gid("Product", product.pk),
        "price": "10.00",
        "category": {"name": "Lamps"},
        "tags": tag_names("red", "sale"),
    }
    assert answer["revertProduct"]["record"]["historyType"] == "CREATED"
    assert current(product) == ("10.00", "Lamps", ["red", "sale"])
