"""Related data in the audit feed over HTTP: filters, search and time travel
with categories and tags."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from products import services
from tests.helpers import Mentions, gid, ok
from tests.schema.related_history import (
    FEED,
    change_product,
    feed_nodes,
    make_category,
    make_product,
    product_versions,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def feed(curator: Any) -> dict[str, Any]:
    lamps = make_category(curator, "Lamps")
    desks = make_category(curator, "Desks")
    lamp = make_product(
        curator, "Lamp", category=lamps, tags=["red"], description="A lamp"
    )
    change_product(lamp, curator, "Polish wording", description="A luminous lamp")
    change_product(lamp, curator, "Summer promotion", tags=["red", "discount"])
    desk = make_product(curator, "Desk", category=desks, tags=["oak"])
    change_product(desk, curator, "Supplier increase", price="99.00")
    change_product(desk, curator, "Moved", category=lamps)
    return {"lamps": lamps, "desks": desks, "lamp": lamp, "desk": desk}


MOVED = ("Desk", "UPDATED", "Moved")
DESK_INCREASE = ("Desk", "UPDATED", "Supplier increase")
DESK_CREATED = ("Desk", "CREATED", "create Desk")
LAMP_PROMOTION = ("Lamp", "UPDATED", "Summer promotion")
LAMP_WORDING = ("Lamp", "UPDATED", "Polish wording")
LAMP_CREATED = ("Lamp", "CREATED", "create Lamp")


@pytest.mark.parametrize(
    ("make_filters", "expected"),
    [
        pytest.param(
            lambda f: {"category": gid("Category", f["lamps"].pk)},
            [MOVED, LAMP_PROMOTION, LAMP_WORDING, LAMP_CREATED],
            id="category-lamps",
        ),
        pytest.param(
            lambda f: {"category": gid("Category", f["desks"].pk)},
            [DESK_INCREASE, DESK_CREATED],
            id="category-desks",
        ),
        pytest.param(
            lambda f: {"category": gid("Product", f["lamps"].pk)},
            [],
            id="category-id-of-another-type",
        ),
        pytest.param(lambda f: {"tag": "discount"}, [LAMP_PROMOTION], id="tag"),
        pytest.param(
            lambda f: {"tag": "red"},
            [LAMP_PROMOTION, LAMP_WORDING, LAMP_CREATED],
            id="tag-on-every-version",
        ),
        pytest.param(
            lambda f: {"tag": "oak"},
            [MOVED, DESK_INCREASE, DESK_CREATED],
            id="tag-of-another-product",
        ),
        pytest.param(lambda f: {"tag": "nope"}, [], id="unknown-tag"),
        pytest.param(
            lambda f: {"changedField": "tags"}, [LAMP_PROMOTION], id="changed-tags"
        ),
        pytest.param(
            lambda f: {"changedField": "category"}, [MOVED], id="changed-category"
        ),
        pytest.param(
            lambda f: {"search": "promotion"},
            [LAMP_PROMOTION],
            id="search-reason-word",
        ),
        pytest.param(
            lambda f: {"search": "Supplier"},
            [DESK_INCREASE],
            id="search-reason-word-case",
        ),
        pytest.param(
            lambda f: {"search": "luminous"},
            [LAMP_WORDING],
            id="search-new-description-word",
        ),
        pytest.param(
            lambda f: {"search": "discount"},
            [LAMP_PROMOTION],
            id="search-added-tag",
        ),
        pytest.param(
            lambda f: {"search": "99.00"}, [DESK_INCREASE], id="search-new-price"
        ),
        pytest.param(
            lambda f: {"search": "Desks"}, [MOVED], id="search-old-category-name"
        ),
        pytest.param(
            lambda f: {"search": "summer discount"},
            [LAMP_PROMOTION],
            id="search-reason-and-value-words",
        ),
        pytest.param(
            lambda f: {"search": "summer luminous"},
            [],
            id="search-words-of-two-versions",
        ),
        pytest.param(lambda f: {"search": "walnut"}, [], id="search-unrelated-word"),
        pytest.param(
            lambda f: {"tag": "red", "changedField": "description"},
            [LAMP_WORDING],
            id="tag-and-changed-field",
        ),
        pytest.param(
            lambda f: {
                "category": gid("Category", f["lamps"].pk),
                "NOT": {"tag": "red"},
            },
            [MOVED],
            id="category-not-tag",
        ),
    ],
)
def test_audit_feed_filters_on_related_data(
    gql: Any,
    curator: Any,
    feed: dict[str, Any],
    make_filters: Any,
    expected: list[tuple[str, str, str]],
) -> None:
    answer = gql(FEED, {"filters": make_filters(feed)}, user=curator)

    assert ok(answer) == feed_nodes(*expected)


def test_product_history_connection_filters_by_tag_and_search(
    gql: Any, curator: Any, feed: dict[str, Any]
) -> None:
    answer = gql(
        """
        query($id: ID!) {
          product(id: $id) {
            byTag: history(filters: { tag: "discount" }) {
              edges { node { historyChangeReason } }
            }
            bySearch: history(filters: { search: "luminous" }) {
              edges { node { historyChangeReason } }
            }
          }
        }
        """,
        {"id": gid("Product", feed["lamp"].pk)},
        user=curator,
    )

    assert ok(answer) == {
        "product": {
            "byTag": {"edges": [{"node": {"historyChangeReason": "Summer promotion"}}]},
            "bySearch": {
                "edges": [{"node": {"historyChangeReason": "Polish wording"}}]
            },
        }
    }


# -- time travel with related data -------------------------------------------------


def test_product_as_of_includes_category_and_tags_as_they_were(
    gql: Any, curator: Any
) -> None:
    lamps = make_category(curator, "Lamps")
    product = make_product(curator, "Lamp", category=lamps, tags=["red"])
    services.category_update(
        pk=lamps.pk, data={"name": "Lights"}, actor=curator, reason="rename"
    )
    desks = make_category(curator, "Desks")
    change_product(product, curator, "move", category=desks, tags=["blue", "oak"])
    services.category_delete(pk=desks.pk, actor=curator, reason="dropped")
    created, moved_, left = product_versions(product.pk)
    tick = datetime.timedelta(microseconds=1)
    query = """
    query($id: ID!, $at: DateTime!) {
      productAsOf(id: $id, at: $at) {
        __typename historyType historyChangeReason name
        category { id name exists }
        tags { name exists }
      }
    }
    """

    def as_of(moment: datetime.datetime) -> Any:
        variables = {"id": gid("Product", product.pk), "at": moment.isoformat()}
        return ok(gql(query, variables, user=curator))["productAsOf"]

    in_lamps = {
        "__typename": "HistoricalProduct",
        "historyType": "CREATED",
        "historyChangeReason": "create Lamp",
        "name": "Lamp",
        "category": {"id": gid("Category", lamps.pk), "name": "Lamps", "exists": True},
        "tags": [{"name": "red", "exists": True}],
    }
    in_desks = {
        "__typename": "HistoricalProduct",
        "historyType": "UPDATED",
        "historyChangeReason": "move",
        "name": "Lamp",
        "category": {"id": gid("Category", desks.pk), "name": "Desks", "exists": False},
        "tags": [{"name": "blue", "exists": True}, {"name": "oak", "exists": True}],
    }
    assert as_of(created.history_date - tick) is None
    assert as_of(created.history_date) == in_lamps
    assert as_of(moved_.history_date - tick) == in_lamps
    assert as_of(moved_.history_date) == in_desks
    assert as_of(left.history_date - tick) == in_desks
    assert as_of(left.history_date) == {
        **in_desks,
        "historyChangeReason": Mentions("Desks", "dropped"),
        "category": None,
    }
