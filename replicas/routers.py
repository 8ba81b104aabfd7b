"""Send history reads to a read replica, and everything else to the primary.

Active when `DATABASE_REPLICA_URL` is set: the settings then add the database
alias `replica` and this router. It sends reads of versions (every historical
model) and of changesets, the audit log's reads, to the replica, except:

- in a transaction (`atomic`) on the primary: the services read what they are
  about to write, under their locks, on the primary;
- once the request (or, outside a request, the context) has written anything:
  a write followed by a read in the same request reads the primary, so a
  mutation's answer shows the versions it wrote, whatever the replica's lag.

Every other model reads and writes the primary. A version loaded from the
replica reads its relations (its user, say) there too: Django routes a related
read to the database its instance came from.

Across requests the replica may lag: a client that wrote in one request and
reads in the next may miss its write on the replica for as long as the lag.
"""

from __future__ import annotations

import functools
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models

REPLICA = "replica"


@dataclass
class ReadScope:
    """Whether the request (or context) it belongs to has written."""

    wrote: bool = False


# Set per request by `ReplicaMiddleware`. Mutable, so that a write made in a
# copy of the context (sync_to_async, a task of graphql-core's) is seen by the
# request's later reads in any other copy.
_scope: ContextVar[ReadScope | None] = ContextVar("replica_read_scope", default=None)


def read_scope_begin() -> Any:
    """Start a fresh scope (nothing written yet); returns the token that
    `read_scope_end` takes."""
    return _scope.set(ReadScope())


def read_scope_end(token: Any) -> None:
    """End the scope `read_scope_begin` started."""
    _scope.reset(token)


def has_written() -> bool:
    """Whether anything was written in the current scope."""
    scope = _scope.get()
    return scope is not None and scope.wrote


def _note_write() -> None:
    scope = _scope.get()
    if scope is None:
        # Outside a request (a command, the shell): from now on, this context.
        _scope.set(ReadScope(wrote=True))
    else:
        scope.wrote = True


@functools.cache
def reads_history(model: type[models.Model]) -> bool:
    """Whether reads of `model` may go to the replica: versions, changesets and
    checkpoints. A checkpoint is read where the versions it signed are: the
    replica replays commits in order, so one it holds comes with its versions,
    and a lagging replica is never taken for a truncated chain."""
    from simple_history.models import HistoricalChanges

    from history.models import Changeset, Checkpoint

    return issubclass(model, HistoricalChanges | Changeset | Checkpoint)


class ReplicaRouter:
    """History reads to `replica`, unless in a transaction or after a write."""

    def db_for_read(self, model: type[models.Model], **hints: Any) -> str | None:
        if not reads_history(model) or has_written():
            return None
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return None
        return REPLICA

    def db_for_write(self, model: type[models.Model], **hints: Any) -> str | None:
        _note_write()
        # The primary, even for an object read from the replica.
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # The replica is a copy of the primary: their rows may relate.
        databases = {DEFAULT_DB_ALIAS, REPLICA}
        if obj1._state.db in databases and obj2._state.db in databases:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        # The replica follows the primary's schema by replication.
        return False if db == REPLICA else None
