"""A tracked model that exists only in the tests (`tests.tracked.Note`) gets the
whole history API from its declaration (`tests/tracked/graphql.py`): its
feeds, as-of, mutations and revert, the audit log, changesets, permissions,
node costs and query counts."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import GraphQL
from tests.factories import UserFactory

NOTE_EDITOR = [
    "add_note",
    "change_note",
    "delete_note",
    "view_historicalnote",
]

CREATE = """
mutation ($title: String!, $reason: String) {
  createNote(input: {title: $title, body: "one two", reason: $reason}) {
    __typename
    ... on Note { id title }
    ... on OperationInfo { messages { code field } }
  }
}
"""
UPDATE = """
mutation ($id: ID!, $title: String, $priority: Int, $reason: String) {
  updateNote(input: {id: $id, title: $title, priority: $priority, reason: $reason}) {
    __typename
    ... on Note { id title priority }
    ... on OperationInfo { messages { code field } }
  }
}
"""
HISTORY = """
query ($id: ID!) {
  note(id: $id) {
    title
    history(first: 10) {
      totalCount
      edges { node {
        historyType historyChangeReason historyUser { username }
        noteId
        changes { field oldValue newValue delta }
        previous { historyType }
        changeset { historyChangeReason }
      } }
    }
  }
}
"""


@pytest.fixture
def note_editor(db: None) -> Any:
    return UserFactory(username="note-editor", permissions=NOTE_EDITOR)


def _create(gql: GraphQL, user: Any, title: str = "First") -> str:
    answer = gql(CREATE, {"title": title, "reason": "new note"}, user=user)
    assert answer["data"]["createNote"]["__typename"] == "Note", answer
    note_id: str = answer["data"]["createNote"]["id"]
    return note_id


def test_a_declared_model_gets_feeds_diffs_and_changesets(
    gql: GraphQL, note_editor: Any
) -> None:
    note_id = _create(gql, note_editor)
    answer = gql(
        UPDATE,
        {"id": note_id, "title": "Second", "priority": 3, "reason": "retitled"},
        user=note_editor,
    )
    assert answer["data"]["updateNote"] == {
        "__typename": "Note",
        "id": note_id,
        "title": "Second",
        "priority": 3,
    }
    answer = gql(HISTORY, {"id": note_id}, user=note_editor)
    assert answer == {
        "data": {
            "note": {
                "title": "Second",
                "history": {
                    "totalCount": 2,
                    "edges": [
                        {
                            "node": {
                                "historyType": "UPDATED",
                                "historyChangeReason": "retitled",
                                "historyUser": {"username": "note-editor"},
                                "noteId": note_id,
                                "changes": [
                                    {
                                        "field": "priority",
                                        "oldValue": "0",
                                        "newValue": "3",
                                        "delta": "3",
                                    },
                                    {
                                        "field": "title",
                                        "oldValue": "First",
                                        "newValue": "Second",
                                        "delta": None,
                                    },
                                ],
                                "previous": {"historyType": "CREATED"},
                                "changeset": {"historyChangeReason": "retitled"},
                            }
                        },
                        {
                            "node": {
                                "historyType": "CREATED",
                                "historyChangeReason": "new note",
                                "historyUser": {"username": "note-editor"},
                                "noteId": note_id,
                                "changes": [],
                                "previous": None,
                                "changeset": {"historyChangeReason": "new note"},
                            }
                        },
                    ],
                },
            }
        }
    }


AUDIT = """
query ($filters: AuditLogFilter) {
  auditLog(first: 10, filters: $filters) {
    totalCount
    edges { node {
      __typename historyType objectId
      object { __typename id }
      ... on HistoricalNote { title }
    } }
  }
}
"""


def test_the_audit_log_and_as_of_serve_the_model(
    gql: GraphQL, note_editor: Any
) -> None:
    note_id = _create(gql, note_editor)
    gql(UPDATE, {"id": note_id, "title": "Later", "reason": "r"}, user=note_editor)
    answer = gql(AUDIT, {"filters": {"model": ["NOTE"]}}, user=note_editor)
    assert answer == {
        "data": {
            "auditLog": {
                "totalCount": 2,
                "edges": [
                    {
                        "node": {
                            "__typename": "HistoricalNote",
                            "historyType": "UPDATED",
                            "objectId": note_id,
                            "object": {"__typename": "Note", "id": note_id},
                            "title": "Later",
                        }
                    },
                    {
                        "node": {
                            "__typename": "HistoricalNote",
                            "historyType": "CREATED",
                            "objectId": note_id,
                            "object": {"__typename": "Note", "id": note_id},
                            "title": "First",
                        }
                    },
                ],
            }
        }
    }
    answer = gql(
        """query ($id: ID!) {
          asOf(id: $id, at: "2999-01-01T00:00:00Z") {
            __typename ... on HistoricalNote { title }
          }
          noteAsOf(id: $id, at: "2999-01-01T00:00:00Z") { title }
        }""",
        {"id": note_id},
        user=note_editor,
    )
    assert answer == {
        "data": {
            "asOf": {"__typename": "HistoricalNote", "title": "Later"},
            "noteAsOf": {"title": "Later"},
        }
    }


def _versions(gql: GraphQL, user: Any, note_id: str) -> list[dict[str, Any]]:
    answer = gql(
        """query ($id: ID!) { note(id: $id) { history(first: 10) { edges { node {
             id historyType historyChangeReason revertedFrom { id } } } } } }""",
        {"id": note_id},
        user=user,
    )
    return [edge["node"] for edge in answer["data"]["note"]["history"]["edges"]]


REVERT = """
mutation ($input: RevertInput!) {
  revert(input: $input) {
    __typename
    ... on RevertResult {
      object { __typename ... on Note { title } }
      record { historyChangeReason revertedFrom { id } }
      changes { field oldValue newValue }
    }
    ... on OperationInfo { messages { code field } }
  }
}
"""


def test_revert_by_the_version_alone(gql: GraphQL, note_editor: Any) -> None:
    note_id = _create(gql, note_editor)
    gql(UPDATE, {"id": note_id, "title": "Wrong", "reason": "oops"}, user=note_editor)
    created = _versions(gql, note_editor, note_id)[-1]
    answer = gql(
        REVERT,
        {"input": {"record": created["id"], "reason": "undo"}},
        user=note_editor,
    )
    assert answer == {
        "data": {
            "revert": {
                "__typename": "RevertResult",
                "object": {"__typename": "Note", "title": "First"},
                "record": {
                    "historyChangeReason": "undo",
                    "revertedFrom": {"id": created["id"]},
                },
                "changes": [
                    {"field": "title", "oldValue": "Wrong", "newValue": "First"}
                ],
            }
        }
    }
    # The per-model alias behaves the same, and refuses a stale expectation.
    newest = _versions(gql, note_editor, note_id)[0]
    answer = gql(
        """mutation ($input: RevertNoteInput!) { revertNote(input: $input) {
             __typename ... on OperationInfo { messages { code field } } } }""",
        {
            "input": {
                "id": note_id,
                "record": created["id"],
                "reason": "again",
                "expectedLatest": created["id"],
            }
        },
        user=note_editor,
    )
    assert answer["data"]["revertNote"] == {
        "__typename": "OperationInfo",
        "messages": [{"code": "STALE", "field": "expectedLatest"}],
    }
    assert _versions(gql, note_editor, note_id)[0] == newest


@pytest.mark.parametrize(
    ("record", "code"),
    [
        ("SGlzdG9yaWNhbE5vdGU6OTk5OTk5", "NOT_FOUND"),  # HistoricalNote:999999
        ("bm90IGFuIGlk", "NOT_FOUND"),
        ("Tm90ZToxMjM=", "NOT_FOUND"),  # Note:123, not a version
    ],
)
def test_revert_of_no_version_is_not_found(
    gql: GraphQL, note_editor: Any, record: str, code: str
) -> None:
    answer = gql(
        REVERT, {"input": {"record": record, "reason": "undo"}}, user=note_editor
    )
    assert answer["data"]["revert"] == {
        "__typename": "OperationInfo",
        "messages": [{"code": code, "field": "record"}],
    }


def test_permissions_are_the_model_s_own(gql: GraphQL, note_editor: Any) -> None:
    note_id = _create(gql, note_editor)
    outsider = UserFactory(username="outsider", permissions=["view_historicalproduct"])
    answer = gql(HISTORY, {"id": note_id}, user=outsider)
    assert answer["data"] is None
    assert answer["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    # The audit log leaves out what the viewer may not read.
    answer = gql(AUDIT, {"filters": {"model": ["NOTE"]}}, user=outsider)
    assert answer == {"data": {"auditLog": {"totalCount": 0, "edges": []}}}
    answer = gql(
        'query ($id: ID!) { asOf(id: $id, at: "2999-01-01T00:00:00Z") { id } }',
        {"id": note_id},
        user=outsider,
    )
    assert answer["data"] == {"asOf": None}
    assert answer["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    answer = gql(
        CREATE, {"title": "Mine", "reason": None}, user=UserFactory(username="nobody")
    )
    assert answer["data"]["createNote"] == {
        "__typename": "OperationInfo",
        "messages": [{"code": "PERMISSION_DENIED", "field": None}],
    }


@pytest.mark.parametrize(
    ("variables", "code", "field"),
    [
        ({"title": "x" * 201}, "INVALID", "title"),
        ({"title": "a\x00b"}, "INVALID", "title"),
        ({"title": "ok", "reason": "r" * 1001}, "INVALID", "reason"),
    ],
)
def test_bad_input_is_refused_with_nothing_written(
    gql: GraphQL, note_editor: Any, variables: dict[str, Any], code: str, field: str
) -> None:
    answer = gql(CREATE, {"reason": None, **variables}, user=note_editor)
    assert answer["data"]["createNote"] == {
        "__typename": "OperationInfo",
        "messages": [{"code": code, "field": field}],
    }
    from tests.tracked.models import Note

    assert not Note.history.exists()


def test_nested_history_costs_two_queries(gql: GraphQL, note_editor: Any) -> None:
    for index in range(5):
        note_id = _create(gql, note_editor, title=f"Note {index}")
        gql(UPDATE, {"id": note_id, "priority": index + 1}, user=note_editor)
    query = """{ notes(first: 10) { edges { node { title history(first: 5) {
        totalCount edges { node { historyType changes { field newValue } } } }
    } } } }"""
    gql(query, user=note_editor)  # warm: token and permission lookups
    with CaptureQueriesContext(connection) as captured:
        answer = gql(query, user=note_editor)
    assert len(answer["data"]["notes"]["edges"]) == 5
    data_queries = [
        q["sql"] for q in captured.captured_queries if "tracked_" in q["sql"]
    ]
    assert len(data_queries) == 2, data_queries


@pytest.mark.parametrize(
    ("mutation", "variables", "code", "field"),
    [
        ("updateNote", {"id": "bm90IGFuIGlk", "title": "x"}, "NOT_FOUND", "id"),
        ("updateNote", {"id": "UHJvZHVjdDox", "title": "x"}, "NOT_FOUND", "id"),
        (
            "deleteNote",
            {"id": "Tm90ZTo5OTk5OTk5OTk5OTk5OTk5OTk5OQ=="},
            "NOT_FOUND",
            "id",
        ),
        ("revertNote", {"fields": ["nope"], "reason": "r"}, "UNKNOWN_FIELD", "fields"),
        ("revertNote", {"reason": "   "}, "REASON_REQUIRED", "reason"),
        ("revertNote", {"reason": "r" * 1001}, "INVALID", "reason"),
    ],
)
def test_bad_ids_and_reverts_are_refused(
    gql: GraphQL,
    note_editor: Any,
    mutation: str,
    variables: dict[str, Any],
    code: str,
    field: str,
) -> None:
    from tests.tracked.models import Note

    note_id = _create(gql, note_editor)
    created = _versions(gql, note_editor, note_id)[0]["id"]
    if mutation == "revertNote":
        variables = {"id": note_id, "record": created, **variables}
    before = Note.history.count()
    input_type = {
        "updateNote": "UpdateNoteInput",
        "deleteNote": "DeleteNoteInput",
        "revertNote": "RevertNoteInput",
    }[mutation]
    answer = gql(
        f"""mutation ($input: {input_type}!) {{ {mutation}(input: $input) {{
              __typename ... on OperationInfo {{ messages {{ code field }} }} }} }}""",
        {"input": variables},
        user=note_editor,
    )
    assert answer["data"][mutation] == {
        "__typename": "OperationInfo",
        "messages": [{"code": code, "field": field}],
    }
    assert Note.history.count() == before


def test_a_changeset_of_notes_is_reverted_whole(gql: GraphQL, note_editor: Any) -> None:
    from tests.tracked.models import Note

    first = _create(gql, note_editor, title="One")
    second = _create(gql, note_editor, title="Two")
    answer = gql(
        """mutation ($a: ID!, $b: ID!) {
             a: updateNote(input: {id: $a, priority: 5, reason: "triage"}) {
               __typename }
             b: updateNote(input: {id: $b, priority: 5, reason: "triage"}) {
               __typename }
           }""",
        {"a": first, "b": second},
        user=note_editor,
    )
    assert answer["data"] == {"a": {"__typename": "Note"}, "b": {"__typename": "Note"}}
    changeset = _versions(gql, note_editor, first)[0]
    answer = gql(
        """query ($id: ID!) { node(id: $id) { ... on HistoricalNote {
             changeset { id versions { totalCount } } } } }""",
        {"id": changeset["id"]},
        user=note_editor,
    )
    found = answer["data"]["node"]["changeset"]
    assert found["versions"] == {"totalCount": 2}
    answer = gql(
        """mutation ($id: ID!) { revertChangeset(input: {id: $id, reason: "undo"}) {
             __typename ... on RevertChangesetResult {
               versions { __typename historyChangeReason } } } }""",
        {"id": found["id"]},
        user=note_editor,
    )
    assert answer["data"]["revertChangeset"] == {
        "__typename": "RevertChangesetResult",
        "versions": [
            {"__typename": "HistoricalNote", "historyChangeReason": "undo"},
            {"__typename": "HistoricalNote", "historyChangeReason": "undo"},
        ],
    }
    assert set(Note.objects.values_list("priority", flat=True)) == {0}
