"""Signed checkpoints: the head of every version chain at one moment.

Every tracked object's versions form a hash chain (`history.chains`). A
checkpoint commits to all of them at once: for each chain, its base (the
previous hash of its oldest version still stored: `GENESIS` unless pruned),
its length and its head (the hash of its newest version) are the leaves of a
Merkle tree, and a statement of the root, the counts and the hash of the
previous checkpoint's statement is signed with an Ed25519 key from the
environment (`HISTORY_SIGNING_KEY`, never stored in the database).

A chain rewritten from some version to its end is consistent with itself;
what gives it away is a checkpoint taken before: its head, or its length,
no longer match. That only holds if the checkpoint itself cannot be rewritten
too, so a checkpoint is printed to be kept outside the database, and signed
with a key kept away from it.

The format is fixed (a verifier on another machine recomputes it):

- leaf of a chain: SHA-256 of ``0x00`` and the UTF-8 text
  ``"{label}\\n{object_id}\\n{base}\\n{length}\\n{head}"``; leaves are sorted by
  (label, object id), both as text;
- node: SHA-256 of ``0x01``, the left and the right digest (raw bytes), level
  by level, an odd last node promoted to the next level unchanged (RFC 6962's
  tree); the root of no leaves is SHA-256 of nothing; roots are in hex;
- statement: ``{"format": 1, "kind", "created_at" (ISO 8601, UTC), "versions",
  "chains", "root", "previous", "pruned"}`` as compact JSON with sorted keys:
  that exact text is stored, signed (its UTF-8 bytes) and printed.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router, transaction
from django.db.models import (
    CharField,
    Count,
    F,
    Model,
    QuerySet,
    RowRange,
    Value,
    Window,
)
from django.db.models.functions import Cast, FirstValue, LastValue, RowNumber
from django.utils import timezone

from history.models import Checkpoint
from history.selectors import tracked_models
from history.signing import (
    GENERATE_HINT,
    KeyInvalid,
    private_key,
    public_key_text,
    sign,
    signature_valid,
)
from history.tracking import history_model_for

FORMAT = 1
EMPTY_ROOT = hashlib.sha256(b"").hexdigest()
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
STATEMENT_KEYS = frozenset(
    {"format", "kind", "created_at", "versions", "chains", "root", "previous", "pruned"}
)
PRUNED_KEYS = frozenset({"model", "cutoff", "count"})
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class ChainHead:
    """One chain as a checkpoint records it.

    Attributes:
        base: The previous hash of the chain's oldest stored version (`GENESIS`
            unless older versions were pruned).
        length: How many versions of the chain are stored.
        head: The hash of its newest version.
    """

    base: str
    length: int
    head: str


Heads = Mapping[tuple[str, str], ChainHead]


class SigningKeyMissing(ImproperlyConfigured):
    """No usable signing key is configured: nothing can be signed."""


class CheckpointInvalid(Exception):
    """A checkpoint that does not hold: a bad signature, a root or a count that
    does not match its heads, or a malformed document. The message says which."""


class VerifyKeyMissing(CheckpointInvalid):
    """No public key to verify a checkpoint against: it cannot be trusted."""


class TrailBroken(Exception):
    """The chains no longer continue what the previous checkpoint signed: a new
    checkpoint would sign the change over. The message names the chains."""


# Reading the chains


def chain_heads(
    models: Iterable[type[Model]] | None = None,
) -> dict[tuple[str, str], ChainHead]:
    """The head of every chain now stored, by (model label, object id as text).

    One query for all the tracked models (`models`, default: all of them), so
    that on PostgreSQL the heads of every model come from one snapshot (a
    statement sees the database as of its start, whatever commits meanwhile):
    a write to several models is in them all or in none. A chain is ordered as
    `history.chains` orders it (date, then history id).
    """
    by_label = {
        model._meta.label_lower: model
        for model in (tracked_models() if models is None else models)
    }
    queries = [_chains_of(model) for model in by_label.values()]
    if not queries:
        return {}
    rows = queries[0].union(*queries[1:], all=True) if len(queries) > 1 else queries[0]
    heads: dict[tuple[str, str], ChainHead] = {}
    for label, object_id, length, base, head in rows:
        # The id is read as text (the models' keys may be of different types);
        # `str(pk)` is its text in Python, whatever the database's own.
        pk = by_label[label]._meta.pk
        heads[(label, str(pk.to_python(object_id)))] = ChainHead(base, length, head)
    return heads


def _chains_of(model: type[Model]) -> QuerySet[Any, tuple[str, str, int, str, str]]:
    """(label, object id as text, length, base, head) of each chain of `model`:
    one scan of its history table in chain order, one row per chain."""
    history_model = history_model_for(model)
    pk_name = model._meta.pk.attname
    chain: dict[str, Any] = {
        "partition_by": [F(pk_name)],
        "order_by": [F("history_date").asc(), F("history_id").asc()],
    }
    whole = RowRange(start=None, end=None)
    rows: QuerySet[Any, tuple[str, str, int, str, str]] = (
        history_model.objects.order_by()
        .annotate(
            chain_label=Value(model._meta.label_lower, output_field=CharField()),
            chain_object=Cast(pk_name, output_field=CharField()),
            chain_position=Window(RowNumber(), **chain),
            chain_length=Window(Count("history_id"), frame=whole, **chain),
            chain_base=Window(FirstValue("history_prev_hash"), **chain),
            chain_head=Window(LastValue("history_hash"), frame=whole, **chain),
        )
        .filter(chain_position=1)
        .values_list(
            "chain_label", "chain_object", "chain_length", "chain_base", "chain_head"
        )
    )
    return rows


# The Merkle tree


def leaf_hash(label: str, object_id: str, chain: ChainHead) -> bytes:
    """The Merkle leaf of one chain (raw digest)."""
    text = f"{label}\n{object_id}\n{chain.base}\n{chain.length}\n{chain.head}"
    return hashlib.sha256(LEAF_PREFIX + text.encode()).digest()


def merkle_root(heads: Heads) -> str:
    """The Merkle root over the chains' leaves sorted by (label, object id), in
    hex; `EMPTY_ROOT` for no chains."""
    level = [leaf_hash(label, oid, heads[(label, oid)]) for label, oid in sorted(heads)]
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        paired = [
            hashlib.sha256(NODE_PREFIX + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0].hex()


def heads_json(heads: Heads) -> dict[str, dict[str, list[Any]]]:
    """Heads as stored and written: {label: {object id: [base, length, head]}},
    sorted."""
    grouped: dict[str, dict[str, list[Any]]] = {}
    for label, oid in sorted(heads):
        chain = heads[(label, oid)]
        grouped.setdefault(label, {})[oid] = [chain.base, chain.length, chain.head]
    return grouped


def heads_from_json(data: Any) -> dict[tuple[str, str], ChainHead]:
    """The heads `heads_json` wrote.

    Raises:
        CheckpointInvalid: `data` is not of that shape, or a hash is not 64 hex
            digits, or a length not a positive integer.
    """
    if not isinstance(data, Mapping):
        raise CheckpointInvalid("Bad checkpoint: heads is not an object.")
    heads: dict[tuple[str, str], ChainHead] = {}
    for label, chains in data.items():
        if not isinstance(chains, Mapping):
            raise CheckpointInvalid(
                f"Bad checkpoint: heads of {label} is not an object."
            )
        for oid, entry in chains.items():
            where = f"{label} {oid}"
            if not (isinstance(entry, list | tuple) and len(entry) == 3):
                raise CheckpointInvalid(
                    f"Bad checkpoint: the head of {where} is not [base, length, head]."
                )
            base, length, head = entry
            if not (isinstance(base, str) and _HEX64.fullmatch(base)):
                raise CheckpointInvalid(f"Bad checkpoint: the base of {where}.")
            if not (isinstance(head, str) and _HEX64.fullmatch(head)):
                raise CheckpointInvalid(f"Bad checkpoint: the head hash of {where}.")
            if isinstance(length, bool) or not isinstance(length, int) or length < 1:
                raise CheckpointInvalid(f"Bad checkpoint: the length of {where}.")
            heads[(str(label), str(oid))] = ChainHead(base, length, head)
    return heads


# Statements


def statement_text(statement: Mapping[str, Any]) -> str:
    """The text that is signed: compact JSON with sorted keys."""
    return json.dumps(
        statement, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def statement_digest(text: str) -> str:
    """SHA-256 of a statement's text, in hex: what the next checkpoint's
    `previous` holds."""
    return hashlib.sha256(text.encode()).hexdigest()


def utc_text(moment: datetime.datetime) -> str:
    """A moment as statements write it: ISO 8601 in UTC, to the microsecond."""
    return moment.astimezone(datetime.UTC).isoformat(timespec="microseconds")


def _pruned_entry(pruned: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if pruned is None:
        return None
    if set(pruned) != PRUNED_KEYS:
        raise ValueError(f"pruned must have the keys {sorted(PRUNED_KEYS)}.")
    cutoff = pruned["cutoff"]
    return {
        "model": str(pruned["model"]),
        "cutoff": utc_text(cutoff)
        if isinstance(cutoff, datetime.datetime)
        else str(cutoff),
        "count": int(pruned["count"]),
    }


# Keys


def signing_key() -> Ed25519PrivateKey:
    """The configured signing key (`HISTORY_SIGNING_KEY`).

    Raises:
        SigningKeyMissing: it is not set, or is not a base64 Ed25519 private
            key; the message names the variable and the command that makes one.
    """
    text: str = getattr(settings, "HISTORY_SIGNING_KEY", "") or ""
    if not text.strip():
        raise SigningKeyMissing(
            "HISTORY_SIGNING_KEY is not set: checkpoints (and the one every prune "
            "leaves) are signed with it. Generate a key with "
            f"`{GENERATE_HINT}` and set HISTORY_SIGNING_KEY in the environment "
            "(or .env)."
        )
    try:
        return private_key(text)
    except KeyInvalid as error:
        raise SigningKeyMissing(
            f"HISTORY_SIGNING_KEY: {error} Generate a key with `{GENERATE_HINT}`."
        ) from error


def public_key() -> str | None:
    """The configured verify key (`HISTORY_VERIFY_KEY`, by default the signing
    key's public key), base64; None when neither key is set."""
    return _configured_verify_key()


def _configured_verify_key() -> str | None:
    # `verify_document` has an argument named `public_key`.
    key: str = getattr(settings, "HISTORY_VERIFY_KEY", "") or ""
    return key or None


# Writing


def checkpoint_lock() -> None:
    """Serialize checkpoint writers for the rest of the current transaction.

    On PostgreSQL, `SHARE ROW EXCLUSIVE` on the checkpoint table conflicts with
    itself, so two checkpoints cannot both take the same previous one; tracked
    writes never wait for it (they do not touch the table). A prune takes it
    before deleting, so prunes and checkpoints run one at a time. SQLite
    writers already hold the database's one write lock.
    """
    connection = connections[router.db_for_write(Checkpoint)]
    if connection.vendor != "postgresql":
        return
    if not connection.in_atomic_block:
        raise RuntimeError("checkpoint_lock() needs a transaction.")
    with connection.cursor() as cursor:
        cursor.execute(
            f"LOCK TABLE {connection.ops.quote_name(Checkpoint._meta.db_table)} "
            "IN SHARE ROW EXCLUSIVE MODE"
        )


def write_checkpoint(
    *,
    kind: str = Checkpoint.Kind.CHECKPOINT,
    pruned: Mapping[str, Any] | None = None,
    check_previous: bool = True,
) -> Checkpoint:
    """Sign and store a checkpoint of every chain of every tracked model.

    In one transaction (the caller's, if any): the checkpoint table is locked
    (`checkpoint_lock`) before the previous checkpoint is read, so checkpoints
    form one line; the heads of all models are read in one statement
    (`chain_heads`), so they describe one consistent state. Tracked writes are
    never blocked: they do not touch the checkpoint table.

    Why not the alternatives. A REPEATABLE READ snapshot can only be chosen
    before a transaction's first statement, and a prune writes its checkpoint
    in the transaction that deleted (tests, too, run inside a transaction).
    Locking the history tables in SHARE mode would hold tracked writes back
    while the heads are read, and could deadlock with a write to several
    tracked models (it takes the tables one after another, as the write
    does, in its own order); PostgreSQL would then abort one of them.

    Args:
        kind: "checkpoint", or "prune" for the one a prune leaves.
        pruned: For a prune: {"model", "cutoff", "count"} (the cutoff as an
            aware datetime or its ISO text); None otherwise.
        check_previous: Refuse unless every chain still continues what the
            previous checkpoint signed (`require_continuation`). Only a prune,
            which checked before deleting, passes False.

    Raises:
        SigningKeyMissing: no signing key is configured (nothing is written).
        TrailBroken: a chain no longer continues the previous checkpoint
            (nothing is written).
        ValueError: `kind` and `pruned` do not go together.
    """
    if kind not in Checkpoint.Kind.values:
        raise ValueError(f"Unknown checkpoint kind {kind!r}.")
    if (kind == Checkpoint.Kind.PRUNE) != (pruned is not None):
        raise ValueError("A prune checkpoint, and only one, says what was pruned.")
    entry = _pruned_entry(pruned)
    key = signing_key()
    tracked = tracked_models()
    with transaction.atomic(using=router.db_for_write(Checkpoint)):
        checkpoint_lock()
        previous = latest_checkpoint()
        heads = chain_heads(tracked)
        if previous is not None and check_previous:
            require_continuation(previous, heads)
        created_at = timezone.now()
        versions = sum(chain.length for chain in heads.values())
        root = merkle_root(heads)
        link = "" if previous is None else statement_digest(previous.statement)
        text = statement_text(
            {
                "format": FORMAT,
                "kind": str(kind),
                "created_at": utc_text(created_at),
                "versions": versions,
                "chains": len(heads),
                "root": root,
                "previous": link,
                "pruned": entry,
            }
        )
        return Checkpoint.objects.create(
            created_at=created_at,
            kind=kind,
            versions=versions,
            chains=len(heads),
            root=root,
            previous=link,
            statement=text,
            signature=sign(key, text),
            public_key=public_key_text(key),
            heads=heads_json(heads),
            pruned=entry,
        )


def require_continuation(previous: Checkpoint, heads: Heads) -> None:
    """Refuse unless every chain `previous` signed still holds, at the same
    base, the head it signed at the same position, so that a new checkpoint
    never signs over a chain rewritten (and re-hashed) or cut since.

    Chains unchanged since are compared by their heads alone; only those with
    new versions are read: one query per model and thousand such chains.

    Raises:
        TrailBroken: `previous` does not verify, or some chains no longer
            continue it; the message names them.
    """
    try:
        signed = checkpoint_heads(previous)
    except CheckpointInvalid as error:
        raise TrailBroken(
            f"The previous checkpoint ({previous.pk}) does not verify: {error}"
        ) from error
    broken: list[tuple[str, str]] = []
    grown: dict[str, dict[str, ChainHead]] = {}
    for key, old in signed.items():
        now = heads.get(key)
        if now == old:
            continue
        if now is None or now.base != old.base or now.length <= old.length:
            broken.append(key)
        else:
            grown.setdefault(key[0], {})[key[1]] = old
    for label, chains in grown.items():
        broken.extend((label, object_id) for object_id in _lost_heads(label, chains))
    if broken:
        named = ", ".join(f"{label} {object_id}" for label, object_id in broken[:5])
        more = f" and {len(broken) - 5} more" if len(broken) > 5 else ""
        count = (
            "1 chain no longer continues"
            if len(broken) == 1
            else f"{len(broken)} chains no longer continue"
        )
        raise TrailBroken(
            f"{count} checkpoint {previous.pk} ({named}{more}): rewritten or "
            "cut since it was signed. Run manage.py verify_history; no "
            "checkpoint is signed over a broken chain."
        )


def _lost_heads(label: str, chains: Mapping[str, ChainHead]) -> list[str]:
    """The objects among `chains` whose stored chain no longer holds the
    signed head at the signed position."""
    model = next(m for m in tracked_models() if m._meta.label_lower == label)
    history_model = history_model_for(model)
    pk_name = model._meta.pk.attname
    ids = sorted(chains)
    held: set[tuple[str, str, int]] = set()
    for start in range(0, len(ids), 1000):
        batch = [
            model._meta.pk.to_python(object_id)
            for object_id in ids[start : start + 1000]
        ]
        rows = (
            history_model.objects.filter(**{f"{pk_name}__in": batch})
            .annotate(
                position=Window(
                    RowNumber(),
                    partition_by=[F(pk_name)],
                    order_by=[F("history_date").asc(), F("history_id").asc()],
                )
            )
            .values_list(pk_name, "history_hash", "position")
        )
        held.update((str(pk), digest, position) for pk, digest, position in rows)
    return [
        object_id
        for object_id, old in chains.items()
        if (object_id, old.head, old.length) not in held
    ]


def latest_checkpoint() -> Checkpoint | None:
    """The newest checkpoint, or None."""
    return Checkpoint.objects.order_by("-id").first()


# Documents and verification


def checkpoint_document(cp: Checkpoint) -> dict[str, Any]:
    """What `checkpoint_history --output FILE` writes and a verifier reads:
    the statement (parsed and as the exact signed text), the signature, the
    signer's public key and the heads."""
    return {
        "statement": json.loads(cp.statement),
        "statement_text": cp.statement,
        "signature": cp.signature,
        "public_key": cp.public_key,
        "heads": cp.heads,
    }


def verify_document(
    document: Mapping[str, Any], *, public_key: str | None = None
) -> dict[tuple[str, str], ChainHead]:
    """The heads of a checkpoint document, once it is shown to hold.

    Checks that the signature of `statement_text` verifies with `public_key`
    (or else the configured verify key: never the document's own key alone,
    which whoever forged the document would have chosen), that the text
    parses to `statement` and is a statement of this format, and that the
    heads give its root and its counts.

    Raises:
        VerifyKeyMissing: no public key was given or configured.
        CheckpointInvalid: anything else does not hold; the message says what.
    """
    key = public_key or _configured_verify_key()
    if not key:
        raise VerifyKeyMissing(
            "No public key to verify the checkpoint against: set HISTORY_VERIFY_KEY "
            "(the document's own key proves nothing)."
        )
    if not isinstance(document, Mapping):
        raise CheckpointInvalid("Bad checkpoint: not a JSON object.")
    missing = {"statement", "statement_text", "signature", "heads"} - set(document)
    if missing:
        raise CheckpointInvalid(f"Bad checkpoint: no {', '.join(sorted(missing))}.")
    text, signature = document["statement_text"], document["signature"]
    if not isinstance(text, str) or not isinstance(signature, str):
        raise CheckpointInvalid(
            "Bad checkpoint: statement_text and signature must be strings."
        )
    try:
        valid = signature_valid(key, text, signature)
    except KeyInvalid as error:
        raise CheckpointInvalid(f"Bad public key: {error}") from error
    if not valid:
        raise CheckpointInvalid(
            "The signature does not verify with the public key "
            f"{key}: the statement was changed or signed with another key."
        )
    statement = _parsed_statement(text)
    if document["statement"] != statement:
        raise CheckpointInvalid(
            "The statement does not match the signed statement text."
        )
    heads = heads_from_json(document["heads"])
    root = merkle_root(heads)
    if root != statement["root"]:
        raise CheckpointInvalid(
            f"The heads give the Merkle root {root}, not the signed "
            f"{statement['root']}: the heads were changed."
        )
    versions = sum(chain.length for chain in heads.values())
    if (versions, len(heads)) != (statement["versions"], statement["chains"]):
        raise CheckpointInvalid(
            f"The heads hold {versions} versions in {len(heads)} chains, not the "
            f"signed {statement['versions']} in {statement['chains']}."
        )
    return heads


def _parsed_statement(text: str) -> dict[str, Any]:
    try:
        statement = json.loads(text)
    except ValueError as error:
        raise CheckpointInvalid(
            "Bad checkpoint: statement_text is not JSON."
        ) from error
    if not isinstance(statement, dict) or set(statement) != STATEMENT_KEYS:
        raise CheckpointInvalid(
            f"Bad checkpoint: a statement has the keys {sorted(STATEMENT_KEYS)}."
        )
    if statement["format"] != FORMAT:
        raise CheckpointInvalid(
            f"Unknown checkpoint format {statement['format']!r} (this is {FORMAT})."
        )
    return statement


def checkpoint_heads(cp: Checkpoint) -> dict[tuple[str, str], ChainHead]:
    """The heads of a stored checkpoint, verified with the configured key
    (`verify_document`)."""
    return verify_document(checkpoint_document(cp))
