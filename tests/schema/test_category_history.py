"""Categories, tracked themselves, over HTTP: create, update, delete, their
versions, diffs and revert."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from products import services
from products.models import Category
from tests.factories import UserFactory
from tests.helpers import CATALOG_PERMISSIONS, gid, ok
from tests.schema.related_history import (
    CHANGE,
    CREATE_CATEGORY,
    DELETE_CATEGORY,
    REVERT_CATEGORY,
    UPDATE_CATEGORY,
    category_versions,
    change,
    make_category,
)

pytestmark = pytest.mark.django_db


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
