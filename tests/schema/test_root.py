"""The schema and the view read their settings per request: changing one needs no
re-import."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client, override_settings

from products.services import product_create

INTROSPECTION = "{ __schema { queryType { name } } }"


def test_introspection_follows_the_setting(gql: Any, db: None) -> None:
    allowed = gql(INTROSPECTION)
    with override_settings(GRAPHQL_INTROSPECTION=False):
        refused = gql(INTROSPECTION)

    assert allowed == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
    assert refused["data"] is None
    assert [(e["message"], e["extensions"]) for e in refused["errors"]] == [
        (
            "GraphQL introspection has been disabled, but the requested query "
            f"contained the field '{name}'.",
            {"code": "GRAPHQL_VALIDATION_FAILED"},
        )
        for name in ("__schema", "queryType")
    ]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{ products(first: 3) { totalCount } }", "BAD_USER_INPUT"),
        ("{ products { totalCount } " + "__typename " * 20 + "}", "TOO_MANY_TOKENS"),
    ],
    ids=["page_size", "tokens"],
)
@override_settings(GRAPHQL_MAX_PAGE_SIZE=2, GRAPHQL_MAX_TOKENS=20)
def test_limits_follow_the_settings(gql: Any, db: None, query: str, code: str) -> None:
    answer = gql(query)

    assert answer["data"] is None
    assert [e["extensions"]["code"] for e in answer["errors"]] == [code]


@override_settings(GRAPHQL_MAX_PAGE_SIZE=2)
def test_a_page_without_first_is_the_page_size_in_force(gql: Any, db: None) -> None:
    for n in range(3):
        product_create(data={"name": f"P{n}", "price": Decimal(1)}, actor=None)

    answer = gql("{ products { totalCount edges { node { name } } } }")

    assert answer == {
        "data": {
            "products": {
                "totalCount": 3,
                "edges": [{"node": {"name": "P0"}}, {"node": {"name": "P1"}}],
            }
        }
    }


def test_graphiql_follows_the_setting(db: None) -> None:
    browser = {"Accept": "text/html"}

    served = Client().get("/graphql/", headers=browser)
    with override_settings(GRAPHQL_IDE=False):
        refused = Client().get("/graphql/", headers=browser)

    assert (served.status_code, refused.status_code) == (200, 404)
    assert b"graphiql" in served.content.lower()
