"""`node`, `product` and a version's neighbours, diff and product, over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from products.models import Product
from products.services import (
    product_delete,
)
from tests.helpers import gid
from tests.schema.reads import create, product_gid, update, versions

pytestmark = pytest.mark.django_db


def version_gid(version: Any) -> str:
    return gid("HistoricalProduct", version.history_id)


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
