"""Bulk writes of tracked models, each object's version written complete.

`history_bulk_create` and `history_bulk_update` write many objects in a few
statements and record one version of each with `record_bulk_versions`: the
versions are built here (as simple-history's `bulk_history_create` builds
them), completed by `complete_version` like a single save's (diff against the
object's previous version, related-object snapshot, search text, request
context, changeset, hash chain) and inserted once. No version is changed
after its INSERT, so history tables can refuse UPDATE.

Rows go in with `history.inserts.insert_new`: one `COPY` per table on
PostgreSQL, `bulk_create` elsewhere. A constant number of statements, whatever
the number of objects (Django splits an INSERT into batches of
`max_query_params` on SQLite). Bad arguments are refused before anything is
written; the writes run in a transaction without a savepoint of its own, so a
failure among them inside a caller's transaction rolls the whole of it back:
nothing is half-written.
"""

from __future__ import annotations

import inspect
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

from django.db import models, transaction
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init
from django.utils import timezone

from history.changesets import changeset_scope
from history.context import current_request_context
from history.inserts import insert_new
from history.managers import tracked_bulk
from history.selectors import history_latest_many
from history.state import related_snapshots_and_rows
from history.tracking import (
    CREATED,
    UPDATED,
    history_model_for,
    m2m_fields,
    m2m_history_model,
)
from history.versions import complete_version


def record_bulk_versions(
    model: type[models.Model],
    instances: Sequence[models.Model],
    *,
    history_type: str,
    actor: Any | None,
    reason: str | None,
    m2m_rows: dict[Any, dict[str, list[dict[str, Any]]]] | None = None,
) -> list[Any]:
    """Record one version of each of `instances`, already written in bulk.

    `m2m_rows`, when the caller knows them (it just inserted them), holds
    every instance's through rows by many-to-many field, by column attname:
    they are not read back.

    The instances must be saved (their primary keys set) and hold the values
    the versions record; their many-to-many rows must be written too. The
    versions share one date, `actor` (None or an anonymous user: no user) and
    `reason`; the object's previous versions are read in one query (none for
    CREATED ones), and the versions and their many-to-many rows are inserted
    with one `insert_new` each, inside the open changeset or a new one.

    Callers hold the objects' locks (`history.locks.lock_objects`) when the
    versions are UPDATED ones, so that each extends its object's chain from
    its newest version.

    Returns:
        The versions written, in the order of `instances`.

    Raises:
        ValueError: a type other than CREATED or UPDATED, an unsaved
            instance, or one object twice (both versions would follow the same
            one, forking its chain); nothing is written.
    """
    if history_type not in (CREATED, UPDATED):
        raise ValueError(
            f"Bulk writes record CREATED or UPDATED versions, not {history_type!r}."
        )
    pks = [instance.pk for instance in instances]
    if None in pks:
        raise ValueError(
            "Bulk versions record saved objects: a primary key is missing."
        )
    _check_distinct(model, pks)
    history_model = history_model_for(model)
    with changeset_scope():
        previous = (
            {}
            if history_type == CREATED
            else {
                getattr(v, model._meta.pk.attname): v
                for v in history_latest_many(model=model, pks=pks)
            }
        )
        snapshots, rows = related_snapshots_and_rows(model, instances, m2m_rows)
        context = current_request_context()
        user = actor if actor is not None and actor.is_authenticated else None
        date = timezone.now()
        new_version = _version_maker(
            history_model,
            {
                "history_date": date,
                "history_type": history_type,
                "history_change_reason": reason,
            },
        )
        versions = []
        for instance in instances:
            version = new_version(instance)
            version.history_user = user
            complete_version(
                model=model,
                version=version,
                previous=previous.get(instance.pk),
                snapshot=snapshots[instance.pk],
                context=context,
            )
            versions.append(version)
        insert_new(history_model, versions)
        for field in m2m_fields(model):
            # The rows the snapshots were read from: the objects' rows now.
            history_m2m = m2m_history_model(model, field)
            insert_new(
                history_m2m,
                [
                    history_m2m(history=version, **row)
                    for instance, version in zip(instances, versions, strict=True)
                    for row in rows[instance.pk][field.name]
                ],
            )
    return versions


def _version_maker(
    history_model: Any, common: dict[str, Any]
) -> Callable[[models.Model], Any]:
    """How to build the version of one object: its tracked values, the
    `common` columns by attname, the object's id in `history_relation` when
    the historical model has one, and every other column's default, as the
    model's keyword constructor would set them (given by position, which
    Django sets without looking each field up)."""
    tracked = {field.attname for field in history_model.tracked_fields}
    relation = (
        history_model._meta.get_field("history_relation").attname
        if hasattr(history_model, "history_relation")
        else None
    )
    # Per column: read from the object, or a value, or a default to call.
    readers: list[tuple[Callable[[Any], Any] | None, Any]] = []
    for field in history_model._meta.concrete_fields:
        if field.attname in tracked:
            readers.append((operator.attrgetter(field.attname), None))
        elif field.attname == relation:
            readers.append((operator.attrgetter("pk"), None))
        elif field.attname in common:
            readers.append((None, common[field.attname]))
        elif field.has_default() and callable(field.default):
            readers.append((None, field.get_default))  # a new value each time
        else:
            readers.append((None, field.get_default()))
    calls = {index for index, (_, value) in enumerate(readers) if callable(value)}
    attnames = [field.attname for field in history_model._meta.concrete_fields]
    # What the constructor does with values by position, without it: each
    # value set on the new instance's __dict__ (where a field's descriptor
    # puts it), when no field has a descriptor of its own, no class of the
    # model has an `__init__` or `__setattr__` of its own and nothing listens
    # to the model's init signals.
    direct = (
        not (
            pre_init.has_listeners(history_model)
            or post_init.has_listeners(history_model)
        )
        and all(
            "__init__" not in vars(base)
            for base in history_model.__mro__
            if base not in (models.Model, object)
        )
        and history_model.__setattr__ is object.__setattr__
        and all(
            type(inspect.getattr_static(history_model, attname, None))
            in _STOCK_DESCRIPTORS
            for attname in attnames
        )
    )
    new = history_model.__new__

    def make(instance: models.Model) -> Any:
        values = [
            read(instance)
            if read is not None
            else (value() if index in calls else value)
            for index, (read, value) in enumerate(readers)
        ]
        if not direct:
            return history_model(*values)
        version = new(history_model)
        version._state = ModelState()
        version.__dict__.update(zip(attnames, values, strict=True))
        return version

    return make


# The descriptors Django gives a concrete field's attname: reading from
# __dict__, and (a foreign key's) dropping a cached related object, which a
# new instance has none of.
_STOCK_DESCRIPTORS = (DeferredAttribute, ForeignKeyDeferredAttribute)


def history_bulk_create(
    *,
    model: type[models.Model],
    instances: Sequence[models.Model],
    actor: Any | None,
    reason: str | None,
    m2m: Sequence[Mapping[str, Iterable[Any]]] | None = None,
) -> list[Any]:
    """Create many objects of a tracked model with one INSERT (a `COPY` on
    PostgreSQL), and one CREATED version of each.

    The instances are validated by the caller. `m2m`, when given, holds for
    each instance (in the same order) its many-to-many values by field name
    (related primary keys); they are written before the versions, which
    record them.

    Returns:
        The instances, their primary keys set.

    Raises:
        ValueError: `m2m` does not match the instances or names a field the
            model does not track; nothing is written.
    """
    if m2m is not None:
        _check_m2m(model, instances, m2m)
    with changeset_scope(), transaction.atomic(savepoint=False):
        created = list(instances)
        with tracked_bulk():
            insert_new(model, created)
        if any(instance.pk is None for instance in created):
            raise RuntimeError(
                f"{model._meta.label}: the database did not return the new "
                "primary keys, which the versions record."
            )
        # New objects have only the many-to-many rows written here.
        rows = _add_m2m_rows(model, created, m2m or [{}] * len(created))
        record_bulk_versions(
            model,
            created,
            history_type=CREATED,
            actor=actor,
            reason=reason,
            m2m_rows=rows,
        )
    return created


def history_bulk_update(
    *,
    model: type[models.Model],
    instances: Sequence[models.Model],
    fields: Sequence[str],
    actor: Any | None,
    reason: str | None,
) -> None:
    """Save `fields` of many objects of a tracked model in one UPDATE, and
    record one UPDATED version of each.

    Callers lock the objects first (`history.locks.lock_objects`, then the
    rows), so that no other writer of them runs in between.

    Raises:
        ValueError: one object is given twice; nothing is written.
    """
    _check_distinct(model, [instance.pk for instance in instances])
    with changeset_scope(), transaction.atomic(savepoint=False):
        with tracked_bulk():
            model._default_manager.bulk_update(list(instances), list(fields))
        record_bulk_versions(
            model, instances, history_type=UPDATED, actor=actor, reason=reason
        )


def _check_distinct(model: type[models.Model], pks: Sequence[Any]) -> None:
    seen: set[Any] = set()
    for pk in pks:
        if pk is not None and pk in seen:
            raise ValueError(
                f"{model._meta.label} {pk!r} is given twice: one version of "
                "each object per bulk write."
            )
        seen.add(pk)


def _check_m2m(
    model: type[models.Model],
    instances: Sequence[models.Model],
    values: Sequence[Mapping[str, Iterable[Any]]],
) -> None:
    if len(values) != len(instances):
        raise ValueError("Give the many-to-many values of every instance, or none.")
    known = {field.name for field in m2m_fields(model)}
    unknown = {name for entry in values for name in entry} - known
    if unknown:
        raise ValueError(
            f"{model._meta.label} tracks no many-to-many field {sorted(unknown)!r}."
        )


def _add_m2m_rows(
    model: type[models.Model],
    instances: Sequence[models.Model],
    values: Sequence[Mapping[str, Iterable[Any]]],
) -> dict[Any, dict[str, list[dict[str, Any]]]] | None:
    """Write the through rows of new objects' many-to-many values, one INSERT
    per field; the rows written, by object and field (by column attname), or
    None when the database did not return their primary keys."""
    written: dict[Any, dict[str, list[dict[str, Any]]]] = {
        instance.pk: {} for instance in instances
    }
    returned = True
    for field in m2m_fields(model):
        name = field.name
        through = cast(Any, field.remote_field).through
        owner = f"{field.m2m_field_name()}_id"
        target = f"{field.m2m_reverse_field_name()}_id"
        columns = [f.attname for f in through._meta.concrete_fields]
        rows = [
            through(**{owner: instance.pk, target: pk})
            for instance, entry in zip(instances, values, strict=True)
            for pk in dict.fromkeys(entry.get(name, ()))
        ]
        insert_new(through, rows)
        for instance in instances:
            written[instance.pk][name] = []
        for row in rows:
            returned = returned and row.pk is not None
            written[getattr(row, owner)][name].append(
                {column: getattr(row, column) for column in columns}
            )
    return written if returned else None
