"""`manage.py export_history`: every version as JSON lines or CSV, oldest first,
filtered by model, dates and user, in constant memory."""

from __future__ import annotations

import csv
import datetime
import io
import json
import tracemalloc
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from history.chains import canonical_content, hashed_fields
from history.writes import tracked_create
from products.models import Product
from products.services import product_create, product_delete, product_update
from tests.factories import UserFactory
from tests.helpers import bypass_guards, command_help
from tests.tracked.models import Note

pytestmark = pytest.mark.django_db

HistoricalProduct = Product.history.model
HistoricalNote = Note.history.model
UTC = datetime.UTC


def export(*args: str, **options: Any) -> str:
    out = io.StringIO()
    call_command("export_history", *args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def jsonl(*args: str, **options: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in export(*args, **options).splitlines()]


def lamp_life() -> Any:
    """A product created, repriced and deleted by a user; its versions."""
    user = UserFactory(username="ann", is_superuser=True)
    lamp = product_create(
        data={"name": "Lamp", "price": Decimal("10.00"), "quantity": 1},
        actor=user,
        reason="New",
    )
    product_update(
        pk=lamp.pk, data={"price": Decimal("8.50")}, actor=user, reason="Sale"
    )
    product_delete(pk=lamp.pk, actor=user, reason="Gone")
    return HistoricalProduct.objects.order_by("history_id")


def content_of(version: Any) -> dict[str, Any]:
    """What the version's hash covers."""
    return canonical_content(
        "products.product", hashed_fields(HistoricalProduct), version
    )


def test_each_version_is_one_json_line_oldest_first() -> None:
    versions = list(lamp_life())

    rows = jsonl()

    assert rows == [
        {
            "model": "products.product",
            "object_id": v.id,
            "history_id": v.history_id,
            "type": kind,
            "date": v.history_date.isoformat(),
            "user": "ann",
            "reason": reason,
            "changeset": str(v.history_changeset_id),
            "changes": changes,
            "hash": v.history_hash,
            "prev_hash": v.history_prev_hash,
            "content": content_of(v),
        }
        for v, kind, reason, changes in zip(
            versions,
            ["CREATED", "UPDATED", "DELETED"],
            ["New", "Sale", "Gone"],
            [{}, {"price": ["10.00", "8.50"]}, {}],
            strict=True,
        )
    ]
    assert all(v.history_changeset_id is not None for v in versions)
    assert rows[1]["content"]["price"] == "8.50"
    assert rows[1]["prev_hash"] == rows[0]["hash"]


def test_csv_has_a_header_and_the_changes_as_json() -> None:
    versions = list(lamp_life())

    rows = list(csv.DictReader(io.StringIO(export(format="csv"))))

    assert [row["type"] for row in rows] == ["CREATED", "UPDATED", "DELETED"]
    assert rows[1] == {
        "model": "products.product",
        "object_id": str(versions[1].id),
        "history_id": str(versions[1].history_id),
        "type": "UPDATED",
        "date": versions[1].history_date.isoformat(),
        "user": "ann",
        "reason": "Sale",
        "changeset": str(versions[1].history_changeset_id),
        "changes": '{"price": ["10.00", "8.50"]}',
        "hash": versions[1].history_hash,
        "prev_hash": versions[0].history_hash,
        "content": json.dumps(content_of(versions[1]), ensure_ascii=False),
    }


def test_versions_of_several_models_interleave_by_date() -> None:
    note = tracked_create(model=Note, data={"title": "First"}, actor=None)
    lamp_life()
    tracked_create(model=Note, data={"title": "Last"}, actor=None)

    rows = jsonl()

    assert [(row["model"], row["type"]) for row in rows] == [
        ("tracked.note", "CREATED"),
        ("products.product", "CREATED"),
        ("products.product", "UPDATED"),
        ("products.product", "DELETED"),
        ("tracked.note", "CREATED"),
    ]
    assert rows[0]["object_id"] == note.pk
    assert rows[0]["user"] is None


def test_model_is_named_app_label_dot_model_in_any_case() -> None:
    tracked_create(model=Note, data={"title": "A note"}, actor=None)
    lamp_life()

    rows = jsonl(model="Products.PRODUCT")

    assert {row["model"] for row in rows} == {"products.product"}
    assert len(rows) == 3


@pytest.mark.parametrize("name", ["product", "products.tag", "nope.nope", ""])
def test_an_unknown_model_is_refused_with_the_tracked_ones_listed(name: str) -> None:
    with pytest.raises(CommandError) as error:
        export(model=name)

    assert "products.category, products.product, tracked.note" in str(error.value)


def test_since_and_until_bound_the_dates() -> None:
    versions = list(lamp_life())
    # Dates without a time are days of the current time zone.
    local = timezone.get_current_timezone()
    days = [datetime.datetime(2026, 1, day, 12, tzinfo=local) for day in (1, 2, 3)]
    with bypass_guards():
        for version, day in zip(versions, days, strict=True):
            HistoricalProduct.objects.filter(pk=version.pk).update(history_date=day)

    def types(**options: str) -> list[str]:
        return [row["type"] for row in jsonl(**options)]

    assert types(since="2026-01-02") == ["UPDATED", "DELETED"]
    assert types(until="2026-01-02") == ["CREATED", "UPDATED"]  # the whole day
    assert types(since="2026-01-02", until="2026-01-02") == ["UPDATED"]
    noon = days[1].isoformat()
    assert types(until=noon) == ["CREATED"]  # exclusive
    assert types(since=noon) == ["UPDATED", "DELETED"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"since": "yesterday"}, "--since: 'yesterday' is not a date"),
        ({"until": "2026-02-30"}, "--until: '2026-02-30' is not a date"),
        ({"since": "2026-01-02", "until": "2026-01-01"}, "--since must be before"),
    ],
)
def test_bad_dates_are_refused_plainly(options: dict[str, str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        export(**options)


def test_user_filters_by_who_made_the_change_even_once_deleted() -> None:
    lamp_life()
    bob: Any = UserFactory(username="bob", is_superuser=True)
    product_create(
        data={"name": "Mug", "price": Decimal("2.00")}, actor=bob, reason="New"
    )

    assert [row["reason"] for row in jsonl(user="bob")] == ["New"]
    bob.delete()
    assert [row["user"] for row in jsonl(user="bob")] == ["bob"]
    assert len(jsonl(user="ann")) == 3


def test_an_unknown_user_is_refused() -> None:
    lamp_life()

    with pytest.raises(CommandError, match="No user named 'zed'"):
        export(user="zed")


def test_output_writes_a_file(tmp_path: Path) -> None:
    lamp_life()
    target = tmp_path / "trail.jsonl"

    printed = export(output=str(target))

    assert printed == ""
    lines = target.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["type"] for line in lines] == [
        "CREATED",
        "UPDATED",
        "DELETED",
    ]


def test_an_unwritable_output_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="Cannot write"):
        export(output=str(tmp_path / "missing" / "trail.jsonl"))


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(CommandError, match="invalid choice: 'xml'"):
        export("--format", "xml")


def test_help_explains_the_command() -> None:
    text = command_help("export_history")

    for part in (
        "--format {jsonl,csv}",
        "--model NAME",
        "--since DATE",
        "--until DATE",
    ):
        assert part in text
    assert "--user USERNAME" in text
    assert "--output FILE" in text
    assert "memory stays flat" in text
    assert "hash, prev_hash and content" in text
    assert "reported as incomplete" in text


class Sink(io.TextIOBase):
    """A text stream that counts lines and keeps nothing."""

    lines = 0

    def write(self, text: str) -> int:
        self.lines += text.count("\n")
        return len(text)


def add_note_versions(count: int) -> None:
    """`count` versions of notes, written straight to the table (fast)."""
    start = datetime.datetime(2025, 1, 1, tzinfo=UTC)
    batch = 2000
    for first in range(0, count, batch):
        HistoricalNote.objects.bulk_create(
            HistoricalNote(
                id=n // 4 + 1,
                history_relation_id=n // 4 + 1,
                title=f"Note {n}",
                body="A body of some length to make rows weigh something.",
                priority=n,
                history_date=start + datetime.timedelta(seconds=n),
                history_type="~",
                history_change_reason="Bulk",
                history_changes={"priority": [str(n - 1), str(n)]},
            )
            for n in range(first, min(first + batch, count))
        )


def export_peak(count: int) -> int:
    """The peak memory (bytes) of exporting `count` versions."""
    with bypass_guards():
        HistoricalNote.objects.all().delete()
    add_note_versions(count)
    sink = Sink()
    tracemalloc.start()
    try:
        call_command(
            "export_history", model="tracked.note", stdout=sink, stderr=io.StringIO()
        )
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sink.lines == count
    return peak


def test_memory_stays_flat_however_many_versions() -> None:
    small = export_peak(5_000)
    large = export_peak(20_000)

    # Loading every version would take about four times the memory.
    assert large < small * 1.5, (small, large)


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_progress_bar_and_a_pipe_none() -> None:
    lamp_life()
    terminal = Terminal()
    piped = io.StringIO()

    call_command("export_history", stdout=io.StringIO(), stderr=terminal)
    call_command("export_history", stdout=io.StringIO(), stderr=piped)

    assert "100%" in terminal.getvalue()
    assert "3/3 [" in terminal.getvalue()
    assert "versions/s" in terminal.getvalue()
    assert piped.getvalue() == ""
