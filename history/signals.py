"""Fill the extra columns of each version as simple-history writes it."""

from __future__ import annotations

from typing import Any

from simple_history.signals import pre_create_historical_record

from history.context import current_request_context
from history.diff import values_diff, values_of
from history.models import VersionExtras
from history.selectors import history_latest
from history.tracking import tracked_model_for

REVERTED_FROM_ATTRIBUTE = "_history_reverted_from"


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
    model = tracked_model_for(sender)
    previous = history_latest(model=model, pk=instance.pk)
    history_instance.history_changes = (
        {}
        if previous is None
        else values_diff(values_of(model, previous), values_of(model, history_instance))
    )
    history_instance.history_reverted_from = getattr(
        instance, REVERTED_FROM_ATTRIBUTE, None
    )
    context = current_request_context()
    if context is not None:
        history_instance.history_ip_address = context.ip_address
        history_instance.history_user_agent = context.user_agent
        history_instance.history_request_id = context.request_id


def connect() -> None:
    """Connect the version filler to simple-history."""
    pre_create_historical_record.connect(
        fill_version, dispatch_uid="history.fill_version"
    )
