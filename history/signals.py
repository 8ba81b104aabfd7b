"""Fill the extra columns of each version as simple-history writes it."""

from __future__ import annotations

from typing import Any, cast

from simple_history.signals import (
    post_create_historical_record,
    pre_create_historical_record,
)

from history.context import current_request_context
from history.diff import fill_version_diff
from history.m2m import copy_m2m_rows
from history.models import VersionExtras
from history.selectors import history_latest, history_versions
from history.state import related_snapshot
from history.tracking import DELETED, tracked_model_for

REVERTED_FROM_ATTRIBUTE = "_history_reverted_from"
# Set by services that save twice to record one version (e.g. a new object
# with many-to-many values): the type the version must have.
HISTORY_TYPE_ATTRIBUTE = "_history_type_override"
USERNAME_LENGTH = cast(
    int, VersionExtras._meta.get_field("history_username").max_length
)
# The most characters of a version's search text. PostgreSQL refuses a tsvector
# over 1 MB ("string is too long for tsvector"), and the GIN index computes one
# on every insert: 64 Ki characters are at most 256 KB of UTF-8, far inside
# the limit whatever the words, and far more than anyone searches by.
MAX_SEARCH_TEXT = 65_536


def user_snapshot(user: Any | None) -> dict[str, Any]:
    """The columns that record who made a version and outlive the user.

    simple-history's `history_user` foreign key is set to null when the user is
    deleted; `history_user_pk` and `history_username` (the username as it was
    then) keep the fact. No user, or an anonymous one, leaves them empty. Bulk
    writers pass it to simple-history's helpers as `custom_historical_attrs`.
    """
    if user is None or not user.is_authenticated or user.pk is None:
        return {"history_user_pk": None, "history_username": ""}
    return {
        "history_user_pk": user.pk,
        "history_username": user.get_username()[:USERNAME_LENGTH],
    }


def fair_shares(lengths: list[int], budget: int) -> list[int]:
    """How many characters each of some texts keeps so that together they fit
    in `budget`: every text keeps an equal share, and what short texts leave
    of theirs goes to the longer ones."""
    shares = [0] * len(lengths)
    pending = sorted(range(len(lengths)), key=lambda index: lengths[index])
    while pending:
        share = budget // len(pending)
        index = pending.pop(0)
        shares[index] = min(lengths[index], share)
        budget -= shares[index]
    return shares


def search_text(version: Any) -> str:
    """What full-text search looks at: the reason, then the changed values.

    At most `MAX_SEARCH_TEXT` characters: when they do not fit, each part is
    cut to a fair share, so a huge value cannot push out the reason or the
    other values.
    """
    words = [version.history_change_reason or ""]
    for old, new in (version.history_changes or {}).values():
        for value in (old, new):
            if isinstance(value, list):
                words.extend(str(item) for item in value)
            elif value is not None:
                words.append(str(value))
    words = [word for word in words if word]
    separators = max(len(words) - 1, 0)
    if sum(map(len, words)) + separators > MAX_SEARCH_TEXT:
        shares = fair_shares([len(w) for w in words], MAX_SEARCH_TEXT - separators)
        words = [
            word[:share] for word, share in zip(words, shares, strict=True) if share
        ]
    return " ".join(words)


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
        version.history_snapshot = (
            previous.history_snapshot if previous is not None else {}
        )
    else:
        version.history_snapshot = related_snapshot(instance)
    override = getattr(instance, HISTORY_TYPE_ATTRIBUTE, None)
    if override is not None:
        version.history_type = override
    fill_version_diff(model=model, version=version, previous=previous)
    version.history_search = search_text(version)
    for name, value in user_snapshot(version.history_user).items():
        setattr(version, name, value)
    version.history_reverted_from = getattr(instance, REVERTED_FROM_ATTRIBUTE, None)
    context = current_request_context()
    if context is not None:
        version.history_ip_address = context.ip_address
        version.history_user_agent = context.user_agent
        version.history_request_id = context.request_id


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
