"""A product's category and tags in its versions over HTTP: what each version
holds, and the diffs of both."""

from __future__ import annotations

from typing import Any

import pytest

from products.models import Product, Tag
from tests.helpers import Mentions, gid, ok, refused
from tests.schema.related_history import (
    CHANGE,
    CREATE_CATEGORY,
    DELETE_CATEGORY,
    OPERATION_INFO,
    UPDATE_CATEGORY,
    HistoricalProduct,
    change,
    database_state,
    make_category,
    make_product,
    product_versions,
    rows,
    tag_names,
)

pytestmark = pytest.mark.django_db


# -- a product's category in its versions -------------------------------------------

PRODUCT_VERSIONS = f"""
query($id: ID!) {{
  product(id: $id) {{
    __typename name category {{ name }}
    history {{ totalCount edges {{ node {{
      __typename historyType historyChangeReason historyUser {{ username }} price
      category {{ id name exists category {{ name }} }}
      changes {CHANGE}
    }} }} }}
  }}
}}
"""
FEED_OF_PRODUCT = f"""
query($id: ID!) {{
  productHistory(filters: {{ product: $id }}) {{ totalCount edges {{ node {{
    __typename historyType historyChangeReason historyUser {{ username }} price
    category {{ id name exists category {{ name }} }}
    changes {CHANGE}
  }} }} }}
}}
"""


def product_version(
    history_type: str,
    reason: Any,
    price: str,
    category: dict[str, Any] | None,
    changes: list[dict[str, Any]],
    user: str = "curator",
) -> dict[str, Any]:
    return {
        "__typename": "HistoricalProduct",
        "historyType": history_type,
        "historyChangeReason": reason,
        "historyUser": {"username": user},
        "price": price,
        "category": category,
        "changes": changes,
    }


def test_category_rename_and_delete_show_correctly_in_product_history(
    gql: Any, curator: Any
) -> None:
    category_id = ok(gql(CREATE_CATEGORY, {"input": {"name": "Lamps"}}, user=curator))[
        "createCategory"
    ]["id"]
    product_id = ok(
        gql(
            """
            mutation($input: CreateProductInput!) {
              createProduct(input: $input) { ... on Product { id } }
            }
            """,
            {
                "input": {
                    "name": "Desk lamp",
                    "price": "30.00",
                    "category": category_id,
                    "reason": "New lamp",
                }
            },
            user=curator,
        )
    )["createProduct"]["id"]
    ok(
        gql(
            UPDATE_CATEGORY,
            {"input": {"id": category_id, "name": "Lights", "reason": "Broader"}},
            user=curator,
        )
    )
    ok(
        gql(
            """
            mutation($input: UpdateProductInput!) {
              updateProduct(input: $input) { __typename }
            }
            """,
            {"input": {"id": product_id, "price": "25.00", "reason": "Sale"}},
            user=curator,
        )
    )

    def in_category(name: str, *, live: bool) -> dict[str, Any]:
        return {
            "id": category_id,
            "name": name,
            "exists": live,
            "category": {"name": "Lights"} if live else None,
        }

    sale = product_version(
        "UPDATED",
        "Sale",
        "25.00",
        in_category("Lights", live=True),
        # The category was renamed, not changed: no category change here.
        [change("price", "30.00", "25.00", delta="-5.00")],
    )
    created = product_version(
        "CREATED", "New lamp", "30.00", in_category("Lamps", live=True), []
    )
    assert ok(gql(PRODUCT_VERSIONS, {"id": product_id}, user=curator)) == {
        "product": {
            "__typename": "Product",
            "name": "Desk lamp",
            "category": {"name": "Lights"},
            "history": {
                "totalCount": 2,
                "edges": [{"node": sale}, {"node": created}],
            },
        }
    }

    assert gql(
        DELETE_CATEGORY,
        {"input": {"id": category_id, "reason": "Range dropped"}},
        user=curator,
    ) == {
        "data": {
            "deleteCategory": {
                "__typename": "Category",
                "id": category_id,
                "name": "Lights",
                "description": "",
            }
        }
    }

    left = product_version(
        "UPDATED",
        Mentions("Lights", "deleted", "Range dropped"),
        "25.00",
        None,
        [change("category", "Lights", None)],
    )
    sale["category"] = in_category("Lights", live=False)
    created["category"] = in_category("Lamps", live=False)
    assert ok(gql(PRODUCT_VERSIONS, {"id": product_id}, user=curator)) == {
        "product": {
            "__typename": "Product",
            "name": "Desk lamp",
            "category": None,
            "history": {
                "totalCount": 3,
                "edges": [{"node": left}, {"node": sale}, {"node": created}],
            },
        }
    }
    assert ok(gql(FEED_OF_PRODUCT, {"id": product_id}, user=curator)) == {
        "productHistory": {
            "totalCount": 3,
            "edges": [{"node": left}, {"node": sale}, {"node": created}],
        }
    }
    assert Product.objects.get().category is None


def test_deleting_a_category_moves_each_of_its_products_out_with_a_version(
    gql: Any, curator: Any
) -> None:
    lamps = make_category(curator, "Lamps")
    desks = make_category(curator, "Desks")
    first = make_product(curator, "Desk lamp", category=lamps)
    second = make_product(curator, "Floor lamp", category=lamps)
    other = make_product(curator, "Desk", category=desks)
    other_versions = rows(HistoricalProduct.objects.filter(id=other.pk), "history_id")

    ok(
        gql(
            DELETE_CATEGORY,
            {"input": {"id": gid("Category", lamps.pk), "reason": "dropped"}},
            user=curator,
        )
    )

    answer = ok(
        gql(
            f"""
            query($lamps: ID!) {{
              productHistory(filters: {{ category: $lamps }}) {{ totalCount }}
              moved: productHistory(filters: {{ changedField: "category" }}) {{
                edges {{ node {{ name historyType category {{ name }}
                  changes {CHANGE} }} }}
              }}
            }}
            """,
            {"lamps": gid("Category", lamps.pk)},
            user=curator,
        )
    )

    assert answer == {
        "productHistory": {"totalCount": 2},
        "moved": {
            "edges": [
                {
                    "node": {
                        "name": name,
                        "historyType": "UPDATED",
                        "category": None,
                        "changes": [change("category", "Lamps", None)],
                    }
                }
                for name in ["Floor lamp", "Desk lamp"]
            ]
        },
    }
    assert [p.category_id for p in Product.objects.order_by("pk")] == [
        None,
        None,
        desks.pk,
    ]
    assert len(product_versions(first.pk)) == len(product_versions(second.pk)) == 2
    assert (
        rows(HistoricalProduct.objects.filter(id=other.pk), "history_id")
        == other_versions
    )


# -- tags ----------------------------------------------------------------------------

PRODUCT_TAGS = """
fragment P on Product { id name price tags { name } }
"""
CREATE_PRODUCT = f"""
{PRODUCT_TAGS}
mutation($input: CreateProductInput!) {{
  createProduct(input: $input) {{ __typename ...P {OPERATION_INFO} }}
}}
"""
UPDATE_PRODUCT = f"""
{PRODUCT_TAGS}
mutation($input: UpdateProductInput!) {{
  updateProduct(input: $input) {{ __typename ...P {OPERATION_INFO} }}
}}
"""
TAG_VERSIONS = f"""
query($id: ID!, $fields: [String!]) {{
  product(id: $id) {{
    history {{ totalCount edges {{ node {{
      historyType historyChangeReason price
      tags {{ name exists }}
      changes(fields: $fields) {CHANGE}
    }} }} }}
  }}
}}
"""


@pytest.fixture
def retagged(gql: Any, curator: Any) -> str:
    """A product created with tags red, sale at 10.00, then retagged blue, red at
    12.00, then untagged; over HTTP, answers checked. Its global id."""
    created = gql(
        CREATE_PRODUCT,
        {
            "input": {
                "name": "Lamp",
                "price": "10.00",
                "tags": ["sale", " red ", "red"],
                "reason": "New",
            }
        },
        user=curator,
    )
    product_id: str = created["data"]["createProduct"]["id"]
    assert created == {
        "data": {
            "createProduct": {
                "__typename": "Product",
                "id": product_id,
                "name": "Lamp",
                "price": "10.00",
                "tags": tag_names("red", "sale"),
            }
        }
    }

    assert gql(
        UPDATE_PRODUCT,
        {
            "input": {
                "id": product_id,
                "price": "12.00",
                "tags": ["red", "blue"],
                "reason": "Recolour",
            }
        },
        user=curator,
    ) == {
        "data": {
            "updateProduct": {
                "__typename": "Product",
                "id": product_id,
                "name": "Lamp",
                "price": "12.00",
                "tags": tag_names("blue", "red"),
            }
        }
    }
    # The same tags in another order change nothing: no version.
    ok(
        gql(
            UPDATE_PRODUCT,
            {"input": {"id": product_id, "tags": ["blue", "red"], "reason": "noop"}},
            user=curator,
        )
    )
    ok(
        gql(
            UPDATE_PRODUCT,
            {"input": {"id": product_id, "tags": [], "reason": "Untag"}},
            user=curator,
        )
    )
    return product_id


TAGS_CHANGE = change("tags", "red, sale", "blue, red", added=["blue"], removed=["sale"])
PRICE_CHANGE = change("price", "10.00", "12.00", delta="2.00")
UNTAG = change("tags", "blue, red", "", added=[], removed=["blue", "red"])


def tag_versions(changes: list[list[dict[str, Any]]]) -> dict[str, Any]:
    """The answer of TAG_VERSIONS for `retagged`, with these changes per version."""
    nodes: list[dict[str, Any]] = [
        {
            "historyType": "UPDATED",
            "historyChangeReason": "Untag",
            "price": "12.00",
            "tags": [],
        },
        {
            "historyType": "UPDATED",
            "historyChangeReason": "Recolour",
            "price": "12.00",
            "tags": [
                {"name": "blue", "exists": True},
                {"name": "red", "exists": True},
            ],
        },
        {
            "historyType": "CREATED",
            "historyChangeReason": "New",
            "price": "10.00",
            "tags": [
                {"name": "red", "exists": True},
                {"name": "sale", "exists": True},
            ],
        },
    ]
    return {
        "product": {
            "history": {
                "totalCount": 3,
                "edges": [
                    {"node": {**node, "changes": node_changes}}
                    for node, node_changes in zip(nodes, changes, strict=True)
                ],
            }
        }
    }


def test_tags_added_and_removed_appear_in_changes(
    gql: Any, curator: Any, retagged: str
) -> None:
    answer = gql(TAG_VERSIONS, {"id": retagged}, user=curator)

    assert ok(answer) == tag_versions([[UNTAG], [PRICE_CHANGE, TAGS_CHANGE], []])
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["blue", "red", "sale"]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param(["tags"], [[UNTAG], [TAGS_CHANGE], []], id="tags"),
        pytest.param(["price"], [[], [PRICE_CHANGE], []], id="price"),
        pytest.param(
            ["price", "tags"],
            [[UNTAG], [PRICE_CHANGE, TAGS_CHANGE], []],
            id="price-and-tags",
        ),
        pytest.param(["category"], [[], [], []], id="unchanged-field"),
    ],
)
def test_changes_of_chosen_fields(
    gql: Any,
    curator: Any,
    retagged: str,
    fields: list[str],
    expected: list[list[dict[str, Any]]],
) -> None:
    answer = gql(TAG_VERSIONS, {"id": retagged, "fields": fields}, user=curator)

    assert ok(answer) == tag_versions(expected)


def test_changes_selected_twice_with_different_fields(
    gql: Any, curator: Any, retagged: str
) -> None:
    """A client may ask for all changes and, aliased, those of one field."""
    answer = gql(
        f"""
        query($id: ID!) {{
          product(id: $id) {{ history {{ edges {{ node {{
            changes {CHANGE}
            tagsOnly: changes(fields: ["tags"]) {CHANGE}
          }} }} }} }}
          productHistory {{ edges {{ node {{
            changes {CHANGE}
            priceOnly: changes(fields: ["price"]) {CHANGE}
          }} }} }}
        }}
        """,
        {"id": retagged},
        user=curator,
    )

    assert ok(answer) == {
        "product": {
            "history": {
                "edges": [
                    {"node": {"changes": [UNTAG], "tagsOnly": [UNTAG]}},
                    {
                        "node": {
                            "changes": [PRICE_CHANGE, TAGS_CHANGE],
                            "tagsOnly": [TAGS_CHANGE],
                        }
                    },
                    {"node": {"changes": [], "tagsOnly": []}},
                ]
            }
        },
        "productHistory": {
            "edges": [
                {"node": {"changes": [UNTAG], "priceOnly": []}},
                {
                    "node": {
                        "changes": [PRICE_CHANGE, TAGS_CHANGE],
                        "priceOnly": [PRICE_CHANGE],
                    }
                },
                {"node": {"changes": [], "priceOnly": []}},
            ]
        },
    }


def test_a_tag_name_too_long_is_invalid_and_writes_nothing(
    gql: Any, curator: Any
) -> None:
    product = make_product(curator, "Lamp", tags=["red"])
    before = database_state()

    answer = gql(
        UPDATE_PRODUCT,
        {"input": {"id": gid("Product", product.pk), "tags": ["blue", "x" * 51]}},
        user=curator,
    )

    assert answer == refused("updateProduct", "INVALID", field="tags")
    assert database_state() == before
