"""Request ids and request context in versions over HTTP: stored, echoed or
generated, hidden from non-staff viewers, absent outside a request."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from products.services import (
    product_create,
)
from tests.conftest import bearer
from tests.helpers import post
from tests.schema.reads import product_gid

pytestmark = pytest.mark.django_db


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
