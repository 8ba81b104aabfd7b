"""Fill the extra columns of each version as simple-history writes it."""

from __future__ import annotations

from typing import Any

from simple_history.signals import (
    post_create_historical_record,
    pre_create_historical_record,
)

from history.context import current_request_context
from history.m2m import copy_m2m_rows
from history.models import VersionExtras
from history.selectors import history_latest, history_versions
from history.state import related_snapshot
from history.tracking import DELETED, tracked_model_for
from history.versions import complete_version

REVERTED_FROM_ATTRIBUTE = "_history_reverted_from"
# Set by services that save twice to record one version (e.g. a new object
# with many-to-many values): the type the version must have.
HISTORY_TYPE_ATTRIBUTE = "_history_type_override"


def fill_version(
    sender: Any, instance: Any, history_instance: Any, **kwargs: Any
) -> None:
    """Store the diff, the revert marker and the request context on a new version.

    The diff is against the object's newest version, whatever its type: a product
    restored after deletion is diffed against its DELETED version. A first
    CREATED version has no previous one and so no changes.
    """
    if not isinstance(history_instance, VersionExtras):
        return
    version: Any = history_instance
    model = tracked_model_for(sender)
    previous = history_latest(model=model, pk=instance.pk)
    if version.history_type == DELETED:
        # The relations are gone by now; the object left as it last was.
        snapshot = previous.history_snapshot if previous is not None else {}
    else:
        snapshot = related_snapshot(instance)
    # The final type first: whether a version is staff-only depends on it.
    override = getattr(instance, HISTORY_TYPE_ATTRIBUTE, None)
    if override is not None:
        version.history_type = override
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
