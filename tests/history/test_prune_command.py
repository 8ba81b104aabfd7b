"""`manage.py prune_history`: old versions go, each live object's latest stays,
the prune is recorded; simple-history's cleaning commands refuse."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from history.models import Changeset, Pruning
from history.tracking import m2m_history_model
from history.writes import tracked_create
from products.models import Product
from products.services import (
    product_create,
    product_delete,
    product_revert,
    product_update,
)
from tests.factories import TagFactory
from tests.helpers import bypass_guards, command_help
from tests.history.test_export_command import Terminal
from tests.tracked.models import Note

pytestmark = pytest.mark.django_db

HistoricalProduct = Product.history.model
HistoricalNote = Note.history.model


def run(name: str, *args: str, **options: Any) -> str:
    out = io.StringIO()
    call_command(name, *args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def age(model: Any, days: int, **filters: Any) -> None:
    """Make versions `days` old."""
    moment = timezone.now() - datetime.timedelta(days=days)
    with bypass_guards():
        model.objects.filter(**filters).update(history_date=moment)


def trail() -> dict[str, Any]:
    """Everything the audit trail holds, to compare before and after."""
    return {
        "products": list(HistoricalProduct.objects.order_by("pk").values()),
        "notes": list(HistoricalNote.objects.order_by("pk").values()),
        "changesets": Changeset.objects.count(),
        "prunings": Pruning.objects.count(),
    }


def catalog() -> dict[str, Any]:
    """A live product with three versions, a deleted one with two, a note."""
    tag = TagFactory(name="brass")
    lamp = product_create(
        data={"name": "Lamp", "price": Decimal("10.00"), "tags": [tag.name]},
        actor=None,
        reason="New",
    )
    product_update(pk=lamp.pk, data={"price": Decimal("9.00")}, actor=None)
    product_update(pk=lamp.pk, data={"quantity": 4}, actor=None, reason="Count")
    mug = product_create(data={"name": "Mug", "price": Decimal("2.00")}, actor=None)
    product_delete(pk=mug.pk, actor=None, reason="Gone")
    note = tracked_create(model=Note, data={"title": "A note"}, actor=None)
    return {"lamp": lamp, "mug": mug, "note": note}


def test_dry_run_reports_counts_per_model_and_writes_nothing() -> None:
    objects = catalog()
    age(HistoricalProduct, 40)
    age(HistoricalNote, 40)
    before = trail()

    out = run("prune_history", older_than_days=30, dry_run=True)

    assert trail() == before
    lines = out.splitlines()
    # The lamp keeps its latest version; the deleted mug keeps none; the note
    # has only its latest.
    assert lines[0].startswith("products.category: would prune 0 versions older than")
    assert lines[1].startswith("products.product: would prune 4 versions older than")
    assert lines[2].startswith("tracked.note: would prune 0 versions older than")
    assert lines[3] == "Dry run: 4 versions would go; nothing was written."
    assert objects["note"].pk


def test_a_prune_keeps_each_live_objects_latest_version_as_stored() -> None:
    objects = catalog()
    age(HistoricalProduct, 40)
    latest = HistoricalProduct.objects.filter(id=objects["lamp"].pk).latest(
        "history_id"
    )

    out = run("prune_history", "--older-than-days", "30")

    kept = list(HistoricalProduct.objects.all())
    assert [v.history_id for v in kept] == [latest.history_id]
    assert kept[0].history_changes == {"quantity": ["0", "4"]}  # as stored
    assert kept[0].history_change_reason == "Count"
    assert list(kept[0].tags.values_list("tag__name", flat=True)) == ["brass"]
    assert "products.product: pruned 4 versions older than" in out
    assert out.splitlines()[-1] == "Pruned 4 versions in all."


def test_versions_newer_than_the_cutoff_stay() -> None:
    objects = catalog()
    first = HistoricalProduct.objects.filter(id=objects["lamp"].pk).earliest(
        "history_id"
    )
    age(HistoricalProduct, 40, history_id=first.history_id)
    age(HistoricalProduct, 10, history_id__gt=first.history_id)

    run("prune_history", older_than_days=30)

    assert HistoricalProduct.objects.count() == 4
    assert not HistoricalProduct.objects.filter(history_id=first.history_id).exists()


def test_the_many_to_many_rows_of_pruned_versions_go_with_them() -> None:
    catalog()
    age(HistoricalProduct, 40)
    rows = m2m_history_model(Product, Product._meta.get_field("tags"))
    assert rows.objects.count() == 3  # one per version of the lamp

    run("prune_history", older_than_days=30)

    assert rows.objects.count() == 1


def test_a_prune_is_recorded_in_the_audit_trail() -> None:
    catalog()
    age(HistoricalProduct, 40)
    age(HistoricalNote, 40)
    before = timezone.now()

    run("prune_history", older_than_days=30)

    pruning = Pruning.objects.get()
    assert pruning.model == "products.product"
    assert pruning.count == 4
    assert pruning.user is None
    assert before - datetime.timedelta(days=30, seconds=5) < pruning.cutoff
    assert pruning.cutoff <= timezone.now() - datetime.timedelta(days=30)
    changeset = pruning.changeset
    assert changeset is not None
    assert changeset.history_change_reason == (
        f"pruned 4 versions of products.product older than {pruning.cutoff.isoformat()}"
    )
    assert changeset.history_date == pruning.pruned_at


def test_nothing_to_prune_records_nothing() -> None:
    catalog()
    before = trail()

    out = run("prune_history", older_than_days=1)

    assert trail() == before
    assert out.splitlines()[-1] == "Pruned 0 versions in all."


def test_model_limits_the_prune_to_one_model_in_any_case() -> None:
    catalog()
    tracked_create(model=Note, data={"title": "Second"}, actor=None)
    Note.objects.all().delete()  # deleted outside the services: versions stay
    age(HistoricalProduct, 40)
    age(HistoricalNote, 40)
    notes = HistoricalNote.objects.count()

    out = run("prune_history", older_than_days=30, model="Tracked.Note")

    assert HistoricalProduct.objects.count() == 5
    assert HistoricalNote.objects.count() < notes
    assert "products.product" not in out


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"older_than_days": 0}, "--older-than-days must be at least 1."),
        ({"older_than_days": -3}, "--older-than-days must be at least 1."),
        ({"older_than_days": 3, "model": "products"}, "No tracked model named"),
        ({"older_than_days": 3, "model": "auth.user"}, "No tracked model named"),
        ({}, "the following arguments are required: --older-than-days"),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(
    options: dict[str, Any], message: str
) -> None:
    catalog()
    age(HistoricalProduct, 40)
    before = trail()

    with pytest.raises(CommandError, match=message):
        run("prune_history", **options)

    assert trail() == before


def test_help_explains_the_command() -> None:
    text = command_help("prune_history")

    assert "--older-than-days N" in text
    assert "--model NAME" in text
    assert "--dry-run" in text
    assert "except each live object's latest version" in text


@pytest.mark.parametrize(
    "args",
    [
        ("clean_old_history", "--auto", "--days", "0"),
        ("clean_old_history", "products.Product", "--days", "0"),
        ("clean_duplicate_history", "--auto"),
        ("clean_duplicate_history", "products.product", "tracked.Note"),
    ],
)
def test_simple_historys_cleaning_commands_refuse_on_tracked_models(
    args: tuple[str, ...],
) -> None:
    objects = catalog()
    # What clean_duplicate_history deleted: a DELETED version equal to the
    # one before it; what clean_old_history --days 0 deleted: everything.
    product_update(pk=objects["lamp"].pk, data={"quantity": 4}, actor=None)
    before = trail()

    with pytest.raises(CommandError) as error:
        run(*args)

    assert trail() == before
    assert "Refused" in str(error.value)
    assert "nothing was written" in str(error.value)
    assert "prune_history --older-than-days N" in str(error.value)


@pytest.mark.parametrize("name", ["clean_old_history", "clean_duplicate_history"])
def test_the_refusing_commands_are_the_ones_manage_py_runs(name: str) -> None:
    assert "prune_history" in command_help(name)


AUDIT_LOG = """
{ auditLog(first: 10) { edges { node {
  __typename historyType historyChangeReason
  changes { field oldValue newValue }
  previous { historyId } revertedFrom { historyId }
} } } }
"""


def test_what_remains_still_reads_through_the_api(gql: Any, staff: Any) -> None:
    lamp = product_create(
        data={"name": "Lamp", "price": Decimal("10.00")}, actor=None, reason="New"
    )
    product_update(pk=lamp.pk, data={"price": Decimal("9.00")}, actor=None)
    first = HistoricalProduct.objects.earliest("history_id")
    product_revert(pk=lamp.pk, record_id=first.history_id, actor=None, reason="Back")
    age(HistoricalProduct, 40, history_id__lt=first.history_id + 2)

    run("prune_history", older_than_days=30)

    assert gql(AUDIT_LOG, user=staff) == {
        "data": {
            "auditLog": {
                "edges": [
                    {
                        "node": {
                            "__typename": "HistoricalProduct",
                            "historyType": "UPDATED",
                            "historyChangeReason": "Back",
                            "changes": [
                                {
                                    "field": "price",
                                    "oldValue": "9.00",
                                    "newValue": "10.00",
                                }
                            ],
                            "previous": None,
                            "revertedFrom": None,
                        }
                    }
                ]
            }
        }
    }


def test_a_terminal_sees_the_prune_progress() -> None:
    catalog()
    age(HistoricalProduct, 40)
    terminal = Terminal()

    call_command(
        "prune_history", older_than_days=30, stdout=io.StringIO(), stderr=terminal
    )

    assert "products.product: 100%" in terminal.getvalue()
    assert "4/4 [" in terminal.getvalue()
