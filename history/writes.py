"""Writes that record versions: save and delete any tracked model.

Every write runs in one transaction, so a change and its version commit together
or not at all. `actor` is the user making the change; `None` means a process
outside any request (a shell, a job), which is not permission-checked and is
recorded with no user.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any, cast

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction

from history.changesets import changeset_scope
from history.errors import (
    HistoryErrorCode,
    OperationDenied,
    as_invalid,
    operation_error,
)
from history.heads import (
    attach_head,
    known_foreign_keys,
    read_locked,
    related_pks,
)
from history.locks import lock_object, lock_objects
from history.signals import (
    HISTORY_TYPE_ATTRIBUTE,
    REVERTED_FROM_ATTRIBUTE,
    mark_lock_held,
)
from history.tracking import (
    CREATED,
    is_foreign_key,
    is_m2m,
    is_tracked,
    tracked_fields,
)
from history.validation import assign_fields, clean_reason
from history.versions import as_stored


def require_permission(
    actor: Any | None, model: type[models.Model], action: str
) -> None:
    """Refuse unless `actor` holds `<app>.<action>_<model>`; `None` is the system."""
    if actor is None:
        return
    permission = f"{model._meta.app_label}.{action}_{model._meta.model_name}"
    if not actor.has_perm(permission):
        raise OperationDenied(f"You do not have the {permission} permission.")


@changeset_scope()
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
        _full_clean(instance, known=known_foreign_keys(instance))
    except ValidationError as error:
        raise as_invalid(error) from error
    _mark(instance, actor=actor, reason=reason, reverted_from=reverted_from)
    # No savepoint: callers hold a transaction (the services', or
    # `TrackedModel.save()`'s), which an error here rolls back whole.
    with transaction.atomic(savepoint=False):
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
    # Return what was stored (decimals at the field's places, moments aware):
    # the values were validated, so the database keeps them as given but for
    # that form.
    as_stored(instance)


def _full_clean(instance: models.Model, *, known: Collection[str]) -> None:
    """Django's `full_clean()`, but for the foreign keys in `known`, whose
    objects were read under the object's lock: their fields are not checked
    again (which reads each object). Unique and constraint checks still cover
    them.
    """
    errors: dict[str, Any] = {}
    try:
        instance.clean_fields(exclude=known)
    except ValidationError as error:
        errors = error.update_error_dict(errors)
    try:
        instance.clean()
    except ValidationError as error:
        errors = error.update_error_dict(errors)
    for check in (instance.validate_unique, instance.validate_constraints):
        # Only over the fields that passed, as Django does.
        exclude = {name for name in errors if name != NON_FIELD_ERRORS}
        try:
            check(exclude=exclude)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)


@changeset_scope()
def history_delete(
    *,
    instance: models.Model,
    actor: Any | None,
    reason: str | None,
    reverted_from: Any | None = None,
) -> None:
    """Delete a tracked instance, recording its DELETED version (marked as
    reverted from `reverted_from`, when a revert deletes it)."""
    _mark(instance, actor=actor, reason=reason, reverted_from=reverted_from)
    with transaction.atomic():
        instance.delete()


def _mark(
    instance: models.Model, *, actor: Any | None, reason: str | None, reverted_from: Any
) -> None:
    instance._change_reason = reason  # type: ignore[attr-defined]
    if actor is not None and actor.is_authenticated:
        instance._history_user = actor  # type: ignore[attr-defined]
    setattr(instance, REVERTED_FROM_ATTRIBUTE, reverted_from)


def locked_instance(model: type[models.Model], pk: Any) -> Any:
    """Serialise the writers of one object (`lock_object`), then lock its row.

    The instance is marked as locked (`mark_lock_held`), so its versions do
    not take the lock again. For a tracked model, the same statement reads
    the object's newest version and related objects, which its next version
    is written from (`history.heads`).

    Raises:
        ValidationError: NOT_FOUND on `id` when there is no such object.
    """
    if is_tracked(model):
        instance, head = read_locked(model, pk)
    else:
        lock_object(model, pk)
        instance = model._default_manager.select_for_update().filter(pk=pk).first()
        head = None
    if instance is None:
        raise operation_error(
            HistoryErrorCode.NOT_FOUND,
            f"No such {model._meta.verbose_name}.",
            field="id",
        )
    mark_lock_held(instance)
    if head is not None:
        attach_head(instance, head)
    return instance


def _split_tracked(
    model: type[models.Model], data: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, list[Any]], list[str]]:
    """Field values (foreign keys by primary key, set on their column) apart
    from many-to-many values, and the names `assign_fields` may set.

    Objects the values point to are kept from being deleted until the
    transaction ends (shared locks), many-to-many targets first, then foreign
    keys: the order `history_revert` takes them in.
    """
    fields: dict[str, Any] = {}
    m2m: dict[str, list[Any]] = {}
    allowed: list[str] = []
    by_name = {field.name: field for field in tracked_fields(model)}
    for name, value in data.items():
        model_field = by_name.get(name)
        if model_field is not None and is_m2m(model_field):
            m2m[name] = list(dict.fromkeys(value or []))
        elif model_field is not None and is_foreign_key(model_field):
            fields[model_field.attname] = (
                value.pk if isinstance(value, models.Model) else value
            )
        else:
            fields[name] = value
    for model_field in by_name.values():
        if not is_m2m(model_field):
            allowed.append(
                model_field.attname if is_foreign_key(model_field) else model_field.name
            )
    for name, pks in m2m.items():
        related = cast("type[models.Model]", by_name[name].related_model)
        lock_objects(related, pks, shared=True)
    for model_field in by_name.values():
        if is_foreign_key(model_field) and model_field.attname in fields:
            related = cast("type[models.Model]", model_field.related_model)
            lock_object(related, fields[model_field.attname], shared=True)
    return fields, m2m, allowed


def _m2m_changed(instance: models.Model, m2m: Mapping[str, list[Any]]) -> bool:
    return any(related_pks(instance, name) != set(pks) for name, pks in m2m.items())


@changeset_scope()
@transaction.atomic
def tracked_create(
    *,
    model: type[models.Model],
    data: Mapping[str, Any],
    actor: Any | None,
    reason: str | None = None,
) -> Any:
    """Create an object of a tracked model and its CREATED version.

    Args:
        model: The tracked model.
        data: Values by field name: its tracked fields, foreign keys and
            many-to-many fields by related primary keys.
        actor: Who creates it (needs `add_<model>`); None is the system.
        reason: Why, stored as the version's change reason.

    Raises:
        OperationDenied: the actor lacks the add permission.
        ValidationError: UNKNOWN_FIELD, INVALID or REASON (INVALID on `reason`).
    """
    require_permission(actor, model, "add")
    fields, m2m, allowed = _split_tracked(model, data)
    instance = model()
    assign_fields(instance, fields, allowed=allowed)
    history_save(
        instance=instance,
        actor=actor,
        reason=clean_reason(reason, required=False),
        m2m=m2m,
    )
    return instance


@changeset_scope()
@transaction.atomic
def tracked_update(
    *,
    model: type[models.Model],
    pk: Any,
    data: Mapping[str, Any],
    actor: Any | None,
    reason: str | None = None,
) -> Any:
    """Change an object of a tracked model, recording an UPDATED version.

    Writers of the object are serialised (`locked_instance`). A change of no
    value writes no version and returns the object as it is.

    Raises:
        OperationDenied: the actor lacks the change permission.
        ValidationError: NOT_FOUND on `id`, UNKNOWN_FIELD, INVALID.
    """
    require_permission(actor, model, "change")
    fields, m2m, allowed = _split_tracked(model, data)
    instance = locked_instance(model, pk)
    changed = assign_fields(instance, fields, allowed=allowed)
    if not changed and not _m2m_changed(instance, m2m):
        instance.refresh_from_db()  # drop the assigned, equal values
        return instance
    history_save(
        instance=instance,
        actor=actor,
        reason=clean_reason(reason, required=False),
        m2m=m2m,
    )
    return instance


@changeset_scope()
@transaction.atomic
def tracked_delete(
    *,
    model: type[models.Model],
    pk: Any,
    actor: Any | None,
    reason: str | None = None,
) -> Any:
    """Delete an object of a tracked model, recording its DELETED version.

    Returns the deleted instance, its primary key kept.

    Raises:
        OperationDenied: the actor lacks the delete permission.
        ValidationError: NOT_FOUND on `id`.
    """
    require_permission(actor, model, "delete")
    instance = locked_instance(model, pk)
    deleted_pk = instance.pk
    history_delete(
        instance=instance, actor=actor, reason=clean_reason(reason, required=False)
    )
    instance.pk = deleted_pk
    return instance
