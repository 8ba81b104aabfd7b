"""Reading every version of every tracked model out, oldest first, in constant
memory: the rows `manage.py export_history` writes, and reading them back.

The versions are read in pages by their keyset (`history.paging.feed_page`,
one model or several interleaved), so memory holds one page whatever the
size of the trail.

Each row carries its version's hash chain: `hash`, `prev_hash` and `content`,
exactly what `history.chains.canonical_content` hashed, so that an export can
be verified against a signed checkpoint with no database
(`history.verification.verify_export`); `read_export` reads either format
back into the same rows.
"""

from __future__ import annotations

import csv
import datetime
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Q, QuerySet

from history.chains import canonical_content, hashed_fields
from history.paging import Bounds, Key, feed_page, feed_total
from history.tracking import CREATED, DELETED, UPDATED, history_model_for

EXPORT_COLUMNS = (
    "model",
    "object_id",
    "history_id",
    "type",
    "date",
    "user",
    "reason",
    "changeset",
    "changes",
    "hash",
    "prev_hash",
    "content",
)
# Columns CSV holds as JSON text.
JSON_COLUMNS = ("changes", "content")
TYPE_NAMES = {CREATED: "CREATED", UPDATED: "UPDATED", DELETED: "DELETED"}
PAGE_SIZE = 500


class UnknownUser(LookupError):
    """A user filter names nobody: no such user, and no version recorded one."""


class ExportInvalid(ValueError):
    """A file that is not an export of `export_history` (jsonl or CSV)."""


def history_export_querysets(
    *,
    models_: Sequence[type[models.Model]],
    since: datetime.datetime | None = None,
    until: datetime.datetime | None = None,
    username: str | None = None,
) -> list[QuerySet[Any]]:
    """The versions to export, one queryset per tracked model.

    Args:
        models_: The tracked models whose versions are read.
        since: Versions written at or after this moment only.
        until: Versions written before this moment only.
        username: Versions written by this user only: by the username recorded
            with each version (kept after the user is renamed or deleted), or
            by the user's id.

    Raises:
        UnknownUser: `username` names no user and no version recorded it.
    """
    condition = Q()
    if since is not None:
        condition &= Q(history_date__gte=since)
    if until is not None:
        condition &= Q(history_date__lt=until)
    querysets = []
    for model in models_:
        pk_name = model._meta.pk.attname
        history_model = history_model_for(model)
        # What a row shows, and every column its content (the hashed one) holds.
        columns = {pk_name, "history_id", "history_hash", "history_prev_hash"}
        columns.update(field.name for field in hashed_fields(history_model))
        querysets.append(history_model.objects.filter(condition).only(*sorted(columns)))
    if username is None:
        return querysets
    by_user = Q(history_username=username)
    user = get_user_model()._default_manager.filter(username=username).first()
    if user is not None:
        by_user |= Q(history_user_id=user.pk)
    querysets = [queryset.filter(by_user) for queryset in querysets]
    if user is None and not any(queryset.exists() for queryset in querysets):
        raise UnknownUser(username)
    return querysets


def history_export_count(querysets: Sequence[QuerySet[Any]]) -> int:
    """How many versions `history_export_rows` will yield (one COUNT per model)."""
    return feed_total(querysets)


def history_export_rows(
    querysets: Sequence[QuerySet[Any]], *, page_size: int = PAGE_SIZE
) -> Iterator[dict[str, Any]]:
    """Every version of the querysets, oldest first, as a flat dict of
    `EXPORT_COLUMNS`: one page of `page_size` versions in memory at a time.

    A page is one query for the keys and one per model on it; paging is by key,
    so versions written meanwhile neither shift nor repeat the rest.
    """
    before: Key | None = None
    while True:
        # Read from the oldest end: `last` versions just newer than `before`.
        page = feed_page(querysets, bounds=Bounds(last=page_size, before=before))
        oldest_first = page.versions[::-1]
        for version in oldest_first:
            yield export_row(version)
        if not page.has_previous or not oldest_first:
            return
        before = Key.of(oldest_first[-1])


def export_row(version: Any) -> dict[str, Any]:
    """One version as a flat dict of `EXPORT_COLUMNS` (the date in ISO form,
    `changes` the stored diff `{field: [old, new]}`, `content` what its hash
    covers)."""
    model = version.instance_type
    history_model: Any = type(version)
    label = model._meta.label_lower
    changeset = version.history_changeset_id
    return {
        "model": label,
        "object_id": getattr(version, model._meta.pk.attname),
        "history_id": version.history_id,
        "type": TYPE_NAMES.get(version.history_type, version.history_type),
        "date": version.history_date.isoformat(),
        "user": version.history_username or None,
        "reason": version.history_change_reason,
        "changeset": str(changeset) if changeset is not None else None,
        "changes": version.history_changes,
        "hash": version.history_hash,
        "prev_hash": version.history_prev_hash,
        "content": canonical_content(label, hashed_fields(history_model), version),
    }


def read_export(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The rows of an export, jsonl or CSV (told apart by the first line), as
    `export_row` made them: in CSV, the history id as a number, `changes`
    and `content` decoded, and empty user, reason and changeset as None.

    Raises:
        ExportInvalid: a line is not a row of an export; the message says which.
    """
    lines = iter(lines)
    first = next(lines, None)
    if first is None:
        return
    if first.lstrip().startswith("{"):
        yield from _jsonl_rows(_chained(first, lines))
    else:
        yield from _csv_rows(_chained(first, lines))


def _jsonl_rows(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield _checked(_json_line(line, number), number)


def _json_line(line: str, number: int) -> Any:
    try:
        return json.loads(line)
    except ValueError as error:
        raise ExportInvalid(f"Line {number} is not JSON: {error}.") from error


def _csv_rows(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    reader = csv.DictReader(lines)
    missing = set(EXPORT_COLUMNS) - set(reader.fieldnames or ())
    if missing:
        raise ExportInvalid(
            "The file is neither JSON lines nor a CSV export: its header lacks "
            f"{', '.join(sorted(missing))}."
        )
    for row in reader:
        number = reader.line_num
        parsed: dict[str, Any] = dict(row)
        for column in JSON_COLUMNS:
            parsed[column] = _json_line(row[column] or "null", number)
        try:
            parsed["history_id"] = int(row["history_id"])
        except (TypeError, ValueError):
            parsed["history_id"] = None
        for column in ("user", "reason", "changeset"):
            parsed[column] = row[column] or None
        yield _checked(parsed, number)


def _chained(first: str, lines: Iterator[str]) -> Iterator[str]:
    yield first
    yield from lines


def _checked(row: Any, number: int) -> dict[str, Any]:
    """`row` if it has the chain fields a verification reads."""
    if not isinstance(row, dict):
        raise ExportInvalid(f"Line {number} is not an object.")
    missing = [c for c in ("hash", "prev_hash", "content") if c not in row]
    if missing:
        raise ExportInvalid(
            f"Line {number} has no {', '.join(missing)}: not an export of "
            "export_history with hash chains."
        )
    if not isinstance(row["content"], dict):
        raise ExportInvalid(f"Line {number}: its content is not an object.")
    if not all(isinstance(row[c], str) for c in ("hash", "prev_hash")):
        raise ExportInvalid(f"Line {number}: hash and prev_hash must be text.")
    return row
