"""Per-field diffs between versions: computed once, stored, served without queries.

Text fields also get a word-level diff (`text_segments`). Its cost is bounded
whatever the texts: the common prefix and suffix are stripped in linear time,
the rest is aligned exactly only while each side has at most `MAX_DIFF_TOKENS`
words (then by lines, then not at all: one deletion and one insertion), and the
result has at most `MAX_SEGMENTS` segments. A version's segments are computed
once, when it is written, and stored in `history_segments`.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from django.db import models

from history.errors import HistoryErrorCode, operation_error
from history.state import Display, state_diff, state_of
from history.tracking import (
    UPDATED,
    is_m2m,
    is_numeric,
    is_text,
    object_pk_of,
    tracked_fields,
)

MAX_SEGMENTS = 64
"""The most segments a text diff has: the declared bound of `segments` lists."""

MAX_DIFF_TOKENS = 6_000
"""The most tokens (words, runs of spaces, punctuation; or lines) a side of a
text diff may have, once the common prefix and suffix are stripped, to be
aligned exactly: about 3,000 words. The alignment costs O(n * m / 64) machine
operations and n * m bits of memory: at this bound, about 45 ms and 4.5 MB."""

READ_DIFF_TOKENS = 1_000
"""The same bound for diffs computed when read (`diff(against:)`, a revert's
changes), which no version stores: one request may ask for many of them, so
each costs at most about 1/36 of a stored one."""

READ_WORD_DIFFS = 20
"""How many of those one request computes word by word; the others keep only
the common start and end of the texts (one deletion and one insertion
between), which costs a pass over the texts."""

_TOKEN_RE = re.compile(r"\s+|\w+|[^\w\s]")
# Interior EQUAL runs kept when a diff has too many segments: each one kept
# splits a change in two (a DELETE and an INSERT each), and the first and last
# EQUAL runs are always kept, so 3 * kept + 4 segments at most.
_KEPT_RUNS = (MAX_SEGMENTS - 4) // 3


class DiffOp(StrEnum):
    """What a text segment does in a word-level diff."""

    EQUAL = "equal"
    INSERT = "insert"
    DELETE = "delete"


@dataclass(frozen=True)
class TextSegment:
    """A run of text that is kept, inserted or deleted."""

    op: DiffOp
    text: str


@dataclass(frozen=True)
class FieldChange:
    """One field's change between two versions, values in canonical text form."""

    field: str
    label: str
    old_value: str | None
    new_value: str | None
    numeric: bool = False
    decimal_places: int | None = None
    text: bool = False
    old_items: tuple[str, ...] | None = None
    new_items: tuple[str, ...] | None = None
    # Text fields: the word-level diff, when already known (stored with the
    # version). It is a function of the two values, so it takes no part in
    # comparisons.
    known_segments: tuple[TextSegment, ...] | None = dataclasses.field(
        default=None, compare=False, repr=False
    )
    # The same in the form a version stores it (`history_segments`), turned
    # into segments only if they are read: most reads never select them.
    stored_segments: Sequence[Sequence[str]] | None = dataclasses.field(
        default=None, compare=False, repr=False
    )

    @property
    def added(self) -> list[str] | None:
        """Many-to-many fields only: the items the new version has and the old lacks."""
        if self.new_items is None or self.old_items is None:
            return None
        return sorted(set(self.new_items) - set(self.old_items))

    @property
    def removed(self) -> list[str] | None:
        """Many-to-many fields only: the items the old version had and the new lacks."""
        if self.new_items is None or self.old_items is None:
            return None
        return sorted(set(self.old_items) - set(self.new_items))

    @property
    def delta(self) -> str | None:
        """`new - old` for numeric fields whose both values are set."""
        if not self.numeric or self.old_value is None or self.new_value is None:
            return None
        try:
            difference = Decimal(self.new_value) - Decimal(self.old_value)
        except InvalidOperation:
            return None
        if self.decimal_places is not None:
            return f"{difference:.{self.decimal_places}f}"
        return str(difference)

    @property
    def segments_known(self) -> bool:
        """Whether reading `segments` is free (no text diff to compute)."""
        return (
            not self.text
            or self.known_segments is not None
            or self.stored_segments is not None
        )

    @property
    def segments(self) -> list[TextSegment] | None:
        """A word-level diff from old to new, for text fields.

        Computed (within the bounds of `text_segments`) unless already known:
        see `segments_known` and `with_segments`.
        """
        if not self.text:
            return None
        if self.known_segments is not None:
            return list(self.known_segments)
        if self.stored_segments is not None:
            return list(segments_from_json(self.stored_segments))
        return text_segments(
            self.old_value or "", self.new_value or "", max_tokens=READ_DIFF_TOKENS
        )

    def with_segments(self, *, max_tokens: int = READ_DIFF_TOKENS) -> FieldChange:
        """This change with its segments computed (aligned exactly up to
        `max_tokens` a side; 0: only the common start and end are kept), so
        that reading them is free."""
        if self.segments_known:
            return self
        segments = text_segments(
            self.old_value or "", self.new_value or "", max_tokens=max_tokens
        )
        return dataclasses.replace(self, known_segments=tuple(segments))


def text_segments(
    old: str, new: str, *, max_tokens: int = MAX_DIFF_TOKENS
) -> list[TextSegment]:
    """Diff two texts word by word, at a bounded cost.

    Concatenating the EQUAL and DELETE segments gives `old`, the EQUAL and
    INSERT ones `new`. Adjacent segments have different ops and, within a
    change, the DELETE comes first. Past `max_tokens` the middle of the
    texts is aligned by lines, then replaced whole; past `MAX_SEGMENTS` the
    shortest unchanged runs are folded into the changes around them.
    """
    old_tokens = _TOKEN_RE.findall(old)
    new_tokens = _TOKEN_RE.findall(new)
    limit = min(len(old_tokens), len(new_tokens))
    start = 0
    while start < limit and old_tokens[start] == new_tokens[start]:
        start += 1
    end = 0
    while end < limit - start and old_tokens[-1 - end] == new_tokens[-1 - end]:
        end += 1
    old_middle = old_tokens[start : len(old_tokens) - end]
    new_middle = new_tokens[start : len(new_tokens) - end]

    builder = _SegmentBuilder()
    builder.add(DiffOp.EQUAL, "".join(old_tokens[:start]))
    if _within_budget(old_middle, new_middle, max_tokens):
        builder.add_aligned(old_middle, new_middle)
    else:
        old_lines = "".join(old_middle).splitlines(keepends=True)
        new_lines = "".join(new_middle).splitlines(keepends=True)
        if _within_budget(old_lines, new_lines, max_tokens):
            builder.add_aligned(old_lines, new_lines)
        else:
            builder.add(DiffOp.DELETE, "".join(old_middle))
            builder.add(DiffOp.INSERT, "".join(new_middle))
    builder.add(DiffOp.EQUAL, "".join(old_tokens[len(old_tokens) - end :]))
    return _capped(builder.segments())


def _within_budget(old: Sequence[str], new: Sequence[str], max_tokens: int) -> bool:
    return len(old) <= max_tokens and len(new) <= max_tokens


def lcs_alignment(old: Sequence[str], new: Sequence[str]) -> list[tuple[DiffOp, str]]:
    """Align two token sequences along a longest common subsequence.

    Bit-parallel (Hyyrö): row i of the LCS table is one integer of len(new)
    bits, so the cost is O(len(old) * len(new) / 64) machine operations and
    len(old) + len(new) steps of Python; callers bound both lengths.
    """
    width = len(new)
    full = (1 << width) - 1
    masks: dict[str, int] = {}
    for position, token in enumerate(new):
        masks[token] = masks.get(token, 0) | (1 << position)
    # rows[i]: a 0 bit at position j means the LCS of old[:i] and new[:j + 1]
    # is one longer than that of old[:i] and new[:j].
    row = full
    rows = [row]
    for token in old:
        matches = row & masks.get(token, 0)
        row = ((row + matches) | (row - matches)) & full
        rows.append(row)
    aligned: list[tuple[DiffOp, str]] = []
    i, j = len(old), width
    while i and j:
        if old[i - 1] == new[j - 1]:
            aligned.append((DiffOp.EQUAL, old[i - 1]))
            i, j = i - 1, j - 1
            continue
        prefix = (1 << j) - 1
        if (rows[i] & prefix).bit_count() == (rows[i - 1] & prefix).bit_count():
            aligned.append((DiffOp.DELETE, old[i - 1]))
            i -= 1
        else:
            aligned.append((DiffOp.INSERT, new[j - 1]))
            j -= 1
    aligned.extend((DiffOp.DELETE, token) for token in reversed(old[:i]))
    aligned.extend((DiffOp.INSERT, token) for token in reversed(new[:j]))
    aligned.reverse()
    return aligned


class _SegmentBuilder:
    """Collects text runs into segments: a change between two unchanged runs
    becomes one DELETE then one INSERT."""

    def __init__(self) -> None:
        self._segments: list[TextSegment] = []
        self._equal: list[str] = []
        self._deleted: list[str] = []
        self._inserted: list[str] = []

    def add(self, op: DiffOp, text: str) -> None:
        if not text:
            return
        if op is DiffOp.EQUAL:
            self._flush_change()
            self._equal.append(text)
            return
        self._flush_equal()
        (self._deleted if op is DiffOp.DELETE else self._inserted).append(text)

    def add_aligned(self, old: Sequence[str], new: Sequence[str]) -> None:
        for op, text in lcs_alignment(old, new):
            self.add(op, text)

    def _flush_equal(self) -> None:
        if self._equal:
            self._segments.append(TextSegment(DiffOp.EQUAL, "".join(self._equal)))
            self._equal.clear()

    def _flush_change(self) -> None:
        for op, texts in (
            (DiffOp.DELETE, self._deleted),
            (DiffOp.INSERT, self._inserted),
        ):
            if texts:
                self._segments.append(TextSegment(op, "".join(texts)))
                texts.clear()

    def segments(self) -> list[TextSegment]:
        self._flush_change()
        self._flush_equal()
        return self._segments


def _capped(segments: list[TextSegment]) -> list[TextSegment]:
    """At most `MAX_SEGMENTS` segments: keep the first and last unchanged runs
    and the longest others; fold the rest into the changes around them."""
    if len(segments) <= MAX_SEGMENTS:
        return segments
    last = len(segments) - 1
    interior = [k for k in range(1, last) if segments[k].op is DiffOp.EQUAL]
    kept = set(sorted(interior, key=lambda k: (-len(segments[k].text), k))[:_KEPT_RUNS])
    kept.update(k for k in (0, last) if segments[k].op is DiffOp.EQUAL)
    builder = _SegmentBuilder()
    for k, segment in enumerate(segments):
        if k in kept:
            builder.add(DiffOp.EQUAL, segment.text)
            continue
        # An unchanged run folded into a change is deleted and inserted again.
        if segment.op is not DiffOp.INSERT:
            builder.add(DiffOp.DELETE, segment.text)
        if segment.op is not DiffOp.DELETE:
            builder.add(DiffOp.INSERT, segment.text)
    return builder.segments()


def segments_to_json(segments: Sequence[TextSegment]) -> list[list[str]]:
    """The stored form of a text diff: `[[op, text], ...]`."""
    return [[segment.op.value, segment.text] for segment in segments]


def segments_from_json(stored: Sequence[Sequence[str]]) -> tuple[TextSegment, ...]:
    """A text diff from its stored form."""
    return tuple(TextSegment(DiffOp(op), text) for op, text in stored)


@functools.cache
def _label(field: models.Field[Any, Any]) -> str:
    name = str(field.verbose_name)
    return name[:1].upper() + name[1:]


@functools.cache
def _kind(field: models.Field[Any, Any]) -> tuple[bool, int | None, bool]:
    """Whether `field` is numeric, its decimal places, whether it is text."""
    return is_numeric(field), getattr(field, "decimal_places", None), is_text(field)


@functools.cache
def _fields_by_name(model: type[models.Model]) -> dict[str, models.Field[Any, Any]]:
    return {field.name: field for field in tracked_fields(model)}


def field_change(
    field: models.Field[Any, Any],
    old: Display,
    new: Display,
    *,
    stored_segments: Sequence[Sequence[str]] | None = None,
) -> FieldChange:
    """Describe a change of `field` given its stored old and new displays (and,
    for a text field, its word-level diff as a version stores it)."""
    if is_m2m(field):
        old_items = tuple(old or [])
        new_items = tuple(new or [])
        return FieldChange(
            field=field.name,
            label=_label(field),
            old_value=", ".join(old_items),
            new_value=", ".join(new_items),
            old_items=old_items,
            new_items=new_items,
        )
    numeric, decimal_places, text = _kind(field)
    return FieldChange(
        field=field.name,
        label=_label(field),
        old_value=None if old is None else str(old),
        new_value=None if new is None else str(new),
        numeric=numeric,
        decimal_places=decimal_places,
        text=text,
        stored_segments=stored_segments if text else None,
    )


def changes_from_stored(
    model: type[models.Model],
    stored: Mapping[str, Sequence[Any]],
    segments: Mapping[str, Sequence[Sequence[str]]] | None = None,
) -> list[FieldChange]:
    """Turn a stored diff into `FieldChange`s, sorted by field; no queries.

    `segments` are the stored word-level diffs of its text fields (a version's
    `history_segments`): the changes carry them, so reading them is free. A
    text field without one gets its diff computed if it is read.
    """
    fields = _fields_by_name(model)
    known = segments or {}
    return [
        field_change(fields[name], old, new, stored_segments=known.get(name))
        for name, (old, new) in sorted(stored.items())
        if name in fields
    ]


def stored_segments(
    model: type[models.Model], stored: Mapping[str, Sequence[Any]]
) -> dict[str, list[list[str]]]:
    """The word-level diffs of the text fields of a stored diff, in the form a
    version keeps them in `history_segments`: `{field: [[op, text], ...]}`."""
    fields = {field.name: field for field in tracked_fields(model)}
    return {
        name: segments_to_json(text_segments(old or "", new or ""))
        for name, (old, new) in sorted(stored.items())
        if name in fields and is_text(fields[name])
    }


def fill_version_diff(
    *, model: type[models.Model], version: Any, previous: Any | None
) -> None:
    """Give a new version of `model` its diff against the version before it.

    Versions are immutable, so what reads will show is computed once, here:
    `history_changes` (`{field: [old, new]}`, empty when there is no previous
    version), `history_segments` (the word-level diffs of its text fields) and
    `history_staff_only` (an UPDATED version that changed no stored field).
    The version's `history_type` must be final. Costs no query.
    """
    version.history_changes = (
        {}
        if previous is None
        else state_diff(state_of(model, previous), state_of(model, version))
    )
    version.history_segments = stored_segments(model, version.history_changes)
    version.history_staff_only = (
        version.history_type == UPDATED and not version.history_changes
    )


def history_diff(
    *, model: type[models.Model], old: Any, new: Any, fields: list[str] | None = None
) -> list[FieldChange]:
    """The changes from `old` to `new`, each a version or a live instance of `model`.

    Two versions cost no query; a live instance with relations costs a few.
    """
    stored = state_diff(state_of(model, old, fields), state_of(model, new, fields))
    return changes_from_stored(model, stored)


def history_diff_against(
    *, model: type[models.Model], record: Any, other: Any | None
) -> list[FieldChange]:
    """The changes from `other` to `record`, two versions of the same object.

    Raises:
        ValidationError: NOT_FOUND when `other` is None, RECORD_MISMATCH when it
            is a version of another object.
    """
    if other is None:
        raise operation_error(HistoryErrorCode.NOT_FOUND, "`against` names no version.")
    if object_pk_of(other) != object_pk_of(record):
        raise operation_error(
            HistoryErrorCode.RECORD_MISMATCH,
            "`against` is a version of another object.",
        )
    return history_diff(model=model, old=other, new=record)
