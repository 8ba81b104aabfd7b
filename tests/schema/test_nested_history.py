"""A product's history, nested in the product, over HTTP: versions, their diffs
and users, filters and pages."""

from __future__ import annotations

from typing import Any

import pytest

from products.models import Product
from tests.helpers import gid
from tests.schema.reads import change, create, iso, product_gid, update, versions

pytestmark = pytest.mark.django_db


# -- nested history ---------------------------------------------------------------

PRODUCT_HISTORY = """
query History(
  $id: ID!, $filters: HistoricalProductFilter,
  $first: Int, $after: String, $last: Int, $before: String
) {
  product(id: $id) {
    __typename
    name
    history(
      filters: $filters, first: $first, after: $after, last: $last, before: $before
    ) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage }
      edges {
        node {
          __typename
          historyType
          historyChangeReason
          historyUser { __typename username }
          name
          price
          quantity
          changes { field oldValue newValue delta }
        }
      }
    }
  }
}
"""


def history_node(
    history_type: str,
    reason: str,
    name: str,
    price: str,
    quantity: int = 0,
    changes: list[dict[str, Any]] | None = None,
    username: str | None = "editor",
) -> dict[str, Any]:
    return {
        "node": {
            "__typename": "HistoricalProduct",
            "historyType": history_type,
            "historyChangeReason": reason,
            "historyUser": None
            if username is None
            else {"__typename": "User", "username": username},
            "name": name,
            "price": price,
            "quantity": quantity,
            "changes": changes or [],
        }
    }


def history_of(
    gql: Any, product: Product, user: Any, **variables: Any
) -> dict[str, Any]:
    answer = gql(PRODUCT_HISTORY, {"id": product_gid(product), **variables}, user=user)
    assert "errors" not in answer, answer["errors"]
    return answer


@pytest.fixture
def lamp(editor: Any) -> Product:
    """Four versions: created, price up, renamed, price down."""
    product = create(editor, "Lamp", "20.00")
    update(product, editor, reason="price up", price="35.00")
    update(product, editor, reason="rename", name="Desk lamp")
    update(product, editor, reason="sale", price="30.00", quantity=3)
    return product


CREATED_LAMP = history_node("CREATED", "create Lamp", "Lamp", "20.00")
PRICE_UP = history_node(
    "UPDATED",
    "price up",
    "Lamp",
    "35.00",
    changes=[change("price", "20.00", "35.00", "15.00")],
)
RENAMED = history_node(
    "UPDATED",
    "rename",
    "Desk lamp",
    "35.00",
    changes=[change("name", "Lamp", "Desk lamp")],
)
SALE = history_node(
    "UPDATED",
    "sale",
    "Desk lamp",
    "30.00",
    quantity=3,
    changes=[
        change("price", "35.00", "30.00", "-5.00"),
        change("quantity", "0", "3", "3"),
    ],
)


def lamp_history(
    edges: list[dict[str, Any]], *, total: int, more: bool = False, less: bool = False
) -> dict[str, Any]:
    return {
        "data": {
            "product": {
                "__typename": "Product",
                "name": "Desk lamp",
                "history": {
                    "totalCount": total,
                    "pageInfo": {"hasNextPage": more, "hasPreviousPage": less},
                    "edges": edges,
                },
            }
        }
    }


def test_history_is_newest_first_with_changes(gql, editor, lamp):
    answer = history_of(gql, lamp, editor)

    assert answer == lamp_history([SALE, RENAMED, PRICE_UP, CREATED_LAMP], total=4)


def test_history_forward_pagination(gql, editor, lamp):
    query = """
    query History($id: ID!, $after: String) {
      product(id: $id) { history(first: 3, after: $after) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage endCursor }
        edges { cursor node { historyChangeReason } }
      } }
    }
    """
    first = gql(query, {"id": product_gid(lamp)}, user=editor)
    history = first["data"]["product"]["history"]
    assert [e["node"]["historyChangeReason"] for e in history["edges"]] == [
        "sale",
        "rename",
        "price up",
    ]
    assert history["totalCount"] == 4
    assert history["pageInfo"]["hasNextPage"] is True
    assert history["pageInfo"]["hasPreviousPage"] is False
    assert history["pageInfo"]["endCursor"] == history["edges"][-1]["cursor"]

    after = history["pageInfo"]["endCursor"]
    second = gql(query, {"id": product_gid(lamp), "after": after}, user=editor)
    history = second["data"]["product"]["history"]
    assert [e["node"]["historyChangeReason"] for e in history["edges"]] == [
        "create Lamp"
    ]
    assert history["totalCount"] == 4
    assert history["pageInfo"]["hasNextPage"] is False
    assert history["pageInfo"]["hasPreviousPage"] is True


def test_history_backward_pagination(gql, editor, lamp):
    answer = history_of(gql, lamp, editor, last=2)

    assert answer == lamp_history(
        [PRICE_UP, CREATED_LAMP], total=4, more=False, less=True
    )


def test_history_filter_history_type(gql, editor, lamp):
    answer = history_of(gql, lamp, editor, filters={"historyType": "CREATED"})

    assert answer == lamp_history([CREATED_LAMP], total=1)


def test_history_filter_history_user(gql, editor, staff):
    product = create(editor, "Chair", "50.00")
    update(product, staff, reason="by staff", price="55.00")
    update(product, editor, reason="by editor", quantity=2)

    answer = history_of(
        gql, product, editor, filters={"historyUser": gid("User", staff.pk)}
    )

    assert answer["data"]["product"]["history"] == {
        "totalCount": 1,
        "pageInfo": {"hasNextPage": False, "hasPreviousPage": False},
        "edges": [
            history_node(
                "UPDATED",
                "by staff",
                "Chair",
                "55.00",
                changes=[change("price", "50.00", "55.00", "5.00")],
                username="staff",
            )
        ],
    }


def test_history_filter_history_user_of_another_type_matches_nothing(gql, editor, lamp):
    filters = {"historyUser": product_gid(lamp)}

    answer = history_of(gql, lamp, editor, filters=filters)

    assert answer == lamp_history([], total=0)


def test_history_filter_history_date_range(gql, editor, lamp):
    sale, renamed, price_up, _ = versions(lamp)
    assert price_up.history_date < renamed.history_date < sale.history_date
    filters = {
        "historyDate": {"gte": iso(price_up.history_date), "lt": iso(sale.history_date)}
    }

    answer = history_of(gql, lamp, editor, filters=filters)

    assert answer == lamp_history([RENAMED, PRICE_UP], total=2)


def test_history_filter_changed_field(gql, editor, lamp):
    answer = history_of(gql, lamp, editor, filters={"changedField": "price"})

    assert answer == lamp_history([SALE, PRICE_UP], total=2)


def test_history_filter_changed_field_quantity(gql, editor, lamp):
    answer = history_of(gql, lamp, editor, filters={"changedField": "quantity"})

    assert answer == lamp_history([SALE], total=1)


def test_history_filter_on_the_versions_own_price(gql, editor, lamp):
    answer = history_of(gql, lamp, editor, filters={"price": {"gt": "30"}})

    assert answer == lamp_history([RENAMED, PRICE_UP], total=2)


def test_history_filter_on_the_versions_own_name(gql, editor, lamp):
    answer = history_of(gql, lamp, editor, filters={"name": {"iContains": "DESK"}})

    assert answer == lamp_history([SALE, RENAMED], total=2)


def test_history_filters_combine_with_not(gql, editor, lamp):
    filters = {"historyType": "UPDATED", "NOT": {"changedField": "name"}}

    answer = history_of(gql, lamp, editor, filters=filters)

    assert answer == lamp_history([SALE, PRICE_UP], total=2)


def test_changes_of_updated_only_are_against_the_true_previous_version(
    gql, editor, lamp
):
    # The first UPDATED version's previous version is the CREATED one, which the
    # filter leaves out: its changes must still be against it.
    answer = history_of(gql, lamp, editor, filters={"historyType": "UPDATED"})

    assert answer == lamp_history([SALE, RENAMED, PRICE_UP], total=3)


def test_changes_of_a_value_filter_are_against_the_true_previous_version(gql, editor):
    product = create(editor, "Kettle", "10.00")
    update(product, editor, reason="up", price="20.00")
    update(product, editor, reason="down", price="12.00")
    update(product, editor, reason="up again", price="30.00")

    answer = history_of(gql, product, editor, filters={"price": {"gt": "15"}})

    edges = answer["data"]["product"]["history"]["edges"]
    assert [edge["node"]["changes"] for edge in edges] == [
        [change("price", "12.00", "30.00", "18.00")],
        [change("price", "10.00", "20.00", "10.00")],
    ]


def test_history_needs_the_permission(gql, reader, lamp):
    answer = gql(PRODUCT_HISTORY, {"id": product_gid(lamp)}, user=reader)

    # A query the viewer may not run answers no data at all.
    assert answer["data"] is None
    assert [error["extensions"]["code"] for error in answer["errors"]] == [
        "PERMISSION_DENIED"
    ]
