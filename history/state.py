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

    Costs a query per foreign key whose object is not loaded and per
    many-to-many field.
    """
    return related_snapshot_and_rows(instance)[0]


def related_snapshot_and_rows(
    instance: models.Model, known: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """`related_snapshot`, and the through rows of each many-to-many field (by
    column attname), which the version's many-to-many records copy.

    `known` holds related objects already read (`history.heads.Head.related`):
    a foreign key's object is used while the key still points to it, a
    many-to-many field's rows as they are. A foreign key's object already
    loaded on the instance costs no query either.
    """
    model = type(instance)
    known = known or {}
    snapshot: dict[str, Any] = {}
    rows: dict[str, list[dict[str, Any]]] = {}
    for field in tracked_fields(model):
        if is_foreign_key(field):
            related_id = getattr(instance, field.attname)
            if related_id is None:
                snapshot[field.name] = None
                continue
            related = _loaded(instance, field, known)
            if related is None:
                related = field.related_model._default_manager.filter(  # type: ignore[union-attr]
                    pk=related_id
                ).first()
            snapshot[field.name] = {
                "id": related_id,
                "label": str(related) if related else None,
            }
        elif is_m2m(field):
            if field.name in known:
                entries = known[field.name]
            elif instance.pk is None:
                entries = []
            else:
                entries = _through_entries(instance, field)
            rows[field.name] = [row for row, _ in entries]
            snapshot[field.name] = sorted(
                (_related_entry(target) for _, target in entries),
                key=lambda e: e["id"],
            )
    return snapshot, rows


def _loaded(
    instance: models.Model, field: models.Field[Any, Any], known: dict[str, Any]
) -> models.Model | None:
    """The object a foreign key points to, if already read: cached on the
    instance, or in `known`."""
    related_id = getattr(instance, field.attname)
    target = cast(Any, field).target_field.attname
    candidates = [known.get(field.name)]
    if field.is_cached(instance):  # type: ignore[attr-defined]
        candidates.insert(0, field.get_cached_value(instance))  # type: ignore[attr-defined]
    for candidate in candidates:
        if candidate is not None and getattr(candidate, target) == related_id:
            return cast(models.Model, candidate)
    return None


def _through_entries(
    instance: models.Model, field: models.Field[Any, Any]
) -> list[tuple[dict[str, Any], models.Model]]:
    """The through rows of one many-to-many field of `instance` (by column
    attname), each with its target object, in one query."""
    through = cast(Any, field.remote_field).through
    owner = field.m2m_field_name()  # type: ignore[attr-defined]
    target_name = field.m2m_reverse_field_name()  # type: ignore[attr-defined]
    columns = [f.attname for f in through._meta.concrete_fields]
    return [
        ({name: getattr(row, name) for name in columns}, getattr(row, target_name))
        for row in through._default_manager.filter(**{owner: instance.pk})
        .select_related(target_name)
        .order_by("pk")
    ]


def related_snapshots(
    model: type[models.Model], instances: Iterable[models.Model]
) -> dict[Any, dict[str, Any]]:
    """`related_snapshot` of many instances of `model`, by primary key, with one
    query per relation."""
    return related_snapshots_and_rows(model, instances)[0]


def related_snapshots_and_rows(
    model: type[models.Model],
    instances: Iterable[models.Model],
    known_rows: dict[Any, dict[str, list[dict[str, Any]]]] | None = None,
) -> tuple[dict[Any, dict[str, Any]], dict[Any, dict[str, list[dict[str, Any]]]]]:
    """`related_snapshots`, and each instance's through rows of each
    many-to-many field (by column attname), which the versions' many-to-many
    records copy; one query per relation.

    `known_rows`, when given, holds every instance's through rows (a bulk
    writer's, just inserted): only their target objects are read, and none
    when there are none.
    """
    instances = list(instances)
    if known_rows is not None:
        return _snapshots_from_rows(model, instances, known_rows)
    snapshots = _fk_snapshots(model, instances)
    rows: dict[Any, dict[str, list[dict[str, Any]]]] = {obj.pk: {} for obj in instances}
    for field in tracked_fields(model):
        if is_m2m(field):
            through = cast(Any, field.remote_field).through
            owner = field.m2m_field_name()  # type: ignore[attr-defined]
            target_name = field.m2m_reverse_field_name()  # type: ignore[attr-defined]
            columns = [f.attname for f in through._meta.concrete_fields]
            through_rows = (
                through._default_manager.filter(**{f"{owner}__in": list(snapshots)})
                .select_related(target_name)
                .order_by("pk")
            )
            for obj in instances:
                snapshots[obj.pk][field.name] = []
                rows[obj.pk][field.name] = []
            for row in through_rows:
                owner_pk = getattr(row, f"{owner}_id")
                target = getattr(row, target_name)
                snapshots[owner_pk][field.name].append(_related_entry(target))
                rows[owner_pk][field.name].append(
                    {name: getattr(row, name) for name in columns}
                )
            for obj in instances:
                snapshots[obj.pk][field.name].sort(key=lambda e: e["id"])
    return snapshots, rows


def _snapshots_from_rows(
    model: type[models.Model],
    instances: list[models.Model],
    known_rows: dict[Any, dict[str, list[dict[str, Any]]]],
) -> tuple[dict[Any, dict[str, Any]], dict[Any, dict[str, list[dict[str, Any]]]]]:
    snapshots = _fk_snapshots(model, instances)
    rows: dict[Any, dict[str, list[dict[str, Any]]]] = {obj.pk: {} for obj in instances}
    for field in tracked_fields(model):
        if not is_m2m(field):
            continue
        through = cast(Any, field.remote_field).through
        pointer = through._meta.get_field(field.m2m_reverse_field_name())  # type: ignore[attr-defined]
        wanted = {
            row[pointer.attname]
            for obj in instances
            for row in known_rows.get(obj.pk, {}).get(field.name, [])
        }
        targets = (
            field.related_model._default_manager.in_bulk(  # type: ignore[union-attr]
                wanted, field_name=pointer.target_field.attname
            )
            if wanted
            else {}
        )
        for obj in instances:
            entries = known_rows.get(obj.pk, {}).get(field.name, [])
            rows[obj.pk][field.name] = list(entries)
            snapshots[obj.pk][field.name] = sorted(
                (_related_entry(targets[row[pointer.attname]]) for row in entries),
                key=lambda e: e["id"],
            )
    return snapshots, rows


def _fk_snapshots(
    model: type[models.Model], instances: list[models.Model]
) -> dict[Any, dict[str, Any]]:
    """The foreign keys' part of `related_snapshots`: one query per key."""
    snapshots: dict[Any, dict[str, Any]] = {obj.pk: {} for obj in instances}
    for field in tracked_fields(model):
        if not is_foreign_key(field):
            continue
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
