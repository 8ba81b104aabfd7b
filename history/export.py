"""Reading every version of every tracked model out, oldest first, in constant
memory: the rows `manage.py export_history` writes.

The versions are read in pages by their keyset (`history.paging.feed_page`,
one model or several interleaved), so memory holds one page whatever the
size of the trail.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Q, QuerySet

from history.paging import Bounds, Key, feed_page, feed_total
from history.tracking import CREATED, DELETED, UPDATED, history_model_for

EXPORT_COLUMNS = (
    "model",
    "object_id",
    "history_id",
    "type",
    "date",
    "user",
    "reason",
    "changeset",
    "changes",
)
TYPE_NAMES = {CREATED: "CREATED", UPDATED: "UPDATED", DELETED: "DELETED"}
PAGE_SIZE = 500


class UnknownUser(LookupError):
    """A user filter names nobody: no such user, and no version recorded one."""


def history_export_querysets(
    *,
    models_: Sequence[type[models.Model]],
    since: datetime.datetime | None = None,
    until: datetime.datetime | None = None,
    username: str | None = None,
) -> list[QuerySet[Any]]:
    """The versions to export, one queryset per tracked model.

    Args:
        models_: The tracked models whose versions are read.
        since: Versions written at or after this moment only.
        until: Versions written before this moment only.
        username: Versions written by this user only: by the username recorded
            with each version (kept after the user is renamed or deleted), or
            by the user's id.

    Raises:
        UnknownUser: `username` names no user and no version recorded it.
    """
    condition = Q()
    if since is not None:
        condition &= Q(history_date__gte=since)
    if until is not None:
        condition &= Q(history_date__lt=until)
    querysets = []
    for model in models_:
        pk_name = model._meta.pk.attname
        querysets.append(
            history_model_for(model)
            .objects.filter(condition)
            .only(
                pk_name,
                "history_id",
                "history_date",
                "history_type",
                "history_username",
                "history_change_reason",
                "history_changeset_id",
                "history_changes",
            )
        )
    if username is None:
        return querysets
    by_user = Q(history_username=username)
    user = get_user_model()._default_manager.filter(username=username).first()
    if user is not None:
        by_user |= Q(history_user_id=user.pk)
    querysets = [queryset.filter(by_user) for queryset in querysets]
    if user is None and not any(queryset.exists() for queryset in querysets):
        raise UnknownUser(username)
    return querysets


def history_export_count(querysets: Sequence[QuerySet[Any]]) -> int:
    """How many versions `history_export_rows` will yield (one COUNT per model)."""
    return feed_total(querysets)


def history_export_rows(
    querysets: Sequence[QuerySet[Any]], *, page_size: int = PAGE_SIZE
) -> Iterator[dict[str, Any]]:
    """Every version of the querysets, oldest first, as a flat dict of
    `EXPORT_COLUMNS`: one page of `page_size` versions in memory at a time.

    A page is one query for the keys and one per model on it; paging is by key,
    so versions written meanwhile neither shift nor repeat the rest.
    """
    before: Key | None = None
    while True:
        # Read from the oldest end: `last` versions just newer than `before`.
        page = feed_page(querysets, bounds=Bounds(last=page_size, before=before))
        oldest_first = page.versions[::-1]
        for version in oldest_first:
            yield export_row(version)
        if not page.has_previous or not oldest_first:
            return
        before = Key.of(oldest_first[-1])


def export_row(version: Any) -> dict[str, Any]:
    """One version as a flat dict of `EXPORT_COLUMNS` (the date in ISO form,
    `changes` the stored diff `{field: [old, new]}`)."""
    model = version.instance_type
    changeset = version.history_changeset_id
    return {
        "model": model._meta.label_lower,
        "object_id": getattr(version, model._meta.pk.attname),
        "history_id": version.history_id,
        "type": TYPE_NAMES.get(version.history_type, version.history_type),
        "date": version.history_date.isoformat(),
        "user": version.history_username or None,
        "reason": version.history_change_reason,
        "changeset": str(changeset) if changeset is not None else None,
        "changes": version.history_changes,
    }
