"""Related data in history, over HTTP: categories (tracked themselves), a product's
category and tags in its versions, their diffs, filters, search, time travel and
revert, the sensitive supplier cost, and the query count of the nested read."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from history.selectors import history_versions
from history.tracking import m2m_history_model
from products import services
from products.models import Category, Product, Tag
from tests.conftest import bearer
from tests.factories import ProductFactory, UserFactory
from tests.helpers import CATALOG_PERMISSIONS, Mentions, gid, ok, refused

pytestmark = pytest.mark.django_db

HistoricalProduct = Product.history.model
HistoricalCategory = Category.history.model
HistoricalProductTags = m2m_history_model(Product, Product._meta.get_field("tags"))


# -- helpers ------------------------------------------------------------------------


def rows(queryset: Any, order: str) -> list[dict[str, Any]]:
    return [dict(row) for row in queryset.order_by(order).values()]


def database_state() -> dict[str, list[dict[str, Any]]]:
    """Every row, all columns, of the catalog and of its history."""
    return {
        "categories": rows(Category.objects.all(), "pk"),
        "category_versions": rows(HistoricalCategory.objects.all(), "history_id"),
        "products": rows(Product.objects.all(), "pk"),
        "product_versions": rows(HistoricalProduct.objects.all(), "history_id"),
        "tags": rows(Tag.objects.all(), "pk"),
        "product_tags": rows(Product.tags.through.objects.all(), "pk"),
        "product_tag_versions": rows(HistoricalProductTags.objects.all(), "pk"),
    }


def category_versions(category_pk: int) -> list[Any]:
    """The versions of a category, oldest first (works after deletion)."""
    return list(reversed(history_versions(model=Category, pk=category_pk)))


def product_versions(product_pk: int) -> list[Any]:
    """The versions of a product, oldest first (works after deletion)."""
    return list(reversed(history_versions(model=Product, pk=product_pk)))


def change(
    field: str,
    old: str | None,
    new: str | None,
    *,
    label: str | None = None,
    delta: str | None = None,
    added: list[str] | None = None,
    removed: list[str] | None = None,
) -> dict[str, Any]:
    """A `FieldChange` as `CHANGE` selects it."""
    return {
        "field": field,
        "label": label or field[:1].upper() + field[1:],
        "oldValue": old,
        "newValue": new,
        "delta": delta,
        "added": added,
        "removed": removed,
    }


CHANGE = "{ field label oldValue newValue delta added removed }"
OPERATION_INFO = "... on OperationInfo { messages { kind message field code } }"


@pytest.fixture
def curator(db: None) -> Any:
    """A user who may write and read the history of products and categories."""
    return UserFactory(username="curator", permissions=CATALOG_PERMISSIONS)


def make_category(actor: Any, name: str, description: str = "") -> Category:
    return services.category_create(
        data={"name": name, "description": description},
        actor=actor,
        reason=f"create {name}",
    )


def make_product(
    actor: Any,
    name: str,
    *,
    price: str = "10.00",
    category: Category | None = None,
    tags: list[str] | None = None,
    reason: str | None = None,
    **data: Any,
) -> Product:
    values = {
        "name": name,
        "price": Decimal(price),
        "category": category.pk if category else None,
        **data,
    }
    if tags is not None:
        values["tags"] = tags
    return services.product_create(
        data=values, actor=actor, reason=reason or f"create {name}"
    )


def change_product(product: Product, actor: Any, reason: str, **data: Any) -> Product:
    if "price" in data:
        data["price"] = Decimal(data["price"])
    if isinstance(data.get("category"), Category):
        data["category"] = data["category"].pk
    return services.product_update(pk=product.pk, data=data, actor=actor, reason=reason)


# -- categories: the life of a tracked model --------------------------------------

CATEGORY = "fragment C on Category { id name description }"
CREATE_CATEGORY = f"""
{CATEGORY}
mutation($input: CreateCategoryInput!) {{
  createCategory(input: $input) {{ __typename ...C {OPERATION_INFO} }}
}}
"""
UPDATE_CATEGORY = f"""
{CATEGORY}
mutation($input: UpdateCategoryInput!) {{
  updateCategory(input: $input) {{ __typename ...C {OPERATION_INFO} }}
}}
"""
DELETE_CATEGORY = f"""
{CATEGORY}
mutation($input: DeleteCategoryInput!) {{
  deleteCategory(input: $input) {{ __typename ...C {OPERATION_INFO} }}
}}
"""
REVERT_CATEGORY = f"""
{CATEGORY}
mutation($input: RevertCategoryInput!) {{
  revertCategory(input: $input) {{
    __typename
    ... on RevertCategoryResult {{
      category {{ ...C }}
      record {{
        historyType historyChangeReason historyUser {{ username }}
        revertedFrom {{ historyId }}
        changes {CHANGE}
      }}
      changes {CHANGE}
    }}
    {OPERATION_INFO}
  }}
}}
"""
CATEGORY_MUTATIONS = {
    "createCategory": CREATE_CATEGORY,
    "updateCategory": UPDATE_CATEGORY,
    "deleteCategory": DELETE_CATEGORY,
    "revertCategory": REVERT_CATEGORY,
}
CATEGORY_VERSION = f"""
fragment V on HistoricalCategory {{
  __typename historyType historyChangeReason historyUser {{ username }}
  name description categoryId
  changes {CHANGE}
  revertedFrom {{ historyId }}
}}
"""
CATEGORY_WITH_HISTORY = f"""
{CATEGORY_VERSION}
query($id: ID!) {{
  category(id: $id) {{
    __typename id name description
    history {{ totalCount edges {{ node {{ ...V }} }} }}
  }}
}}
"""
CATEGORY_FEED = f"""
{CATEGORY_VERSION}
query($filters: HistoricalCategoryFilter) {{
  categoryHistory(filters: $filters) {{
    totalCount edges {{ node {{ ...V }} }}
  }}
}}
"""


def category_version(
    history_type: str,
    reason: str,
    user: str,
    name: str,
    description: str,
    category_id: str,
    changes: list[dict[str, Any]],
    reverted_from: int | None = None,
) -> dict[str, Any]:
    return {
        "__typename": "HistoricalCategory",
        "historyType": history_type,
        "historyChangeReason": reason,
        "historyUser": {"username": user},
        "name": name,
        "description": description,
        "categoryId": category_id,
        "changes": changes,
        "revertedFrom": None if reverted_from is None else {"historyId": reverted_from},
    }


def test_category_life_create_update_delete_restore(gql: Any, curator: Any) -> None:
    second: Any = UserFactory(username="second", permissions=CATALOG_PERMISSIONS)

    created = gql(
        CREATE_CATEGORY,
        {
            "input": {
                "name": "Lamps",
                "description": "Things that glow",
                "reason": "New range",
            }
        },
        user=curator,
    )
    category_id = created["data"]["createCategory"]["id"]
    assert created == {
        "data": {
            "createCategory": {
                "__typename": "Category",
                "id": category_id,
                "name": "Lamps",
                "description": "Things that glow",
            }
        }
    }
    pk = Category.objects.get().pk
    assert category_id == gid("Category", pk)

    assert gql(
        UPDATE_CATEGORY,
        {"input": {"id": category_id, "name": "Lights", "reason": "Broader name"}},
        user=second,
    ) == {
        "data": {
            "updateCategory": {
                "__typename": "Category",
                "id": category_id,
                "name": "Lights",
                "description": "Things that glow",
            }
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
                "description": "Things that glow",
            }
        }
    }
    assert not Category.objects.exists()
    assert ok(gql(CATEGORY_WITH_HISTORY, {"id": category_id}, user=curator)) == {
        "category": None
    }

    first_version = category_versions(pk)[0].history_id
    restored = gql(
        REVERT_CATEGORY,
        {
            "input": {
                "id": category_id,
                "record": gid("HistoricalCategory", first_version),
                "reason": "Range is back",
            }
        },
        user=second,
    )
    name_back = change("name", "Lights", "Lamps")
    assert restored == {
        "data": {
            "revertCategory": {
                "__typename": "RevertCategoryResult",
                "category": {
                    "id": category_id,
                    "name": "Lamps",
                    "description": "Things that glow",
                },
                "record": {
                    "historyType": "CREATED",
                    "historyChangeReason": "Range is back",
                    "historyUser": {"username": "second"},
                    "revertedFrom": {"historyId": first_version},
                    "changes": [name_back],
                },
                "changes": [name_back],
            }
        }
    }
    assert Category.objects.get().pk == pk, "restored under its old id"

    expected_versions = [
        category_version(
            "CREATED",
            "Range is back",
            "second",
            "Lamps",
            "Things that glow",
            category_id,
            [name_back],
            reverted_from=first_version,
        ),
        category_version(
            "DELETED",
            "Range dropped",
            "curator",
            "Lights",
            "Things that glow",
            category_id,
            [],
        ),
        category_version(
            "UPDATED",
            "Broader name",
            "second",
            "Lights",
            "Things that glow",
            category_id,
            [change("name", "Lamps", "Lights")],
        ),
        category_version(
            "CREATED",
            "New range",
            "curator",
            "Lamps",
            "Things that glow",
            category_id,
            [],
        ),
    ]
    assert ok(gql(CATEGORY_WITH_HISTORY, {"id": category_id}, user=curator)) == {
        "category": {
            "__typename": "Category",
            "id": category_id,
            "name": "Lamps",
            "description": "Things that glow",
            "history": {
                "totalCount": 4,
                "edges": [{"node": node} for node in expected_versions],
            },
        }
    }

    # The feed holds every category's versions; its filters pick them out.
    make_category(curator, "Desks")
    feed = ok(gql(CATEGORY_FEED, user=curator))["categoryHistory"]
    assert feed["totalCount"] == 5
    assert [edge["node"]["name"] for edge in feed["edges"]] == [
        "Desks",
        "Lamps",
        "Lights",
        "Lights",
        "Lamps",
    ]
    assert feed["edges"][1:] == [{"node": node} for node in expected_versions]

    def feed_of(filters: dict[str, Any]) -> list[dict[str, Any]]:
        answer = ok(gql(CATEGORY_FEED, {"filters": filters}, user=curator))
        connection_ = answer["categoryHistory"]
        assert connection_["totalCount"] == len(connection_["edges"])
        return [edge["node"] for edge in connection_["edges"]]

    assert feed_of({"category": category_id}) == expected_versions
    assert feed_of({"historyType": "DELETED"}) == [expected_versions[1]]
    assert feed_of({"historyUser": gid("User", second.pk)}) == [
        expected_versions[0],
        expected_versions[2],
    ]
    assert feed_of({"changedField": "name"}) == [
        expected_versions[0],
        expected_versions[2],
    ]
    assert feed_of({"search": "dropped"}) == [expected_versions[1]]
    assert feed_of({"search": "broader"}) == [expected_versions[2]]
    assert feed_of({"category": gid("Product", pk)}) == []


def test_category_as_of(gql: Any, curator: Any) -> None:
    category = make_category(curator, "Lamps", "Glow")
    services.category_update(
        pk=category.pk, data={"name": "Lights"}, actor=curator, reason="rename"
    )
    services.category_delete(pk=category.pk, actor=curator, reason="dropped")
    created, renamed, deleted = category_versions(category.pk)
    tick = datetime.timedelta(microseconds=1)
    query = """
    query($id: ID!, $at: DateTime!) {
      categoryAsOf(id: $id, at: $at) {
        __typename historyType name description historyChangeReason
      }
    }
    """

    def as_of(moment: datetime.datetime, category_id: str | None = None) -> Any:
        variables = {
            "id": category_id or gid("Category", category.pk),
            "at": moment.isoformat(),
        }
        return ok(gql(query, variables, user=curator))["categoryAsOf"]

    def version(history_type: str, name: str, reason: str) -> dict[str, Any]:
        return {
            "__typename": "HistoricalCategory",
            "historyType": history_type,
            "name": name,
            "description": "Glow",
            "historyChangeReason": reason,
        }

    assert as_of(created.history_date - tick) is None
    assert as_of(created.history_date) == version("CREATED", "Lamps", "create Lamps")
    assert as_of(renamed.history_date - tick) == version(
        "CREATED", "Lamps", "create Lamps"
    )
    assert as_of(renamed.history_date) == version("UPDATED", "Lights", "rename")
    assert as_of(deleted.history_date - tick) == version("UPDATED", "Lights", "rename")
    assert as_of(deleted.history_date) is None
    assert as_of(deleted.history_date, gid("Product", category.pk)) is None


def test_category_history_needs_its_permission(
    gql: Any, editor: Any, curator: Any
) -> None:
    """The editor reads product history, not category history."""
    category = make_category(curator, "Lamps")
    now = datetime.datetime.now(datetime.UTC).isoformat()
    category_id = gid("Category", category.pk)

    for query, variables in [
        ("{ categoryHistory { totalCount } }", {}),
        (
            "query($id: ID!) { category(id: $id) { history { totalCount } } }",
            {"id": category_id},
        ),
        (
            "query($id: ID!, $at: DateTime!) "
            "{ categoryAsOf(id: $id, at: $at) { name } }",
            {"id": category_id, "at": now},
        ),
    ]:
        answer = gql(query, variables, user=editor)
        assert answer["data"] is None
        assert [error["extensions"]["code"] for error in answer["errors"]] == [
            "PERMISSION_DENIED"
        ]


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


def tag_names(*names: str) -> list[dict[str, Any]]:
    return [{"name": name} for name in names]


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


# -- revert with category and tags ---------------------------------------------------

REVERT_PRODUCT = f"""
mutation($input: RevertProductInput!) {{
  revertProduct(input: $input) {{
    __typename
    ... on RevertProductResult {{
      product {{ id price category {{ name }} tags {{ name }} }}
      record {{
        historyType historyChangeReason revertedFrom {{ historyId }}
        price category {{ name }} tags {{ name }}
        changes {CHANGE}
      }}
      changes {CHANGE}
    }}
    {OPERATION_INFO}
  }}
}}
"""


@pytest.fixture
def moved(curator: Any) -> tuple[Product, Category, Category]:
    """A lamp created in Lamps (red, sale) at 10.00, then moved to Desks (blue) at
    12.00."""
    lamps = make_category(curator, "Lamps")
    desks = make_category(curator, "Desks")
    product = make_product(
        curator, "Lamp", price="10.00", category=lamps, tags=["red", "sale"]
    )
    change_product(
        product, curator, "move", price="12.00", category=desks, tags=["blue"]
    )
    return product, lamps, desks


def current(product: Product) -> tuple[str, str | None, list[str]]:
    product.refresh_from_db()
    return (
        str(product.price),
        product.category.name if product.category else None,
        sorted(product.tags.values_list("name", flat=True)),
    )


def test_revert_restores_category_and_tags(
    gql: Any, curator: Any, moved: tuple[Product, Category, Category]
) -> None:
    product, _, _ = moved
    first = product_versions(product.pk)[0]

    answer = gql(
        REVERT_PRODUCT,
        {
            "input": {
                "id": gid("Product", product.pk),
                "record": gid("HistoricalProduct", first.history_id),
                "reason": "Undo the move",
            }
        },
        user=curator,
    )

    changes = [
        change("category", "Desks", "Lamps"),
        change("price", "12.00", "10.00", delta="-2.00"),
        change("tags", "blue", "red, sale", added=["red", "sale"], removed=["blue"]),
    ]
    assert answer == {
        "data": {
            "revertProduct": {
                "__typename": "RevertProductResult",
                "product": {
                    "id": gid("Product", product.pk),
                    "price": "10.00",
                    "category": {"name": "Lamps"},
                    "tags": tag_names("red", "sale"),
                },
                "record": {
                    "historyType": "UPDATED",
                    "historyChangeReason": "Undo the move",
                    "revertedFrom": {"historyId": first.history_id},
                    "price": "10.00",
                    "category": {"name": "Lamps"},
                    "tags": tag_names("red", "sale"),
                    "changes": changes,
                },
                "changes": changes,
            }
        }
    }
    assert current(product) == ("10.00", "Lamps", ["red", "sale"])
    assert len(product_versions(product.pk)) == 3


def test_revert_of_only_category_and_tags(
    gql: Any, curator: Any, moved: tuple[Product, Category, Category]
) -> None:
    product, _, _ = moved
    first = product_versions(product.pk)[0]

    answer = gql(
        REVERT_PRODUCT,
        {
            "input": {
                "id": gid("Product", product.pk),
                "record": gid("HistoricalProduct", first.history_id),
                "reason": "Back to Lamps",
                "fields": ["category", "tags"],
            }
        },
        user=curator,
    )

    changes = [
        change("category", "Desks", "Lamps"),
        change("tags", "blue", "red, sale", added=["red", "sale"], removed=["blue"]),
    ]
    assert answer == {
        "data": {
            "revertProduct": {
                "__typename": "RevertProductResult",
                "product": {
                    "id": gid("Product", product.pk),
                    "price": "12.00",
                    "category": {"name": "Lamps"},
                    "tags": tag_names("red", "sale"),
                },
                "record": {
                    "historyType": "UPDATED",
                    "historyChangeReason": "Back to Lamps",
                    "revertedFrom": {"historyId": first.history_id},
                    "price": "12.00",
                    "category": {"name": "Lamps"},
                    "tags": tag_names("red", "sale"),
                    "changes": changes,
                },
                "changes": changes,
            }
        }
    }
    assert current(product) == ("12.00", "Lamps", ["red", "sale"])


def test_revert_of_only_tags_keeps_the_category(
    gql: Any, curator: Any, moved: tuple[Product, Category, Category]
) -> None:
    product, _, _ = moved
    first = product_versions(product.pk)[0]

    answer = ok(
        gql(
            REVERT_PRODUCT,
            {
                "input": {
                    "id": gid("Product", product.pk),
                    "record": gid("HistoricalProduct", first.history_id),
                    "reason": "Tags back",
                    "fields": ["tags"],
                }
            },
            user=curator,
        )
    )

    assert answer["revertProduct"]["changes"] == [
        change("tags", "blue", "red, sale", added=["red", "sale"], removed=["blue"])
    ]
    assert current(product) == ("12.00", "Desks", ["red", "sale"])


def test_revert_dry_run_reports_category_and_tags_and_writes_nothing(
    gql: Any, curator: Any, moved: tuple[Product, Category, Category]
) -> None:
    product, _, _ = moved
    first = product_versions(product.pk)[0]
    before = database_state()

    answer = gql(
        REVERT_PRODUCT,
        {
            "input": {
                "id": gid("Product", product.pk),
                "record": gid("HistoricalProduct", first.history_id),
                "reason": "What if",
                "fields": ["category", "tags"],
                "dryRun": True,
            }
        },
        user=curator,
    )

    assert answer == {
        "data": {
            "revertProduct": {
                "__typename": "RevertProductResult",
                # As it would be after the revert.
                "product": {
                    "id": gid("Product", product.pk),
                    "price": "12.00",
                    "category": {"name": "Lamps"},
                    "tags": tag_names("red", "sale"),
                },
                "record": None,
                "changes": [
                    change("category", "Desks", "Lamps"),
                    change(
                        "tags",
                        "blue",
                        "red, sale",
                        added=["red", "sale"],
                        removed=["blue"],
                    ),
                ],
            }
        }
    }
    assert database_state() == before


def test_revert_to_a_deleted_category_is_refused_until_it_is_restored(
    gql: Any, curator: Any
) -> None:
    lamps = make_category(curator, "Lamps")
    product = make_product(curator, "Lamp", category=lamps, tags=["red"])
    change_product(product, curator, "retag", tags=["blue"])
    services.category_delete(pk=lamps.pk, actor=curator, reason="Range dropped")
    first = product_versions(product.pk)[0]
    revert_input = {
        "id": gid("Product", product.pk),
        "record": gid("HistoricalProduct", first.history_id),
        "reason": "Undo",
    }
    before = database_state()

    extras: list[dict[str, Any]] = [{}, {"fields": ["category"]}, {"dryRun": True}]
    for extra in extras:
        answer = gql(REVERT_PRODUCT, {"input": {**revert_input, **extra}}, user=curator)

        assert answer == refused("revertProduct", "RELATED_DELETED", field="category")
        assert answer["data"]["revertProduct"]["messages"][0]["message"] == Mentions(
            "Lamps"
        )
        assert database_state() == before

    # Fields that do not involve the category still revert.
    tags_only = ok(
        gql(
            REVERT_PRODUCT,
            {"input": {**revert_input, "fields": ["tags"]}},
            user=curator,
        )
    )["revertProduct"]
    assert tags_only["product"]["tags"] == tag_names("red")
    assert tags_only["product"]["category"] is None

    restored = ok(
        gql(
            REVERT_CATEGORY,
            {
                "input": {
                    "id": gid("Category", lamps.pk),
                    "record": gid(
                        "HistoricalCategory", category_versions(lamps.pk)[0].history_id
                    ),
                    "reason": "Range is back",
                }
            },
            user=curator,
        )
    )
    assert restored["revertCategory"]["category"]["id"] == gid("Category", lamps.pk)

    answer = gql(REVERT_PRODUCT, {"input": revert_input}, user=curator)

    assert answer == {
        "data": {
            "revertProduct": {
                "__typename": "RevertProductResult",
                "product": {
                    "id": gid("Product", product.pk),
                    "price": "10.00",
                    "category": {"name": "Lamps"},
                    "tags": tag_names("red"),
                },
                "record": {
                    "historyType": "UPDATED",
                    "historyChangeReason": "Undo",
                    "revertedFrom": {"historyId": first.history_id},
                    "price": "10.00",
                    "category": {"name": "Lamps"},
                    "tags": tag_names("red"),
                    "changes": [change("category", None, "Lamps")],
                },
                "changes": [change("category", None, "Lamps")],
            }
        }
    }
    product.refresh_from_db()
    assert product.category_id == lamps.pk


def test_restoring_a_deleted_product_brings_back_its_category_and_tags(
    gql: Any, curator: Any
) -> None:
    lamps = make_category(curator, "Lamps")
    product = make_product(curator, "Lamp", category=lamps, tags=["red", "sale"])
    services.product_delete(pk=product.pk, actor=curator, reason="gone")
    first = product_versions(product.pk)[0]

    answer = ok(
        gql(
            REVERT_PRODUCT,
            {
                "input": {
                    "id": gid("Product", product.pk),
                    "record": gid("HistoricalProduct", first.history_id),
                    "reason": "Back",
                }
            },
            user=curator,
        )
    )

    assert answer["revertProduct"]["product"] == {
        "id": gid("Product", product.pk),
        "price": "10.00",
        "category": {"name": "Lamps"},
        "tags": tag_names("red", "sale"),
    }
    assert answer["revertProduct"]["record"]["historyType"] == "CREATED"
    assert current(product) == ("10.00", "Lamps", ["red", "sale"])


# -- filters and search of the audit feed -------------------------------------------

FEED = """
query($filters: HistoricalProductFilter) {
  productHistory(filters: $filters) {
    totalCount edges { node { name historyType historyChangeReason } }
  }
}
"""


@pytest.fixture
def feed(curator: Any) -> dict[str, Any]:
    lamps = make_category(curator, "Lamps")
    desks = make_category(curator, "Desks")
    lamp = make_product(
        curator, "Lamp", category=lamps, tags=["red"], description="A lamp"
    )
    change_product(lamp, curator, "Polish wording", description="A luminous lamp")
    change_product(lamp, curator, "Summer promotion", tags=["red", "discount"])
    desk = make_product(curator, "Desk", category=desks, tags=["oak"])
    change_product(desk, curator, "Supplier increase", price="99.00")
    change_product(desk, curator, "Moved", category=lamps)
    return {"lamps": lamps, "desks": desks, "lamp": lamp, "desk": desk}


def feed_nodes(*entries: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "productHistory": {
            "totalCount": len(entries),
            "edges": [
                {
                    "node": {
                        "name": name,
                        "historyType": history_type,
                        "historyChangeReason": reason,
                    }
                }
                for name, history_type, reason in entries
            ],
        }
    }


MOVED = ("Desk", "UPDATED", "Moved")
DESK_INCREASE = ("Desk", "UPDATED", "Supplier increase")
DESK_CREATED = ("Desk", "CREATED", "create Desk")
LAMP_PROMOTION = ("Lamp", "UPDATED", "Summer promotion")
LAMP_WORDING = ("Lamp", "UPDATED", "Polish wording")
LAMP_CREATED = ("Lamp", "CREATED", "create Lamp")


@pytest.mark.parametrize(
    ("make_filters", "expected"),
    [
        pytest.param(
            lambda f: {"category": gid("Category", f["lamps"].pk)},
            [MOVED, LAMP_PROMOTION, LAMP_WORDING, LAMP_CREATED],
            id="category-lamps",
        ),
        pytest.param(
            lambda f: {"category": gid("Category", f["desks"].pk)},
            [DESK_INCREASE, DESK_CREATED],
            id="category-desks",
        ),
        pytest.param(
            lambda f: {"category": gid("Product", f["lamps"].pk)},
            [],
            id="category-id-of-another-type",
        ),
        pytest.param(lambda f: {"tag": "discount"}, [LAMP_PROMOTION], id="tag"),
        pytest.param(
            lambda f: {"tag": "red"},
            [LAMP_PROMOTION, LAMP_WORDING, LAMP_CREATED],
            id="tag-on-every-version",
        ),
        pytest.param(
            lambda f: {"tag": "oak"},
            [MOVED, DESK_INCREASE, DESK_CREATED],
            id="tag-of-another-product",
        ),
        pytest.param(lambda f: {"tag": "nope"}, [], id="unknown-tag"),
        pytest.param(
            lambda f: {"changedField": "tags"}, [LAMP_PROMOTION], id="changed-tags"
        ),
        pytest.param(
            lambda f: {"changedField": "category"}, [MOVED], id="changed-category"
        ),
        pytest.param(
            lambda f: {"search": "promotion"},
            [LAMP_PROMOTION],
            id="search-reason-word",
        ),
        pytest.param(
            lambda f: {"search": "Supplier"},
            [DESK_INCREASE],
            id="search-reason-word-case",
        ),
        pytest.param(
            lambda f: {"search": "luminous"},
            [LAMP_WORDING],
            id="search-new-description-word",
        ),
        pytest.param(
            lambda f: {"search": "discount"},
            [LAMP_PROMOTION],
            id="search-added-tag",
        ),
        pytest.param(
            lambda f: {"search": "99.00"}, [DESK_INCREASE], id="search-new-price"
        ),
        pytest.param(
            lambda f: {"search": "Desks"}, [MOVED], id="search-old-category-name"
        ),
        pytest.param(
            lambda f: {"search": "summer discount"},
            [LAMP_PROMOTION],
            id="search-reason-and-value-words",
        ),
        pytest.param(
            lambda f: {"search": "summer luminous"},
            [],
            id="search-words-of-two-versions",
        ),
        pytest.param(lambda f: {"search": "walnut"}, [], id="search-unrelated-word"),
        pytest.param(
            lambda f: {"tag": "red", "changedField": "description"},
            [LAMP_WORDING],
            id="tag-and-changed-field",
        ),
        pytest.param(
            lambda f: {
                "category": gid("Category", f["lamps"].pk),
                "NOT": {"tag": "red"},
            },
            [MOVED],
            id="category-not-tag",
        ),
    ],
)
def test_audit_feed_filters_on_related_data(
    gql: Any,
    curator: Any,
    feed: dict[str, Any],
    make_filters: Any,
    expected: list[tuple[str, str, str]],
) -> None:
    answer = gql(FEED, {"filters": make_filters(feed)}, user=curator)

    assert ok(answer) == feed_nodes(*expected)


def test_product_history_connection_filters_by_tag_and_search(
    gql: Any, curator: Any, feed: dict[str, Any]
) -> None:
    answer = gql(
        """
        query($id: ID!) {
          product(id: $id) {
            byTag: history(filters: { tag: "discount" }) {
              edges { node { historyChangeReason } }
            }
            bySearch: history(filters: { search: "luminous" }) {
              edges { node { historyChangeReason } }
            }
          }
        }
        """,
        {"id": gid("Product", feed["lamp"].pk)},
        user=curator,
    )

    assert ok(answer) == {
        "product": {
            "byTag": {"edges": [{"node": {"historyChangeReason": "Summer promotion"}}]},
            "bySearch": {
                "edges": [{"node": {"historyChangeReason": "Polish wording"}}]
            },
        }
    }


# -- time travel with related data -------------------------------------------------


def test_product_as_of_includes_category_and_tags_as_they_were(
    gql: Any, curator: Any
) -> None:
    lamps = make_category(curator, "Lamps")
    product = make_product(curator, "Lamp", category=lamps, tags=["red"])
    services.category_update(
        pk=lamps.pk, data={"name": "Lights"}, actor=curator, reason="rename"
    )
    desks = make_category(curator, "Desks")
    change_product(product, curator, "move", category=desks, tags=["blue", "oak"])
    services.category_delete(pk=desks.pk, actor=curator, reason="dropped")
    created, moved_, left = product_versions(product.pk)
    tick = datetime.timedelta(microseconds=1)
    query = """
    query($id: ID!, $at: DateTime!) {
      productAsOf(id: $id, at: $at) {
        __typename historyType historyChangeReason name
        category { id name exists }
        tags { name exists }
      }
    }
    """

    def as_of(moment: datetime.datetime) -> Any:
        variables = {"id": gid("Product", product.pk), "at": moment.isoformat()}
        return ok(gql(query, variables, user=curator))["productAsOf"]

    in_lamps = {
        "__typename": "HistoricalProduct",
        "historyType": "CREATED",
        "historyChangeReason": "create Lamp",
        "name": "Lamp",
        "category": {"id": gid("Category", lamps.pk), "name": "Lamps", "exists": True},
        "tags": [{"name": "red", "exists": True}],
    }
    in_desks = {
        "__typename": "HistoricalProduct",
        "historyType": "UPDATED",
        "historyChangeReason": "move",
        "name": "Lamp",
        "category": {"id": gid("Category", desks.pk), "name": "Desks", "exists": False},
        "tags": [{"name": "blue", "exists": True}, {"name": "oak", "exists": True}],
    }
    assert as_of(created.history_date - tick) is None
    assert as_of(created.history_date) == in_lamps
    assert as_of(moved_.history_date - tick) == in_lamps
    assert as_of(moved_.history_date) == in_desks
    assert as_of(left.history_date - tick) == in_desks
    assert as_of(left.history_date) == {
        **in_desks,
        "historyChangeReason": Mentions("Desks", "dropped"),
        "category": None,
    }


# -- the sensitive supplier cost -----------------------------------------------------

COST = "4321.98"
NEW_COST = "8765.43"
PRODUCT_COST = """
query($id: ID!) { product(id: $id) { name supplierCost } }
"""
CREATE_WITH_COST = f"""
mutation($input: CreateProductInput!) {{
  createProduct(input: $input) {{
    __typename ... on Product {{ name price supplierCost }} {OPERATION_INFO}
  }}
}}
"""
UPDATE_WITH_COST = f"""
mutation($input: UpdateProductInput!) {{
  updateProduct(input: $input) {{
    __typename ... on Product {{ name price supplierCost }} {OPERATION_INFO}
  }}
}}
"""
FULL_HISTORY = """
query($id: ID!, $against: ID!) {
  productHistory {
    edges { node {
      id historyId productId historyDate historyType historyChangeReason
      historyUser { username } ipAddress userAgent requestId
      name description price quantity
      category { id name exists } tags { name exists }
      changes { field label oldValue newValue delta added removed
                segments { op text } }
      diff(against: $against) { field oldValue newValue delta added removed }
      previous { historyId price } next { historyId price }
      revertedFrom { historyId }
    } }
  }
  productAsOf(id: $id, at: "2999-01-01T00:00:00+00:00") { name price }
}
"""


def test_supplier_cost_is_staff_only_and_in_no_version(
    gql: Any, staff: Any, editor: Any, reader: Any
) -> None:
    assert "supplier_cost" not in [f.name for f in HistoricalProduct._meta.fields]

    created = gql(
        CREATE_WITH_COST,
        {
            "input": {
                "name": "Lamp",
                "price": "10.00",
                "supplierCost": COST,
                "reason": "New",
            }
        },
        user=staff,
    )
    assert created == {
        "data": {
            "createProduct": {
                "__typename": "Product",
                "name": "Lamp",
                "price": "10.00",
                "supplierCost": COST,
            }
        }
    }
    product = Product.objects.get()
    product_id = gid("Product", product.pk)
    assert product.supplier_cost == Decimal(COST)

    assert gql(
        UPDATE_WITH_COST,
        {
            "input": {
                "id": product_id,
                "price": "12.00",
                "supplierCost": NEW_COST,
                "reason": "Costs up",
            }
        },
        user=staff,
    ) == {
        "data": {
            "updateProduct": {
                "__typename": "Product",
                "name": "Lamp",
                "price": "12.00",
                "supplierCost": NEW_COST,
            }
        }
    }

    assert gql(PRODUCT_COST, {"id": product_id}, user=staff) == {
        "data": {"product": {"name": "Lamp", "supplierCost": NEW_COST}}
    }
    for viewer in (editor, reader, None):
        assert gql(PRODUCT_COST, {"id": product_id}, user=viewer) == {
            "data": {"product": {"name": "Lamp", "supplierCost": None}}
        }

    # No stored version, diff, snapshot or search text holds either cost.
    stored = json.dumps(list(HistoricalProduct.objects.values()), default=str)
    for cost in (COST, NEW_COST):
        assert cost not in stored

    first = product_versions(product.pk)[0]
    for viewer in (staff, editor):
        answer = gql(
            FULL_HISTORY,
            {"id": product_id, "against": gid("HistoricalProduct", first.history_id)},
            user=viewer,
        )
        data = ok(answer)
        assert [
            e["node"]["historyChangeReason"] for e in data["productHistory"]["edges"]
        ] == ["Costs up", "New"]
        assert data["productHistory"]["edges"][0]["node"]["changes"] == [
            {
                "field": "price",
                "label": "Price",
                "oldValue": "10.00",
                "newValue": "12.00",
                "delta": "2.00",
                "added": None,
                "removed": None,
                "segments": None,
            }
        ]
        text = json.dumps(answer)
        for cost in (COST, NEW_COST):
            assert cost not in text

    for cost in (COST, NEW_COST):
        assert ok(gql(FEED, {"filters": {"search": cost}}, user=staff)) == feed_nodes()


def test_a_non_staff_editor_may_not_set_the_supplier_cost(
    gql: Any, editor: Any, staff: Any
) -> None:
    product = make_product(staff, "Lamp", supplier_cost=Decimal(COST))
    before = database_state()

    created = gql(
        CREATE_WITH_COST,
        {"input": {"name": "Desk", "price": "10.00", "supplierCost": "1.00"}},
        user=editor,
    )
    updated = gql(
        UPDATE_WITH_COST,
        {
            "input": {
                "id": gid("Product", product.pk),
                "price": "11.00",
                "supplierCost": "1.00",
            }
        },
        user=editor,
    )

    assert created == refused("createProduct", "PERMISSION_DENIED", kind="PERMISSION")
    assert updated == refused("updateProduct", "PERMISSION_DENIED", kind="PERMISSION")
    assert database_state() == before


def test_supplier_cost_is_not_a_revertable_field(gql: Any, staff: Any) -> None:
    product = make_product(staff, "Lamp", supplier_cost=Decimal(COST))
    change_product(product, staff, "up", price="11.00", supplier_cost=Decimal("1.00"))
    first = product_versions(product.pk)[0]
    before = database_state()

    answer = gql(
        REVERT_PRODUCT,
        {
            "input": {
                "id": gid("Product", product.pk),
                "record": gid("HistoricalProduct", first.history_id),
                "reason": "back",
                "fields": ["supplierCost"],
            }
        },
        user=staff,
    )

    assert answer == refused("revertProduct", "UNKNOWN_FIELD", field="fields")
    assert database_state() == before


# -- query counts --------------------------------------------------------------------

NESTED = """
{
  products(first: 50) { edges { node { history(first: 15) {
    totalCount
    edges { node {
      historyDate
      historyUser { username }
      category { name }
      tags { name }
      changes { field oldValue newValue delta added removed }
    } }
  } } } }
}
"""


@pytest.fixture
def auditor(db: None) -> Any:
    return UserFactory(username="auditor", permissions=["view_historicalproduct"])


def catalog_with_history(actor: Any, products: int, updates: int) -> None:
    """Products in categories with tags; each update moves the price, and the
    first one also the category and the tags."""
    lamps = make_category(actor, f"Lamps {products}")
    desks = make_category(actor, f"Desks {products}")
    for n in range(products):
        product = make_product(
            actor, f"Item {n}", price="1.00", category=lamps, tags=["red", "sale"]
        )
        for m in range(updates):
            extra: dict[str, Any] = (
                {"category": desks, "tags": ["blue", "red"]} if m == 0 else {}
            )
            change_product(product, actor, "edit", price=f"{m + 2}.00", **extra)


def test_nested_history_with_category_and_tags_query_count(
    gql: Any, curator: Any, auditor: Any, django_assert_max_num_queries: Any
) -> None:
    catalog_with_history(curator, products=3, updates=1)
    headers = bearer(auditor)

    with django_assert_max_num_queries(4):
        answer = gql(NESTED, headers=headers)

    node_updated = {
        "historyUser": {"username": "curator"},
        "category": {"name": "Desks 3"},
        "tags": tag_names("blue", "red"),
        "changes": [
            {
                "field": "category",
                "oldValue": "Lamps 3",
                "newValue": "Desks 3",
                "delta": None,
                "added": None,
                "removed": None,
            },
            {
                "field": "price",
                "oldValue": "1.00",
                "newValue": "2.00",
                "delta": "1.00",
                "added": None,
                "removed": None,
            },
            {
                "field": "tags",
                "oldValue": "red, sale",
                "newValue": "blue, red",
                "delta": None,
                "added": ["blue"],
                "removed": ["sale"],
            },
        ],
    }
    node_created = {
        "historyUser": {"username": "curator"},
        "category": {"name": "Lamps 3"},
        "tags": tag_names("red", "sale"),
        "changes": [],
    }
    data = ok(answer)
    histories = [edge["node"]["history"] for edge in data["products"]["edges"]]
    for history in histories:
        for edge in history["edges"]:
            assert isinstance(edge["node"].pop("historyDate"), str)
    assert (
        histories
        == [
            {
                "totalCount": 2,
                "edges": [{"node": node_updated}, {"node": node_created}],
            }
        ]
        * 3
    )


def test_nested_history_with_category_and_tags_query_count_does_not_grow(
    gql: Any, curator: Any, auditor: Any
) -> None:
    catalog_with_history(curator, products=3, updates=1)
    headers = bearer(auditor)
    with CaptureQueriesContext(connection) as small:
        small_answer = gql(NESTED, headers=headers)

    catalog_with_history(curator, products=47, updates=21)
    headers = bearer(auditor)
    with CaptureQueriesContext(connection) as large:
        large_answer = gql(NESTED, headers=headers)

    ok(small_answer)
    edges = ok(large_answer)["products"]["edges"]
    assert len(edges) == 50
    histories = [edge["node"]["history"] for edge in edges]
    assert [h["totalCount"] for h in histories] == [2] * 3 + [22] * 47
    assert [len(h["edges"]) for h in histories] == [2] * 3 + [15] * 47
    newest = histories[-1]["edges"][0]["node"]
    assert newest["category"] == {"name": "Desks 47"}
    assert newest["tags"] == tag_names("blue", "red")
    assert newest["changes"] == [
        {
            "field": "price",
            "oldValue": "21.00",
            "newValue": "22.00",
            "delta": "1.00",
            "added": None,
            "removed": None,
        }
    ]
    sizes = (len(small.captured_queries), len(large.captured_queries))
    assert sizes[0] == sizes[1], (
        f"3 x 2 versions: {sizes[0]} queries, 50 x 20+: {sizes[1]}"
    )
    assert sizes[1] <= 4, [query["sql"] for query in large.captured_queries]
