"""The integrity of the history in the GraphQL API: the latest signed
checkpoint and the key that verifies it.

A checkpoint reveals only digests and counts (no object's values, who or
why), so anyone who may read some history may read it; it is what a client
keeps, or compares with a copy kept elsewhere, to notice a rewritten history.
"""

from __future__ import annotations

import datetime
import enum
from typing import Any

import strawberry
import strawberry_django

from history.checkpoints import public_key
from history.models import Checkpoint
from schema.permissions import any_history_permission
from schema.registry import registered_models


@strawberry.enum(name="CheckpointKind", description="Why a checkpoint was written.")
class CheckpointKind(enum.Enum):
    CHECKPOINT = strawberry.enum_value(
        "checkpoint", description="On its own (manage.py checkpoint_history)."
    )
    PRUNE = strawberry.enum_value(
        "prune", description="By a prune, recording what it deleted."
    )


@strawberry.type(
    name="CheckpointPruned", description="What the prune that wrote it deleted."
)
class CheckpointPrunedType:
    model: str = strawberry.field(description="The tracked model, as app_label.model.")
    cutoff: datetime.datetime = strawberry.field(
        description="Versions written before this moment were pruned."
    )
    count: int = strawberry.field(description="How many versions were deleted.")


@strawberry.type(
    name="HistoryCheckpoint",
    description=(
        "A signed statement of the head of every version chain at one moment: "
        "a Merkle root over every object's chain (its base, length and newest "
        "hash) with the count of versions, signed with Ed25519. Keep it, or "
        "compare it with a copy kept outside the database: a history rewritten "
        "since no longer matches it."
    ),
)
class HistoryCheckpointType:
    id: int = strawberry.field(
        description="Its number: checkpoints are numbered in the order written."
    )
    created_at: datetime.datetime = strawberry.field(
        description="When the heads were read."
    )
    kind: CheckpointKind = strawberry.field(description="Why it was written.")
    versions: int = strawberry.field(
        description="How many versions the chains held, all models together."
    )
    chains: int = strawberry.field(
        description="How many chains (objects with versions) there were."
    )
    root: str = strawberry.field(
        description="The Merkle root over the chains' heads, in hex."
    )
    previous: str = strawberry.field(
        description=(
            "SHA-256 of the previous checkpoint's statement, in hex; empty for "
            "the first."
        )
    )
    statement: str = strawberry.field(
        description="The exact text that was signed (compact JSON, sorted keys)."
    )
    signature: str = strawberry.field(
        description="The Ed25519 signature of the statement's UTF-8 text, in base64."
    )
    public_key: str = strawberry.field(
        description=(
            "The signer's public key, in base64, as the checkpoint recorded it: "
            "verify with a key you trust (`historyPublicKey`, or one kept "
            "elsewhere), not with this one alone."
        )
    )
    pruned: CheckpointPrunedType | None = strawberry.field(
        description="What the prune that wrote it deleted; null for a checkpoint."
    )

    @classmethod
    def of(cls, checkpoint: Checkpoint) -> HistoryCheckpointType:
        """The GraphQL view of a stored checkpoint."""
        pruned = checkpoint.pruned
        return cls(
            id=checkpoint.pk,
            created_at=checkpoint.created_at,
            kind=CheckpointKind(checkpoint.kind),
            versions=checkpoint.versions,
            chains=checkpoint.chains,
            root=checkpoint.root,
            previous=checkpoint.previous,
            statement=checkpoint.statement,
            signature=checkpoint.signature,
            public_key=checkpoint.public_key,
            pruned=None
            if pruned is None
            else CheckpointPrunedType(
                model=pruned["model"],
                cutoff=datetime.datetime.fromisoformat(pruned["cutoff"]),
                count=pruned["count"],
            ),
        )


def history_checkpoint(self: Any) -> HistoryCheckpointType | None:
    # The heads (one entry per chain) are not served: left unread.
    checkpoint = Checkpoint.objects.defer("heads").order_by("-id").first()
    return None if checkpoint is None else HistoryCheckpointType.of(checkpoint)


def history_public_key(self: Any) -> str | None:
    return public_key()


def build() -> type:
    """The root query fields of the history's integrity."""
    history_reader = any_history_permission(registered_models)
    namespace: dict[str, Any] = {
        "history_checkpoint": strawberry_django.field(
            history_checkpoint,
            permission_classes=[history_reader],
            description=(
                "The latest signed checkpoint of the history; null if none was "
                "written. For viewers who may read some history."
            ),
        ),
        "history_public_key": strawberry.field(
            history_public_key,
            permission_classes=[history_reader],
            description=(
                "The public key (Ed25519, base64) this server verifies "
                "checkpoints with; null if none is configured."
            ),
        ),
    }
    return strawberry.type(type("IntegrityQuery", (), namespace))
