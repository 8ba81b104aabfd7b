"""Reads over the versions of any tracked model."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models import OuterRef, QuerySet, Subquery

from history.models import VersionExtras
from history.tracking import DELETED, NEWEST_FIRST, history_model_for


def visible_versions(queryset: QuerySet[Any], *, staff: bool) -> QuerySet[Any]:
    """The versions of `queryset` a viewer may see: all of them for staff;
    for others, all but those that changed only fields versions do not store
    (`history_staff_only`), so that not even who, when or why leaks.

    Hiding such a version hides nothing else: it records the same stored
    values as the version before it, so the next version's diff (computed
    against it) is the diff against the version before it.
    """
    if staff:
        return queryset
    return queryset.filter(history_staff_only=False)


def history_versions(*, model: type[models.Model], pk: Any) -> QuerySet[Any]:
    """Every version of one object, newest first, deleted objects included."""
    history_model = history_model_for(model)
    pk_name = model._meta.pk.attname
    return history_model.objects.filter(**{pk_name: pk}).order_by(*NEWEST_FIRST)


def history_latest(*, model: type[models.Model], pk: Any) -> Any | None:
    """The newest version of one object, or None if it was never recorded."""
    return history_versions(model=model, pk=pk).first()


def history_latest_many(
    *, model: type[models.Model], pks: Iterable[Any], staff: bool = True
) -> list[Any]:
    """The newest version of each of several objects, in one query: of those
    a viewer who is `staff` or not may see (`visible_versions`)."""
    history_model = history_model_for(model)
    pk_name = model._meta.pk.attname
    newest = (
        visible_versions(
            history_model.objects.filter(**{pk_name: OuterRef(pk_name)}), staff=staff
        )
        .order_by(*NEWEST_FIRST)
        .values("history_id")[:1]
    )
    return list(
        history_model.objects.filter(**{f"{pk_name}__in": list(pks)}).filter(
            history_id=Subquery(newest)
        )
    )


def history_as_of(
    *, model: type[models.Model], pk: Any, at: datetime.datetime, staff: bool
) -> Any | None:
    """The version of an object in force at `at`, as `visible_versions` lets
    the viewer see them; None if it did not exist then."""
    versions = visible_versions(history_versions(model=model, pk=pk), staff=staff)
    version = versions.filter(history_date__lte=at).first()
    if version is None or version.history_type == DELETED:
        return None
    return version


def history_version(*, model: type[models.Model], history_id: Any) -> Any | None:
    """One version of `model` by its history id."""
    if history_id is None:
        return None
    return history_model_for(model).objects.filter(history_id=history_id).first()


def history_versions_by_id(
    *, model: type[models.Model], history_ids: Iterable[Any], staff: bool
) -> dict[Any, Any]:
    """Versions of `model` by history id, with their users, in one query; those
    `visible_versions` hides from the viewer are absent."""
    history_model = history_model_for(model)
    versions = visible_versions(
        history_model.objects.filter(history_id__in=list(history_ids)), staff=staff
    )
    return {v.history_id: v for v in versions.select_related("history_user")}


def history_neighbour_ids(
    *, model: type[models.Model], history_ids: Iterable[Any], newer: bool, staff: bool
) -> dict[Any, Any]:
    """For each version, the history id of the one just before (or after) it
    among those `visible_versions` lets the viewer see.

    One query reads the keys of every version of the objects involved; the
    pairing is done in memory, in the order of `NEWEST_FIRST`.
    """
    wanted = set(history_ids)
    history_model = history_model_for(model)
    pk_name = model._meta.pk.attname
    objects = history_model.objects.filter(history_id__in=wanted).values(pk_name)
    rows = (
        visible_versions(history_model.objects.all(), staff=staff)
        .filter(**{f"{pk_name}__in": objects})
        .order_by(pk_name, *NEWEST_FIRST)
        .values_list(pk_name, "history_id")
    )
    neighbours: dict[Any, Any] = dict.fromkeys(wanted)
    previous_row: tuple[Any, Any] | None = None
    for pk, history_id in rows:
        if previous_row is not None and previous_row[0] == pk:
            newer_id, older_id = previous_row[1], history_id
            if newer and older_id in wanted:
                neighbours[older_id] = newer_id
            if not newer and newer_id in wanted:
                neighbours[newer_id] = older_id
        previous_row = (pk, history_id)
    return neighbours


def objects_by_pk(*, model: type[models.Model], pks: Iterable[Any]) -> dict[Any, Any]:
    """Live objects of `model` by primary key; deleted ones are absent."""
    return {obj.pk: obj for obj in model._default_manager.filter(pk__in=list(pks))}


def tracked_models() -> list[type[models.Model]]:
    """Every model whose versions carry `VersionExtras`, ordered by label."""
    found = []
    for model in apps.get_models():
        if getattr(model._meta, "simple_history_manager_attribute", None) is None:
            continue
        if issubclass(history_model_for(model), VersionExtras):
            found.append(model)
    return sorted(found, key=lambda model: model._meta.label_lower)


def changeset_versions(*, changeset_id: Any) -> dict[type[models.Model], QuerySet[Any]]:
    """The versions one changeset wrote, per tracked model, newest first.

    Every tracked model is a key; a model the changeset did not touch has an
    empty queryset (no query is run until one is read).
    """
    if changeset_id is None:
        # Not "the versions with no changeset": no changeset at all.
        return {
            model: history_model_for(model).objects.none() for model in tracked_models()
        }
    return {
        model: history_model_for(model)
        .objects.filter(history_changeset_id=changeset_id)
        .order_by(*NEWEST_FIRST)
        for model in tracked_models()
    }


def changesets_by_id(*, ids: Iterable[Any]) -> dict[Any, Any]:
    """Changesets by id, in one query."""
    from history.models import Changeset

    return {c.pk: c for c in Changeset.objects.filter(pk__in=list(ids))}


def changeset_heads(
    *, ids: Iterable[Any], models_: Iterable[type[models.Model]], staff: bool
) -> dict[Any, Any]:
    """For each changeset, its first version among those of `models_` a viewer
    who is `staff` or not may see, or None: who, when and why, as far as the
    viewer may know them. One query per model."""
    wanted = [key for key in ids if key is not None]
    heads: dict[Any, Any] = dict.fromkeys(wanted)
    for model in models_:
        history_model = history_model_for(model)
        first = (
            visible_versions(
                history_model.objects.filter(
                    history_changeset_id=OuterRef("history_changeset_id")
                ),
                staff=staff,
            )
            .order_by("history_date", "history_id")
            .values("history_id")[:1]
        )
        versions = history_model.objects.filter(
            history_changeset_id__in=wanted, history_id=Subquery(first)
        )
        for version in versions:
            head = heads.get(version.history_changeset_id)
            if head is None or version.history_date < head.history_date:
                heads[version.history_changeset_id] = version
    return heads
