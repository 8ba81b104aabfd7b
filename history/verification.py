"""Verification of hash chains: is each object's trail the one that was written?

`verify_chain` walks one object's versions in the order the API serves them
(oldest first by date, then history id) and finds the first place where the
chain breaks, and how:

- CHANGED: a version's content no longer hashes to the hash it was sealed
  with (a value, the reason, the date, who... was edited), or the chain no
  longer leads to the head a signed checkpoint holds (rewritten and rehashed);
- MISSING: a version links to a previous version that is not stored (it was
  deleted, or replaced by one with another hash);
- INSERTED: a version the chain skips over: the next version links past it;
- REORDERED: a version links to one served after it (dates were swapped);
- TRUNCATED: the chain holds fewer versions than the last checkpoint signed
  for it (the newest were cut off), or is gone altogether.

Only the first break of a chain is reported: what follows it cannot be told
apart from the consequences of the first. Versions written after the last
checkpoint and then deleted from the end of a chain leave no trace in the
chain itself; a later checkpoint anchored outside the database is what
catches them.

The functions here take plain rows, so the same checks run against the
database (`verify_versions`) and against an export with no database at all
(`verify_rows`).
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from history.chains import GENESIS, canonical_content, content_hash, hashed_fields


class BreakKind(enum.StrEnum):
    """How a chain breaks."""

    CHANGED = "CHANGED"
    MISSING = "MISSING"
    INSERTED = "INSERTED"
    REORDERED = "REORDERED"
    TRUNCATED = "TRUNCATED"


@dataclass(frozen=True)
class ChainRow:
    """One stored version, as the checks need it.

    Attributes:
        history_id: The version's id (None when unknown, e.g. in a forged row).
        date: When it was written.
        hash: The hash stored with it.
        prev_hash: The previous hash stored with it.
        computed: Its content's hash recomputed over its stored `prev_hash`.
    """

    history_id: int | None
    date: datetime.datetime
    hash: str
    prev_hash: str
    computed: str

    @property
    def intact(self) -> bool:
        """Whether its content still hashes to its stored hash."""
        return self.computed == self.hash


@dataclass(frozen=True)
class Expected:
    """What the last checkpoint signed for one chain.

    Attributes:
        base: The previous hash of the chain's oldest stored version (GENESIS
            unless older versions were pruned).
        length: How many versions the chain held.
        head: The hash of its newest version then.
        at: When the checkpoint was written (None when unknown).
    """

    base: str
    length: int
    head: str
    at: datetime.datetime | None = None


@dataclass(frozen=True)
class ChainBreak:
    """The first place where one object's chain breaks.

    Attributes:
        model: The tracked model's label, e.g. "products.product".
        object_id: The object's primary key, as text.
        kind: How it breaks.
        history_id: The first version found wrong; for TRUNCATED, the newest
            version left (None when none is left).
        detail: A sentence saying what was found.
    """

    model: str
    object_id: str
    kind: BreakKind
    history_id: int | None
    detail: str


def verify_chain(
    model: str,
    object_id: str,
    rows: Sequence[ChainRow],
    *,
    expected: Expected | None = None,
) -> ChainBreak | None:
    """The first break of one object's chain, or None if it verifies.

    Args:
        model: The tracked model's label.
        object_id: The object's primary key, as text.
        rows: Its stored versions, oldest first by (date, history id).
        expected: What the last checkpoint signed for this chain, if it
            covers it.
    """

    def found(kind: BreakKind, row: ChainRow | None, detail: str) -> ChainBreak:
        history_id = row.history_id if row is not None else None
        return ChainBreak(model, object_id, kind, history_id, detail)

    base = expected.base if expected is not None else GENESIS
    position = {row.hash: index for index, row in enumerate(rows)}
    expect = base
    for index, row in enumerate(rows):
        if row.prev_hash == expect and row.intact:
            expect = row.hash
            continue
        later = position.get(row.prev_hash, -1) > index
        following = rows[index + 1] if index + 1 < len(rows) else None
        skipped = following is not None and following.prev_hash == expect
        if later:
            return found(
                BreakKind.REORDERED,
                row,
                "It links to a version served after it: versions were "
                "reordered (their dates changed).",
            )
        if skipped:
            return found(
                BreakKind.INSERTED,
                row,
                "The chain skips it: the version after it links to the one "
                "before it, so it was inserted.",
            )
        if row.prev_hash == expect:
            return found(
                BreakKind.CHANGED,
                row,
                "Its content no longer matches the hash it was sealed with.",
            )
        earlier = (
            -1 if row.prev_hash == base else position.get(row.prev_hash, len(rows))
        )
        if earlier < index:
            first_inserted = rows[earlier + 1]
            return found(
                BreakKind.INSERTED,
                first_inserted,
                "The chain skips it: a later version links to the one before "
                "it, so it was inserted.",
            )
        if row.intact:
            return found(
                BreakKind.MISSING,
                row,
                "The version it links to is not stored: it was deleted, or "
                "replaced by one with other content.",
            )
        if following is not None and following.prev_hash == row.hash:
            return found(
                BreakKind.CHANGED,
                row,
                "Its content and its link no longer match the hash it was sealed with.",
            )
        return found(
            BreakKind.INSERTED,
            row,
            "It matches no hash and links to no stored version, and no version "
            "links to it: it was inserted.",
        )
    if expected is None:
        return None
    return _against_checkpoint(rows, expected, found)


def _against_checkpoint(
    rows: Sequence[ChainRow],
    expected: Expected,
    found: Callable[[BreakKind, ChainRow | None, str], ChainBreak],
) -> ChainBreak | None:
    """Check an intact chain against the head a checkpoint signed for it."""
    for index, row in enumerate(rows):
        if row.hash == expected.head:
            if index + 1 == expected.length:
                return None
            return found(
                BreakKind.CHANGED,
                row,
                f"The checkpoint signed {expected.length} versions up to this "
                f"one; {index + 1} are stored.",
            )
    signed = (
        [row for row in rows if row.date <= expected.at]
        if expected.at is not None
        else list(rows)
    )
    if len(signed) < expected.length:
        cut = expected.length - len(signed)
        return found(
            BreakKind.TRUNCATED,
            signed[-1] if signed else None,
            f"{cut} of the {expected.length} versions the last checkpoint "
            "signed were cut off the end of the chain.",
        )
    return found(
        BreakKind.CHANGED,
        rows[expected.length - 1],
        "The chain no longer leads to the head the last checkpoint signed: "
        "it was rewritten at or before this version.",
    )


def missing_chain(model: str, object_id: str, expected: Expected) -> ChainBreak:
    """The break of a chain a checkpoint signed that is no longer stored at all."""
    return ChainBreak(
        model,
        object_id,
        BreakKind.TRUNCATED,
        None,
        f"All {expected.length} versions the last checkpoint signed are gone.",
    )


def version_row(label: str, fields: Sequence[Any], version: Any) -> ChainRow:
    """A stored version (a historical model instance) as a `ChainRow`."""
    return ChainRow(
        history_id=version.history_id,
        date=version.history_date,
        hash=version.history_hash,
        prev_hash=version.history_prev_hash,
        computed=content_hash(
            version.history_prev_hash, canonical_content(label, fields, version)
        ),
    )


def verify_versions(
    label: str,
    history_model: Any,
    versions: Iterable[Any],
    *,
    object_pk: str,
    expected: Mapping[tuple[str, str], Expected] | None = None,
) -> Iterator[tuple[str, ChainBreak | None]]:
    """Verify the chains of some versions of one model, read in order of
    (object id, date, history id); yields each object's id (as text) with its
    first break or None. Holds one chain in memory at a time.

    Chains the checkpoint signed that have no version at all are not seen
    here: compare the objects yielded with the checkpoint's (`missing_chain`).
    """
    fields = hashed_fields(history_model)
    current: str | None = None
    rows: list[ChainRow] = []
    heads = expected or {}

    def close() -> tuple[str, ChainBreak | None]:
        assert current is not None
        chain = verify_chain(label, current, rows, expected=heads.get((label, current)))
        return current, chain

    for version in versions:
        object_id = str(getattr(version, object_pk))
        if object_id != current:
            if current is not None:
                yield close()
            current, rows = object_id, []
        rows.append(version_row(label, fields, version))
    if current is not None:
        yield close()
