"""A prune leaves a signed checkpoint of what it pruned, in its transaction,
so what remains verifies; without a signing key it deletes nothing."""

from __future__ import annotations

import datetime
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import timezone

from history.chains import GENESIS
from history.checkpoints import (
    ChainHead,
    SigningKeyMissing,
    chain_heads,
    checkpoint_heads,
    statement_digest,
    utc_text,
    write_checkpoint,
)
from history.models import Checkpoint, Pruning
from history.retention import history_prune
from history.writes import tracked_create, tracked_update
from products.models import Product
from products.services import product_create, product_delete, product_update
from tests.tracked.models import Note

pytestmark = pytest.mark.django_db

HistoricalProduct = Product.history.model
HistoricalNote = Note.history.model


@contextmanager
def written_days_ago(days: int) -> Iterator[None]:
    """Versions written inside are dated `days` ago (simple-history dates a
    version with `timezone.now()`), so no stored version is ever changed."""
    moment = timezone.now() - datetime.timedelta(days=days)
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def catalog() -> dict[str, Any]:
    """A lamp with three old versions and two new ones, a mug created and
    deleted long ago, and a note with two old versions."""
    with written_days_ago(40):
        lamp = product_create(
            data={"name": "Lamp", "price": Decimal("10.00")}, actor=None
        )
        product_update(pk=lamp.pk, data={"price": Decimal("9.00")}, actor=None)
        product_update(pk=lamp.pk, data={"quantity": 4}, actor=None)
        mug = product_create(data={"name": "Mug", "price": Decimal("2.00")}, actor=None)
        product_delete(pk=mug.pk, actor=None, reason="Gone")
        note = tracked_create(model=Note, data={"title": "A note"}, actor=None)
        tracked_update(model=Note, pk=note.pk, data={"priority": 2}, actor=None)
    product_update(pk=lamp.pk, data={"quantity": 5}, actor=None, reason="Recount")
    product_update(pk=lamp.pk, data={"quantity": 6}, actor=None)
    return {"lamp": lamp, "mug": mug, "note": note}


def cutoff() -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=30)


def trail() -> dict[str, Any]:
    return {
        "products": list(HistoricalProduct.objects.order_by("pk").values()),
        "notes": list(HistoricalNote.objects.order_by("pk").values()),
        "prunings": Pruning.objects.count(),
        "checkpoints": Checkpoint.objects.count(),
    }


def test_a_prune_leaves_a_signed_checkpoint_of_what_remains() -> None:
    objects = catalog()
    moment = cutoff()
    lamp_versions = list(
        HistoricalProduct.objects.filter(id=objects["lamp"].pk).order_by(
            "history_date", "history_id"
        )
    )

    result = history_prune(model=Product, cutoff=moment)

    checkpoint = result.checkpoint
    assert checkpoint is not None
    assert result.count == 5  # the lamp's three old ones, the mug's two
    assert checkpoint == Checkpoint.objects.get()
    assert checkpoint.kind == "prune"
    assert checkpoint.pruned == {
        "model": "products.product",
        "cutoff": utc_text(moment),
        "count": 5,
    }
    assert json.loads(checkpoint.statement)["pruned"] == checkpoint.pruned
    # It signs the heads as they are after the prune, every model's: what
    # remains verifies against it.
    heads = chain_heads()
    assert checkpoint_heads(checkpoint) == heads
    remaining = lamp_versions[3:]  # the new ones
    assert [v.history_id for v in remaining] == list(
        HistoricalProduct.objects.order_by("history_date", "history_id").values_list(
            "history_id", flat=True
        )
    )
    assert heads[("products.product", str(objects["lamp"].pk))] == ChainHead(
        base=remaining[0].history_prev_hash, length=2, head=remaining[-1].history_hash
    )
    assert remaining[0].history_prev_hash == lamp_versions[2].history_hash != GENESIS
    # The deleted mug's chain is gone; the note, not pruned, is whole.
    assert ("products.product", str(objects["mug"].pk)) not in heads
    assert heads[("tracked.note", str(objects["note"].pk))].base == GENESIS
    assert (checkpoint.versions, checkpoint.chains) == (4, 2)


def test_the_prune_checkpoint_follows_the_last_checkpoint() -> None:
    catalog()
    before = write_checkpoint()

    result = history_prune(model=Product, cutoff=cutoff())

    assert result.checkpoint is not None
    assert result.checkpoint.previous == statement_digest(before.statement)


def test_a_prune_needs_the_signing_key_and_deletes_nothing_without_it() -> None:
    catalog()
    before = trail()

    with (
        override_settings(HISTORY_SIGNING_KEY=""),
        pytest.raises(SigningKeyMissing, match="HISTORY_SIGNING_KEY is not set"),
    ):
        history_prune(model=Product, cutoff=cutoff())

    assert trail() == before


def test_a_prune_whose_checkpoint_fails_deletes_nothing() -> None:
    catalog()
    before = trail()

    with (
        mock.patch(
            "history.retention.write_checkpoint", side_effect=RuntimeError("disk")
        ),
        pytest.raises(RuntimeError, match="disk"),
    ):
        history_prune(model=Product, cutoff=cutoff())

    assert trail() == before


@override_settings(HISTORY_SIGNING_KEY="", HISTORY_VERIFY_KEY="")
def test_a_dry_run_needs_no_key() -> None:
    catalog()
    before = trail()

    assert history_prune(model=Product, cutoff=cutoff(), dry_run=True).count == 5

    assert trail() == before


def test_nothing_to_prune_leaves_no_checkpoint() -> None:
    catalog()

    result = history_prune(
        model=Product, cutoff=timezone.now() - datetime.timedelta(days=90)
    )

    assert (result.count, result.checkpoint) == (0, None)
    assert not Checkpoint.objects.exists()


def run_prune(**options: Any) -> str:
    out = io.StringIO()
    call_command("prune_history", stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def test_the_command_leaves_one_checkpoint_per_model_pruned() -> None:
    catalog()

    out = run_prune(older_than_days=30)

    product_checkpoint, note_checkpoint = Checkpoint.objects.order_by("id")
    moment = json.loads(product_checkpoint.statement)["pruned"]["cutoff"]
    assert product_checkpoint.pruned == {
        "model": "products.product",
        "cutoff": moment,
        "count": 5,
    }
    assert note_checkpoint.pruned == {
        "model": "tracked.note",
        "cutoff": moment,
        "count": 1,
    }
    assert note_checkpoint.previous == statement_digest(product_checkpoint.statement)
    assert checkpoint_heads(note_checkpoint) == chain_heads()
    lines = out.splitlines()
    assert lines[1].startswith("products.product: pruned 5 versions older than")
    assert lines[1].endswith(f". Signed checkpoint {product_checkpoint.pk} records it.")
    assert lines[2].endswith(f". Signed checkpoint {note_checkpoint.pk} records it.")
    assert lines[-1] == "Pruned 6 versions in all."


@override_settings(HISTORY_SIGNING_KEY="")
def test_the_command_refuses_without_the_signing_key() -> None:
    catalog()
    before = trail()

    with pytest.raises(CommandError) as error:
        run_prune(older_than_days=30)

    assert str(error.value).startswith("Refused, nothing was pruned: ")
    assert "HISTORY_SIGNING_KEY is not set" in str(error.value)
    assert "manage.py generate_signing_key" in str(error.value)
    assert trail() == before


@override_settings(HISTORY_SIGNING_KEY="")
def test_the_commands_dry_run_needs_no_key() -> None:
    catalog()

    out = run_prune(older_than_days=30, dry_run=True)

    assert out.splitlines()[-1] == "Dry run: 6 versions would go; nothing was written."
