"""Retention: deleting old versions without losing what matters.

`history_prune` is the only way this project deletes versions. It keeps each
live object's latest version (so every live object keeps its current values
on record), leaves the versions it keeps exactly as stored (their diffs were
computed when they were written, not against their neighbours now), and
records what it deleted: a `Pruning` row and a `Changeset` whose reason says
how many versions of which model, older than when. On PostgreSQL it is the one
writer the append-only guards let delete versions (`history.guards`).

A prune also leaves a signed checkpoint (`history.checkpoints`, kind "prune")
in its transaction, holding what it pruned: the chains' bases are then the
previous hashes of their oldest remaining versions, so what remains verifies
and the pruning itself is on record. A real prune therefore needs the signing
key, and refuses before deleting anything without it.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import models, router, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from history.checkpoints import (
    chain_heads,
    checkpoint_lock,
    latest_checkpoint,
    require_continuation,
    signing_key,
    write_checkpoint,
)
from history.guards import sanctioned_prune
from history.models import Changeset, Checkpoint, Pruning
from history.selectors import tracked_models
from history.tracking import (
    NEWEST_FIRST,
    history_model_for,
    m2m_fields,
    m2m_history_model,
)
from history.versions import user_snapshot

CHUNK_SIZE = 1000


@dataclass(frozen=True)
class PruneResult:
    """What `history_prune` deleted (or, on a dry run, would delete).

    Attributes:
        model: The tracked model's label, e.g. "products.product".
        cutoff: Versions written before this moment were candidates.
        count: How many versions were (or would be) deleted.
        pruning: The record of the prune; None on a dry run or when nothing
            was deleted.
        checkpoint: The signed checkpoint the prune left; None likewise.
    """

    model: str
    cutoff: datetime.datetime
    count: int
    pruning: Pruning | None = None
    checkpoint: Checkpoint | None = None


def history_prunable(
    *, model: type[models.Model], cutoff: datetime.datetime
) -> QuerySet[Any]:
    """The versions of `model` written before `cutoff` that a prune deletes:
    all of them but each live object's latest version."""
    history_model = history_model_for(model)
    pk_name = model._meta.pk.attname
    latest = (
        history_model.objects.filter(**{pk_name: OuterRef(pk_name)})
        .order_by(*NEWEST_FIRST)
        .values("history_id")[:1]
    )
    live = model._base_manager.filter(pk=OuterRef(pk_name))
    return history_model.objects.filter(history_date__lt=cutoff).exclude(
        Q(Exists(live)) & Q(history_id=Subquery(latest))
    )


def history_prune(
    *,
    model: type[models.Model],
    cutoff: datetime.datetime,
    actor: Any | None = None,
    dry_run: bool = False,
    on_chunk: Callable[[int], object] | None = None,
) -> PruneResult:
    """Delete the versions of `model` written before `cutoff`, keeping each live
    object's latest version, in one transaction.

    Versions are deleted in chunks of `CHUNK_SIZE` by history id, with the
    many-to-many rows they recorded, so memory stays flat. A real run that
    deletes anything writes a `Changeset` with the reason "pruned N versions
    of <model> older than <cutoff>", a `Pruning` row and a signed checkpoint
    of kind "prune" with `pruned={"model", "cutoff", "count"}`.

    Args:
        model: The tracked model whose versions are pruned.
        cutoff: Versions written before this moment are pruned.
        actor: Who prunes (None: a command outside any request).
        dry_run: Count only; write nothing.
        on_chunk: Called with the number of versions of each chunk deleted.

    Raises:
        SigningKeyMissing: a real run without a usable signing key; nothing
            was deleted.
        TrailBroken: chains no longer continue the latest checkpoint;
            nothing was deleted.
    """
    label = model._meta.label_lower
    prunable = history_prunable(model=model, cutoff=cutoff)
    if dry_run:
        return PruneResult(model=label, cutoff=cutoff, count=prunable.count())
    signing_key()
    using = router.db_for_write(prunable.model)
    with transaction.atomic(using=using), sanctioned_prune(using):
        # Before deleting: prunes and checkpoints run one at a time, and the
        # prune's checkpoint never signs over chains broken before it.
        checkpoint_lock()
        previous = latest_checkpoint()
        if previous is not None:
            require_continuation(previous, chain_heads(tracked_models()))
        count = _delete_in_chunks(model, prunable, on_chunk=on_chunk)
        if not count:
            return PruneResult(model=label, cutoff=cutoff, count=0)
        pruning = _record(label=label, cutoff=cutoff, count=count, actor=actor)
        checkpoint = write_checkpoint(
            kind=Checkpoint.Kind.PRUNE,
            pruned={"model": label, "cutoff": cutoff, "count": count},
            check_previous=False,
        )
        return PruneResult(
            model=label,
            cutoff=cutoff,
            count=count,
            pruning=pruning,
            checkpoint=checkpoint,
        )


def _delete_in_chunks(
    model: type[models.Model],
    prunable: QuerySet[Any],
    *,
    on_chunk: Callable[[int], object] | None,
) -> int:
    history_model = prunable.model
    # simple-history's many-to-many rows point at their version without a
    # constraint (DO_NOTHING): they are deleted with it here, or left orphaned.
    m2m_rows = [m2m_history_model(model, field) for field in m2m_fields(model)]
    deleted = 0
    last_id = 0
    while True:
        ids = list(
            prunable.filter(history_id__gt=last_id)
            .order_by("history_id")
            .values_list("history_id", flat=True)[:CHUNK_SIZE]
        )
        if not ids:
            return deleted
        for rows in m2m_rows:
            rows.objects.filter(history_id__in=ids).delete()
        history_model.objects.filter(history_id__in=ids).delete()
        deleted += len(ids)
        last_id = ids[-1]
        if on_chunk is not None:
            on_chunk(len(ids))


def _record(
    *, label: str, cutoff: datetime.datetime, count: int, actor: Any | None
) -> Pruning:
    now = timezone.now()
    user = actor if actor is not None and actor.is_authenticated else None
    snapshot = user_snapshot(user)
    changeset = Changeset.objects.create(
        history_date=now,
        history_user=user,
        history_change_reason=(
            f"pruned {count} versions of {label} older than {cutoff.isoformat()}"
        ),
        **snapshot,
    )
    return Pruning.objects.create(
        pruned_at=now,
        user=user,
        model=label,
        cutoff=cutoff,
        count=count,
        changeset=changeset,
    )
