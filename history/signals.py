"""Fill the extra columns of each version as simple-history writes it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connections, router, transaction
from django.db.models.signals import m2m_changed
from django.utils import timezone
from simple_history.signals import (
    post_create_historical_record,
    pre_create_historical_record,
)

from history.context import current_request_context
from history.heads import forget_changed_rows, take_head, touch_row
from history.locks import lock_object
from history.m2m import copy_m2m_rows
from history.models import M2M_ROWS_ATTRIBUTE, ROW_SAVING_ATTRIBUTE, VersionExtras
from history.selectors import history_latest, history_versions
from history.state import related_snapshot_and_rows
from history.tracking import CREATED, DELETED, UPDATED, tracked_model_for
from history.versions import complete_version

REVERTED_FROM_ATTRIBUTE = "_history_reverted_from"
# Set by services that save twice to record one version (e.g. a new object
# with many-to-many values): the type the version must have.
HISTORY_TYPE_ATTRIBUTE = "_history_type_override"
# Set by `mark_lock_held` on instances whose object's lock the transaction holds.
LOCK_HELD_ATTRIBUTE = "_history_lock_held"


def mark_lock_held(instance: Any) -> None:
    """Note on `instance` that the current transaction holds its object's lock
    (`history.locks.lock_object`), so that its versions skip taking it again.

    Services that lock an object before reading it (`history.writes.
    locked_instance`) mark it. The mark holds for the transaction (or
    savepoint) that set it, whose end releases the lock: it is an on-commit
    callback of that transaction, alive while Django still holds it, so an
    instance kept and saved in a later transaction is locked again. Costs no
    query.
    """
    using = router.db_for_write(type(instance))

    def held() -> None:
        pass

    transaction.on_commit(held, using=using)
    setattr(instance, LOCK_HELD_ATTRIBUTE, held)


def lock_held(instance: Any) -> bool:
    """Whether `mark_lock_held` marked `instance` in the transaction now open."""
    held: Callable[[], None] | None = getattr(instance, LOCK_HELD_ATTRIBUTE, None)
    if held is None:
        return False
    pending = connections[router.db_for_write(type(instance))].run_on_commit
    return any(entry[1] is held for entry in pending)


def fill_version(
    sender: Any, instance: Any, history_instance: Any, **kwargs: Any
) -> None:
    """Store the diff, the revert marker and the request context on a new version,
    and seal it onto its object's hash chain.

    The diff is against the object's newest version, whatever its type: a product
    restored after deletion is diffed against its DELETED version. A first
    CREATED version has no previous one and so no changes.

    The version extends the chain from the object's newest version, so that
    version is read under the object's lock (`lock_object`): two writers of one
    object cannot both extend the chain from the same version. Services hold
    the lock already (`mark_lock_held`); a plain `save()` or `delete()` (a
    shell, a script, a many-to-many change) takes it here, until its
    transaction ends, and the version is dated once the lock is granted, so
    that it sorts after the version it follows. (Outside a transaction the
    lock ends with its own statement: a plain save in autocommit writes its
    row and its version in separate transactions anyway.) A CREATED version
    needs no lock: its object is new, or a restore whose INSERT the primary
    key serialises.

    A service that read the object with `history.heads.read_locked` left its
    newest version and related objects on it: they are used rather than read
    again (related objects only while the version still points to them). A
    version of a change of many-to-many rows alone writes the object's row
    too (`touch_row`), so that the newest version is always one written by
    the transaction that last wrote the row, which `read_locked` relies on.
    The many-to-many rows its snapshot read are kept on the version for
    `TrackedHistoricalRecords` to record.
    """
    if not isinstance(history_instance, VersionExtras):
        return
    version: Any = history_instance
    model = tracked_model_for(sender)
    # The final type first: whether to lock and whether the version is
    # staff-only depend on it.
    override = getattr(instance, HISTORY_TYPE_ATTRIBUTE, None)
    if override is not None:
        version.history_type = override
    # What a service read under the lock (`history.heads`), if it did.
    head = take_head(instance)
    if version.history_type != CREATED and not lock_held(instance):
        lock_object(model, instance.pk)
        if not hasattr(instance, "_history_date"):
            # simple-history dated it before the lock was waited for.
            version.history_date = timezone.now()
    if version.history_type == UPDATED and not getattr(
        instance, ROW_SAVING_ATTRIBUTE, False
    ):
        # A change of many-to-many rows alone: its transaction writes the row
        # too (`history.heads`).
        touch_row(instance)
    previous = (
        head.previous
        if head is not None
        else history_latest(model=model, pk=instance.pk)
    )
    if version.history_type == DELETED:
        # The relations are gone by now; the object left as it last was.
        snapshot = previous.history_snapshot if previous is not None else {}
    else:
        snapshot, rows = related_snapshot_and_rows(
            instance, head.related if head is not None else None
        )
        setattr(version, M2M_ROWS_ATTRIBUTE, rows)
    complete_version(
        model=model,
        version=version,
        previous=previous,
        snapshot=snapshot,
        context=current_request_context(),
        reverted_from=getattr(instance, REVERTED_FROM_ATTRIBUTE, None),
    )


def keep_m2m_rows_of_deleted(
    sender: Any, instance: Any, history_instance: Any, **kwargs: Any
) -> None:
    """Give a DELETED version the many-to-many rows of the version before it.

    By the time simple-history records a deletion, the through rows are gone;
    the DELETED version records the object as it last was.
    """
    if history_instance.history_type != DELETED:
        return
    model = tracked_model_for(sender)
    previous = (
        history_versions(model=model, pk=instance.pk)
        .filter(history_id__lt=history_instance.history_id)
        .first()
    )
    if previous is not None:
        copy_m2m_rows(model, source=previous, targets=[history_instance])


def connect() -> None:
    """Connect the version filler to simple-history."""
    pre_create_historical_record.connect(
        fill_version, dispatch_uid="history.fill_version"
    )
    post_create_historical_record.connect(
        keep_m2m_rows_of_deleted, dispatch_uid="history.keep_m2m_rows_of_deleted"
    )
    m2m_changed.connect(forget_changed_rows, dispatch_uid="history.forget_changed_rows")
