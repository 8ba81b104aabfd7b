"""The audit feed over HTTP: every version of every product, deleted ones
included, newest first, filtered and paged, behind its permission."""

from __future__ import annotations

from typing import Any

import pytest

from products.services import (
    product_delete,
)
from tests.helpers import gid
from tests.schema.reads import create, product_gid, update

pytestmark = pytest.mark.django_db


# -- the audit feed ---------------------------------------------------------------

AUDIT_FEED = """
query Feed($filters: HistoricalProductFilter, $first: Int, $after: String) {
  productHistory(filters: $filters, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage }
    edges { node { __typename historyType productId name product { name } } }
  }
}
"""


def feed_node(
    history_type: str, product_id: str, name: str, live: str | None
) -> dict[str, Any]:
    return {
        "node": {
            "__typename": "HistoricalProduct",
            "historyType": history_type,
            "productId": product_id,
            "name": name,
            "product": None if live is None else {"name": live},
        }
    }


@pytest.fixture
def feed(editor: Any) -> dict[str, str]:
    """Two products; the first is updated, then deleted."""
    gone = create(editor, "Gone")
    gone_id = product_gid(gone)
    update(gone, editor, name="Going")
    kept = create(editor, "Kept")
    product_delete(pk=gone.pk, actor=editor, reason="discontinued")
    return {"gone": gone_id, "kept": product_gid(kept)}


def test_audit_feed_includes_deleted_products_newest_first(gql, editor, feed):
    answer = gql(AUDIT_FEED, user=editor)

    assert answer == {
        "data": {
            "productHistory": {
                "totalCount": 4,
                "pageInfo": {"hasNextPage": False, "hasPreviousPage": False},
                "edges": [
                    feed_node("DELETED", feed["gone"], "Going", None),
                    feed_node("CREATED", feed["kept"], "Kept", "Kept"),
                    feed_node("UPDATED", feed["gone"], "Going", None),
                    feed_node("CREATED", feed["gone"], "Gone", None),
                ],
            }
        }
    }


def test_audit_feed_filter_by_product(gql, editor, feed):
    answer = gql(AUDIT_FEED, {"filters": {"product": feed["gone"]}}, user=editor)

    assert answer == {
        "data": {
            "productHistory": {
                "totalCount": 3,
                "pageInfo": {"hasNextPage": False, "hasPreviousPage": False},
                "edges": [
                    feed_node("DELETED", feed["gone"], "Going", None),
                    feed_node("UPDATED", feed["gone"], "Going", None),
                    feed_node("CREATED", feed["gone"], "Gone", None),
                ],
            }
        }
    }


def test_audit_feed_filter_by_an_id_of_another_type_matches_nothing(gql, editor, feed):
    filters = {"product": gid("User", editor.pk)}

    answer = gql(AUDIT_FEED, {"filters": filters}, user=editor)

    assert answer["data"]["productHistory"]["totalCount"] == 0
    assert answer["data"]["productHistory"]["edges"] == []


def test_audit_feed_pagination(gql, editor, feed):
    first = gql(AUDIT_FEED, {"first": 3}, user=editor)
    assert first == {
        "data": {
            "productHistory": {
                "totalCount": 4,
                "pageInfo": {"hasNextPage": True, "hasPreviousPage": False},
                "edges": [
                    feed_node("DELETED", feed["gone"], "Going", None),
                    feed_node("CREATED", feed["kept"], "Kept", "Kept"),
                    feed_node("UPDATED", feed["gone"], "Going", None),
                ],
            }
        }
    }

    cursor_query = "{ productHistory(first: 3) { pageInfo { endCursor } } }"
    cursor = gql(cursor_query, user=editor)["data"]["productHistory"]["pageInfo"]
    second = gql(AUDIT_FEED, {"first": 3, "after": cursor["endCursor"]}, user=editor)

    assert second == {
        "data": {
            "productHistory": {
                "totalCount": 4,
                "pageInfo": {"hasNextPage": False, "hasPreviousPage": True},
                "edges": [feed_node("CREATED", feed["gone"], "Gone", None)],
            }
        }
    }


def test_audit_feed_needs_the_permission(gql, reader, feed):
    answer = gql(AUDIT_FEED, user=reader)

    assert answer["data"] is None
    assert [error["extensions"]["code"] for error in answer["errors"]] == [
        "PERMISSION_DENIED"
    ]
