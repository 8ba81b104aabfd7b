"""Verifying the chains stored in the database (`history.verification`): in
object-id order with the chains the checkpoint signed and lost in their place,
one query streamed in flat memory, a page at a time."""

from __future__ import annotations

import datetime
import tracemalloc
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from history.chains import GENESIS, hashed_fields, version_hash
from history.verification import (
    BreakKind,
    Reference,
    Tally,
    chains_by_pk,
    latest_reference,
    stored_chains,
    verification_page,
)
from products.models import Product
from tests.helpers import bypass_guards
from tests.history.tampering import (
    FORGED_PRICE,
    Trail,
    delete_versions,
    signed_trail,
    tamper_with,
)
from tests.tracked.models import Note

pytestmark = pytest.mark.django_db

HistoricalNote = Note.history.model


@pytest.fixture
def trail() -> Trail:
    return signed_trail()


def test_the_latest_checkpoint_is_the_reference(trail: Trail) -> None:
    reference = latest_reference()

    assert reference.checkpoint == trail.checkpoint
    assert reference.failure is None
    lamp = reference.expected["products.product", str(trail.lamp.pk)]
    assert (lamp.base, lamp.length, lamp.head) == (
        GENESIS,
        5,
        trail.lamp_versions[-1].history_hash,
    )
    assert lamp.at == trail.checkpoint.created_at


def test_chains_come_in_object_order_with_lost_ones_in_their_place(
    trail: Trail,
) -> None:
    delete_versions(*trail.mug_versions)
    expected = latest_reference().expected

    results = list(stored_chains(Product, expected=expected))

    assert [(r.object_id, r.versions) for r in results] == [
        (str(trail.lamp.pk), 5),
        (str(trail.mug.pk), 0),
    ]
    assert results[0].broken is None
    assert results[1].broken is not None
    assert results[1].broken.kind is BreakKind.TRUNCATED


def test_a_lost_chain_between_two_stored_ones_is_yielded_between_them(
    trail: Trail,
) -> None:
    expected = dict(latest_reference().expected)
    lost = ("products.product", str(trail.lamp.pk + 1000))
    expected[lost] = expected["products.product", str(trail.lamp.pk)]
    first = ("products.product", "0")
    expected[first] = expected[lost]

    ids = [r.object_id for r in stored_chains(Product, expected=expected)]

    assert ids == ["0", str(trail.lamp.pk), str(trail.mug.pk), lost[1]]


def test_chains_of_some_objects_are_one_query(trail: Trail) -> None:
    reference = latest_reference()

    with CaptureQueriesContext(connection) as captured:
        found = chains_by_pk(
            model=Product, pks=[trail.lamp.pk, trail.mug.pk, 999], reference=reference
        )

    assert len(captured) == 1
    assert "history_search" not in captured[0]["sql"]
    assert sorted(found) == sorted([trail.lamp.pk, trail.mug.pk])
    assert found[trail.lamp.pk].versions == 5


def test_a_page_ends_after_enough_versions_or_breaks(trail: Trail) -> None:
    tamper_with("edit a value", trail.lamp_versions, value=FORGED_PRICE)
    tamper_with("edit a value", trail.mug_versions, value=FORGED_PRICE)
    expected = latest_reference().expected

    whole = verification_page(
        Product, expected=expected, after=None, versions=100, max_breaks=100
    )
    by_breaks = verification_page(
        Product, expected=expected, after=None, versions=100, max_breaks=1
    )
    rest = verification_page(
        Product,
        expected=expected,
        after=by_breaks.end_cursor,
        versions=100,
        max_breaks=1,
    )

    assert (whole.tally.chains, whole.tally.versions, whole.has_next) == (2, 9, False)
    assert len(whole.tally.breaks) == 2
    assert (by_breaks.end_cursor, by_breaks.has_next) == (str(trail.lamp.pk), True)
    assert (rest.end_cursor, rest.has_next, rest.tally.versions) == (
        str(trail.mug.pk),
        False,
        4,
    )


def test_a_page_after_the_last_chain_is_empty(trail: Trail) -> None:
    page = verification_page(
        Product,
        expected=Reference().expected,
        after=str(trail.mug.pk),
        versions=10,
        max_breaks=10,
    )

    assert (page.tally.chains, page.end_cursor, page.has_next) == (0, None, False)


def add_sealed_notes(count: int, *, per_note: int = 4) -> None:
    """`count` versions of notes (`per_note` each), sealed into their chains
    here and written straight to the table (fast)."""
    fields = hashed_fields(HistoricalNote)
    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    heads: dict[int, str] = {}
    batch: list[Any] = []
    for n in range(count):
        note_id = n // per_note + 1
        version = HistoricalNote(
            id=note_id,
            history_relation_id=note_id,
            title=f"Note {n}",
            body="A body of some length to make rows weigh something.",
            priority=n,
            history_date=start + datetime.timedelta(seconds=n),
            history_type="~",
            history_change_reason="Bulk",
            history_changes={"priority": [str(n - 1), str(n)]},
        )
        version.history_prev_hash = heads.get(note_id, GENESIS)
        version.history_hash = version_hash(
            "tracked.note", fields, version, version.history_prev_hash
        )
        heads[note_id] = version.history_hash
        batch.append(version)
        if len(batch) == 2000:
            HistoricalNote.objects.bulk_create(batch)
            batch = []
    HistoricalNote.objects.bulk_create(batch)


def verify_peak(count: int) -> int:
    """The peak memory (bytes) of verifying `count` versions of notes."""
    with bypass_guards():
        HistoricalNote.objects.all().delete()
    add_sealed_notes(count)
    tally = Tally()
    tracemalloc.start()
    try:
        for result in stored_chains(Note, expected={}):
            tally.add(result)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (tally.versions, tally.intact) == (count, True)
    return peak


def test_memory_stays_flat_however_many_versions() -> None:
    small = verify_peak(5_000)
    large = verify_peak(20_000)

    # Holding every version would take about four times the memory.
    assert large < small * 1.5, (small, large)
