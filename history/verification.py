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
database (`stored_chains`, which streams one model's versions, one chain in
memory at a time) and against an export with no database at all
(`verify_export`, which recomputes every hash from the exported content).
Both verify against what the latest signed checkpoint holds for each chain
(`Expected`, from `expectations`): a chain it signed starts from its base and
leads to its head; a chain it did not sign starts at GENESIS; a chain it
signed that is gone altogether is TRUNCATED.
"""

from __future__ import annotations

import datetime
import enum
import json
from collections import defaultdict, deque
from collections.abc import (
    Callable,
    Collection,
    Generator,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from history.chains import GENESIS, canonical_content, content_hash, hashed_fields
from history.checkpoints import (
    CheckpointInvalid,
    checkpoint_heads,
    latest_checkpoint,
    statement_digest,
)
from history.models import Checkpoint
from history.tracking import history_model_for


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


@dataclass(frozen=True)
class ChainResult:
    """One object's chain, verified.

    Attributes:
        model: The tracked model's label.
        object_id: The object's primary key, as text.
        versions: How many of its versions were read (0 for a chain gone
            altogether).
        broken: Its first break, or None if it verifies.
    """

    model: str
    object_id: str
    versions: int
    broken: ChainBreak | None


# A chain: (the tracked model's label, the object's primary key as text).
ChainKey = tuple[str, str]


def expectations(
    heads: Mapping[ChainKey, Any], *, at: datetime.datetime | None
) -> dict[ChainKey, Expected]:
    """What a checkpoint expects of each chain it signed.

    Args:
        heads: The checkpoint's heads (`history.checkpoints.ChainHead`: base,
            length, head), verified.
        at: When the checkpoint was written.
    """
    return {
        key: Expected(base=head.base, length=head.length, head=head.head, at=at)
        for key, head in heads.items()
    }


@dataclass
class Tally:
    """What a verification checked and found, added up chain by chain."""

    chains: int = 0
    versions: int = 0
    breaks: list[ChainBreak] = field(default_factory=list)

    def add(self, result: ChainResult) -> None:
        """Count one verified chain."""
        self.chains += 1
        self.versions += result.versions
        if result.broken is not None:
            self.breaks.append(result.broken)

    @property
    def intact(self) -> bool:
        """Whether every chain counted verifies."""
        return not self.breaks


def verify_versions(
    label: str,
    history_model: Any,
    versions: Iterable[Any],
    *,
    object_pk: str,
    expected: Mapping[ChainKey, Expected] | None = None,
) -> Iterator[ChainResult]:
    """Verify the chains of some versions of one model, read in order of
    (object id, date, history id); yields each object's chain verified. Holds
    one chain in memory at a time.

    Chains the checkpoint signed that have no version at all are not seen
    here: `stored_chains` adds them (`missing_chain`).
    """
    fields = hashed_fields(history_model)
    current: str | None = None
    rows: list[ChainRow] = []
    heads = expected or {}

    def close() -> ChainResult:
        assert current is not None
        chain = verify_chain(label, current, rows, expected=heads.get((label, current)))
        return ChainResult(label, current, len(rows), chain)

    for version in versions:
        object_id = str(getattr(version, object_pk))
        if object_id != current:
            if current is not None:
                yield close()
            current, rows = object_id, []
        rows.append(version_row(label, fields, version))
    if current is not None:
        yield close()


# -- the database ---------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """What the chains in the database are verified against.

    Attributes:
        checkpoint: The latest checkpoint, or None when none was written.
        expected: What it signed for each chain, once its signature (checked
            with the configured verify key) and its Merkle root hold; empty
            when there is no checkpoint or it fails.
        failure: Why the checkpoint itself fails verification; None if it holds.
    """

    checkpoint: Checkpoint | None = None
    expected: Mapping[ChainKey, Expected] = field(default_factory=dict)
    failure: str | None = None


def latest_reference() -> Reference:
    """The latest checkpoint, verified: three queries at most.

    A checkpoint that fails (a bad signature, heads that do not give its root,
    no verify key configured, or a signed link to its predecessor that names
    another checkpoint than the one stored before it) is a failure of the
    verification; the chains are then verified on their own, from GENESIS.
    The moment it was written is the one it signed.
    """
    checkpoint = latest_checkpoint()
    if checkpoint is None:
        return Reference()
    try:
        heads = checkpoint_heads(checkpoint)
    except CheckpointInvalid as error:
        return Reference(checkpoint=checkpoint, failure=str(error))
    statement = json.loads(checkpoint.statement)
    before = Checkpoint.objects.filter(pk__lt=checkpoint.pk).order_by("-pk").first()
    link = "" if before is None else statement_digest(before.statement)
    if statement["previous"] != link:
        return Reference(
            checkpoint=checkpoint,
            failure=(
                f"Checkpoint {checkpoint.pk} does not follow the checkpoint "
                "stored before it (its signed link names another): checkpoints "
                "were removed, or an old one was stored again."
            ),
        )
    return Reference(
        checkpoint=checkpoint,
        expected=expectations(
            heads, at=datetime.datetime.fromisoformat(statement["created_at"])
        ),
    )


# Versions read from the database per round trip while streaming.
CHUNK_SIZE = 2000


class UnknownObject(LookupError):
    """An object id that names no chain of a model: not a valid id, or no
    version of it is stored and the checkpoint signed none."""


def verify_columns(history_model: Any) -> list[str]:
    """The columns a verification reads: the chain's and the hashed content's."""
    names = {"history_id", "history_date", "history_hash", "history_prev_hash"}
    names.update(column.name for column in hashed_fields(history_model))
    return sorted(names)


def object_key(model: type[models.Model], object_id: str) -> Any:
    """`object_id` (text) as a primary key value of `model`.

    Raises:
        UnknownObject: it is not a valid primary key of `model`.
    """
    try:
        return model._meta.pk.to_python(object_id)
    except ValidationError as error:
        raise UnknownObject(
            f"{object_id!r} is not an id of {model._meta.label_lower}."
        ) from error


def stored_chains(
    model: type[models.Model],
    *,
    expected: Mapping[ChainKey, Expected],
    after: str | None = None,
    object_ids: Collection[str] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Generator[ChainResult]:
    """Verify the chains of `model` stored in the database, in object-id order,
    each against what `expected` (the latest checkpoint) holds for it.

    Versions are streamed (one query, read `chunk_size` at a time, only the
    columns the checks need) and one chain is held in memory at a time. A
    chain the checkpoint signed that has no version left is yielded in its
    place as TRUNCATED (`missing_chain`). The order is the database's order of
    the primary key, which for integer keys is the numeric order.

    Args:
        model: A tracked model.
        expected: What the latest checkpoint signed, by chain (empty: none).
        after: Only the objects whose id comes after this one.
        object_ids: Only these objects.

    Raises:
        UnknownObject: `after` or one of `object_ids` is not a valid id of
            `model`.
    """
    label = model._meta.label_lower
    history_model = history_model_for(model)
    pk_name = model._meta.pk.attname
    versions = history_model._base_manager.only(*verify_columns(history_model))
    signed, unreadable = [], []
    for chain_label, chain_id in expected:
        if chain_label == label:
            try:
                signed.append((object_key(model, chain_id), chain_id))
            except UnknownObject:
                unreadable.append(chain_id)
    if object_ids is not None:
        keys = {object_key(model, object_id) for object_id in object_ids}
        versions = versions.filter(**{f"{pk_name}__in": keys})
        signed = [(k, text) for k, text in signed if k in keys]
        unreadable = []
    if after is not None:
        start = object_key(model, after)
        versions = versions.filter(**{f"{pk_name}__gt": start})
        signed = [(k, text) for k, text in signed if k > start]
    gone = deque(sorted(signed))
    ordered = versions.order_by(pk_name, "history_date", "history_id")
    for result in verify_versions(
        label,
        history_model,
        ordered.iterator(chunk_size=chunk_size),
        object_pk=pk_name,
        expected=expected,
    ):
        key = object_key(model, result.object_id)
        while gone and gone[0][0] < key:
            yield _gone(label, gone.popleft()[1], expected)
        if gone and gone[0][0] == key:
            gone.popleft()
        yield result
    for _key, chain_id in gone:
        yield _gone(label, chain_id, expected)
    for chain_id in unreadable:
        yield _gone(label, chain_id, expected)


def _gone(
    label: str, object_id: str, expected: Mapping[ChainKey, Expected]
) -> ChainResult:
    broken = missing_chain(label, object_id, expected[label, object_id])
    return ChainResult(label, object_id, 0, broken)


def object_chain(
    model: type[models.Model],
    object_id: str,
    *,
    expected: Mapping[ChainKey, Expected],
) -> ChainResult:
    """One object's chain, verified.

    Raises:
        UnknownObject: the id is not valid, or no version of the object is
            stored and the checkpoint signed none.
    """
    for result in stored_chains(model, expected=expected, object_ids=[object_id]):
        return result
    raise UnknownObject(
        f"No version of {model._meta.label_lower} {object_id} is stored, and "
        "the checkpoint signed none."
    )


def chains_by_pk(
    *, model: type[models.Model], pks: Iterable[Any], reference: Reference
) -> dict[Any, ChainResult]:
    """The chains of some objects of `model` (by primary key value), verified
    against `reference`: one query. Objects with no chain are left out."""
    wanted = {str(pk): pk for pk in pks}
    results = stored_chains(model, expected=reference.expected, object_ids=wanted)
    return {wanted[result.object_id]: result for result in results}


@dataclass(frozen=True)
class VerificationPage:
    """One page of a model's chains, verified in object-id order.

    Attributes:
        tally: What the page checked and found.
        end_cursor: The id of the last object checked (None if none was).
        has_next: Whether chains come after it.
    """

    tally: Tally
    end_cursor: str | None
    has_next: bool


def verification_page(
    model: type[models.Model],
    *,
    expected: Mapping[ChainKey, Expected],
    after: str | None,
    versions: int,
    max_breaks: int,
) -> VerificationPage:
    """Verify whole chains of `model` in object-id order, from the one after
    `after`, until at least `versions` versions were checked (a chain gone
    altogether counts as one) or `max_breaks` chains were found broken.

    A page reads `versions` versions plus at most the rest of its last chain.

    Raises:
        UnknownObject: `after` is not a valid id of `model`.
    """
    tally = Tally()
    last: str | None = None
    checked = 0
    chains = stored_chains(model, expected=expected, after=after)
    try:
        for result in chains:
            tally.add(result)
            last = result.object_id
            checked += max(result.versions, 1)
            if checked >= versions or len(tally.breaks) >= max_breaks:
                break
    finally:
        chains.close()  # closes the database cursor of an unfinished stream
    has_next = last is not None and _chains_after(model, expected, last)
    return VerificationPage(tally=tally, end_cursor=last, has_next=has_next)


def _chains_after(
    model: type[models.Model], expected: Mapping[ChainKey, Expected], last: str
) -> bool:
    label = model._meta.label_lower
    key = object_key(model, last)
    pk_name = model._meta.pk.attname
    for chain_label, chain_id in expected:
        if chain_label == label:
            try:
                if object_key(model, chain_id) > key:
                    return True
            except UnknownObject:
                return True
    stored = history_model_for(model)._base_manager.filter(**{f"{pk_name}__gt": key})
    return bool(stored.exists())


# -- an export, with no database ------------------------------------------------------


def verify_export(
    rows: Iterable[Mapping[str, Any]],
    *,
    expected: Mapping[ChainKey, Expected],
    models_: Collection[type[models.Model]],
    only: str | None = None,
    object_id: str | None = None,
) -> Iterator[ChainResult]:
    """Verify the chains of an export (`history.export.read_export`) against
    what a checkpoint signed, with no database.

    Every hash is recomputed from the row's `content` (what was hashed); the
    row's other fields are not trusted: the model, object and date come from
    the content, and a row whose fields say otherwise than its content breaks
    its chain as CHANGED. Rows are grouped by (model, object id) and ordered
    by (date, history id), and each chain runs through `verify_chain`. Chains
    are held in memory as `ChainRow`s (the content is dropped once hashed).

    Args:
        rows: The export's rows.
        expected: What the checkpoint signed, by chain.
        models_: The tracked models; a row of any other model is refused.
        only: Only this model's chains (a label), as an export made with
            `--model`; otherwise every chain the checkpoint signed must be in
            the export.
        object_id: Only this object's chain (with `only`).

    Yields the chains in order of (model, object id), those the checkpoint
    signed and the export lacks as TRUNCATED.

    Raises:
        history.export.ExportInvalid: a row's content lacks the model, its
            object's id or its date.
    """
    from history.export import ExportInvalid

    pk_names = {model._meta.label_lower: model._meta.pk.attname for model in models_}
    chains: dict[ChainKey, list[ChainRow]] = defaultdict(list)
    wrong: dict[tuple[ChainKey, int | None], list[str]] = {}
    for number, row in enumerate(rows, start=1):
        content = row["content"]
        label = content.get("model")
        if not isinstance(label, str) or label not in pk_names:
            raise ExportInvalid(f"Row {number}: {label!r} is not a tracked model.")
        if only is not None and label != only:
            continue
        pk_name = pk_names[label]
        if content.get(pk_name) is None or "history_date" not in content:
            raise ExportInvalid(
                f"Row {number}: its content has no {pk_name} or history_date."
            )
        key = (label, str(content[pk_name]))
        if object_id is not None and key[1] != object_id:
            continue
        chain_row, disagreeing = export_chain_row(row, pk_name, number)
        if disagreeing:
            wrong[key, chain_row.history_id] = disagreeing
        chains[key].append(chain_row)
    in_scope = (
        {key for key in expected if key[0] == only}
        if only is not None
        else set(expected)
    )
    if object_id is not None:
        in_scope = {key for key in in_scope if key[1] == object_id}
    for key in sorted(set(chains) | in_scope, key=_natural):
        rows_of = chains.get(key)
        if not rows_of:
            yield _gone(*key, expected)
            continue
        rows_of.sort(key=lambda row: (row.date, row.history_id or 0))
        broken = verify_chain(*key, rows_of, expected=expected.get(key))
        fields = broken is not None and wrong.get((key, broken.history_id))
        if broken is not None and fields and broken.kind is BreakKind.CHANGED:
            broken = ChainBreak(
                broken.model,
                broken.object_id,
                broken.kind,
                broken.history_id,
                f"Its exported {', '.join(fields)} "
                f"{'does' if len(fields) == 1 else 'do'} not match the content it "
                "was sealed with.",
            )
        yield ChainResult(key[0], key[1], len(rows_of), broken)


def _natural(key: ChainKey) -> tuple[str, int, int, str]:
    label, object_id = key
    if object_id.isdigit():
        return (label, 0, int(object_id), "")
    return (label, 1, 0, object_id)


def export_chain_row(
    row: Mapping[str, Any], pk_name: str, number: int
) -> tuple[ChainRow, list[str]]:
    """An export's row as a `ChainRow`, its hash recomputed from its content,
    and the names of its fields that say otherwise than the content (a row
    with any is not intact, whatever its hash).

    Raises:
        history.export.ExportInvalid: the content's date is not a date.
    """
    from history.export import TYPE_NAMES, ExportInvalid

    content = row["content"]
    try:
        date = _moment(content["history_date"])
    except (TypeError, ValueError) as error:
        raise ExportInvalid(
            f"Row {number}: its content's date is not a date."
        ) from error
    claims = {
        "model": content.get("model"),
        "object_id": content.get(pk_name),
        "type": TYPE_NAMES.get(
            content.get("history_type"), content.get("history_type")
        ),
        "user": content.get("history_username"),
        "reason": content.get("history_change_reason"),
        "changeset": content.get("history_changeset_id"),
        "changes": content.get("history_changes"),
    }
    disagreeing = [
        name for name, value in claims.items() if _text(row.get(name)) != _text(value)
    ]
    try:
        if _moment(row.get("date")) != date:
            disagreeing.append("date")
    except (TypeError, ValueError):
        disagreeing.append("date")
    history_id = row.get("history_id")
    computed = content_hash(row["prev_hash"], content)
    return (
        ChainRow(
            history_id=history_id if isinstance(history_id, int) else None,
            date=date,
            hash=row["hash"],
            prev_hash=row["prev_hash"],
            computed="" if disagreeing else computed,
        ),
        disagreeing,
    )


def _moment(value: Any) -> datetime.datetime:
    moment = datetime.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("a moment without an offset")
    return moment


def _text(value: Any) -> str:
    """A field's value as compared: None and "" alike, JSON as sorted text."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)
