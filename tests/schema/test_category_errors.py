"""Category mutations over HTTP: every error code, and nothing written when refused."""

from __future__ import annotations

from typing import Any

import pytest

from products import services
from products.models import Category
from tests.factories import ProductFactory, UserFactory
from tests.helpers import CATALOG_PERMISSIONS, gid, refused
from tests.schema.related_history import (
    CREATE_CATEGORY,
    DELETE_CATEGORY,
    REVERT_CATEGORY,
    UPDATE_CATEGORY,
    category_versions,
    database_state,
    make_category,
    make_product,
)

pytestmark = pytest.mark.django_db


CATEGORY_MUTATIONS = {
    "createCategory": CREATE_CATEGORY,
    "updateCategory": UPDATE_CATEGORY,
    "deleteCategory": DELETE_CATEGORY,
    "revertCategory": REVERT_CATEGORY,
}


# -- categories: every error code, nothing written -----------------------------------


@pytest.fixture
def lamps(curator: Any) -> Category:
    """A category with two versions: CREATED "Lamps", UPDATED description."""
    category = make_category(curator, "Lamps", "Glow")
    return services.category_update(
        pk=category.pk,
        data={"description": "Things that glow"},
        actor=curator,
        reason="wording",
    )


def category_input(
    mutation: str, category: Category, category_id: str
) -> dict[str, Any]:
    """A valid input of `mutation` for `category`, but with `category_id` as its id."""
    if mutation == "updateCategory":
        return {"id": category_id, "name": "Lights", "reason": "rename"}
    if mutation == "deleteCategory":
        return {"id": category_id, "reason": "gone"}
    return {
        "id": category_id,
        "record": gid(
            "HistoricalCategory", category_versions(category.pk)[0].history_id
        ),
        "reason": "undo the wording",
    }


@pytest.mark.parametrize(
    "mutation", ["updateCategory", "deleteCategory", "revertCategory"]
)
@pytest.mark.parametrize(
    "make_id",
    [
        pytest.param(lambda c: gid("Category", c.pk + 1000), id="unknown-category"),
        # A product with the same pk exists: only the type name tells them apart.
        pytest.param(lambda c: gid("Product", c.pk), id="product-id"),
        pytest.param(
            lambda c: gid("HistoricalCategory", category_versions(c.pk)[-1].history_id),
            id="version-id",
        ),
        pytest.param(lambda c: gid("Category", "not-a-number"), id="malformed-pk"),
    ],
)
def test_category_id_naming_no_category_is_not_found(
    gql: Any, curator: Any, lamps: Category, mutation: str, make_id: Any
) -> None:
    ProductFactory(id=lamps.pk)
    before = database_state()

    answer = gql(
        CATEGORY_MUTATIONS[mutation],
        {"input": category_input(mutation, lamps, make_id(lamps))},
        user=curator,
    )

    assert answer == refused(mutation, "NOT_FOUND", field="id")
    assert database_state() == before


@pytest.mark.parametrize("mutation", ["updateCategory", "deleteCategory"])
def test_deleted_category_is_not_found(
    gql: Any, curator: Any, lamps: Category, mutation: str
) -> None:
    category_id = gid("Category", lamps.pk)
    services.category_delete(pk=lamps.pk, actor=curator, reason="gone")
    before = database_state()

    answer = gql(
        CATEGORY_MUTATIONS[mutation],
        {"input": category_input(mutation, lamps, category_id)},
        user=curator,
    )

    assert answer == refused(mutation, "NOT_FOUND", field="id")
    assert database_state() == before


@pytest.mark.parametrize(
    "make_record",
    [
        pytest.param(lambda c: gid("HistoricalCategory", 10**9), id="unknown-version"),
        pytest.param(lambda c: gid("Category", c.pk), id="category-id"),
        pytest.param(
            lambda c: gid("HistoricalProduct", category_versions(c.pk)[0].history_id),
            id="product-version-type",
        ),
        pytest.param(
            lambda c: gid("HistoricalCategory", "not-a-number"), id="malformed-pk"
        ),
    ],
)
def test_revert_category_to_a_record_naming_nothing_is_not_found(
    gql: Any, curator: Any, lamps: Category, make_record: Any
) -> None:
    before = database_state()

    answer = gql(
        REVERT_CATEGORY,
        {
            "input": {
                "id": gid("Category", lamps.pk),
                "record": make_record(lamps),
                "reason": "undo",
            }
        },
        user=curator,
    )

    assert answer == refused("revertCategory", "NOT_FOUND", field="record")
    assert database_state() == before


def test_revert_category_to_its_deleted_version_is_not_found(
    gql: Any, curator: Any, lamps: Category
) -> None:
    services.category_delete(pk=lamps.pk, actor=curator, reason="gone")
    deleted = category_versions(lamps.pk)[-1]
    before = database_state()

    answer = gql(
        REVERT_CATEGORY,
        {
            "input": {
                "id": gid("Category", lamps.pk),
                "record": gid("HistoricalCategory", deleted.history_id),
                "reason": "undo",
            }
        },
        user=curator,
    )

    assert answer == refused("revertCategory", "NOT_FOUND", field="record")
    assert database_state() == before


def test_revert_category_to_a_version_of_another_is_a_mismatch(
    gql: Any, curator: Any, lamps: Category
) -> None:
    desks = make_category(curator, "Desks")
    before = database_state()

    answer = gql(
        REVERT_CATEGORY,
        {
            "input": {
                "id": gid("Category", lamps.pk),
                "record": gid(
                    "HistoricalCategory", category_versions(desks.pk)[0].history_id
                ),
                "reason": "undo",
            }
        },
        user=curator,
    )

    assert answer == refused("revertCategory", "RECORD_MISMATCH", field="record")
    assert database_state() == before


@pytest.mark.parametrize("reason", ["", "   ", "\t\n"])
def test_revert_category_needs_a_reason(
    gql: Any, curator: Any, lamps: Category, reason: str
) -> None:
    before = database_state()
    variables = category_input("revertCategory", lamps, gid("Category", lamps.pk))

    answer = gql(
        REVERT_CATEGORY, {"input": {**variables, "reason": reason}}, user=curator
    )

    assert answer == refused("revertCategory", "REASON_REQUIRED", field="reason")
    assert database_state() == before


def test_revert_category_with_an_outdated_expected_latest_is_stale(
    gql: Any, curator: Any, lamps: Category
) -> None:
    created, updated = category_versions(lamps.pk)
    before = database_state()
    variables = category_input("revertCategory", lamps, gid("Category", lamps.pk))

    answer = gql(
        REVERT_CATEGORY,
        {
            "input": {
                **variables,
                "expectedLatest": gid("HistoricalCategory", created.history_id),
            }
        },
        user=curator,
    )

    assert answer == refused("revertCategory", "STALE", field="expectedLatest")
    assert database_state() == before

    # The newest version as expectedLatest passes.
    answer = gql(
        REVERT_CATEGORY,
        {
            "input": {
                **variables,
                "expectedLatest": gid("HistoricalCategory", updated.history_id),
            }
        },
        user=curator,
    )
    assert answer["data"]["revertCategory"]["category"] == {
        "id": gid("Category", lamps.pk),
        "name": "Lamps",
        "description": "Glow",
    }


@pytest.mark.parametrize(
    ("version_index", "fields"),
    [
        pytest.param(-1, None, id="newest-version"),
        # Only the description changed since the first version.
        pytest.param(0, ["name"], id="unchanged-field"),
    ],
)
def test_revert_category_that_changes_nothing_is_refused(
    gql: Any,
    curator: Any,
    lamps: Category,
    version_index: int,
    fields: list[str] | None,
) -> None:
    record = category_versions(lamps.pk)[version_index]
    before = database_state()

    answer = gql(
        REVERT_CATEGORY,
        {
            "input": {
                "id": gid("Category", lamps.pk),
                "record": gid("HistoricalCategory", record.history_id),
                "reason": "undo",
                "fields": fields,
            }
        },
        user=curator,
    )

    assert answer == refused("revertCategory", "NOTHING_TO_REVERT")
    assert database_state() == before


@pytest.mark.parametrize(
    "fields",
    [["nope"], ["description", "nope"], ["createdAt"], ["updatedAt"], []],
    ids=["unknown", "one-unknown-among-known", "not-editable", "excluded", "empty"],
)
def test_revert_category_of_an_untracked_field_is_refused(
    gql: Any, curator: Any, lamps: Category, fields: list[str]
) -> None:
    before = database_state()
    variables = category_input("revertCategory", lamps, gid("Category", lamps.pk))

    answer = gql(
        REVERT_CATEGORY, {"input": {**variables, "fields": fields}}, user=curator
    )

    assert answer == refused("revertCategory", "UNKNOWN_FIELD", field="fields")
    assert database_state() == before


def user_without(codename: str) -> Any:
    """A user holding every curator permission but `codename`."""
    return UserFactory(
        username=f"no-{codename}",
        permissions=[p for p in CATALOG_PERMISSIONS if p != codename],
    )


@pytest.mark.parametrize(
    ("mutation", "codename"),
    [
        ("createCategory", "add_category"),
        ("updateCategory", "change_category"),
        ("deleteCategory", "delete_category"),
        ("revertCategory", "change_category"),
    ],
)
def test_category_mutation_without_its_permission_is_refused(
    gql: Any, lamps: Category, mutation: str, codename: str
) -> None:
    user = user_without(codename)
    if mutation == "createCategory":
        variables = {"name": "Desks", "reason": "new"}
    else:
        variables = category_input(mutation, lamps, gid("Category", lamps.pk))
    before = database_state()

    answer = gql(CATEGORY_MUTATIONS[mutation], {"input": variables}, user=user)

    assert answer == refused(mutation, "PERMISSION_DENIED", kind="PERMISSION")
    assert database_state() == before


def test_restoring_a_deleted_category_needs_the_add_permission(
    gql: Any, curator: Any, lamps: Category
) -> None:
    category_id = gid("Category", lamps.pk)
    services.category_delete(pk=lamps.pk, actor=curator, reason="gone")
    before = database_state()

    answer = gql(
        REVERT_CATEGORY,
        {"input": category_input("revertCategory", lamps, category_id)},
        user=user_without("add_category"),
    )

    assert answer == refused("revertCategory", "PERMISSION_DENIED", kind="PERMISSION")
    assert database_state() == before


def test_deleting_a_category_with_products_needs_change_product(
    gql: Any, curator: Any, lamps: Category
) -> None:
    """Its products would leave it, each with a new version."""
    make_product(curator, "Desk lamp", category=lamps)
    before = database_state()

    answer = gql(
        DELETE_CATEGORY,
        {"input": {"id": gid("Category", lamps.pk), "reason": "gone"}},
        user=user_without("change_product"),
    )

    assert answer == refused("deleteCategory", "PERMISSION_DENIED", kind="PERMISSION")
    assert database_state() == before


def test_anonymous_category_mutations_are_refused(gql: Any, lamps: Category) -> None:
    for mutation, document in CATEGORY_MUTATIONS.items():
        if mutation == "createCategory":
            variables = {"name": "Desks"}
        else:
            variables = category_input(mutation, lamps, gid("Category", lamps.pk))
        before = database_state()

        answer = gql(document, {"input": variables})

        assert answer == refused(mutation, "PERMISSION_DENIED", kind="PERMISSION")
        assert database_state() == before


INVALID_CATEGORY_VALUES = [
    pytest.param("name", "", id="blank-name"),
    pytest.param("name", "x" * 101, id="name-over-100-characters"),
    pytest.param("name", "Lam\x00ps", id="nul-in-name"),
    pytest.param("description", "Gl\x00ow", id="nul-in-description"),
    pytest.param("reason", "wh\x00y", id="nul-in-reason"),
]


@pytest.mark.parametrize(("field", "value"), INVALID_CATEGORY_VALUES)
def test_create_category_with_an_invalid_value_is_refused(
    gql: Any, curator: Any, lamps: Category, field: str, value: str
) -> None:
    before = database_state()

    answer = gql(
        CREATE_CATEGORY,
        {"input": {"name": "Desks", "description": "", field: value}},
        user=curator,
    )

    assert answer == refused("createCategory", "INVALID", field=field)
    assert database_state() == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        *INVALID_CATEGORY_VALUES,
        pytest.param("name", None, id="null-name"),
        pytest.param("description", None, id="null-description"),
    ],
)
def test_update_category_with_an_invalid_value_is_refused(
    gql: Any, curator: Any, lamps: Category, field: str, value: str | None
) -> None:
    before = database_state()

    answer = gql(
        UPDATE_CATEGORY,
        {
            "input": {
                "id": gid("Category", lamps.pk),
                "name": "Lights",
                field: value,
            }
        },
        user=curator,
    )

    assert answer == refused("updateCategory", "INVALID", field=field)
    assert database_state() == before


def test_category_name_of_100_characters_is_accepted(
    gql: Any, curator: Any, lamps: Category
) -> None:
    answer = gql(
        UPDATE_CATEGORY,
        {"input": {"id": gid("Category", lamps.pk), "name": "x" * 100}},
        user=curator,
    )

    assert answer == {
        "data": {
            "updateCategory": {
                "__typename": "Category",
                "id": gid("Category", lamps.pk),
                "name": "x" * 100,
                "description": "Things that glow",
            }
        }
    }
