"""Versions written by simple-history's bulk helpers, completed in bulk."""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import models
from django.utils import timezone

from history.changesets import changeset_scope
from history.context import current_request_context
from history.m2m import record_current_m2m_rows
from history.selectors import history_latest_many
from history.state import related_snapshots
from history.tracking import history_model_for
from history.versions import (
    PER_VERSION_COLUMNS,
    PER_WRITE_COLUMNS,
    complete_version,
)


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
    they wrote gets what `complete_version` gives a single save: its diff
    against the object's previous version, its related-object snapshot and
    many-to-many rows, its search text, the request context and the
    changeset (one for the call, or the one already open). A constant number
    of queries, whatever the size.
    """
    with changeset_scope():
        yield from _record(model, instances)


def _record(
    model: type[models.Model], instances: Sequence[models.Model]
) -> Iterator[datetime.datetime]:
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
        history_model.objects.filter(
            history_date=date, **{f"{pk_name}__in": pks}
        ).select_related("history_user")
    )
    snapshots = related_snapshots(model, instances)
    context = current_request_context()
    for version in versions:
        pk = getattr(version, pk_name)
        complete_version(
            model=model,
            version=version,
            previous=previous.get(pk),
            snapshot=snapshots.get(pk, {}),
            context=context,
        )
    if versions:
        columns = list(PER_VERSION_COLUMNS)
        if any(version.history_staff_only for version in versions):
            # Inserted as False: written only when one is not, which keeps the
            # usual bulk update to its few statements.
            columns.append("history_staff_only")
        history_model.objects.bulk_update(versions, columns)
        # One actor, one request: the same values for every version, in one
        # statement whatever the number of versions.
        history_model.objects.filter(
            history_id__in=[version.history_id for version in versions]
        ).update(**{name: getattr(versions[0], name) for name in PER_WRITE_COLUMNS})
    record_current_m2m_rows(model, versions)
