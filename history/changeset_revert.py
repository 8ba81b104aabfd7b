"""Undo a whole changeset: every object it wrote back to its version before it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction

from history.changesets import changeset_scope, current_changeset_id
from history.diff import FieldChange, history_diff
from history.errors import HistoryErrorCode, OperationDenied, operation_error
from history.locks import lock_objects
from history.revert import history_revert
from history.selectors import (
    changeset_versions,
    history_latest_many,
    history_versions,
    visible_versions,
)
from history.signals import mark_lock_held
from history.tracking import CREATED, DELETED, history_view_permission, object_pk_of
from history.validation import clean_reason
from history.writes import history_delete, require_permission

ObjectChange = tuple[type[models.Model], Any, models.Model | None, list[FieldChange]]


# The most objects one changeset revert writes (a bulk mutation writes at most
# 1000): what its answer lists is bounded by it.
MAX_CHANGESET_OBJECTS = 1000


@dataclass(frozen=True)
class ChangesetRevertResult:
    """What a changeset revert did, or would do on a dry run.

    `changes` holds, in undo order, each object changed: its model, primary
    key, the object as it is after the revert (None once deleted) and the field
    changes.
    """

    changeset_id: uuid.UUID | None
    versions: list[Any] = field(default_factory=list)
    changes: list[ObjectChange] = field(default_factory=list)


@dataclass
class _Touched:
    model: type[models.Model]
    pk: Any
    first: Any  # the changeset's first version of the object
    last: Any  # and its last


class _DryRun(Exception):
    """Rolls back the writes of a dry run."""


def _touched(changeset_id: Any, *, staff: bool) -> list[_Touched]:
    """The objects a changeset wrote, in undo order (newest last version first),
    as an actor who is `staff` or not sees its versions: a staff-only version
    changed nothing such an actor could revert, nor may they learn of it."""
    touched: dict[tuple[str, Any], _Touched] = {}
    for model, versions in changeset_versions(changeset_id=changeset_id).items():
        for version in visible_versions(versions, staff=staff):  # newest first
            key = (model._meta.label_lower, object_pk_of(version))
            entry = touched.get(key)
            if entry is None:
                touched[key] = _Touched(model, key[1], version, version)
            else:
                entry.first = version
    return sorted(
        touched.values(),
        key=lambda t: (t.last.history_date, t.last.history_id),
        reverse=True,
    )


def _check_size(changeset_id: Any) -> None:
    """Refuse a changeset of more objects than one revert may write: one query
    per tracked model, before any version is loaded."""
    touched = 0
    for model, versions in changeset_versions(changeset_id=changeset_id).items():
        touched += versions.order_by().values(model._meta.pk.attname).distinct().count()
    if touched > MAX_CHANGESET_OBJECTS:
        raise operation_error(
            HistoryErrorCode.INVALID,
            f"This changeset wrote {touched} objects; at most "
            f"{MAX_CHANGESET_OBJECTS} are reverted at once. Revert its objects "
            "one by one (`revert`) instead.",
            field="id",
        )


def _lock_all(touched: list[_Touched]) -> None:
    """Lock every object first, models by label and keys in order: the order
    writers of several models take theirs in, so none waits in a cycle."""
    by_model: dict[type[models.Model], list[Any]] = {}
    for entry in touched:
        by_model.setdefault(entry.model, []).append(entry.pk)
    for model in sorted(by_model, key=lambda m: m._meta.label_lower):
        lock_objects(model, by_model[model])


def _check_current(touched: list[_Touched], *, staff: bool) -> None:
    by_model: dict[type[models.Model], list[_Touched]] = {}
    for entry in touched:
        by_model.setdefault(entry.model, []).append(entry)
    for model, entries in by_model.items():
        latest = {
            object_pk_of(v): v.history_id
            for v in history_latest_many(
                model=model, pks=[e.pk for e in entries], staff=staff
            )
        }
        for entry in entries:
            if latest.get(entry.pk) != entry.last.history_id:
                raise operation_error(
                    HistoryErrorCode.STALE,
                    f"{model._meta.verbose_name} #{entry.pk} has changed since the "
                    "changeset; revert those changes first.",
                    field="id",
                )


def _before(entry: _Touched, *, staff: bool) -> Any | None:
    versions = history_versions(model=entry.model, pk=entry.pk)
    return (
        visible_versions(versions, staff=staff)
        .filter(history_id__lt=entry.first.history_id)
        .first()
    )


def _undo(
    touched: list[_Touched], *, actor: Any | None, reason: str | None, staff: bool
) -> Iterator[tuple[ObjectChange, Any]]:
    """Undo each object in turn; yields what changed and the version written."""
    for entry in touched:
        model, pk = entry.model, entry.pk
        before = (
            _before(entry, staff=staff) if entry.first.history_type != CREATED else None
        )
        instance = model._default_manager.select_for_update().filter(pk=pk).first()
        if before is None:
            if instance is None:
                continue  # created and deleted by the changeset: nothing to undo
            mark_lock_held(instance)  # locked by `_lock_all`
            changes: list[FieldChange] = []
            history_delete(
                instance=instance, actor=actor, reason=reason, reverted_from=entry.first
            )
            version = history_versions(model=model, pk=pk).first()
            yield (model, pk, None, changes), version
            continue
        if instance is not None and not history_diff(
            model=model, old=instance, new=before
        ):
            continue
        result = history_revert(
            model=model, pk=pk, record_id=before.history_id, actor=actor, reason=reason
        )
        yield (model, pk, result.instance, result.changes), result.record


@changeset_scope()
@transaction.atomic
def changeset_revert(
    *, changeset_id: Any, actor: Any | None, reason: str | None, dry_run: bool = False
) -> ChangesetRevertResult:
    """Bring every object a changeset wrote back to its version before it.

    Objects it updated go back to their version before its first one of them;
    objects it deleted are restored; objects it created are deleted. The undo
    runs newest first (a category deletion that moved products out: the
    category comes back, then the products move back into it), in one
    transaction that is itself one new changeset, each version marked as
    reverted from the version it went back to (a deletion: from the changeset's
    CREATED version). Every object is locked first, in a fixed order.

    Raises:
        OperationDenied: the actor lacks change permission on a model touched,
            add permission to restore, or delete permission to delete.
        ValidationError: NOT_FOUND (no such changeset), REASON_REQUIRED, STALE
            (an object changed since), NOTHING_TO_REVERT, or a refusal of
            `history_revert` (RELATED_DELETED, INVALID); nothing is written.
    """
    cleaned_reason = clean_reason(reason, required=True)
    _check_size(changeset_id)
    # What only staff see is no change for anyone else to undo or be stale on.
    staff = actor is None or bool(actor.is_authenticated and actor.is_staff)
    touched = _touched(changeset_id, staff=staff)
    if not touched:
        raise operation_error(
            HistoryErrorCode.NOT_FOUND, "No such changeset.", field="id"
        )
    for model in {entry.model for entry in touched}:
        require_permission(actor, model, "change")
        # A dry run shows versions' values: a read of the history.
        if (
            dry_run
            and actor is not None
            and not actor.has_perm(history_view_permission(model))
        ):
            raise OperationDenied(
                f"A dry run shows versions' values: it needs the "
                f"{history_view_permission(model)} permission."
            )
    for entry in touched:
        if entry.first.history_type == CREATED and entry.last.history_type != DELETED:
            require_permission(actor, entry.model, "delete")
        elif entry.first.history_type != CREATED and entry.last.history_type == DELETED:
            require_permission(actor, entry.model, "add")
    _lock_all(touched)
    _check_current(touched, staff=staff)

    changes: list[ObjectChange] = []
    versions: list[Any] = []
    try:
        with transaction.atomic():
            for change, version in _undo(
                touched, actor=actor, reason=cleaned_reason, staff=staff
            ):
                changes.append(change)
                versions.append(version)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    if not changes:
        raise operation_error(
            HistoryErrorCode.NOTHING_TO_REVERT,
            "The objects already have their values from before the changeset.",
        )
    if dry_run:
        return ChangesetRevertResult(changeset_id=None, changes=changes)
    return ChangesetRevertResult(
        changeset_id=current_changeset_id(), versions=versions, changes=changes
    )
