"""Odd requests and inputs get clear answers, and write nothing they should not."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from products import services
from products.models import Product
from tests.conftest import bearer
from tests.helpers import gid, without_cost

HistoricalProduct = Product.history.model


@pytest.fixture
def lamp(db: None) -> Product:
    product = services.product_create(
        data={"name": "Lamp", "price": Decimal("10.00"), "quantity": 2},
        actor=None,
        reason="new",
    )
    return services.product_update(
        pk=product.pk, data={"price": Decimal("12.00")}, actor=None, reason="dearer"
    )


@pytest.mark.parametrize("body", ['"x"', "5", "null", "true"])
def test_a_body_that_is_not_a_json_object_is_a_400(db: None, body: str) -> None:
    response = Client().post("/graphql/", body, content_type="application/json")

    assert response.status_code == 400
    assert without_cost(response) == {
        "errors": [
            {
                "message": "The request body must be a JSON object.",
                "extensions": {"code": "BAD_REQUEST"},
            }
        ]
    }


def test_unparseable_json_and_unknown_content_type_are_400s(db: None) -> None:
    bad_json = Client().post("/graphql/", "{", content_type="application/json")
    bad_type = Client().post("/graphql/", "x", content_type="text/plain")

    assert (bad_json.status_code, bad_type.status_code) == (400, 400)
    assert bad_json.json()["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}
    assert bad_type.json()["errors"][0]["message"] == "Unsupported content type"


def test_the_endpoint_answers_without_its_trailing_slash(db: None) -> None:
    response = Client().post(
        "/graphql",
        {"query": "{ products { totalCount } }"},
        content_type="application/json",
    )

    assert without_cost(response) == {"data": {"products": {"totalCount": 0}}}


def test_null_ordering_and_dry_run_take_their_defaults(
    gql: Any, editor: Any, lamp: Product
) -> None:
    answer = gql(
        "query { products(ordering: null) { totalCount } }",
    )
    assert answer == {"data": {"products": {"totalCount": 1}}}

    first = HistoricalProduct.objects.filter(id=lamp.pk).order_by("history_id")[0]
    revert = gql(
        """mutation($input: RevertProductInput!) { revertProduct(input: $input) {
          __typename ... on RevertProductResult { record { historyType } } } }""",
        {
            "input": {
                "id": gid("Product", lamp.pk),
                "record": gid("HistoricalProduct", first.history_id),
                "reason": "cheaper again",
                "dryRun": None,
            }
        },
        user=editor,
    )
    assert revert == {
        "data": {
            "revertProduct": {
                "__typename": "RevertProductResult",
                "record": {"historyType": "UPDATED"},
            }
        }
    }


@pytest.mark.parametrize("bad_id", ["abc", "", "!!!!", "w4A=", "UHJvZHVjdDp4"])
def test_malformed_ids_name_nothing(
    gql: Any, editor: Any, lamp: Product, bad_id: str
) -> None:
    answer = gql(
        """mutation($input: UpdateProductInput!) { updateProduct(input: $input) {
          __typename ... on OperationInfo { messages { kind code field } } } }""",
        {"input": {"id": bad_id, "name": "x"}},
        user=editor,
    )

    assert answer == {
        "data": {
            "updateProduct": {
                "__typename": "OperationInfo",
                "messages": [
                    {"kind": "VALIDATION", "code": "NOT_FOUND", "field": "id"}
                ],
            }
        }
    }
    assert Product.objects.get().name == "Lamp"


def test_null_for_a_field_that_cannot_be_null_is_invalid(
    gql: Any, editor: Any, lamp: Product
) -> None:
    versions = HistoricalProduct.objects.count()
    answer = gql(
        """mutation($input: UpdateProductInput!) { updateProduct(input: $input) {
          __typename ... on OperationInfo { messages { kind code field } } } }""",
        {"input": {"id": gid("Product", lamp.pk), "description": None}},
        user=editor,
    )

    assert answer == {
        "data": {
            "updateProduct": {
                "__typename": "OperationInfo",
                "messages": [
                    {"kind": "VALIDATION", "code": "INVALID", "field": "description"}
                ],
            }
        }
    }
    assert HistoricalProduct.objects.count() == versions


def test_an_update_that_changes_nothing_writes_no_version(
    gql: Any, editor: Any, lamp: Product
) -> None:
    versions = HistoricalProduct.objects.count()
    answer = gql(
        """mutation($input: UpdateProductInput!) { updateProduct(input: $input) {
          __typename ... on Product { price } } }""",
        {"input": {"id": gid("Product", lamp.pk), "price": "12", "reason": "x"}},
        user=editor,
    )

    assert answer == {
        "data": {"updateProduct": {"__typename": "Product", "price": "12.00"}}
    }
    assert HistoricalProduct.objects.count() == versions


def test_dry_run_restore_answers_the_product_it_would_restore(
    gql: Any, editor: Any, lamp: Product
) -> None:
    services.product_delete(pk=lamp.pk, actor=None, reason="gone")
    first = HistoricalProduct.objects.filter(id=lamp.pk).order_by("history_id")[0]

    answer = gql(
        """mutation($input: RevertProductInput!) { revertProduct(input: $input) {
          __typename ... on RevertProductResult {
            product { name price updatedAt } record { historyId }
            changes { field oldValue newValue } } } }""",
        {
            "input": {
                "id": gid("Product", lamp.pk),
                "record": gid("HistoricalProduct", first.history_id),
                "reason": "back",
                "dryRun": True,
            }
        },
        user=editor,
    )

    result = answer["data"]["revertProduct"]
    assert result["product"]["updatedAt"]
    del result["product"]["updatedAt"]
    assert result == {
        "__typename": "RevertProductResult",
        "product": {"name": "Lamp", "price": "10.00"},
        "record": None,
        "changes": [{"field": "price", "oldValue": "12.00", "newValue": "10.00"}],
    }
    assert not Product.objects.exists()


def test_revert_payload_hides_the_version_from_viewers_without_history(
    gql: Any, lamp: Product
) -> None:
    from tests.factories import UserFactory

    changer = UserFactory(username="changer", permissions=["change_product"])
    first = HistoricalProduct.objects.filter(id=lamp.pk).order_by("history_id")[0]

    answer = gql(
        """mutation($input: RevertProductInput!) { revertProduct(input: $input) {
          __typename
          ... on RevertProductResult { record { historyChangeReason } } } }""",
        {
            "input": {
                "id": gid("Product", lamp.pk),
                "record": gid("HistoricalProduct", first.history_id),
                "reason": "back",
            }
        },
        user=changer,
    )

    assert answer == {
        "data": {"revertProduct": {"__typename": "RevertProductResult", "record": None}}
    }
    assert Product.objects.get().price == Decimal("10.00")


@pytest.mark.parametrize(
    ("kind", "visible"),
    [("anonymous", []), ("self", ["editor"]), ("staff", ["editor", "staff"])],
)
def test_users_are_looked_up_by_id_by_staff_or_themselves(
    gql: Any, editor: Any, staff: Any, kind: str, visible: list[str]
) -> None:
    viewer = {"anonymous": None, "self": editor, "staff": staff}[kind]
    answer = gql(
        """query($a: ID!, $b: ID!) {
          a: node(id: $a) { ... on User { username } }
          b: node(id: $b) { ... on User { username } } }""",
        {"a": gid("User", editor.pk), "b": gid("User", staff.pk)},
        user=viewer,
    )

    found = [node["username"] for node in answer["data"].values() if node]
    assert found == visible


FEED_WITH_NEIGHBOURS = """
query($first: Int) { productHistory(first: $first) { edges { node {
  historyId product { name }
  previous { historyId historyUser { username } }
  next { historyId }
  revertedFrom { historyId }
} } } }
"""


def test_feed_with_neighbours_and_products_runs_in_constant_queries(
    gql: Any, editor: Any
) -> None:
    def run(products: int) -> tuple[int, dict[str, Any]]:
        for n in range(products):
            product = services.product_create(
                data={"name": f"P{n}", "price": Decimal("1.00")}, actor=editor
            )
            services.product_update(
                pk=product.pk, data={"quantity": 3}, actor=editor, reason="count"
            )
        headers = bearer(editor)
        with CaptureQueriesContext(connection) as queries:
            answer = gql(FEED_WITH_NEIGHBOURS, {"first": 100}, headers=headers)
        return len(queries), answer

    few, _ = run(2)
    many, answer = run(20)

    # token, permissions, the feed page, live products, and for each of
    # previous and next: the neighbours' keys, then their versions with users.
    assert few == many == 8
    edges = answer["data"]["productHistory"]["edges"]
    newest, older = edges[0]["node"], edges[1]["node"]
    assert newest["previous"] == {
        "historyId": older["historyId"],
        "historyUser": {"username": "editor"},
    }
    assert older["next"] == {"historyId": newest["historyId"]}
    assert edges[-1]["node"]["previous"] is None
    assert newest["product"] == {"name": "P19"}
