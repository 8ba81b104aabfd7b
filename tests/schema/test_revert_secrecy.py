"""A writer who may not read history learns nothing about versions by reverting.

Without `view_historical<model>`, every refusal that depends on the versions is
the same NOT_FOUND (one message, on `record`), the checks that do not depend on
them come first, and a revert's answer shows no version's values.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from history.revert import CONCEALED_REFUSAL, history_revert
from products import services
from products.models import Category, Product
from tests.conftest import GraphQL
from tests.factories import UserFactory
from tests.helpers import gid
from tests.helpers import refused as refused_mutation

HistoricalProduct = Product.history.model
HistoricalCategory = Category.history.model

REVERT = """
mutation($input: RevertProductInput!) {
  revertProduct(input: $input) {
    __typename
    ... on RevertProductResult {
      product { name price }
      record { historyType }
      changes { field oldValue newValue }
    }
    ... on OperationInfo { messages { kind message field code } }
  }
}
"""
REVERT_CATEGORY = """
mutation($input: RevertCategoryInput!) {
  revertCategory(input: $input) {
    __typename
    ... on RevertCategoryResult {
      category { name }
      record { historyType }
      changes { field }
    }
    ... on OperationInfo { messages { kind message field code } }
  }
}
"""


def refused(
    code: str,
    field: str | None,
    message: str = CONCEALED_REFUSAL,
    *,
    kind: str = "VALIDATION",
) -> dict[str, Any]:
    """The whole answer of `revertProduct` refused with one exact message."""
    return refused_mutation(
        "revertProduct", code, field=field, kind=kind, message=message
    )


CONCEALED = refused("NOT_FOUND", "record")


def versions(pk: int) -> list[Any]:
    return list(HistoricalProduct.objects.filter(id=pk).order_by("history_id"))


def state() -> tuple[list[Any], ...]:
    return (
        list(Product.objects.order_by("pk").values()),
        list(HistoricalProduct.objects.order_by("history_id").values()),
        list(Category.objects.order_by("pk").values()),
        list(HistoricalCategory.objects.order_by("history_id").values()),
    )


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    """laptop: 1000.00 then 900.00; phone: one version; mug: created, deleted,
    restored; lamp: created in a category, moved out, the category deleted;
    gone: created and deleted."""

    def create(name: str, **data: Any) -> Product:
        return services.product_create(
            data={"name": name, "price": Decimal("1000.00"), **data}, actor=None
        )

    laptop = create("Laptop")
    services.product_update(pk=laptop.pk, data={"price": Decimal("900.00")}, actor=None)
    phone = create("Phone")
    mug = create("Mug")
    services.product_delete(pk=mug.pk, actor=None)
    history_revert(
        model=Product,
        pk=mug.pk,
        record_id=versions(mug.pk)[0].history_id,
        actor=None,
        reason="back",
    )
    shelf = services.category_create(data={"name": "Secret shelf"}, actor=None)
    lamp = create("Lamp", category=shelf.pk)
    services.product_update(pk=lamp.pk, data={"category": None}, actor=None)
    services.category_delete(pk=shelf.pk, actor=None)
    gone = create("Gone")
    services.product_delete(pk=gone.pk, actor=None)
    return {
        "laptop": laptop.pk,
        "phone": phone.pk,
        "mug": mug.pk,
        "lamp": lamp.pk,
        "gone": gone.pk,
    }


@pytest.fixture
def writer(db: None) -> Any:
    """May change products, may not read their history."""
    return UserFactory(username="writer", permissions=["change_product"])


@pytest.fixture
def restorer(db: None) -> Any:
    """May change and add (so restore) products, may not read their history."""
    return UserFactory(
        username="restorer", permissions=["change_product", "add_product"]
    )


Input = Callable[[dict[str, Any]], dict[str, Any]]


def revert_input(
    product: str, record: Callable[[dict[str, Any]], str], **extra: Any
) -> Input:
    def make(world: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": gid("Product", world[product]),
            "record": record(world),
            "reason": "undo",
            **extra,
        }

    return make


def version_of(product: str, index: int) -> Callable[[dict[str, Any]], str]:
    return lambda world: gid(
        "HistoricalProduct", versions(world[product])[index].history_id
    )


# Each unusable version, and what a reader is told about it (unchanged).
UNUSABLE = {
    "unknown": (
        revert_input("laptop", lambda w: gid("HistoricalProduct", 10**9)),
        refused("NOT_FOUND", "record", "No such version."),
    ),
    "malformed": (
        revert_input("laptop", lambda w: gid("HistoricalProduct", "x")),
        refused("NOT_FOUND", "record", "No such version."),
    ),
    "another-products": (
        revert_input("laptop", version_of("phone", 0)),
        refused("RECORD_MISMATCH", "record", "This version belongs to another object."),
    ),
    "deleted-version": (
        revert_input("mug", version_of("mug", 1)),
        refused(
            "NOT_FOUND", "record", "A DELETED version records no state to go back to."
        ),
    ),
    "stale-expected-latest": (
        revert_input("laptop", version_of("laptop", 0), expectedLatest="placeholder"),
        refused(
            "STALE",
            "expectedLatest",
            "The object has changed since: the version expected to be its newest "
            "no longer is.",
        ),
    ),
    "nothing-to-revert": (
        revert_input("laptop", version_of("laptop", 1)),
        refused("NOTHING_TO_REVERT", None, "The object already has these values."),
    ),
    "related-deleted": (
        revert_input("lamp", version_of("lamp", 0)),
        refused(
            "RELATED_DELETED",
            "category",
            "The category 'Secret shelf' this version refers to no longer exists; "
            "restore it first.",
        ),
    ),
}


def with_stale_expected(world: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    if data.get("expectedLatest") == "placeholder":
        data["expectedLatest"] = version_of("laptop", 0)(world)
    return data


@pytest.mark.parametrize("case", UNUSABLE)
def test_every_unusable_version_is_the_same_not_found_to_a_writer_without_history(
    gql: GraphQL, world: dict[str, Any], writer: Any, case: str
) -> None:
    make_input, _ = UNUSABLE[case]
    before = state()

    answer = gql(
        REVERT, {"input": with_stale_expected(world, make_input(world))}, user=writer
    )

    assert answer == CONCEALED
    assert state() == before


@pytest.mark.parametrize("case", UNUSABLE)
def test_a_reader_is_still_told_what_is_wrong_with_the_version(
    gql: GraphQL, world: dict[str, Any], editor: Any, case: str
) -> None:
    make_input, told = UNUSABLE[case]
    before = state()

    answer = gql(
        REVERT, {"input": with_stale_expected(world, make_input(world))}, user=editor
    )

    assert answer == told
    assert state() == before


@pytest.mark.parametrize(
    "record",
    [
        pytest.param(version_of("laptop", 0), id="usable"),
        pytest.param(lambda w: gid("HistoricalProduct", 10**9), id="unknown"),
        pytest.param(version_of("phone", 0), id="another-products"),
    ],
)
def test_unknown_fields_are_refused_before_the_version_is_looked_at(
    gql: GraphQL, world: dict[str, Any], writer: Any, record: Any
) -> None:
    answer = gql(
        REVERT,
        {"input": revert_input("laptop", record, fields=["nope"])(world)},
        user=writer,
    )

    assert answer == refused(
        "UNKNOWN_FIELD",
        "fields",
        "Not tracked: nope. Tracked fields: name, description, price, quantity, "
        "category, tags.",
    )


@pytest.mark.parametrize("product", ["gone", "never"])
def test_a_deleted_product_and_one_that_never_was_look_alike(
    gql: GraphQL, world: dict[str, Any], writer: Any, restorer: Any, product: str
) -> None:
    world = {**world, "never": 10**9}
    variables = {"input": revert_input(product, version_of("laptop", 0))(world)}

    assert gql(REVERT, variables, user=writer) == refused(
        "PERMISSION_DENIED",
        None,
        "You do not have the products.add_product permission.",
        kind="PERMISSION",
    )
    assert gql(REVERT, variables, user=restorer) == CONCEALED


def test_a_revert_shows_a_writer_without_history_no_version_values(
    gql: GraphQL, world: dict[str, Any], writer: Any
) -> None:
    answer = gql(
        REVERT,
        {"input": revert_input("laptop", version_of("laptop", 0))(world)},
        user=writer,
    )

    assert answer == {
        "data": {
            "revertProduct": {
                "__typename": "RevertProductResult",
                "product": {"name": "Laptop", "price": "1000.00"},
                "record": None,
                "changes": [],
            }
        }
    }
    assert [v.price for v in versions(world["laptop"])][-1] == Decimal("1000.00")


def test_a_revert_shows_a_reader_its_changes(
    gql: GraphQL, world: dict[str, Any], editor: Any
) -> None:
    answer = gql(
        REVERT,
        {"input": revert_input("laptop", version_of("laptop", 0))(world)},
        user=editor,
    )

    assert answer == {
        "data": {
            "revertProduct": {
                "__typename": "RevertProductResult",
                "product": {"name": "Laptop", "price": "1000.00"},
                "record": {"historyType": "UPDATED"},
                "changes": [
                    {"field": "price", "oldValue": "900.00", "newValue": "1000.00"}
                ],
            }
        }
    }


@pytest.mark.parametrize("foreign", [False, True])
def test_revert_category_conceals_the_version_too(
    gql: GraphQL, db: None, foreign: bool
) -> None:
    mine = services.category_create(data={"name": "Mine"}, actor=None)
    other = services.category_create(data={"name": "Other"}, actor=None)
    record = (
        HistoricalCategory.objects.get(id=other.pk).history_id if foreign else 10**9
    )
    writer = UserFactory(username="category-writer", permissions=["change_category"])

    answer = gql(
        REVERT_CATEGORY,
        {
            "input": {
                "id": gid("Category", mine.pk),
                "record": gid("HistoricalCategory", record),
                "reason": "undo",
            }
        },
        user=writer,
    )

    assert answer == {
        "data": {
            "revertCategory": {
                "__typename": "OperationInfo",
                "messages": [
                    {
                        "kind": "VALIDATION",
                        "message": CONCEALED_REFUSAL,
                        "field": "record",
                        "code": "NOT_FOUND",
                    }
                ],
            }
        }
    }
