"""Plain helpers shared by the tests: global ids, permission lists, answer
matchers and the GraphQL-over-HTTP request (the `gql` fixture is built on it)."""

from __future__ import annotations

from typing import Any

from django.test import Client
from strawberry.relay import from_base64, to_base64
from strawberry_django.test.client import TestClient

EDITOR_PERMISSIONS = [
    "add_product",
    "change_product",
    "delete_product",
    "view_historicalproduct",
]
CATEGORY_PERMISSIONS = [
    "add_category",
    "change_category",
    "delete_category",
    "view_historicalcategory",
]
# Write products and categories and read the history of both.
CATALOG_PERMISSIONS = [*EDITOR_PERMISSIONS, *CATEGORY_PERMISSIONS]


def gid(type_name: str, pk: Any) -> str:
    """The Relay global id of the object of type `type_name` with `pk`."""
    return to_base64(type_name, pk)


def node_pk(global_id: str) -> int:
    """The primary key inside a Relay global id."""
    return int(from_base64(global_id)[1])


def post(
    query: str,
    variables: Any = None,
    *,
    headers: dict[str, str] | None = None,
    client: Client | None = None,
) -> Any:
    """POST a GraphQL document over HTTP (strawberry-django's `TestClient`) and
    return the raw response, whatever its status.

    `variables` is sent as given (an empty object when None), so tests may send
    variables of the wrong shape. An exception escaping the view fails the test
    with its traceback unless `client` was built not to raise.
    """
    body = {"query": query, "variables": {} if variables is None else variables}
    return TestClient("/graphql/", client=client or Client()).request(
        body, headers=dict(headers or {})
    )


def without_cost(response: Any) -> dict[str, Any]:
    """The JSON answer without its `extensions` (the query cost)."""
    answer: dict[str, Any] = response.json()
    answer.pop("extensions", None)
    return answer


def ok(answer: dict[str, Any]) -> dict[str, Any]:
    """The data of an answer without errors."""
    assert "errors" not in answer, answer["errors"]
    data: dict[str, Any] = answer["data"]
    return data


class NonBlank:
    """Equal to any non-blank string: messages are for people, codes for clients."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and bool(other.strip())

    def __repr__(self) -> str:
        return "<non-blank message>"


class Mentions:
    """Equal to a string that contains every one of `parts`."""

    def __init__(self, *parts: str) -> None:
        self.parts = parts

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and all(part in other for part in self.parts)

    def __repr__(self) -> str:
        return f"<text mentioning {self.parts!r}>"


def refused(
    mutation: str,
    code: str,
    *,
    field: str | None = None,
    kind: str = "VALIDATION",
    message: object = None,
) -> dict[str, Any]:
    """The whole answer of a mutation refused with one message (any non-blank
    message unless `message` is given)."""
    entry = {
        "kind": kind,
        "message": NonBlank() if message is None else message,
        "field": field,
        "code": code,
    }
    return {"data": {mutation: {"__typename": "OperationInfo", "messages": [entry]}}}
