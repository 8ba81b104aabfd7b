"""`verifyHistory` and `Version.integrity` over HTTP: every kind of tampering
done through raw SQL is reported at its version with its kind, untouched
chains verify, a failing checkpoint fails, pages go on from their cursor,
and only staff may ask."""

from __future__ import annotations

import datetime
from typing import Any
from unittest.mock import ANY

import pytest

from history.models import Checkpoint
from tests.conftest import GraphQL
from tests.factories import UserFactory
from tests.helpers import EDITOR_PERMISSIONS, NonBlank, bypass_guards, gid
from tests.history.tampering import (
    FORGED_PRICE,
    TAMPERINGS,
    Trail,
    delete_versions,
    signed_trail,
    tamper,
    tamper_with,
    versions_of,
)

pytestmark = pytest.mark.django_db

VERIFY = """
query Verify($model: TrackedModel!, $object: ID, $after: String) {
  verifyHistory(model: $model, object: $object, after: $after) {
    __typename
    intact
    breaks {
      __typename kind detail model objectId
      version { __typename historyId }
    }
    chainsChecked
    versionsChecked
    checkpoint { id createdAt }
    checkpointFailure
    endCursor
    hasNextPage
  }
}
"""

INTEGRITY = """
query Integrity($id: ID!) {
  product(id: $id) {
    history(first: 20) {
      edges {
        node {
          historyId
          integrity {
            __typename
            hash
            previousHash
            contentIntact
            chain {
              __typename
              intact
              firstBreak { kind version { historyId } objectId }
              checkpointFailure
            }
          }
        }
      }
    }
  }
}
"""

# The versions whose own content no longer hashes to their hash, by the
# position in the lamp's chain of `tamper_with`'s victims (-1: the copy).
CONTENT_BROKEN = {
    "edit a value": [1],
    "edit a reason": [2],
    "delete a version": [],
    "insert a version": [-1],
    "swap two dates": [1, 2],
    "cut the newest": [],
}


@pytest.fixture
def trail() -> Trail:
    return signed_trail()


def checkpoint_of(trail: Trail) -> dict[str, Any]:
    created = trail.checkpoint.created_at.astimezone(datetime.UTC)
    return {"id": trail.checkpoint.pk, "createdAt": created.isoformat()}


def cursor(pk: int) -> str:
    from schema.verification import chain_cursor

    return chain_cursor("products.product", str(pk))


def verified(
    trail: Trail, *, breaks: list[dict[str, Any]], versions: int, **more: Any
) -> dict[str, Any]:
    answer = {
        "__typename": "HistoryVerification",
        "intact": not breaks,
        "breaks": breaks,
        "chainsChecked": 2,
        "versionsChecked": versions,
        "checkpoint": checkpoint_of(trail),
        "checkpointFailure": None,
        "endCursor": cursor(trail.mug.pk),
        "hasNextPage": False,
    }
    return {"data": {"verifyHistory": {**answer, **more}}}


def a_break(kind: str, pk: int, history_id: int | None) -> dict[str, Any]:
    return {
        "__typename": "ChainBreak",
        "kind": kind,
        "detail": NonBlank(),
        "model": "PRODUCT",
        "objectId": gid("Product", pk),
        "version": None
        if history_id is None
        else {"__typename": "HistoricalProduct", "historyId": history_id},
    }


def test_a_clean_trail_verifies(gql: GraphQL, staff: Any, trail: Trail) -> None:
    answer = gql(VERIFY, {"model": "PRODUCT"}, user=staff)

    assert answer == verified(trail, breaks=[], versions=9)


@pytest.mark.parametrize("how", TAMPERINGS)
def test_verify_history_reports_each_tampering_at_its_version(
    gql: GraphQL, staff: Any, trail: Trail, how: str
) -> None:
    kind, history_id = tamper_with(how, trail.lamp_versions, value=FORGED_PRICE)
    stored = len(versions_of(trail.lamp)) + 4

    answer = gql(VERIFY, {"model": "PRODUCT"}, user=staff)

    assert answer == verified(
        trail,
        breaks=[a_break(kind.value, trail.lamp.pk, history_id)],
        versions=stored,
    )


@pytest.mark.parametrize("how", TAMPERINGS)
def test_integrity_reports_each_tampering_on_every_version_of_the_chain(
    gql: GraphQL, staff: Any, trail: Trail, how: str
) -> None:
    kind, history_id = tamper_with(how, trail.lamp_versions, value=FORGED_PRICE)
    stored = versions_of(trail.lamp)
    broken_content = {
        (history_id if index == -1 else trail.lamp_versions[index].history_id)
        for index in CONTENT_BROKEN[how]
    }

    answer = gql(INTEGRITY, {"id": gid("Product", trail.lamp.pk)}, user=staff)

    edges = answer["data"]["product"]["history"]["edges"]
    by_id = {version.history_id: version for version in stored}
    assert [edge["node"]["historyId"] for edge in edges] == [
        version.history_id for version in reversed(stored)
    ]
    first_break = {
        "kind": kind.value,
        "version": None if history_id is None else {"historyId": history_id},
        "objectId": gid("Product", trail.lamp.pk),
    }
    for edge in edges:
        version = by_id[edge["node"]["historyId"]]
        assert edge["node"]["integrity"] == {
            "__typename": "VersionIntegrity",
            "hash": version.history_hash,
            "previousHash": version.history_prev_hash,
            "contentIntact": version.history_id not in broken_content,
            "chain": {
                "__typename": "ChainVerification",
                "intact": False,
                "firstBreak": first_break,
                "checkpointFailure": None,
            },
        }


def test_untouched_chains_verify_beside_a_broken_one(
    gql: GraphQL, staff: Any, trail: Trail
) -> None:
    tamper_with("edit a value", trail.lamp_versions, value=FORGED_PRICE)

    answer = gql(INTEGRITY, {"id": gid("Product", trail.mug.pk)}, user=staff)

    for edge in answer["data"]["product"]["history"]["edges"]:
        integrity = edge["node"]["integrity"]
        assert integrity["contentIntact"] is True
        assert integrity["chain"] == {
            "__typename": "ChainVerification",
            "intact": True,
            "firstBreak": None,
            "checkpointFailure": None,
        }
    one = gql(
        VERIFY, {"model": "PRODUCT", "object": gid("Product", trail.mug.pk)}, user=staff
    )
    assert one == verified(
        trail, breaks=[], versions=4, chainsChecked=1, endCursor=cursor(trail.mug.pk)
    )


def test_a_chain_gone_altogether_is_truncated_with_no_version(
    gql: GraphQL, staff: Any, trail: Trail
) -> None:
    delete_versions(*trail.mug_versions)

    answer = gql(VERIFY, {"model": "PRODUCT"}, user=staff)

    assert answer == verified(
        trail, breaks=[a_break("TRUNCATED", trail.mug.pk, None)], versions=5
    )


def test_a_failing_checkpoint_fails_every_verification(
    gql: GraphQL, staff: Any, trail: Trail
) -> None:
    tamper(
        "UPDATE history_checkpoint SET signature = %s WHERE id = %s",
        [Checkpoint.objects.get().signature[::-1], trail.checkpoint.pk],
    )

    answer = gql(VERIFY, {"model": "PRODUCT"}, user=staff)
    integrity = gql(INTEGRITY, {"id": gid("Product", trail.mug.pk)}, user=staff)

    failure = NonBlank()
    assert answer == verified(
        trail, breaks=[], versions=9, intact=False, checkpointFailure=failure
    )
    assert (
        "The signature does not verify"
        in (answer["data"]["verifyHistory"]["checkpointFailure"])
    )
    chain = integrity["data"]["product"]["history"]["edges"][0]["node"]["integrity"]
    assert chain["chain"] == {
        "__typename": "ChainVerification",
        "intact": False,
        "firstBreak": None,
        "checkpointFailure": failure,
    }


def test_pages_go_on_from_their_cursor(
    gql: GraphQL, staff: Any, trail: Trail, settings: Any
) -> None:
    settings.HISTORY_VERIFY_PAGE_VERSIONS = 3
    tamper_with("edit a reason", trail.mug_versions, value=FORGED_PRICE)

    first = gql(VERIFY, {"model": "PRODUCT"}, user=staff)
    second = gql(
        VERIFY,
        {"model": "PRODUCT", "after": first["data"]["verifyHistory"]["endCursor"]},
        user=staff,
    )

    assert first == verified(
        trail,
        breaks=[],
        versions=5,
        chainsChecked=1,
        endCursor=cursor(trail.lamp.pk),
        hasNextPage=True,
    )
    assert second == verified(
        trail,
        breaks=[a_break("CHANGED", trail.mug.pk, trail.mug_versions[2].history_id)],
        versions=4,
        chainsChecked=1,
    )


@pytest.mark.parametrize(
    "after",
    [
        "not a cursor",
        "Y2hhaW46cHJvZHVjdHMuY2F0ZWdvcnk6MQ==",
        "Y2hhaW46cHJvZHVjdHMucHJvZHVjdDp4",
    ],
)
def test_a_cursor_not_of_this_model_is_refused(
    gql: GraphQL, staff: Any, trail: Trail, after: str
) -> None:
    answer = gql(VERIFY, {"model": "PRODUCT", "after": after}, user=staff)

    assert answer == {
        "data": {"verifyHistory": None},
        "errors": [
            {
                "message": NonBlank(),
                "locations": ANY,
                "path": ["verifyHistory"],
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }


@pytest.mark.parametrize(
    "object_id", [gid("Product", 999), gid("Category", 1), "garbage"]
)
def test_an_object_with_no_chain_is_not_found(
    gql: GraphQL, staff: Any, trail: Trail, object_id: str
) -> None:
    answer = gql(VERIFY, {"model": "PRODUCT", "object": object_id}, user=staff)

    assert answer == {
        "data": {"verifyHistory": None},
        "errors": [
            {
                "message": "No chain of a product with that id.",
                "locations": ANY,
                "path": ["verifyHistory"],
                "extensions": {"code": "NOT_FOUND"},
            }
        ],
    }


def test_without_a_checkpoint_chains_verify_on_their_own(
    gql: GraphQL, staff: Any, trail: Trail
) -> None:
    with bypass_guards():
        Checkpoint.objects.all().delete()

    answer = gql(VERIFY, {"model": "PRODUCT"}, user=staff)

    assert answer == verified(trail, breaks=[], versions=9, checkpoint=None)


def test_others_than_staff_are_refused(gql: GraphQL, editor: Any, trail: Trail) -> None:
    refused = gql(VERIFY, {"model": "PRODUCT"}, user=editor)
    anonymous = gql(VERIFY, {"model": "PRODUCT"})
    integrity = gql(INTEGRITY, {"id": gid("Product", trail.lamp.pk)}, user=editor)

    denied = {
        "data": None,
        "errors": [
            {
                "message": "Only staff may verify the history.",
                "locations": ANY,
                "extensions": {"code": "PERMISSION_DENIED"},
            }
        ],
    }
    assert refused == denied
    assert anonymous == denied
    edges = integrity["data"]["product"]["history"]["edges"]
    assert len(edges) == 5
    assert all(edge["node"]["integrity"] is None for edge in edges)


def test_staff_need_the_models_history_permission(gql: GraphQL, trail: Trail) -> None:
    staff = UserFactory(username="staff", is_staff=True, permissions=EDITOR_PERMISSIONS)

    answer = gql(VERIFY, {"model": "CATEGORY"}, user=staff)

    assert answer == {
        "data": {"verifyHistory": None},
        "errors": [
            {
                "message": "You may not read the history of categories.",
                "locations": ANY,
                "path": ["verifyHistory"],
                "extensions": {"code": "PERMISSION_DENIED"},
            }
        ],
    }
