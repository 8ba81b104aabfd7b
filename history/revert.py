"""Reverts: bring an object back to the values of one of its versions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from history.changesets import changeset_scope
from history.diff import FieldChange, history_diff
from history.errors import HistoryErrorCode, OperationDenied, operation_error
from history.locks import lock_object, lock_objects
from history.selectors import history_latest, history_versions, visible_versions
from history.signals import mark_lock_held
from history.tracking import (
    DELETED,
    history_model_for,
    history_view_permission,
    is_foreign_key,
    is_m2m,
    stored_fields,
    tracked_field_names,
    tracked_fields,
)
from history.validation import check_fields, clean_reason
from history.writes import history_save, require_permission


@dataclass(frozen=True)
class RevertResult:
    """What a revert did, or would do on a dry run."""

    instance: models.Model
    record: Any | None
    changes: list[FieldChange] = field(default_factory=list)


@changeset_scope()
@transaction.atomic
def history_revert(
    *,
    model: type[models.Model],
    pk: Any,
    record_id: Any,
    actor: Any | None,
    reason: str | None,
    fields: Iterable[str] | None = None,
    expected_latest_id: Any | None = None,
    dry_run: bool = False,
) -> RevertResult:
    """Bring an object back to the values of one of its versions.

    Writers of the object are serialised first (`lock_object`, then the row's
    `select_for_update`), so concurrent reverts and updates of one object
    queue up and each sees the others' versions. The objects the version's
    foreign keys point to are locked before it (shared, see `lock_objects`), so
    none is deleted before the revert commits. A deleted object is restored
    under its old primary key. The new version is marked as reverted from
    `record`.

    For an actor who may not read the object's history, every refusal that
    depends on its versions (an unknown, foreign or DELETED version, a stale
    `expected_latest_id`, nothing to revert, a related object gone, a version's
    invalid values) is the same NOT_FOUND, so a failed revert tells nothing of
    them; the checks that do not depend on the history come first.

    Raises:
        OperationDenied: the actor lacks change (or, to restore, add) permission.
        ValidationError: with a `HistoryErrorCode`; nothing is written.
    """
    require_permission(actor, model, "change")
    # A dry run writes nothing but shows a version's values: it is a read of
    # the history. Refusals name related objects only to those who may read it.
    reveal = actor is None or actor.has_perm(history_view_permission(model))
    if dry_run and not reveal:
        raise OperationDenied(
            f"A dry run shows a version's values: it needs the "
            f"{history_view_permission(model)} permission."
        )
    cleaned_reason = clean_reason(reason, required=True)
    names = check_fields(model, fields)
    # Versions never change: read before the locks, to lock what it points to
    # first, in the order deleting those objects locks them and then ours.
    # A version only staff see is no version to go back to for anyone else.
    staff = actor is None or bool(actor.is_authenticated and actor.is_staff)
    record = (
        None
        if record_id is None
        else visible_versions(history_model_for(model).objects.all(), staff=staff)
        .filter(history_id=record_id)
        .first()
    )
    if record is not None:
        _lock_referenced(model, record, names)
    lock_object(model, pk)

    instance = (
        None
        if pk is None
        else model._default_manager.select_for_update().filter(pk=pk).first()
    )
    if instance is not None:
        mark_lock_held(instance)
    latest = None if pk is None else history_latest(model=model, pk=pk)
    if instance is None:
        if not reveal:
            # That the object is not there is public; whether it ever was is not.
            require_permission(actor, model, "add")
        if latest is None or latest.history_type != DELETED:
            raise _refusal(
                HistoryErrorCode.NOT_FOUND, "No such object.", "id", reveal=reveal
            )
        require_permission(actor, model, "add")
        # Not deleting it, nothing waits for the deleted object while holding
        # what it pointed to: locking that now cannot deadlock.
        _lock_referenced(model, latest, tracked_field_names(model))

    pk_name = model._meta.pk.attname
    if record is None:
        raise _refusal(
            HistoryErrorCode.NOT_FOUND, "No such version.", "record", reveal=reveal
        )
    if str(getattr(record, pk_name)) != str(pk):
        raise _refusal(
            HistoryErrorCode.RECORD_MISMATCH,
            "This version belongs to another object.",
            "record",
            reveal=reveal,
        )
    if record.history_type == DELETED:
        raise _refusal(
            HistoryErrorCode.NOT_FOUND,
            "A DELETED version records no state to go back to.",
            "record",
            reveal=reveal,
        )
    newest_seen = latest
    if latest is not None and latest.history_staff_only and not staff:
        # What the actor could not see did not change what they saw.
        newest_seen = visible_versions(
            history_versions(model=model, pk=pk), staff=False
        ).first()
    if expected_latest_id is not None and (
        newest_seen is None or str(newest_seen.history_id) != str(expected_latest_id)
    ):
        raise _refusal(
            HistoryErrorCode.STALE,
            "The object has changed since: the version expected to be its newest "
            "no longer is.",
            "expected_latest",
            reveal=reveal,
        )

    restoring = instance is None
    current = latest if restoring else instance
    changes = history_diff(model=model, old=current, new=record, fields=names)
    if not changes and not restoring:
        raise _refusal(
            HistoryErrorCode.NOTHING_TO_REVERT,
            "The object already has these values.",
            None,
            reveal=reveal,
        )

    target = _restored_instance(model, latest) if restoring else instance
    assert target is not None
    m2m_values: dict[str, list[Any]] = {}
    for model_field in tracked_fields(model):
        if model_field.name in names:
            source = record
        elif restoring and is_m2m(model_field):
            source = latest  # the relations the object had when it was deleted
        else:
            continue
        if is_m2m(model_field):
            m2m_values[model_field.name] = _existing_m2m(
                model_field, source, reveal=reveal
            )
        else:
            value = getattr(source, model_field.attname)
            if is_foreign_key(model_field):
                _require_related(model_field, value, source, reveal=reveal)
            setattr(target, model_field.attname, value)
    if dry_run:
        # Show the relations the object would have, without writing them.
        related = {f.name: f.related_model for f in tracked_fields(model)}
        target._prefetched_objects_cache = {  # type: ignore[attr-defined]
            name: cast(Any, related[name])._default_manager.filter(pk__in=ids)
            for name, ids in m2m_values.items()
        }
        return RevertResult(instance=target, record=None, changes=changes)

    try:
        history_save(
            instance=target,
            actor=actor,
            reason=cleaned_reason,
            reverted_from=record,
            force_insert=restoring,
            m2m=m2m_values,
        )
    except ValidationError as error:
        if reveal:
            raise
        # Which of the version's values fails, and why, describes them.
        raise _refusal(
            HistoryErrorCode.INVALID, " ".join(error.messages), None, reveal=False
        ) from error
    return RevertResult(
        instance=target, record=history_latest(model=model, pk=pk), changes=changes
    )


CONCEALED_REFUSAL = "No such version of this object to go back to."


def _refusal(
    code: HistoryErrorCode, message: str, field: str | None, *, reveal: bool
) -> ValidationError:
    """A refusal of a revert that depends on the object's history.

    To an actor who may not read the history (`reveal` false) every such
    refusal is the same NOT_FOUND on `record`, whatever `code`: otherwise the
    answers would tell a foreign version from a missing one, or what a version
    holds.
    """
    if not reveal:
        return operation_error(
            HistoryErrorCode.NOT_FOUND, CONCEALED_REFUSAL, field="record"
        )
    return operation_error(code, message, field=field)


def _lock_referenced(
    model: type[models.Model], version: Any, names: Iterable[str]
) -> None:
    """Keep the objects `version`'s relations among `names` point to from
    being deleted until the transaction ends (a shared `lock_objects` lock)."""
    snapshot = getattr(version, "history_snapshot", None) or {}
    # Many-to-many targets first, then foreign keys, then (by the caller) the
    # object itself: the order every writer takes them in.
    ordered = sorted(tracked_fields(model), key=lambda field: not is_m2m(field))
    for model_field in ordered:
        if model_field.name not in names:
            continue
        related = cast("type[models.Model]", model_field.related_model)
        if is_foreign_key(model_field):
            lock_object(related, getattr(version, model_field.attname), shared=True)
        elif is_m2m(model_field):
            entries = snapshot.get(model_field.name) or []
            lock_objects(related, [entry["id"] for entry in entries], shared=True)


def _related_label(
    version: Any, field: models.Field[Any, Any], related_id: Any, *, reveal: bool
) -> str:
    if not reveal:
        return f"#{related_id}"
    snapshot = getattr(version, "history_snapshot", None) or {}
    entries = snapshot.get(field.name)
    if isinstance(entries, dict):
        entries = [entries]
    for entry in entries or []:
        if entry and entry.get("id") == related_id and entry.get("label"):
            return str(entry["label"])
    return f"#{related_id}"


def _require_related(
    field: models.Field[Any, Any], related_id: Any, version: Any, *, reveal: bool
) -> None:
    """Refuse to point a foreign key at an object that no longer exists."""
    if related_id is None:
        return
    related_model = field.related_model
    if not related_model._default_manager.filter(pk=related_id).exists():  # type: ignore[union-attr]
        label = _related_label(version, field, related_id, reveal=reveal)
        raise _refusal(
            HistoryErrorCode.RELATED_DELETED,
            f"The {field.verbose_name} {label!r} this version refers to no longer "
            "exists; restore it first.",
            field.name,
            reveal=reveal,
        )


def _existing_m2m(
    field: models.Field[Any, Any], version: Any, *, reveal: bool
) -> list[Any]:
    """The related ids a version records for a many-to-many field, all existing."""
    entries = (getattr(version, "history_snapshot", None) or {}).get(field.name) or []
    ids = [entry["id"] for entry in entries]
    related_model = field.related_model
    found = set(
        related_model._default_manager.filter(pk__in=ids).values_list("pk", flat=True)  # type: ignore[union-attr]
    )
    for related_id in ids:
        if related_id not in found:
            label = _related_label(version, field, related_id, reveal=reveal)
            raise _refusal(
                HistoryErrorCode.RELATED_DELETED,
                f"The {field.verbose_name} item {label!r} this version refers to "
                "no longer exists.",
                field.name,
                reveal=reveal,
            )
    return ids


def _restored_instance(model: type[models.Model], version: Any) -> models.Model:
    """A new, unsaved instance carrying every stored value of a version.

    Fields no version stores (e.g. `auto_now` timestamps) get their defaults,
    and automatic timestamps the current time, as a save would give them.
    """
    values = {f.attname: getattr(version, f.attname) for f in stored_fields(model)}
    values[model._meta.pk.attname] = getattr(version, model._meta.pk.attname)
    instance = model(**values)
    now = timezone.now()
    for model_field in model._meta.concrete_fields:
        if (
            getattr(model_field, "auto_now", False)
            or getattr(model_field, "auto_now_add", False)
        ) and getattr(instance, model_field.attname) is None:
            setattr(instance, model_field.attname, now)
    return instance
