"""The contract's permissions, for anonymous, bearer-token and session users."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from unittest.mock import ANY

import pytest
from django.test import Client
from django.utils import timezone

from products import services
from products.models import Product
from tests.conftest import EDITOR_PERMISSIONS
from tests.factories import UserFactory
from tests.helpers import NonBlank, gid, product_state

HistoricalProduct = Product.history.model

VIEW_HISTORY = "view_historicalproduct"


def authenticated_as(kind: str, user: Any) -> dict[str, Any]:
    """Keyword arguments of `gql` that send the request as `user`."""
    if kind == "anonymous":
        return {}
    if kind == "bearer":
        return {"user": user}
    client = Client()
    client.force_login(user)
    return {"client": client}


def denied() -> list[dict[str, Any]]:
    """The `errors` of an operation refused for want of the history permission.

    The operation is refused before it runs, so the error has no `path`.
    """
    return [
        {
            "message": NonBlank(),
            "locations": ANY,
            "extensions": {"code": "PERMISSION_DENIED"},
        }
    ]


@pytest.fixture
def lamp(db: None) -> Product:
    """A product with two versions."""
    product = services.product_create(
        data={"name": "Lamp", "price": Decimal("20.00"), "quantity": 3},
        actor=None,
        reason="new",
    )
    return services.product_update(
        pk=product.pk, data={"price": Decimal("25.00")}, actor=None, reason="dearer"
    )


def lamp_id(lamp: Product) -> str:
    return gid("Product", lamp.pk)


ALL_KINDS = ["anonymous", "bearer", "session"]
USER_KINDS = ["bearer", "session"]


# Reading products: anyone


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_anyone_may_read_products(
    gql: Any, reader: Any, lamp: Product, kind: str
) -> None:
    answer = gql(
        "query($id: ID!) {"
        " products { totalCount edges { node { __typename id name price } } }"
        " product(id: $id) { __typename name quantity }"
        " node(id: $id) { __typename ... on Product { name } }"
        " }",
        {"id": lamp_id(lamp)},
        **authenticated_as(kind, reader),
    )

    assert answer == {
        "data": {
            "products": {
                "totalCount": 1,
                "edges": [
                    {
                        "node": {
                            "__typename": "Product",
                            "id": lamp_id(lamp),
                            "name": "Lamp",
                            "price": "25.00",
                        }
                    }
                ],
            },
            "product": {"__typename": "Product", "name": "Lamp", "quantity": 3},
            "node": {"__typename": "Product", "name": "Lamp"},
        }
    }


# Reading history: products.view_historicalproduct

HISTORY_QUERIES = {
    "history": (
        "{ products { edges { node { name history { totalCount } } } } }",
        ["products", "edges", 0, "node", "history"],
    ),
    "history-of-one-product": (
        "query($id: ID!) { product(id: $id) { name history { totalCount } } }",
        ["product", "history"],
    ),
    "productHistory": (
        "{ productHistory { totalCount edges { node { name } } } }",
        ["productHistory"],
    ),
    "productAsOf": (
        "query($id: ID!, $at: DateTime!) {"
        " productAsOf(id: $id, at: $at) { historyId name price } }",
        ["productAsOf"],
    ),
}


def history_variables(lamp: Product, query: str) -> dict[str, Any]:
    variables = {"id": lamp_id(lamp), "at": timezone.now().isoformat()}
    return {name: value for name, value in variables.items() if f"${name}" in query}


@pytest.mark.parametrize("field", list(HISTORY_QUERIES))
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_history_is_refused_without_the_view_permission(
    gql: Any, lamp: Product, field: str, kind: str
) -> None:
    # Every editor permission but the one that reads history.
    user = UserFactory(
        username="writer",
        permissions=[p for p in EDITOR_PERMISSIONS if p != VIEW_HISTORY],
    )
    query, _path = HISTORY_QUERIES[field]

    answer = gql(query, history_variables(lamp, query), **authenticated_as(kind, user))

    assert answer["errors"] == denied()
    assert answer["data"] is None


@pytest.mark.parametrize("kind", USER_KINDS)
def test_history_is_readable_with_only_the_view_permission(
    gql: Any, lamp: Product, kind: str
) -> None:
    auditor = UserFactory(username="auditor", permissions=[VIEW_HISTORY])
    newest = HistoricalProduct.objects.filter(id=lamp.pk).latest("history_id")
    query = (
        "query($id: ID!, $at: DateTime!) {"
        " products { edges { node { name history { totalCount } } } }"
        " productHistory { totalCount edges { node { name price } } }"
        " productAsOf(id: $id, at: $at) { historyId name price }"
        " }"
    )

    answer = gql(
        query, history_variables(lamp, query), **authenticated_as(kind, auditor)
    )

    assert answer == {
        "data": {
            "products": {
                "edges": [{"node": {"name": "Lamp", "history": {"totalCount": 2}}}]
            },
            "productHistory": {
                "totalCount": 2,
                "edges": [
                    {"node": {"name": "Lamp", "price": "25.00"}},
                    {"node": {"name": "Lamp", "price": "20.00"}},
                ],
            },
            "productAsOf": {
                "historyId": newest.history_id,
                "name": "Lamp",
                "price": "25.00",
            },
        }
    }


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_node_does_not_reveal_a_version_without_the_view_permission(
    gql: Any, reader: Any, lamp: Product, kind: str
) -> None:
    version = HistoricalProduct.objects.filter(id=lamp.pk).latest("history_id")

    answer = gql(
        "query($id: ID!) { node(id: $id) { __typename"
        " ... on HistoricalProduct { name price } } }",
        {"id": gid("HistoricalProduct", version.history_id)},
        **authenticated_as(kind, reader),
    )

    # Either answer keeps the version secret: a null node, or a refusal.
    if answer.get("errors"):
        assert answer == {"data": None, "errors": denied()}
    else:
        assert answer == {"data": {"node": None}}


def test_node_reveals_a_version_with_the_view_permission(
    gql: Any, editor: Any, lamp: Product
) -> None:
    version = HistoricalProduct.objects.filter(id=lamp.pk).latest("history_id")

    answer = gql(
        "query($id: ID!) { node(id: $id) { __typename"
        " ... on HistoricalProduct { name price } } }",
        {"id": gid("HistoricalProduct", version.history_id)},
        user=editor,
    )

    assert answer == {
        "data": {
            "node": {
                "__typename": "HistoricalProduct",
                "name": "Lamp",
                "price": "25.00",
            }
        }
    }


# Writes: add_, change_, delete_product

OPERATION_INFO = "... on OperationInfo { messages { kind message field code } }"

WRITES: dict[str, tuple[str, str, str]] = {
    # mutation: (input type, selection on success, the permission it needs)
    "createProduct": ("CreateProductInput", "... on Product { name }", "add_product"),
    "updateProduct": (
        "UpdateProductInput",
        "... on Product { name }",
        "change_product",
    ),
    "deleteProduct": (
        "DeleteProductInput",
        "... on Product { name }",
        "delete_product",
    ),
    "revertProduct": (
        "RevertProductInput",
        "... on RevertProductResult { product { name price } }",
        "change_product",
    ),
}


def write_document(mutation: str) -> str:
    input_type, selection, _ = WRITES[mutation]
    return (
        f"mutation($input: {input_type}!) {{ {mutation}(input: $input) {{"
        f" __typename {selection} {OPERATION_INFO} }} }}"
    )


def write_input(mutation: str, lamp: Product) -> dict[str, Any]:
    if mutation == "createProduct":
        return {"name": "Desk", "price": "99.00", "reason": "new"}
    if mutation == "updateProduct":
        return {"id": lamp_id(lamp), "name": "Lamp XL", "reason": "rename"}
    if mutation == "deleteProduct":
        return {"id": lamp_id(lamp), "reason": "gone"}
    first = HistoricalProduct.objects.filter(id=lamp.pk).earliest("history_id")
    return {
        "id": lamp_id(lamp),
        "record": gid("HistoricalProduct", first.history_id),
        "reason": "too dear",
    }


WRITE_SUCCESS = {
    "createProduct": {"__typename": "Product", "name": "Desk"},
    "updateProduct": {"__typename": "Product", "name": "Lamp XL"},
    "deleteProduct": {"__typename": "Product", "name": "Lamp"},
    "revertProduct": {
        "__typename": "RevertProductResult",
        "product": {"name": "Lamp", "price": "20.00"},
    },
}


def permission_denied(mutation: str) -> dict[str, Any]:
    message = {
        "kind": "PERMISSION",
        "message": NonBlank(),
        "field": None,
        "code": "PERMISSION_DENIED",
    }
    return {"data": {mutation: {"__typename": "OperationInfo", "messages": [message]}}}


@pytest.mark.parametrize("mutation", list(WRITES))
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_write_is_refused_without_its_permission(
    gql: Any, lamp: Product, mutation: str, kind: str
) -> None:
    needed = WRITES[mutation][2]
    user = UserFactory(
        username="almost", permissions=[p for p in EDITOR_PERMISSIONS if p != needed]
    )
    before = product_state()

    answer = gql(
        write_document(mutation),
        {"input": write_input(mutation, lamp)},
        **authenticated_as(kind, user),
    )

    assert answer == permission_denied(mutation)
    assert product_state() == before


@pytest.mark.parametrize("mutation", list(WRITES))
@pytest.mark.parametrize("kind", USER_KINDS)
def test_write_is_allowed_with_only_its_permission(
    gql: Any, lamp: Product, mutation: str, kind: str
) -> None:
    user = UserFactory(username="narrow", permissions=[WRITES[mutation][2]])
    versions_before = HistoricalProduct.objects.count()

    answer = gql(
        write_document(mutation),
        {"input": write_input(mutation, lamp)},
        **authenticated_as(kind, user),
    )

    assert answer == {"data": {mutation: WRITE_SUCCESS[mutation]}}
    newest = HistoricalProduct.objects.latest("history_id")
    assert HistoricalProduct.objects.count() == versions_before + 1
    assert newest.history_user == user


# Restoring a deleted product: change_ and add_product


@pytest.fixture
def deleted_lamp(lamp: Product) -> Product:
    services.product_delete(pk=lamp.pk, actor=None, reason="gone")
    return lamp


@pytest.mark.parametrize(
    "permissions",
    [
        pytest.param(["change_product", "delete_product", VIEW_HISTORY], id="no-add"),
        pytest.param(["add_product", "delete_product", VIEW_HISTORY], id="no-change"),
    ],
)
@pytest.mark.parametrize("kind", USER_KINDS)
def test_restore_needs_add_and_change_permissions(
    gql: Any, deleted_lamp: Product, permissions: list[str], kind: str
) -> None:
    user = UserFactory(username="restorer", permissions=permissions)
    before = product_state()

    answer = gql(
        write_document("revertProduct"),
        {"input": write_input("revertProduct", deleted_lamp)},
        **authenticated_as(kind, user),
    )

    assert answer == permission_denied("revertProduct")
    assert product_state() == before


@pytest.mark.parametrize("kind", USER_KINDS)
def test_restore_with_add_and_change_permissions(
    gql: Any, deleted_lamp: Product, kind: str
) -> None:
    user = UserFactory(
        username="restorer", permissions=["add_product", "change_product"]
    )

    answer = gql(
        write_document("revertProduct"),
        {"input": write_input("revertProduct", deleted_lamp)},
        **authenticated_as(kind, user),
    )

    assert answer == {"data": {"revertProduct": WRITE_SUCCESS["revertProduct"]}}
    restored = Product.objects.get(pk=deleted_lamp.pk)
    assert (restored.name, restored.price) == ("Lamp", Decimal("20.00"))


# Request context: staff only

CONTEXT_QUERY = """
query($id: ID!) {
  product(id: $id) { history(first: 1) { edges { node {
    historyType ipAddress userAgent requestId
  } } } }
  productHistory(first: 1) { edges { node {
    historyType ipAddress userAgent requestId
  } } }
}
"""


@pytest.fixture
def lamp_renamed_over_http(gql: Any, editor: Any, lamp: Product) -> Product:
    """The lamp, renamed by a request with a known user agent and request id."""
    answer = gql(
        write_document("updateProduct"),
        {"input": write_input("updateProduct", lamp)},
        user=editor,
        headers={"User-Agent": "catalog-script/1.0", "X-Request-ID": "req-42"},
    )
    assert answer == {"data": {"updateProduct": WRITE_SUCCESS["updateProduct"]}}
    return lamp


def context_answer(context: dict[str, Any]) -> dict[str, Any]:
    edges = [{"node": {"historyType": "UPDATED", **context}}]
    return {
        "data": {
            "product": {"history": {"edges": edges}},
            "productHistory": {"edges": edges},
        }
    }


@pytest.mark.parametrize("kind", USER_KINDS)
def test_request_context_is_hidden_from_non_staff(
    gql: Any, editor: Any, lamp_renamed_over_http: Product, kind: str
) -> None:
    answer = gql(
        CONTEXT_QUERY,
        {"id": lamp_id(lamp_renamed_over_http)},
        **authenticated_as(kind, editor),
    )

    assert answer == context_answer(
        {"ipAddress": None, "userAgent": None, "requestId": None}
    )


@pytest.mark.parametrize("kind", USER_KINDS)
def test_request_context_is_shown_to_staff(
    gql: Any, staff: Any, lamp_renamed_over_http: Product, kind: str
) -> None:
    answer = gql(
        CONTEXT_QUERY,
        {"id": lamp_id(lamp_renamed_over_http)},
        **authenticated_as(kind, staff),
    )

    assert answer == context_answer(
        {
            "ipAddress": "127.0.0.1",
            "userAgent": "catalog-script/1.0",
            "requestId": "req-42",
        }
    )


@pytest.mark.parametrize("kind", USER_KINDS)
def test_mutation_selecting_denied_history_does_not_hide_its_write(
    gql: Any, lamp: Product, kind: str
) -> None:
    """A client told `data: null` must be able to trust that nothing was written."""
    user = UserFactory(username="changer", permissions=["change_product"])
    before = product_state()

    answer = gql(
        "mutation($input: UpdateProductInput!) { updateProduct(input: $input) {"
        " __typename ... on Product { name history { totalCount } } } }",
        {"input": write_input("updateProduct", lamp)},
        **authenticated_as(kind, user),
    )

    assert answer["errors"] == denied()
    if answer["data"] is None:
        assert product_state() == before, "data is null, yet the update was written"
    else:
        # The write shows, only the history is withheld.
        assert answer["data"] == {
            "updateProduct": {
                "__typename": "Product",
                "name": "Lamp XL",
                "history": None,
            }
        }
