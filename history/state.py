"""The state of an object or a version, field by field, in comparable form.

Plain fields compare by their canonical text. A foreign key compares by the id
it points to and shows the related object's label as it was; a many-to-many
field compares by the set of ids and shows their labels. Versions carry those
labels in `history_snapshot`, written with the version, so a version shows
"Lamps" even after the category was renamed or deleted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from django.db import models

from history.models import VersionExtras
from history.tracking import (
    canonical_text,
    is_foreign_key,
    is_m2m,
    tracked_fields,
)

Display = str | None | list[str]


@dataclass(frozen=True)
class FieldState:
    """One field's value: `key` to compare, `display` to show and store."""

    key: Any
    display: Display


def _related_entry(obj: models.Model) -> dict[str, Any]:
    return {"id": obj.pk, "label": str(obj)}


def related_snapshot(instance: models.Model) -> dict[str, Any]:
    """The related objects of a live instance, with their labels now.

    Costs a query per foreign key not yet loaded and per many-to-many field.
    """
    model = type(instance)
    snapshot: dict[str, Any] = {}
    for field in tracked_fields(model):
        if is_foreign_key(field):
            related_id = getattr(instance, field.attname)
            related = None
            if related_id is not None:
                related = field.related_model._default_manager.filter(  # type: ignore[union-attr]
                    pk=related_id
                ).first()
            snapshot[field.name] = (
                None
                if related_id is None
                else {"id": related_id, "label": str(related) if related else None}
            )
        elif is_m2m(field):
            related_objects = (
                getattr(instance, field.name).all() if instance.pk is not None else []
            )
            snapshot[field.name] = sorted(
                (_related_entry(obj) for obj in related_objects), key=lambda e: e["id"]
            )
    return snapshot


def related_snapshots(
    model: type[models.Model], instances: Iterable[models.Model]
) -> dict[Any, dict[str, Any]]:
    """`related_snapshot` of many instances of `model`, by primary key, with one
    query per relation."""
    instances = list(instances)
    snapshots: dict[Any, dict[str, Any]] = {obj.pk: {} for obj in instances}
    for field in tracked_fields(model):
        if is_foreign_key(field):
            ids = {getattr(obj, field.attname) for obj in instances} - {None}
            related = field.related_model._default_manager.in_bulk(ids)  # type: ignore[union-attr]
            for obj in instances:
                related_id = getattr(obj, field.attname)
                target = related.get(related_id)
                snapshots[obj.pk][field.name] = (
                    None
                    if related_id is None
                    else {"id": related_id, "label": str(target) if target else None}
                )
        elif is_m2m(field):
            through = cast(Any, field.remote_field).through
            owner = field.m2m_field_name()  # type: ignore[attr-defined]
            target_name = field.m2m_reverse_field_name()  # type: ignore[attr-defined]
            rows = through._default_manager.filter(
                **{f"{owner}__in": list(snapshots)}
            ).select_related(target_name)
            for obj in instances:
                snapshots[obj.pk][field.name] = []
            for row in rows:
                target = getattr(row, target_name)
                snapshots[getattr(row, f"{owner}_id")][field.name].append(
                    _related_entry(target)
                )
            for obj in instances:
                snapshots[obj.pk][field.name].sort(key=lambda e: e["id"])
    return snapshots


def _state_from_snapshot(
    field: models.Field[Any, Any], entry: Any, related_id: Any = None
) -> FieldState:
    if is_m2m(field):
        entries = entry or []
        return FieldState(
            key=tuple(sorted(e["id"] for e in entries)),
            display=sorted(str(e["label"]) for e in entries),
        )
    if entry is None and related_id is None:
        return FieldState(key=None, display=None)
    if entry is None:
        return FieldState(key=related_id, display=str(related_id))
    label = entry.get("label")
    return FieldState(
        key=entry["id"], display=str(entry["id"]) if label is None else str(label)
    )


def state_of(
    model: type[models.Model], obj: Any, fields: Iterable[str] | None = None
) -> dict[str, FieldState]:
    """The state of a version (from its columns and snapshot) or of a live
    instance (related objects read from the database)."""
    wanted = None if fields is None else set(fields)
    snapshot = obj.history_snapshot if isinstance(obj, VersionExtras) else None
    if snapshot is None and any(
        is_foreign_key(f) or is_m2m(f)
        for f in tracked_fields(model)
        if wanted is None or f.name in wanted
    ):
        snapshot = related_snapshot(obj)
    state: dict[str, FieldState] = {}
    for field in tracked_fields(model):
        if wanted is not None and field.name not in wanted:
            continue
        if is_foreign_key(field) or is_m2m(field):
            related_id = None if is_m2m(field) else getattr(obj, field.attname)
            state[field.name] = _state_from_snapshot(
                field, (snapshot or {}).get(field.name), related_id
            )
        else:
            text = canonical_text(field, getattr(obj, field.attname))
            state[field.name] = FieldState(key=text, display=text)
    return state


def state_diff(
    old: dict[str, FieldState], new: dict[str, FieldState]
) -> dict[str, list[Display]]:
    """The stored form of a diff: `{field: [old, new]}` for each field that differs."""
    return {
        name: [old[name].display if name in old else None, value.display]
        for name, value in sorted(new.items())
        if name not in old or old[name].key != value.key
    }
