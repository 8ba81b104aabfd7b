"""What the bad-input tests share: talking to the server and judging its
answers, snapshots of every table, the seeded catalog and the matrix's
vocabulary (cases, references to catalog objects, expected codes)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from history.tracking import m2m_history_model
from products import services
from products.models import Category, Product, Tag
from tests.conftest import EDITOR_PERMISSIONS, bearer
from tests.factories import UserFactory
from tests.helpers import CATALOG_PERMISSIONS, gid, post

HistoricalProduct: Any = Product.history.model
HistoricalCategory: Any = Category.history.model
HistoricalProductTags: Any = m2m_history_model(Product, Product._meta.get_field("tags"))
ProductTags: Any = Product.tags.through

# Every table a mutation may write, catalog and history alike.
TABLES: tuple[Any, ...] = (
    Product,
    Category,
    Tag,
    ProductTags,
    HistoricalProduct,
    HistoricalCategory,
    HistoricalProductTags,
)
HISTORY_TABLES = (HistoricalProduct, HistoricalCategory, HistoricalProductTags)

GRAPHQL_RESPONSE = "application/graphql-response+json"
CENT = Decimal("0.01")
HUGE = "x" * 100_000

Snapshot = dict[str, list[dict[str, Any]]]


# --- Talking to the server and judging its answers --------------------------


def send(
    document: str,
    variables: Any,
    *,
    headers: Mapping[str, str],
    accept: str = "application/json",
) -> tuple[int, Any]:
    """POST a document over HTTP; the status and the decoded JSON answer.

    An exception escaping the view (a 500) fails the test with its traceback:
    Django's test client raises it."""
    response = post(document, variables, headers={**headers, "Accept": accept})
    return response.status_code, response.json()


def shown(body: Any) -> str:
    """An answer in an assertion message, cut short (huge inputs echo back)."""
    text = repr(body)
    return text if len(text) <= 1500 else text[:1500] + "..."


@dataclass(frozen=True)
class Verdict:
    """What an answer says: success, or failure with the codes it gave."""

    succeeded: bool
    codes: list[str]
    payload: Any


def verdict(status: int, body: Any, field_name: str | None) -> Verdict:
    """Judge an answer, failing the test unless it is a success or a clear error.

    `field_name` is the root field whose payload may be an `OperationInfo`.
    """
    assert status == 200 or 400 <= status < 500, f"HTTP {status}: {shown(body)}"
    assert isinstance(body, dict), shown(body)
    codes: list[str] = []
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code, f"a GraphQL error without extensions.code: {shown(error)}"
        assert code != "INTERNAL_SERVER_ERROR", f"a server error: {shown(body)}"
        codes.append(code)
    if status != 200:
        assert codes, f"HTTP {status} without errors: {shown(body)}"
        assert body.get("data") is None, f"HTTP {status} with data: {shown(body)}"
    data = body.get("data")
    payload = data.get(field_name) if isinstance(data, dict) and field_name else None
    if isinstance(payload, dict) and payload.get("__typename") == "OperationInfo":
        messages = payload.get("messages") or []
        assert messages, f"an OperationInfo without messages: {shown(body)}"
        for message in messages:
            assert message.get("code"), f"a message without a code: {shown(message)}"
            codes.append(message["code"])
    if not codes:
        assert data is not None, f"neither data nor errors: {shown(body)}"
    return Verdict(succeeded=not codes, codes=codes, payload=payload)


@contextmanager
def explained(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Add the server's logged errors (the real cause behind a masked
    `INTERNAL_SERVER_ERROR`) to a failed assertion."""
    try:
        yield
    except AssertionError as error:
        logged = [
            f"{r.name}: {r.getMessage()}"
            for r in caplog.records
            if r.levelno >= logging.ERROR
        ]
        if logged:
            error.args = (f"{error}\nThe server logged: {logged}",)
        raise


def snapshot() -> Snapshot:
    """Every row of every table a mutation may write, by primary key."""
    return {
        model._meta.label: list(model._base_manager.order_by("pk").values())
        for model in TABLES
    }


def history_rows() -> int:
    return sum(model._base_manager.count() for model in HISTORY_TABLES)


def assert_unchanged(before: Snapshot, what: str) -> None:
    """Fail, naming the rows that changed, unless every row is as it was."""
    after = snapshot()
    for label, rows in before.items():
        assert after[label] == rows, f"{what} changed {label}: {rows} -> {after[label]}"


# --- The seeded catalog ----------------------------------------------------


@dataclass
class Catalog:
    """Data every case starts from, and the global ids that name it."""

    lamp: Product
    desk: Product
    lighting: Category
    admin_id: int
    refs: dict[str, str]
    headers: Callable[[str], dict[str, str]]


def seed_catalog() -> tuple[Product, Product, Category]:
    """A category and two products, each with more than one version; the lamp
    is in the category and has a tag."""
    lighting = services.category_create(
        data={"name": "Lighting", "description": "Lamps."}, actor=None, reason="new"
    )
    services.category_update(
        pk=lighting.pk, data={"name": "Lights"}, actor=None, reason="shorter"
    )
    lamp = services.product_create(
        data={
            "name": "Lamp",
            "description": "A lamp.",
            "price": Decimal("10.00"),
            "quantity": 2,
            "category": lighting.pk,
            "tags": ["brass"],
        },
        actor=None,
        reason="new",
    )
    services.product_update(
        pk=lamp.pk,
        data={"price": Decimal("12.00"), "tags": ["brass", "steel"]},
        actor=None,
        reason="dearer",
    )
    desk = services.product_create(
        data={"name": "Desk", "price": Decimal("100.00"), "quantity": 1},
        actor=None,
        reason="new",
    )
    lighting.refresh_from_db()
    lamp.refresh_from_db()
    return lamp, desk, lighting


def versions_of(history_model: Any, pk: int) -> list[Any]:
    return list(history_model.objects.filter(id=pk).order_by("history_id"))


def build_catalog() -> Catalog:
    """Seed the catalog and the users who send the requests."""
    admin: Any = UserFactory(
        username="admin", is_staff=True, permissions=CATALOG_PERMISSIONS
    )
    users = {
        "admin": admin,
        "editor": UserFactory(username="editor", permissions=EDITOR_PERMISSIONS),
        "reader": UserFactory(username="reader"),
    }
    tokens = {role: bearer(user) for role, user in users.items()}
    lamp, desk, lighting = seed_catalog()
    lamp_versions = versions_of(HistoricalProduct, lamp.pk)
    category_versions = versions_of(HistoricalCategory, lighting.pk)
    refs = {
        "product": gid("Product", lamp.pk),
        "product_first": gid("HistoricalProduct", lamp_versions[0].history_id),
        "product_latest": gid("HistoricalProduct", lamp_versions[-1].history_id),
        "other_product": gid("Product", desk.pk),
        "other_product_first": gid(
            "HistoricalProduct", versions_of(HistoricalProduct, desk.pk)[0].history_id
        ),
        "category": gid("Category", lighting.pk),
        "category_first": gid("HistoricalCategory", category_versions[0].history_id),
        "category_latest": gid("HistoricalCategory", category_versions[-1].history_id),
        "user": gid("User", admin.pk),
    }
    return Catalog(
        lamp=lamp,
        desk=desk,
        lighting=lighting,
        admin_id=admin.pk,
        refs=refs,
        headers=lambda role: tokens.get(role, {}),
    )


# --- The matrix ------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """A global id of the seeded data, known only once it exists."""

    name: str


class Missing:
    """Leave the value out of the input altogether."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = Missing()
Path = tuple[str | int, ...]

ANY: frozenset[str] | None = None  # a success, or a failure with codes
FAIL: frozenset[str] = frozenset()  # a failure, whatever its codes
INVALID = frozenset({"INVALID"})
NOT_FOUND = frozenset({"NOT_FOUND"})
STALE = frozenset({"STALE"})
REASON_REQUIRED = frozenset({"REASON_REQUIRED"})
UNKNOWN_FIELD = frozenset({"UNKNOWN_FIELD"})
PERMISSION_DENIED = frozenset({"PERMISSION_DENIED"})


def resolve(value: Any, refs: Mapping[str, str]) -> Any:
    """`value` with every `Ref` replaced by the global id it names."""
    if isinstance(value, Ref):
        return refs[value.name]
    if isinstance(value, dict):
        return {k: resolve(v, refs) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, refs) for v in value]
    return value


def put(value: Any, path: Path, new: Any) -> Any:
    """A copy of `value` with `new` at `path` (`MISSING` removes it)."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    copy: Any = list(value) if isinstance(value, list) else dict(value)
    if isinstance(new, Missing) and not rest:
        del copy[head]
    else:
        copy[head] = put(copy[head], rest, new)
    return copy


def get(value: Any, path: Path) -> Any:
    for key in path:
        value = value[key]
    return value


@dataclass(frozen=True)
class Case:
    """One request of the matrix and what its answer may be."""

    id: str
    document: str
    variables: Any
    field: str
    mutation: bool
    expect: frozenset[str] | None = ANY
    role: str = "admin"
    # On success, the payload's value at this path must equal the value sent.
    echo: tuple[Path, Any] | None = None
    accept: str = "application/json"


ERRORS = "__typename ... on OperationInfo { messages { kind message field code } }"
PRODUCT = "id name description price quantity category { id } tags { name }"
