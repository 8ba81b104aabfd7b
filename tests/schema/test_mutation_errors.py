"""Every error code of the contract, over HTTP, and proof that nothing was written.

Each refused mutation must answer with an `OperationInfo` carrying the code and
leave both the product rows and the historical rows exactly as they were.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from products import services
from products.models import Product
from tests.conftest import EDITOR_PERMISSIONS
from tests.factories import UserFactory
from tests.helpers import gid, product_state, refused

HistoricalProduct = Product.history.model

OPERATION_INFO = "... on OperationInfo { messages { kind message field code } }"

CREATE = f"""
mutation($input: CreateProductInput!) {{
  createProduct(input: $input) {{
    __typename
    ... on Product {{ name description price quantity }}
    {OPERATION_INFO}
  }}
}}
"""
UPDATE = f"""
mutation($input: UpdateProductInput!) {{
  updateProduct(input: $input) {{
    __typename
    ... on Product {{ name description price quantity }}
    {OPERATION_INFO}
  }}
}}
"""
DELETE = f"""
mutation($input: DeleteProductInput!) {{
  deleteProduct(input: $input) {{
    __typename
    ... on Product {{ name }}
    {OPERATION_INFO}
  }}
}}
"""
REVERT = f"""
mutation($input: RevertProductInput!) {{
  revertProduct(input: $input) {{
    __typename
    ... on RevertProductResult {{
      product {{ id name description price quantity }}
      record {{
        historyType historyChangeReason
        historyUser {{ username }}
        revertedFrom {{ historyId }}
        changes {{ field oldValue newValue }}
      }}
      changes {{ field oldValue newValue delta }}
    }}
    {OPERATION_INFO}
  }}
}}
"""
DOCUMENTS = {
    "createProduct": CREATE,
    "updateProduct": UPDATE,
    "deleteProduct": DELETE,
    "revertProduct": REVERT,
}


def versions(product: Product) -> list[Any]:
    """The versions of a product, oldest first."""
    return list(
        HistoricalProduct.objects.filter(id=product.pk).order_by(
            "history_date", "history_id"
        )
    )


@pytest.fixture
def laptop(db: None) -> Product:
    """A product with two versions: CREATED at 1000.00, UPDATED to 900.00."""
    product = services.product_create(
        data={
            "name": "Laptop",
            "description": "A fast laptop",
            "price": Decimal("1000.00"),
            "quantity": 5,
        },
        actor=None,
        reason="new",
    )
    return services.product_update(
        pk=product.pk, data={"price": Decimal("900.00")}, actor=None, reason="sale"
    )


@pytest.fixture
def phone(db: None) -> Product:
    """Another product, with one CREATED version."""
    return services.product_create(
        data={"name": "Phone", "price": Decimal("300.00"), "quantity": 2},
        actor=None,
    )


def mutation_input(mutation: str, product: Product, product_id: str) -> dict[str, Any]:
    """A valid input of `mutation` for `product`, but with `product_id` as its id."""
    if mutation == "updateProduct":
        return {"id": product_id, "name": "Renamed", "reason": "rename"}
    if mutation == "deleteProduct":
        return {"id": product_id, "reason": "gone"}
    return {
        "id": product_id,
        "record": gid("HistoricalProduct", versions(product)[0].history_id),
        "reason": "undo the sale",
    }


# NOT_FOUND


@pytest.mark.parametrize(
    "mutation", ["updateProduct", "deleteProduct", "revertProduct"]
)
@pytest.mark.parametrize(
    "make_id",
    [
        pytest.param(lambda p: gid("Product", p.pk + 1000), id="unknown-product"),
        # The pk names the live product: only the type name tells it apart.
        pytest.param(lambda p: gid("User", p.pk), id="user-id"),
        pytest.param(
            lambda p: gid("HistoricalProduct", versions(p)[-1].history_id),
            id="version-id",
        ),
        pytest.param(lambda p: gid("Product", "not-a-number"), id="malformed-pk"),
    ],
)
def test_unknown_product_id_is_not_found(
    gql: Any, editor: Any, laptop: Product, mutation: str, make_id: Any
) -> None:
    before = product_state()

    answer = gql(
        DOCUMENTS[mutation],
        {"input": mutation_input(mutation, laptop, make_id(laptop))},
        user=editor,
    )

    assert answer == refused(mutation, "NOT_FOUND", field="id")
    assert product_state() == before


@pytest.mark.parametrize("mutation", ["updateProduct", "deleteProduct"])
def test_deleted_product_is_not_found(
    gql: Any, editor: Any, laptop: Product, mutation: str
) -> None:
    product_id = gid("Product", laptop.pk)
    services.product_delete(pk=laptop.pk, actor=None, reason="gone")
    before = product_state()

    answer = gql(
        DOCUMENTS[mutation],
        {"input": mutation_input(mutation, laptop, product_id)},
        user=editor,
    )

    assert answer == refused(mutation, "NOT_FOUND", field="id")
    assert product_state() == before


@pytest.mark.parametrize(
    "make_record",
    [
        pytest.param(lambda p: gid("HistoricalProduct", 10**9), id="unknown-version"),
        pytest.param(lambda p: gid("Product", p.pk), id="product-id"),
        pytest.param(lambda p: gid("User", versions(p)[0].history_id), id="user-id"),
        pytest.param(
            lambda p: gid("HistoricalProduct", "not-a-number"), id="malformed-pk"
        ),
    ],
)
def test_revert_record_naming_nothing_is_not_found(
    gql: Any, editor: Any, laptop: Product, make_record: Any
) -> None:
    before = product_state()

    answer = gql(
        REVERT,
        {
            "input": {
                "id": gid("Product", laptop.pk),
                "record": make_record(laptop),
                "reason": "undo",
            }
        },
        user=editor,
    )

    assert answer == refused("revertProduct", "NOT_FOUND", field="record")
    assert product_state() == before


# RECORD_MISMATCH


def test_revert_to_a_version_of_another_product_is_a_mismatch(
    gql: Any, editor: Any, laptop: Product, phone: Product
) -> None:
    before = product_state()

    answer = gql(
        REVERT,
        {
            "input": {
                "id": gid("Product", laptop.pk),
                "record": gid("HistoricalProduct", versions(phone)[0].history_id),
                "reason": "undo",
            }
        },
        user=editor,
    )

    assert answer == refused("revertProduct", "RECORD_MISMATCH", field="record")
    assert product_state() == before


# STALE


@pytest.mark.parametrize(
    "make_expected",
    [
        pytest.param(lambda p, other: versions(p)[0].history_id, id="older-version"),
        pytest.param(
            lambda p, other: versions(other)[-1].history_id,
            id="newest-of-another-product",
        ),
    ],
)
def test_revert_with_an_outdated_expected_latest_is_stale(
    gql: Any, editor: Any, laptop: Product, phone: Product, make_expected: Any
) -> None:
    before = product_state()

    answer = gql(
        REVERT,
        {
            "input": {
                "id": gid("Product", laptop.pk),
                "record": gid("HistoricalProduct", versions(laptop)[0].history_id),
                "reason": "undo the sale",
                "expectedLatest": gid(
                    "HistoricalProduct", make_expected(laptop, phone)
                ),
            }
        },
        user=editor,
    )

    assert answer == refused("revertProduct", "STALE", field="expectedLatest")
    assert product_state() == before


def test_revert_with_the_newest_version_as_expected_latest_is_not_stale(
    gql: Any, editor: Any, laptop: Product
) -> None:
    created, updated = versions(laptop)

    answer = gql(
        REVERT,
        {
            "input": {
                "id": gid("Product", laptop.pk),
                "record": gid("HistoricalProduct", created.history_id),
                "reason": "undo the sale",
                "expectedLatest": gid("HistoricalProduct", updated.history_id),
            }
        },
        user=editor,
    )

    assert answer["data"]["revertProduct"]["__typename"] == "RevertProductResult"
    assert Product.objects.get(pk=laptop.pk).price == Decimal("1000.00")


# REASON_REQUIRED


@pytest.mark.parametrize("reason", ["", "   ", "\t\n"])
def test_revert_with_a_blank_reason_is_refused(
    gql: Any, editor: Any, laptop: Product, reason: str
) -> None:
    before = product_state()

    answer = gql(
        REVERT,
        {
            "input": {
                "id": gid("Product", laptop.pk),
                "record": gid("HistoricalProduct", versions(laptop)[0].history_id),
                "reason": reason,
            }
        },
        user=editor,
    )

    assert answer == refused("revertProduct", "REASON_REQUIRED", field="reason")
    assert product_state() == before


# UNKNOWN_FIELD


@pytest.mark.parametrize(
    "fields",
    [["nope"], ["price", "nope"], ["updatedAt"]],
    ids=["unknown", "one-unknown-among-known", "untracked"],
)
def test_revert_of_an_untracked_field_is_refused(
    gql: Any, editor: Any, laptop: Product, fields: list[str]
) -> None:
    before = product_state()

    answer = gql(
        REVERT,
        {
            "input": {
                "id": gid("Product", laptop.pk),
                "record": gid("HistoricalProduct", versions(laptop)[0].history_id),
                "reason": "undo the sale",
                "fields": fields,
            }
        },
        user=editor,
    )

    assert answer == refused("revertProduct", "UNKNOWN_FIELD", field="fields")
    assert product_state() == before


# NOTHING_TO_REVERT


@pytest.mark.parametrize(
    ("version_index", "fields"),
    [
        pytest.param(-1, None, id="newest-version"),
        # Only the price changed since the first version.
        pytest.param(0, ["name", "quantity"], id="unchanged-fields"),
    ],
)
def test_revert_that_changes_nothing_is_refused(
    gql: Any,
    editor: Any,
    laptop: Product,
    version_index: int,
    fields: list[str] | None,
) -> None:
    before = product_state()
    record = versions(laptop)[version_index]

    answer = gql(
        REVERT,
        {
            "input": {
                "id": gid("Product", laptop.pk),
                "record": gid("HistoricalProduct", record.history_id),
                "reason": "undo",
                "fields": fields,
            }
        },
        user=editor,
    )

    assert answer == refused("revertProduct", "NOTHING_TO_REVERT")
    assert product_state() == before


# PERMISSION_DENIED


def user_without(codename: str) -> Any:
    """A user holding every editor permission but `codename`."""
    return UserFactory(
        username=f"no-{codename}",
        permissions=[p for p in EDITOR_PERMISSIONS if p != codename],
    )


@pytest.mark.parametrize(
    ("mutation", "codename"),
    [
        ("createProduct", "add_product"),
        ("updateProduct", "change_product"),
        ("deleteProduct", "delete_product"),
        ("revertProduct", "change_product"),
    ],
)
def test_mutation_without_its_permission_is_refused(
    gql: Any, laptop: Product, mutation: str, codename: str
) -> None:
    user = user_without(codename)
    if mutation == "createProduct":
        mutation_input_ = {"name": "Desk", "price": "10.00"}
    else:
        mutation_input_ = mutation_input(mutation, laptop, gid("Product", laptop.pk))
    before = product_state()

    answer = gql(DOCUMENTS[mutation], {"input": mutation_input_}, user=user)

    assert answer == refused(mutation, "PERMISSION_DENIED", kind="PERMISSION")
    assert product_state() == before


# INVALID

INVALID_VALUES = [
    pytest.param("price", "-0.01", id="negative-price"),
    pytest.param("quantity", -1, id="negative-quantity"),
    pytest.param("price", "12345678901.00", id="too-many-digits-in-price"),
    pytest.param("price", "1.001", id="too-many-decimal-places-in-price"),
    pytest.param("name", "", id="blank-name"),
    pytest.param("name", "x" * 201, id="name-over-200-characters"),
]


@pytest.mark.parametrize(("field", "value"), INVALID_VALUES)
def test_create_with_an_invalid_value_is_refused(
    gql: Any, editor: Any, laptop: Product, field: str, value: Any
) -> None:
    before = product_state()

    answer = gql(
        CREATE,
        {"input": {"name": "Desk", "price": "10.00", "quantity": 1, field: value}},
        user=editor,
    )

    assert answer == refused("createProduct", "INVALID", field=field)
    assert product_state() == before


@pytest.mark.parametrize(("field", "value"), INVALID_VALUES)
def test_update_with_an_invalid_value_is_refused(
    gql: Any, editor: Any, laptop: Product, field: str, value: Any
) -> None:
    before = product_state()

    answer = gql(
        UPDATE,
        {"input": {"id": gid("Product", laptop.pk), field: value, "reason": "x"}},
        user=editor,
    )

    assert answer == refused("updateProduct", "INVALID", field=field)
    assert product_state() == before


def test_update_with_valid_boundary_values_is_accepted(
    gql: Any, editor: Any, laptop: Product
) -> None:
    """The limits the INVALID cases cross are themselves allowed."""
    answer = gql(
        UPDATE,
        {
            "input": {
                "id": gid("Product", laptop.pk),
                "name": "x" * 200,
                "price": "9999999999.99",
                "quantity": 0,
            }
        },
        user=editor,
    )

    assert answer == {
        "data": {
            "updateProduct": {
                "__typename": "Product",
                "name": "x" * 200,
                "description": "A fast laptop",
                "price": "9999999999.99",
                "quantity": 0,
            }
        }
    }


# Dry run and partial revert


def test_dry_run_reports_the_changes_and_writes_nothing(
    gql: Any, editor: Any, laptop: Product
) -> None:
    services.product_update(
        pk=laptop.pk, data={"name": "Laptop Pro"}, actor=None, reason="rename"
    )
    before = product_state()

    answer = gql(
        """
        mutation($input: RevertProductInput!) {
          revertProduct(input: $input) {
            __typename
            ... on RevertProductResult {
              product { id }
              record { historyId }
              changes { field oldValue newValue delta }
            }
          }
        }
        """,
        {
            "input": {
                "id": gid("Product", laptop.pk),
                "record": gid("HistoricalProduct", versions(laptop)[0].history_id),
                "reason": "undo everything",
                "dryRun": True,
            }
        },
        user=editor,
    )

    assert answer == {
        "data": {
            "revertProduct": {
                "__typename": "RevertProductResult",
                "product": {"id": gid("Product", laptop.pk)},
                "record": None,
                "changes": [
                    {
                        "field": "name",
                        "oldValue": "Laptop Pro",
                        "newValue": "Laptop",
                        "delta": None,
                    },
                    {
                        "field": "price",
                        "oldValue": "900.00",
                        "newValue": "1000.00",
                        "delta": "100.00",
                    },
                ],
            }
        }
    }
    assert product_state() == before


def test_partial_revert_changes_only_the_fields_asked(
    gql: Any, editor: Any, laptop: Product
) -> None:
    services.product_update(
        pk=laptop.pk,
        data={"name": "Laptop Pro", "quantity": 7},
        actor=None,
        reason="rename",
    )
    first = versions(laptop)[0]
    products_before, versions_before = product_state()

    answer = gql(
        REVERT,
        {
            "input": {
                "id": gid("Product", laptop.pk),
                "record": gid("HistoricalProduct", first.history_id),
                "reason": "the sale is over",
                "fields": ["price"],
            }
        },
        user=editor,
    )

    assert answer == {
        "data": {
            "revertProduct": {
                "__typename": "RevertProductResult",
                "product": {
                    "id": gid("Product", laptop.pk),
                    "name": "Laptop Pro",
                    "description": "A fast laptop",
                    "price": "1000.00",
                    "quantity": 7,
                },
                "record": {
                    "historyType": "UPDATED",
                    "historyChangeReason": "the sale is over",
                    "historyUser": {"username": "editor"},
                    "revertedFrom": {"historyId": first.history_id},
                    "changes": [
                        {"field": "price", "oldValue": "900.00", "newValue": "1000.00"}
                    ],
                },
                "changes": [
                    {
                        "field": "price",
                        "oldValue": "900.00",
                        "newValue": "1000.00",
                        "delta": "100.00",
                    }
                ],
            }
        }
    }
    products_after, versions_after = product_state()
    assert versions_after[: len(versions_before)] == versions_before
    assert len(versions_after) == len(versions_before) + 1
    [row_before] = products_before
    [row_after] = products_after
    assert {k: v for k, v in row_after.items() if row_before[k] != v}.keys() == {
        "price",
        "updated_at",
    }
    assert row_after["price"] == Decimal("1000.00")
