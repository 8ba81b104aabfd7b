"""The read side of the API over HTTP: products, history, audit feed, time travel."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from history.selectors import history_versions
from products.models import Product
from products.services import (
    product_create,
    product_delete,
    product_import,
    product_update,
)
from tests.conftest import bearer
from tests.factories import UserFactory
from tests.helpers import gid, post

pytestmark = pytest.mark.django_db


# -- helpers ----------------------------------------------------------------------


def product_gid(product: Product) -> str:
    return gid("Product", product.pk)


def version_gid(version: Any) -> str:
    return gid("HistoricalProduct", version.history_id)


def create(actor: Any, name: str, price: str = "10.00", **data: Any) -> Product:
    """A product created through the service, with its CREATED version."""
    values = {"name": name, "price": Decimal(price), **data}
    return product_create(data=values, actor=actor, reason=f"create {name}")


def update(product: Product, actor: Any, reason: str = "edit", **data: Any) -> Product:
    """Change a product through the service, recording an UPDATED version."""
    if "price" in data:
        data["price"] = Decimal(data["price"])
    return product_update(pk=product.pk, data=data, actor=actor, reason=reason)


def versions(product: Product) -> list[Any]:
    """The versions of a product, newest first (works after deletion)."""
    return list(history_versions(model=Product, pk=product.pk))


def iso(moment: datetime.datetime) -> str:
    return moment.isoformat()


# -- products: filters and ordering ------------------------------------------------

PRODUCT_NAMES = """
query Products($filters: ProductFilter, $ordering: [ProductOrder!]) {
  products(filters: $filters, ordering: $ordering) {
    totalCount
    edges { node { __typename name price } }
  }
}
"""


def product_nodes(*rows: tuple[str, str]) -> list[dict[str, Any]]:
    return [
        {"node": {"__typename": "Product", "name": name, "price": price}}
        for name, price in rows
    ]


@pytest.fixture
def catalog(editor: Any) -> list[Product]:
    return [
        create(editor, "Laptop Pro", "1499.00"),
        create(editor, "Mouse", "25.00"),
        create(editor, "laptop stand", "49.90"),
        create(editor, "Monitor", "349.00"),
    ]


def test_products_filter_name_icontains(gql, catalog):
    answer = gql(PRODUCT_NAMES, {"filters": {"name": {"iContains": "LAPTOP"}}})

    assert answer == {
        "data": {
            "products": {
                "totalCount": 2,
                "edges": product_nodes(
                    ("Laptop Pro", "1499.00"), ("laptop stand", "49.90")
                ),
            }
        }
    }


def test_products_filter_price_gt_and_lt(gql, catalog):
    filters = {"price": {"gt": "25.00", "lt": "1000"}}

    answer = gql(PRODUCT_NAMES, {"filters": filters})

    assert answer == {
        "data": {
            "products": {
                "totalCount": 2,
                "edges": product_nodes(
                    ("laptop stand", "49.90"), ("Monitor", "349.00")
                ),
            }
        }
    }


def test_products_filters_combine_with_or(gql, catalog):
    filters = {
        "name": {"iContains": "mo"},
        "OR": {"price": {"gt": "1000"}},
    }

    answer = gql(PRODUCT_NAMES, {"filters": filters})

    assert answer == {
        "data": {
            "products": {
                "totalCount": 3,
                "edges": product_nodes(
                    ("Laptop Pro", "1499.00"),
                    ("Mouse", "25.00"),
                    ("Monitor", "349.00"),
                ),
            }
        }
    }


def test_products_ordering_price_desc(gql, catalog):
    answer = gql(PRODUCT_NAMES, {"ordering": [{"price": "DESC"}]})

    assert answer == {
        "data": {
            "products": {
                "totalCount": 4,
                "edges": product_nodes(
                    ("Laptop Pro", "1499.00"),
                    ("Monitor", "349.00"),
                    ("laptop stand", "49.90"),
                    ("Mouse", "25.00"),
                ),
            }
        }
    }


def test_products_ordering_by_several_keys(gql, editor):
    create(editor, "B", "5.00")
    create(editor, "C", "1.00")
    create(editor, "A", "5.00")

    answer = gql(PRODUCT_NAMES, {"ordering": [{"price": "DESC"}, {"name": "ASC"}]})

    assert answer == {
        "data": {
            "products": {
                "totalCount": 3,
                "edges": product_nodes(("A", "5.00"), ("B", "5.00"), ("C", "1.00")),
            }
        }
    }


def test_products_default_order_is_creation_order(gql, catalog):
    answer = gql(PRODUCT_NAMES)

    assert answer == {
        "data": {
            "products": {
                "totalCount": 4,
                "edges": product_nodes(
                    ("Laptop Pro", "1499.00"),
                    ("Mouse", "25.00"),
                    ("laptop stand", "49.90"),
                    ("Monitor", "349.00"),
                ),
            }
        }
    }


# -- products: pagination ----------------------------------------------------------

PRODUCT_PAGE = """
query Page($first: Int, $after: String, $last: Int, $before: String) {
  products(first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { name } }
  }
}
"""


def page(
    edges: list[dict[str, Any]], names: list[str], *, total: int, more: bool, less: bool
) -> dict[str, Any]:
    """The expected connection, given the cursors the answer handed out."""
    cursors = [edge["cursor"] for edge in edges]
    assert all(isinstance(cursor, str) and cursor for cursor in cursors)
    return {
        "totalCount": total,
        "pageInfo": {
            "hasNextPage": more,
            "hasPreviousPage": less,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
        "edges": [
            {"cursor": cursor, "node": {"name": name}}
            for cursor, name in zip(cursors, names, strict=True)
        ],
    }


@pytest.fixture
def five_products(editor: Any) -> list[Product]:
    return [create(editor, f"P{n}") for n in range(1, 6)]


def test_products_forward_pagination(gql, five_products):
    first = gql(PRODUCT_PAGE, {"first": 2})["data"]["products"]
    assert first == page(first["edges"], ["P1", "P2"], total=5, more=True, less=False)

    second = gql(PRODUCT_PAGE, {"first": 2, "after": first["pageInfo"]["endCursor"]})
    second = second["data"]["products"]
    assert second == page(second["edges"], ["P3", "P4"], total=5, more=True, less=True)

    third = gql(PRODUCT_PAGE, {"first": 2, "after": second["pageInfo"]["endCursor"]})
    third = third["data"]["products"]
    assert third == page(third["edges"], ["P5"], total=5, more=False, less=True)

    cursors = [e["cursor"] for p in (first, second, third) for e in p["edges"]]
    assert len(set(cursors)) == 5


def test_products_backward_pagination(gql, five_products):
    last = gql(PRODUCT_PAGE, {"last": 2})["data"]["products"]
    assert last == page(last["edges"], ["P4", "P5"], total=5, more=False, less=True)

    before = gql(PRODUCT_PAGE, {"last": 2, "before": last["pageInfo"]["startCursor"]})
    before = before["data"]["products"]
    assert before == page(before["edges"], ["P2", "P3"], total=5, more=True, less=True)

    start = gql(PRODUCT_PAGE, {"last": 2, "before": before["pageInfo"]["startCursor"]})
    start = start["data"]["products"]
    assert start == page(start["edges"], ["P1"], total=5, more=True, less=False)


def test_products_page_size_limit(gql, editor):
    product_import(
        rows=[{"name": f"Bulk {n}", "price": Decimal("1.00")} for n in range(101)],
        actor=None,
        reason="import",
    )

    answer = gql(PRODUCT_PAGE, {"first": 100})

    products = answer["data"]["products"]
    assert products["totalCount"] == 101
    assert len(products["edges"]) == 100
    assert products["pageInfo"]["hasNextPage"] is True
    assert products["edges"][-1]["node"] == {"name": "Bulk 99"}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        pytest.param(
            "{ products(first: 101) { totalCount } }",
            "Argument 'first' cannot be higher than 100.",
            id="products-first",
        ),
        pytest.param(
            "{ products(last: 101) { totalCount } }",
            "Argument 'last' cannot be higher than 100.",
            id="products-last",
        ),
        pytest.param(
            "{ productHistory(first: 101) { totalCount } }",
            "Argument 'first' cannot be higher than 100.",
            id="product-history",
        ),
        pytest.param(
            "{ products { edges { node { history(first: 101) { totalCount } } } } }",
            "Argument 'first' cannot be higher than 100.",
            id="nested-history",
        ),
    ],
)
def test_page_size_over_100_is_a_graphql_error(gql, editor, query, message):
    create(editor, "Desk")

    response = post(query, headers=bearer(editor))

    assert response.status_code == 200
    answer = response.json()
    assert answer["data"] is None
    assert [error["message"] for error in answer["errors"]] == [message]


def test_history_connections_take_first_100(gql, editor):
    product = create(editor, "Desk", "1.00")
    for n in range(2, 102):
        update(product, editor, price=f"{n}.00")
    query = """
    {
      products { edges { node { history(first: 100) {
        totalCount pageInfo { hasNextPage } edges { node { price } }
      } } } }
      productHistory(first: 100) {
        totalCount pageInfo { hasNextPage } edges { node { price } }
      }
    }
    """

    answer = gql(query, user=editor)

    newest_100 = {
        "totalCount": 101,
        "pageInfo": {"hasNextPage": True},
        "edges": [{"node": {"price": f"{n}.00"}} for n in range(101, 1, -1)],
    }
    assert answer == {
        "data": {
            "products": {"edges": [{"node": {"history": newest_100}}]},
            "productHistory": newest_100,
        }
    }


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


def change(field: str, old: str | None, new: str | None, delta: str | None = None):
    return {"field": field, "oldValue": old, "newValue": new, "delta": delta}


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


# -- time travel --------------------------------------------------------------------

AS_OF = """
query AsOf($id: ID!, $at: DateTime!) {
  productAsOf(id: $id, at: $at) {
    __typename historyType name price quantity historyChangeReason
  }
}
"""


def as_of(gql: Any, user: Any, product_id: str, at: datetime.datetime) -> Any:
    answer = gql(AS_OF, {"id": product_id, "at": iso(at)}, user=user)
    assert "errors" not in answer, answer["errors"]
    return answer["data"]["productAsOf"]


def test_product_as_of(gql, editor):
    product = create(editor, "Clock", "40.00", quantity=1)
    product_id = product_gid(product)
    update(product, editor, reason="repriced", price="45.00")
    update(product, editor, reason="restocked", quantity=9)
    product_delete(pk=product.pk, actor=editor, reason="gone")
    deleted, restocked, repriced, created = versions(product)
    moments = [v.history_date for v in (created, repriced, restocked, deleted)]
    assert moments == sorted(set(moments)), "versions need distinct times"
    tick = datetime.timedelta(microseconds=1)

    def version(history_type: str, price: str, quantity: int, reason: str):
        return {
            "__typename": "HistoricalProduct",
            "historyType": history_type,
            "name": "Clock",
            "price": price,
            "quantity": quantity,
            "historyChangeReason": reason,
        }

    first = version("CREATED", "40.00", 1, "create Clock")
    second = version("UPDATED", "45.00", 1, "repriced")
    third = version("UPDATED", "45.00", 9, "restocked")
    at = [
        (created.history_date - datetime.timedelta(days=1), None),
        (created.history_date - tick, None),
        (created.history_date, first),
        (repriced.history_date - tick, first),
        (repriced.history_date, second),
        (
            repriced.history_date
            + (restocked.history_date - repriced.history_date) / 2,
            second,
        ),
        (restocked.history_date, third),
        (deleted.history_date - tick, third),
        (deleted.history_date, None),
        (deleted.history_date + datetime.timedelta(days=1), None),
    ]

    answers = [as_of(gql, editor, product_id, moment) for moment, _ in at]

    assert answers == [expected for _, expected in at]


def test_product_as_of_accepts_other_time_zones(gql, editor):
    product = create(editor, "Clock", "40.00")
    (created,) = versions(product)
    paris = datetime.timezone(datetime.timedelta(hours=2))

    answer = as_of(
        gql, editor, product_gid(product), created.history_date.astimezone(paris)
    )

    assert answer == {
        "__typename": "HistoricalProduct",
        "historyType": "CREATED",
        "name": "Clock",
        "price": "40.00",
        "quantity": 0,
        "historyChangeReason": "create Clock",
    }


def test_product_as_of_for_an_id_of_another_type_is_null(gql, editor):
    create(editor, "Clock")
    future = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)

    assert as_of(gql, editor, gid("User", editor.pk), future) is None


def test_product_as_of_needs_the_permission(gql, reader, editor):
    product = create(editor, "Clock")
    future = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)

    answer = gql(AS_OF, {"id": product_gid(product), "at": iso(future)}, user=reader)

    assert answer["data"] is None
    assert [error["extensions"]["code"] for error in answer["errors"]] == [
        "PERMISSION_DENIED"
    ]


# -- node and product ---------------------------------------------------------------

NODE = """
query Node($id: ID!) {
  node(id: $id) {
    __typename
    id
    ... on Product { name price }
    ... on HistoricalProduct { historyType name price productId }
  }
}
"""


def test_node_resolves_a_product(gql, editor):
    product = create(editor, "Vase", "12.50")

    answer = gql(NODE, {"id": product_gid(product)})

    assert answer == {
        "data": {
            "node": {
                "__typename": "Product",
                "id": product_gid(product),
                "name": "Vase",
                "price": "12.50",
            }
        }
    }


def test_node_resolves_a_version(gql, editor):
    product = create(editor, "Vase", "12.50")
    update(product, editor, price="14.00")
    _, created = versions(product)

    answer = gql(NODE, {"id": version_gid(created)}, user=editor)

    assert answer == {
        "data": {
            "node": {
                "__typename": "HistoricalProduct",
                "id": version_gid(created),
                "historyType": "CREATED",
                "name": "Vase",
                "price": "12.50",
                "productId": product_gid(product),
            }
        }
    }


def test_node_hides_versions_from_viewers_without_the_permission(gql, editor, reader):
    product = create(editor, "Vase")
    (created,) = versions(product)

    answer = gql(NODE, {"id": version_gid(created)}, user=reader)

    assert answer == {"data": {"node": None}}


PRODUCT = "query P($id: ID!) { product(id: $id) { __typename name } }"


def test_product_by_id(gql, editor):
    product = create(editor, "Vase")

    assert gql(PRODUCT, {"id": product_gid(product)}) == {
        "data": {"product": {"__typename": "Product", "name": "Vase"}}
    }


def test_product_is_null_once_deleted(gql, editor):
    product = create(editor, "Vase")
    product_id = product_gid(product)
    product_delete(pk=product.pk, actor=editor, reason="broken")

    assert gql(PRODUCT, {"id": product_id}) == {"data": {"product": None}}


def test_product_is_null_for_an_id_of_another_type(gql, editor):
    product = create(editor, "Vase")
    (created,) = versions(product)

    for other in (gid("User", product.pk), version_gid(created)):
        assert gql(PRODUCT, {"id": other}) == {"data": {"product": None}}


# -- a version's neighbours, diff and product -------------------------------------

VERSION = """
query V($id: ID!, $against: ID!) {
  node(id: $id) {
    ... on HistoricalProduct {
      historyType
      diff(against: $against) {
        __typename field label oldValue newValue delta
        segments { __typename op text }
      }
      previous { historyType price }
      next { historyType price }
      product { __typename name }
      productId
    }
  }
}
"""


@pytest.fixture
def table(editor: Any) -> Product:
    product = create(
        editor, "Table", "100.00", description="Solid oak table", quantity=2
    )
    update(product, editor, price="80.00")
    update(product, editor, name="Dining table", description="Solid walnut table")
    return product


def test_diff_against_an_older_version(gql, editor, table):
    renamed, _, created = versions(table)
    variables = {"id": version_gid(renamed), "against": version_gid(created)}

    answer = gql(VERSION, variables, user=editor)

    assert answer == {
        "data": {
            "node": {
                "historyType": "UPDATED",
                "diff": [
                    {
                        "__typename": "FieldChange",
                        "field": "description",
                        "label": "Description",
                        "oldValue": "Solid oak table",
                        "newValue": "Solid walnut table",
                        "delta": None,
                        "segments": [
                            {
                                "__typename": "TextSegment",
                                "op": "EQUAL",
                                "text": "Solid ",
                            },
                            {
                                "__typename": "TextSegment",
                                "op": "DELETE",
                                "text": "oak",
                            },
                            {
                                "__typename": "TextSegment",
                                "op": "INSERT",
                                "text": "walnut",
                            },
                            {
                                "__typename": "TextSegment",
                                "op": "EQUAL",
                                "text": " table",
                            },
                        ],
                    },
                    {
                        "__typename": "FieldChange",
                        "field": "name",
                        "label": "Name",
                        "oldValue": "Table",
                        "newValue": "Dining table",
                        "delta": None,
                        "segments": [
                            {
                                "__typename": "TextSegment",
                                "op": "DELETE",
                                "text": "Table",
                            },
                            {
                                "__typename": "TextSegment",
                                "op": "INSERT",
                                "text": "Dining table",
                            },
                        ],
                    },
                    {
                        "__typename": "FieldChange",
                        "field": "price",
                        "label": "Price",
                        "oldValue": "100.00",
                        "newValue": "80.00",
                        "delta": "-20.00",
                        "segments": None,
                    },
                ],
                "previous": {"historyType": "UPDATED", "price": "80.00"},
                "next": None,
                "product": {"__typename": "Product", "name": "Dining table"},
                "productId": product_gid(table),
            }
        }
    }


def test_diff_against_a_newer_version_reverses_the_change(gql, editor, table):
    _, discounted, created = versions(table)
    variables = {"id": version_gid(created), "against": version_gid(discounted)}

    answer = gql(VERSION, variables, user=editor)

    node = answer["data"]["node"]
    assert node["diff"] == [
        {
            "__typename": "FieldChange",
            "field": "price",
            "label": "Price",
            "oldValue": "80.00",
            "newValue": "100.00",
            "delta": "20.00",
            "segments": None,
        }
    ]
    assert node["previous"] is None
    assert node["next"] == {"historyType": "UPDATED", "price": "80.00"}


def test_diff_against_itself_is_empty(gql, editor, table):
    _, discounted, _ = versions(table)
    variables = {"id": version_gid(discounted), "against": version_gid(discounted)}

    answer = gql(VERSION, variables, user=editor)

    assert answer["data"]["node"]["diff"] == []
    assert answer["data"]["node"]["previous"] == {
        "historyType": "CREATED",
        "price": "100.00",
    }
    assert answer["data"]["node"]["next"] == {
        "historyType": "UPDATED",
        "price": "80.00",
    }


@pytest.mark.parametrize(
    ("against", "code"),
    [
        pytest.param("other", "RECORD_MISMATCH", id="other-product"),
        pytest.param("missing", "NOT_FOUND", id="missing-version"),
        pytest.param("product", "NOT_FOUND", id="id-of-another-type"),
    ],
)
def test_diff_against_a_bad_version_is_an_error(gql, editor, table, against, code):
    other = create(editor, "Other")
    (other_version,) = versions(other)
    ids = {
        "other": version_gid(other_version),
        "missing": gid("HistoricalProduct", 999_999),
        "product": product_gid(table),
    }
    latest = versions(table)[0]
    query = """
    query V($id: ID!, $against: ID!) {
      node(id: $id) { ... on HistoricalProduct { diff(against: $against) { field } } }
    }
    """

    answer = gql(
        query, {"id": version_gid(latest), "against": ids[against]}, user=editor
    )

    assert answer["data"] == {"node": None}
    assert [error["extensions"]["code"] for error in answer["errors"]] == [code]


def test_product_of_a_version_is_null_after_delete_and_product_id_stays(
    gql, editor, table
):
    product_id = product_gid(table)
    product_delete(pk=table.pk, actor=editor, reason="sold")
    deleted, renamed, _, _ = versions(table)
    query = """
    query V($id: ID!) {
      node(id: $id) {
        ... on HistoricalProduct {
          historyType historyChangeReason name product { name } productId
          previous { historyType name } next { historyType }
        }
      }
    }
    """

    answers = [
        gql(query, {"id": version_gid(version)}, user=editor)
        for version in (deleted, renamed)
    ]

    assert answers == [
        {
            "data": {
                "node": {
                    "historyType": "DELETED",
                    "historyChangeReason": "sold",
                    "name": "Dining table",
                    "product": None,
                    "productId": product_id,
                    "previous": {"historyType": "UPDATED", "name": "Dining table"},
                    "next": None,
                }
            }
        },
        {
            "data": {
                "node": {
                    "historyType": "UPDATED",
                    "historyChangeReason": "edit",
                    "name": "Dining table",
                    "product": None,
                    "productId": product_id,
                    "previous": {"historyType": "UPDATED", "name": "Table"},
                    "next": {"historyType": "DELETED"},
                }
            }
        },
    ]


# -- request context ----------------------------------------------------------------

CREATE = """
mutation Create($input: CreateProductInput!) {
  createProduct(input: $input) { __typename ... on Product { id } }
}
"""

CONTEXT = """
query Context($id: ID!) {
  product(id: $id) { history { edges { node {
    historyUser { username } requestId ipAddress userAgent
  } } } }
}
"""


def create_over_http(user: Any, headers: dict[str, str]) -> tuple[Any, str]:
    response = post(
        CREATE,
        {"input": {"name": "Rug", "price": "80.00", "reason": "new"}},
        headers={**bearer(user), **headers},
    )
    assert response.status_code == 200, response.content
    payload = response.json()["data"]["createProduct"]
    assert payload["__typename"] == "Product", payload
    return response, payload["id"]


def request_context(gql: Any, viewer: Any, product_id: str) -> dict[str, Any]:
    answer = gql(CONTEXT, {"id": product_id}, user=viewer)
    (edge,) = answer["data"]["product"]["history"]["edges"]
    node: dict[str, Any] = edge["node"]
    return node


def test_request_id_given_is_stored_and_echoed(gql, staff):
    headers = {"X-Request-ID": "req-42.abc", "User-Agent": "catalog-script/1.0"}

    response, product_id = create_over_http(staff, headers)

    assert response["X-Request-ID"] == "req-42.abc"
    assert request_context(gql, staff, product_id) == {
        "historyUser": {"username": "staff"},
        "requestId": "req-42.abc",
        "ipAddress": "127.0.0.1",
        "userAgent": "catalog-script/1.0",
    }


def test_request_id_is_generated_without_the_header(gql, staff):
    response, product_id = create_over_http(staff, {})

    generated = response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert request_context(gql, staff, product_id)["requestId"] == generated


def test_a_malformed_request_id_is_replaced(gql, staff):
    response, product_id = create_over_http(staff, {"X-Request-ID": "bad id; drop"})

    generated = response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert request_context(gql, staff, product_id)["requestId"] == generated


def test_every_response_carries_a_request_id(editor):
    first = post("{ products { totalCount } }")
    second = post("{ products { totalCount } }", headers={"X-Request-ID": "mine"})

    assert re.fullmatch(r"[0-9a-f]{32}", first["X-Request-ID"])
    assert second["X-Request-ID"] == "mine"


def test_request_context_is_hidden_from_non_staff_viewers(gql, staff, editor):
    headers = {"X-Request-ID": "req-7", "User-Agent": "catalog-script/1.0"}
    _, product_id = create_over_http(staff, headers)

    assert request_context(gql, editor, product_id) == {
        "historyUser": {"username": "staff"},
        "requestId": None,
        "ipAddress": None,
        "userAgent": None,
    }


def test_changes_outside_a_request_record_no_user_or_context(gql, staff):
    product = product_create(
        data={"name": "Rug", "price": Decimal("1.00")}, actor=None, reason="import"
    )

    assert request_context(gql, staff, product_gid(product)) == {
        "historyUser": None,
        "requestId": "",
        "ipAddress": None,
        "userAgent": "",
    }


# -- query counts -------------------------------------------------------------------

NESTED = """
{
  products(first: 50) { edges { node { history(first: 20) {
    totalCount
    edges { node {
      historyDate
      historyUser { username }
      changes { field oldValue newValue delta }
    } }
  } } } }
}
"""


def catalog_with_history(actor: Any, products: int, updates: int) -> None:
    for n in range(products):
        product = create(actor, f"Item {n}", "1.00")
        for m in range(updates):
            update(product, actor, price=f"{m + 2}.00")


@pytest.fixture
def auditor(db: None) -> Any:
    return UserFactory(username="auditor", permissions=["view_historicalproduct"])


def test_nested_history_query_count(
    gql, editor, auditor, django_assert_max_num_queries
):
    catalog_with_history(editor, products=3, updates=1)
    headers = bearer(auditor)

    with django_assert_max_num_queries(4):
        answer = gql(NESTED, headers=headers)

    assert "errors" not in answer, answer["errors"]
    histories = [e["node"]["history"] for e in answer["data"]["products"]["edges"]]
    assert len(histories) == 3
    for history in histories:
        nodes = [edge["node"] for edge in history["edges"]]
        assert history["totalCount"] == 2
        assert [node["historyUser"] for node in nodes] == [{"username": "editor"}] * 2
        assert [node["changes"] for node in nodes] == [
            [change("price", "1.00", "2.00", "1.00")],
            [],
        ]


def test_nested_history_query_count_does_not_grow(gql, editor, auditor):
    catalog_with_history(editor, products=3, updates=1)
    headers = bearer(auditor)
    with CaptureQueriesContext(connection) as small:
        small_answer = gql(NESTED, headers=headers)

    catalog_with_history(editor, products=47, updates=21)
    headers = bearer(auditor)
    with CaptureQueriesContext(connection) as large:
        large_answer = gql(NESTED, headers=headers)

    assert "errors" not in small_answer
    assert "errors" not in large_answer
    edges = large_answer["data"]["products"]["edges"]
    assert len(edges) == 50
    histories = [edge["node"]["history"] for edge in edges]
    assert [h["totalCount"] for h in histories] == [2] * 3 + [22] * 47
    assert [len(h["edges"]) for h in histories] == [2] * 3 + [20] * 47
    assert histories[-1]["edges"][0]["node"]["changes"] == [
        change("price", "21.00", "22.00", "1.00")
    ]
    sizes = (len(small.captured_queries), len(large.captured_queries))
    assert sizes[0] == sizes[1], (
        f"3 x 2 versions: {sizes[0]} queries, 50 x 20+: {sizes[1]}"
    )
    assert sizes[1] <= 4, [query["sql"] for query in large.captured_queries]
