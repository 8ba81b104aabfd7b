"""Writes that record versions: save and delete any tracked model.

Every write runs in one transaction, so a change and its version commit together
or not at all. `actor` is the user making the change; `None` means a process
outside any request (a shell, a job), which is not permission-checked and is
recorded with no user.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction

from history.errors import OperationDenied, as_invalid
from history.signals import HISTORY_TYPE_ATTRIBUTE, REVERTED_FROM_ATTRIBUTE
from history.tracking import CREATED


def require_permission(
    actor: Any | None, model: type[models.Model], action: str
) -> None:
    """Refuse unless `actor` holds `<app>.<action>_<model>`; `None` is the system."""
    if actor is None:
        return
    permission = f"{model._meta.app_label}.{action}_{model._meta.model_name}"
    if not actor.has_perm(permission):
        raise OperationDenied(f"You do not have the {permission} permission.")


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
