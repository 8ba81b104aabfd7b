"""Per-field diffs between versions: computed once, stored, served without queries."""

from __future__ import annotations

import difflib
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
    is_m2m,
    is_numeric,
    is_text,
    object_pk_of,
    tracked_fields,
)

_TOKEN_RE = re.compile(r"\s+|\w+|[^\w\s]")


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
    def segments(self) -> list[TextSegment] | None:
        """A word-level diff from old to new, for text fields."""
        if not self.text:
            return None
        return text_segments(self.old_value or "", self.new_value or "")


def text_segments(old: str, new: str) -> list[TextSegment]:
    """Diff two texts word by word; adjacent segments of the same op are merged."""
    old_tokens = _TOKEN_RE.findall(old)
    new_tokens = _TOKEN_RE.findall(new)
    segments: list[TextSegment] = []

    def add(op: DiffOp, tokens: list[str]) -> None:
        if not tokens:
            return
        text = "".join(tokens)
        if segments and segments[-1].op == op:
            segments[-1] = TextSegment(op, segments[-1].text + text)
        else:
            segments.append(TextSegment(op, text))

    matcher = difflib.SequenceMatcher(a=old_tokens, b=new_tokens, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            add(DiffOp.EQUAL, old_tokens[i1:i2])
        else:
            add(DiffOp.DELETE, old_tokens[i1:i2])
            add(DiffOp.INSERT, new_tokens[j1:j2])
    return segments


def _label(field: models.Field[Any, Any]) -> str:
    name = str(field.verbose_name)
    return name[:1].upper() + name[1:]


def field_change(
    field: models.Field[Any, Any], old: Display, new: Display
) -> FieldChange:
    """Describe a change of `field` given its stored old and new displays."""
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
    return FieldChange(
        field=field.name,
        label=_label(field),
        old_value=None if old is None else str(old),
        new_value=None if new is None else str(new),
        numeric=is_numeric(field),
        decimal_places=getattr(field, "decimal_places", None),
        text=is_text(field),
    )


def changes_from_stored(
    model: type[models.Model], stored: Mapping[str, Sequence[Any]]
) -> list[FieldChange]:
    """Turn a stored diff into `FieldChange`s, sorted by field; no queries."""
    fields = {field.name: field for field in tracked_fields(model)}
    return [
        field_change(fields[name], old, new)
        for name, (old, new) in sorted(stored.items())
        if name in fields
    ]


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
