"""Writes that record versions: save, delete and revert any tracked model.

Every write runs in one transaction, so a change and its version commit together
or not at all. `actor` is the user making the change; `None` means a process
outside any request (a shell, a job), which is not permission-checked and is
recorded with no user.
"""

from __future__ import annotations

import datetime
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.utils import timezone

from history.context import current_request_context
from history.diff import FieldChange, fill_version_diff, history_diff
from history.errors import (
    HistoryErrorCode,
    OperationDenied,
    as_invalid,
    operation_error,
)
from history.m2m import record_current_m2m_rows
from history.selectors import (
    history_latest,
    history_latest_many,
    history_versions,
    visible_versions,
)
from history.signals import (
    HISTORY_TYPE_ATTRIBUTE,
    REVERTED_FROM_ATTRIBUTE,
    search_text,
)
from history.state import related_snapshots
from history.tracking import (
    CREATED,
    DELETED,
    canonical_text,
    history_model_for,
    history_view_permission,
    is_foreign_key,
    is_m2m,
    stored_fields,
    tracked_field_names,
    tracked_fields,
)

# The longest change reason, in characters: a sentence or a paragraph, with a
# ticket reference; a document does not belong in the audit trail.
MAX_REASON_LENGTH = 1000


@dataclass(frozen=True)
class RevertResult:
    """What a revert did, or would do on a dry run."""

    instance: models.Model
    record: Any | None
    changes: list[FieldChange] = field(default_factory=list)


def require_permission(
    actor: Any | None, model: type[models.Model], action: str
) -> None:
    """Refuse unless `actor` holds `<app>.<action>_<model>`; `None` is the system."""
    if actor is None:
        return
    permission = f"{model._meta.app_label}.{action}_{model._meta.model_name}"
    if not actor.has_perm(permission):
        raise OperationDenied(f"You do not have the {permission} permission.")


def text_problem(value: str) -> str | None:
    """Why a text cannot be stored (NUL characters, lone surrogates), or None."""
    if "\x00" in value:
        return "Null characters are not allowed."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "The text is not valid Unicode (it has a lone surrogate)."
    return None


def clean_reason(reason: str | None, *, required: bool) -> str | None:
    """Strip a change reason; refuse a missing or blank one when it is required,
    and one longer than `MAX_REASON_LENGTH` characters."""
    cleaned = reason.strip() if reason is not None else None
    problem = text_problem(cleaned) if cleaned else None
    if cleaned and len(cleaned) > MAX_REASON_LENGTH:
        problem = f"A reason is at most {MAX_REASON_LENGTH} characters."
    if problem:
        raise operation_error(HistoryErrorCode.INVALID, problem, field="reason")
    if required and not cleaned:
        raise operation_error(
            HistoryErrorCode.REASON_REQUIRED, "A reason is required.", field="reason"
        )
    return cleaned or None


def _lock_key(model: type[models.Model], pk: Any) -> int:
    label = zlib.crc32(model._meta.label_lower.encode())
    return ((label << 32) | (zlib.crc32(str(pk).encode()) & 0xFFFFFFFF)) - (1 << 63)


def lock_objects(
    model: type[models.Model], pks: Iterable[Any], *, shared: bool = False
) -> None:
    """Serialise writers of some objects, whether or not their rows exist.

    On PostgreSQL, transaction-scoped advisory locks on (model, pk) cover deleted
    objects too, whose restore has no row to lock; they are taken in one
    statement, in key order, so that concurrent callers cannot deadlock.
    SQLite runs one writing transaction at a time anyway.

    `shared` locks are for writers that only point to the objects (an object
    put into a group): they do not wait for each other, only for holders of
    the exclusive lock (a writer or deleter of the object itself), so an object
    cannot be deleted while a reference to it is being written.
    """
    keys = sorted({_lock_key(model, pk) for pk in pks if pk is not None})
    if connection.vendor != "postgresql" or not keys:
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {function}(key) FROM unnest(%s::bigint[]) AS key ORDER BY key",
            [keys],
        )


def lock_object(model: type[models.Model], pk: Any, *, shared: bool = False) -> None:
    """Serialise writers of one object; see `lock_objects`."""
    lock_objects(model, [pk], shared=shared)


def assign_fields(
    instance: models.Model, data: Mapping[str, Any], *, allowed: Iterable[str]
) -> bool:
    """Set fields of `instance` from `data`; whether any tracked value changed.

    Raises:
        ValidationError: UNKNOWN_FIELD for a name outside `allowed`, INVALID for
            a null given to a field that cannot be null or a text that cannot be
            stored.
    """
    allowed = set(allowed)
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise operation_error(
            HistoryErrorCode.UNKNOWN_FIELD, f"Unknown fields: {', '.join(unknown)}."
        )
    problems = {
        name: problem
        for name, value in data.items()
        if isinstance(value, str) and (problem := text_problem(value))
    }
    if problems:
        raise ValidationError(
            {
                name: ValidationError(problem, code=HistoryErrorCode.INVALID)
                for name, problem in problems.items()
            }
        )
    model = type(instance)
    nulls = [
        name
        for name, value in data.items()
        if value is None and not model._meta.get_field(name).null
    ]
    if nulls:
        raise ValidationError(
            {
                name: ValidationError(
                    "This field cannot be null.", code=HistoryErrorCode.INVALID
                )
                for name in nulls
            }
        )
    fields = [
        cast("models.Field[Any, Any]", model._meta.get_field(name)) for name in data
    ]
    before = [canonical_text(f, getattr(instance, f.attname)) for f in fields]
    for name, value in data.items():
        setattr(instance, name, value)
    after = [canonical_text(f, getattr(instance, f.attname)) for f in fields]
    return instance.pk is None or before != after


@contextmanager
def record_bulk_versions(
    model: type[models.Model],
    instances: Sequence[models.Model],
    *,
    actor: Any | None,
    reason: str | None,
) -> Iterator[datetime.datetime]:
    """Complete the versions a simple-history bulk helper writes.

    Wrap `bulk_create_with_history` / `bulk_update_with_history`, passing them
    the yielded `default_date` and `custom_historical_attrs=user_snapshot(actor)`
    (who made them, kept after the user is deleted). Afterwards each version
    they wrote gets what `fill_version` gives a single save: its diff against
    the object's previous version, its related-object snapshot and many-to-many
    rows, its search text and the request context. A constant number of
    queries, whatever the size.
    """
    history_model = history_model_for(model)
    pk_name = model._meta.pk.attname
    date = timezone.now()
    existing = [obj.pk for obj in instances if obj.pk is not None]
    previous = {
        getattr(v, pk_name): v for v in history_latest_many(model=model, pks=existing)
    }
    yield date
    pks = [obj.pk for obj in instances]
    versions = list(
        history_model.objects.filter(history_date=date, **{f"{pk_name}__in": pks})
    )
    snapshots = related_snapshots(model, instances)
    context = current_request_context()
    for version in versions:
        pk = getattr(version, pk_name)
        version.history_snapshot = snapshots.get(pk, {})
        fill_version_diff(model=model, version=version, previous=previous.get(pk))
        version.history_search = search_text(version)
        if context is not None:
            version.history_ip_address = context.ip_address
            version.history_user_agent = context.user_agent
            version.history_request_id = context.request_id
    columns = [
        "history_snapshot",
        "history_changes",
        "history_segments",
        "history_search",
        "history_ip_address",
        "history_user_agent",
        "history_request_id",
    ]
    if any(version.history_staff_only for version in versions):
        # Inserted as False: written only when one is not, which keeps the
        # usual bulk update to its few statements.
        columns.append("history_staff_only")
    history_model.objects.bulk_update(versions, columns)
    record_current_m2m_rows(model, versions)


def history_save(
    *,
    instance: models.Model,
    actor: Any | None,
    reason: str | None,
    reverted_from: Any | None = None,
    force_insert: bool = False,
    m2m: Mapping[str, Iterable[Any]] | None = None,
) -> None:
    """Validate and save a tracked instance, recording one version.

    `m2m` sets many-to-many fields (by related primary keys) as part of the same
    version: the rows are written first, without history, and the version is
    recorded once, with them.

    Raises:
        ValidationError: with code INVALID for each field that fails validation.
    """
    try:
        instance.full_clean(validate_unique=True, validate_constraints=True)
    except ValidationError as error:
        raise as_invalid(error) from error
    _mark(instance, actor=actor, reason=reason, reverted_from=reverted_from)
    with transaction.atomic():
        if m2m:
            creating = force_insert or instance._state.adding
            instance.skip_history_when_saving = True  # type: ignore[attr-defined]
            try:
                if creating:
                    instance.save(force_insert=True)
                for name, related in m2m.items():
                    getattr(instance, name).set(list(related))
            finally:
                del instance.skip_history_when_saving  # type: ignore[attr-defined]
            if creating:
                setattr(instance, HISTORY_TYPE_ATTRIBUTE, CREATED)
            try:
                instance.save()
            finally:
                if creating:
                    delattr(instance, HISTORY_TYPE_ATTRIBUTE)
        else:
            instance.save(force_insert=force_insert)
    # Return what was stored (e.g. decimals at the field's precision).
    instance.refresh_from_db()


def history_delete(
    *, instance: models.Model, actor: Any | None, reason: str | None
) -> None:
    """Delete a tracked instance, recording its DELETED version."""
    _mark(instance, actor=actor, reason=reason, reverted_from=None)
    with transaction.atomic():
        instance.delete()


def _mark(
    instance: models.Model, *, actor: Any | None, reason: str | None, reverted_from: Any
) -> None:
    instance._change_reason = reason  # type: ignore[attr-defined]
    if actor is not None and actor.is_authenticated:
        instance._history_user = actor  # type: ignore[attr-defined]
    setattr(instance, REVERTED_FROM_ATTRIBUTE, reverted_from)


def _check_fields(model: type[models.Model], fields: Iterable[str] | None) -> list[str]:
    names = tracked_field_names(model)
    if fields is None:
        return names
    wanted = list(dict.fromkeys(fields))
    unknown = [name for name in wanted if name not in names]
    if unknown or not wanted:
        raise operation_error(
            HistoryErrorCode.UNKNOWN_FIELD,
            f"Not tracked: {', '.join(unknown) or '(no fields given)'}. "
            f"Tracked fields: {', '.join(names)}.",
            field="fields",
        )
    return wanted


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
    names = _check_fields(model, fields)
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
            "The object has changed since: expectedLatest is no longer its newest "
            "version.",
            "expectedLatest",
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
