"""A product carries at most `MAX_TAGS` tags; more is refused and writes nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from products import services
from products.models import MAX_TAGS, Product, Tag
from tests.conftest import GraphQL
from tests.helpers import gid

HistoricalProduct = Product.history.model

CREATE = """
mutation($input: CreateProductInput!) {
  createProduct(input: $input) {
    __typename
    ... on Product { name tags { name } }
    ... on OperationInfo { messages { kind message field code } }
  }
}
"""
UPDATE = """
mutation($input: UpdateProductInput!) {
  updateProduct(input: $input) {
    __typename
    ... on Product { name tags { name } }
    ... on OperationInfo { messages { kind message field code } }
  }
}
"""


def names(count: int) -> list[str]:
    return [f"t{i:03}" for i in range(count)]


def too_many(mutation: str, count: int) -> dict[str, Any]:
    return {
        "data": {
            mutation: {
                "__typename": "OperationInfo",
                "messages": [
                    {
                        "kind": "VALIDATION",
                        "message": (
                            f"A product has at most {MAX_TAGS} tags ({count} given)."
                        ),
                        "field": "tags",
                        "code": "INVALID",
                    }
                ],
            }
        }
    }


def state() -> tuple[list[Any], list[Any], list[Any]]:
    return (
        list(Product.objects.order_by("pk").values()),
        list(HistoricalProduct.objects.order_by("history_id").values()),
        list(Tag.objects.order_by("pk").values()),
    )


def test_the_limit_is_fifty() -> None:
    assert MAX_TAGS == 20


def test_create_with_the_most_tags_succeeds(gql: GraphQL, editor: Any) -> None:
    answer = gql(
        CREATE,
        {"input": {"name": "Lamp", "price": "1.00", "tags": names(MAX_TAGS)}},
        user=editor,
    )

    assert answer == {
        "data": {
            "createProduct": {
                "__typename": "Product",
                "name": "Lamp",
                "tags": [{"name": name} for name in names(MAX_TAGS)],
            }
        }
    }


def test_create_with_one_tag_too_many_is_refused(gql: GraphQL, editor: Any) -> None:
    before = state()

    answer = gql(
        CREATE,
        {"input": {"name": "Lamp", "price": "1.00", "tags": names(MAX_TAGS + 1)}},
        user=editor,
    )

    assert answer == too_many("createProduct", MAX_TAGS + 1)
    assert state() == before


def test_update_with_a_thousand_tags_is_refused(gql: GraphQL, editor: Any) -> None:
    product = services.product_create(
        data={"name": "Lamp", "price": Decimal("1.00"), "tags": ["old"]}, actor=None
    )
    before = state()

    answer = gql(
        UPDATE,
        {"input": {"id": gid("Product", product.pk), "tags": names(1000)}},
        user=editor,
    )

    assert answer == too_many("updateProduct", 1000)
    assert state() == before


def test_repeated_names_count_once(gql: GraphQL, editor: Any) -> None:
    product = services.product_create(
        data={"name": "Lamp", "price": Decimal("1.00")}, actor=None
    )

    answer = gql(
        UPDATE,
        {
            "input": {
                "id": gid("Product", product.pk),
                "tags": names(MAX_TAGS) + [f" {n} " for n in names(MAX_TAGS)],
            }
        },
        user=editor,
    )

    assert answer == {
        "data": {
            "updateProduct": {
                "__typename": "Product",
                "name": "Lamp",
                "tags": [{"name": name} for name in names(MAX_TAGS)],
            }
        }
    }
