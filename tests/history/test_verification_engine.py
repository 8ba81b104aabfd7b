"""The chain checks on plain rows: each kind of tampering is found at the
version where it happened, and an untouched chain verifies."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import pytest

from history.chains import GENESIS, content_hash
from history.verification import (
    BreakKind,
    ChainRow,
    Expected,
    missing_chain,
    verify_chain,
)

START = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def moment(index: int) -> datetime.datetime:
    return START + datetime.timedelta(minutes=index)


def content(index: int) -> dict[str, object]:
    return {"model": "tests.thing", "id": 1, "n": index, "date": str(moment(index))}


def chain(length: int, base: str = GENESIS) -> list[ChainRow]:
    rows, prev = [], base
    for index in range(length):
        digest = content_hash(prev, content(index))
        rows.append(ChainRow(index + 1, moment(index), digest, prev, digest))
        prev = digest
    return rows


def tampered(row: ChainRow, **values: Any) -> ChainRow:
    """A row whose content was edited: it no longer hashes to its hash."""
    return dataclasses.replace(row, computed="f" * 64, **values)


def check(rows: list[ChainRow], expected: Expected | None = None):
    return verify_chain("tests.thing", "1", rows, expected=expected)


def head_of(rows: list[ChainRow], base: str = GENESIS) -> Expected:
    return Expected(base=base, length=len(rows), head=rows[-1].hash, at=moment(99))


def test_an_untouched_chain_verifies_alone_and_against_its_checkpoint():
    rows = chain(5)
    assert check(rows) is None
    assert check(rows, head_of(rows)) is None
    # Versions written after the checkpoint are fine.
    assert check(chain(7), head_of(chain(5))) is None


@pytest.mark.parametrize("index", [0, 2, 4])
def test_an_edited_version_is_changed_at_that_version(index):
    rows = chain(5)
    rows[index] = tampered(rows[index])
    found = check(rows)
    assert (found.kind, found.history_id) == (BreakKind.CHANGED, index + 1)


@pytest.mark.parametrize("index", [0, 2, 3])
def test_a_deleted_version_is_missing_before_the_next_one(index):
    rows = chain(5)
    del rows[index]
    found = check(rows)
    assert (found.kind, found.history_id) == (BreakKind.MISSING, index + 2)


def test_an_inserted_version_with_a_made_up_hash_is_inserted():
    rows = chain(4)
    fake = ChainRow(99, moment(1), "a" * 64, "b" * 64, "c" * 64)
    found = check([*rows[:2], fake, *rows[2:]])
    assert (found.kind, found.history_id) == (BreakKind.INSERTED, 99)


def test_an_inserted_version_sealed_onto_the_chain_is_inserted():
    rows = chain(4)
    digest = content_hash(rows[1].hash, {"forged": True})
    fake = ChainRow(99, moment(1), digest, rows[1].hash, digest)
    found = check([*rows[:2], fake, *rows[2:]])
    assert (found.kind, found.history_id) == (BreakKind.INSERTED, 99)


def test_an_inserted_first_version_is_inserted():
    rows = chain(3)
    digest = content_hash(GENESIS, {"forged": True})
    fake = ChainRow(99, moment(-1), digest, GENESIS, digest)
    found = check([fake, *rows])
    assert (found.kind, found.history_id) == (BreakKind.INSERTED, 99)


def test_a_made_up_newest_version_is_inserted():
    rows = chain(3)
    fake = ChainRow(99, moment(5), "a" * 64, "b" * 64, "c" * 64)
    found = check([*rows, fake])
    assert (found.kind, found.history_id) == (BreakKind.INSERTED, 99)


@pytest.mark.parametrize(("first", "second"), [(1, 2), (0, 4), (2, 3)])
def test_swapped_dates_are_reordered_at_the_version_now_served_first(first, second):
    rows = chain(5)
    rows[first], rows[second] = (
        tampered(rows[second], date=rows[first].date),
        tampered(rows[first], date=rows[second].date),
    )
    found = check(rows)
    assert (found.kind, found.history_id) == (BreakKind.REORDERED, second + 1)


def test_versions_cut_off_the_end_after_a_checkpoint_are_truncated():
    rows = chain(5)
    found = check(rows[:3], head_of(rows))
    assert (found.kind, found.history_id) == (BreakKind.TRUNCATED, 3)
    assert "2 of the 5" in found.detail


def test_cut_then_written_again_is_truncated():
    rows = chain(5)
    kept = rows[:3]
    digest = content_hash(kept[-1].hash, {"later": True})
    later = ChainRow(6, moment(200), digest, kept[-1].hash, digest)
    found = check([*kept, later], head_of(rows))
    assert (found.kind, found.history_id) == (BreakKind.TRUNCATED, 3)


def test_a_chain_rewritten_and_rehashed_is_caught_by_the_checkpoint():
    signed = head_of(chain(4))
    rewritten, prev = [], GENESIS
    for index in range(4):
        digest = content_hash(prev, {**content(index), "forged": index == 1})
        rewritten.append(ChainRow(index + 1, moment(index), digest, prev, digest))
        prev = digest
    assert check(rewritten) is None
    found = check(rewritten, signed)
    assert (found.kind, found.history_id) == (BreakKind.CHANGED, 4)


def test_a_pruned_chain_verifies_from_its_base_and_not_from_genesis():
    rows = chain(6)
    kept = rows[2:]
    assert check(kept, head_of(kept, base=rows[1].hash)) is None
    found = check(kept)
    assert (found.kind, found.history_id) == (BreakKind.MISSING, 3)


def test_a_chain_gone_altogether_is_truncated():
    found = missing_chain("tests.thing", "1", head_of(chain(3)))
    assert (found.kind, found.history_id) == (BreakKind.TRUNCATED, None)
