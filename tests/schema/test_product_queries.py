"""The products connection over HTTP: filters, ordering and pagination."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from products.models import Product
from products.services import (
    product_import,
)
from tests.conftest import bearer
from tests.helpers import post
from tests.schema.reads import create, update

pytestmark = pytest.mark.django_db


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
