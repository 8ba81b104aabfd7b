"""The generic object services, on a tracked model only the tests know."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from history.errors import OperationDenied
from history.tracking import CREATED, DELETED, UPDATED
from history.writes import tracked_create, tracked_delete, tracked_update
from tests.factories import UserFactory
from tests.tracked.models import Note

pytestmark = pytest.mark.django_db


def codes(error: ValidationError) -> dict[str, list[str | None]]:
    if not hasattr(error, "error_dict"):
        return {"__all__": [e.code for e in error.error_list]}
    return {name: [e.code for e in errors] for name, errors in error.error_dict.items()}


WRITES = {
    "create": lambda pk, actor: tracked_create(
        model=Note, data={"title": "x"}, actor=actor
    ),
    "update": lambda pk, actor: tracked_update(
        model=Note, pk=pk, data={"title": "x"}, actor=actor
    ),
    "delete": lambda pk, actor: tracked_delete(model=Note, pk=pk, actor=actor),
}


def test_create_update_delete_record_one_version_each_with_actor_and_reason() -> None:
    user = UserFactory(
        username="writer", permissions=["add_note", "change_note", "delete_note"]
    )
    note = tracked_create(
        model=Note, data={"title": "Plan", "priority": 1}, actor=user, reason=" new "
    )
    tracked_update(
        model=Note, pk=note.pk, data={"body": "Steps"}, actor=user, reason="detail"
    )
    deleted = tracked_delete(model=Note, pk=note.pk, actor=user, reason="done")

    assert deleted.pk == note.pk
    assert not Note.objects.exists()
    assert [
        (v.history_type, v.title, v.body, v.history_change_reason, v.history_username)
        for v in Note.history.order_by("history_id")
    ] == [
        (CREATED, "Plan", "", "new", "writer"),
        (UPDATED, "Plan", "Steps", "detail", "writer"),
        (DELETED, "Plan", "Steps", "done", "writer"),
    ]
    assert Note.history.order_by("history_id")[1].history_changes == {
        "body": ["", "Steps"]
    }


def test_a_change_of_no_value_writes_no_version() -> None:
    note = tracked_create(model=Note, data={"title": "Plan"}, actor=None)

    same = tracked_update(
        model=Note, pk=note.pk, data={"title": "Plan", "priority": 0}, actor=None
    )

    assert same.pk == note.pk
    assert Note.history.count() == 1


@pytest.mark.parametrize("write", ["update", "delete"])
def test_a_missing_object_is_not_found(write: str) -> None:
    with pytest.raises(ValidationError) as caught:
        WRITES[write](404, None)

    assert codes(caught.value) == {"id": ["NOT_FOUND"]}


@pytest.mark.parametrize(
    ("data", "reason", "expected"),
    [
        ({"colour": "red"}, None, {"__all__": ["UNKNOWN_FIELD"]}),
        ({"title": None}, None, {"title": ["INVALID"]}),
        ({"title": "x" * 201}, None, {"title": ["INVALID"]}),
        ({"title": "ok"}, "\x00", {"reason": ["INVALID"]}),
    ],
)
def test_bad_input_is_refused_and_nothing_written(
    data: dict[str, Any], reason: str | None, expected: dict[str, list[str]]
) -> None:
    with pytest.raises(ValidationError) as caught:
        tracked_create(model=Note, data=data, actor=None, reason=reason)

    assert codes(caught.value) == expected
    assert not Note.history.exists()


@pytest.mark.parametrize("write", ["create", "update", "delete"])
def test_each_write_needs_its_permission(write: str) -> None:
    note = tracked_create(model=Note, data={"title": "Plan"}, actor=None)
    granted = {"create": "add_note", "update": "change_note", "delete": "delete_note"}
    others = [p for w, p in granted.items() if w != write]
    user = UserFactory(username="partial", permissions=others)

    with pytest.raises(OperationDenied, match=f"tracked.{granted[write]}"):
        WRITES[write](note.pk, user)
    assert Note.history.count() == 1
