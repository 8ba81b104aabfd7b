"""One tracked object locked, with its newest version and its related objects,
read by one statement.

A service that changes an object locks it (the advisory lock of
`history.locks`, then its row), reads its newest version (the previous hash
and the values the diff is against) and its related objects (the version's
snapshot); `read_locked` does all of it in one SELECT. What it read is kept on
the instance (`attach_head`) for the version its save writes
(`history.signals.fill_version`), for the transaction that read it.

Under READ COMMITTED a statement reads the database as it was when the
statement began, even where it waited for a lock: what it read of the newest
version may be older than the lock. Every writer of an existing object's
version also writes its row (an update, or `touch_row` for a change of its
many-to-many rows alone), in the transaction that writes the version, so the
row's `xmin` is the transaction of its newest version; when the newest
version read does not carry that transaction (`history_txid`, see
`history.guards`), or the model has no such column, it is read again, after
the lock. On SQLite writers run one at a time, and what was read is current.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from django.db import connections, models, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from history.locks import lock_key
from history.selectors import history_latest
from history.tracking import (
    NEWEST_FIRST,
    history_model_for,
    is_foreign_key,
    is_m2m,
    m2m_fields,
    tracked_fields,
)

HEAD_ATTRIBUTE = "_history_head"
# xmin is a 32-bit transaction id; txid_current() carries an epoch above it.
_XID_MODULUS = 1 << 32


@dataclass
class Head:
    """What `read_locked` read with the row: the newest version (None when
    there is none) and the related objects now, by tracked field name.

    A foreign key maps to the related instance (None when the key is null);
    a many-to-many field to its through rows (by column attname) each with
    its target instance. `alive` is the transaction marker (see
    `history.signals.mark_lock_held`).
    """

    previous: Any | None
    related: dict[str, Any] = field(default_factory=dict)
    alive: Callable[[], None] | None = None


def _column(model_field: Any) -> str:
    return cast(str, model_field.column)


def _converters(
    connection: BaseDatabaseWrapper, fields: list[models.Field[Any, Any]]
) -> list[tuple[models.Field[Any, Any], Any, list[Any]]]:
    found = []
    for model_field in fields:
        column = model_field.get_col(model_field.model._meta.db_table)
        found.append(
            (
                model_field,
                column,
                connection.ops.get_db_converters(column)
                + model_field.get_db_converters(connection),
            )
        )
    return found


def _convert(
    connection: BaseDatabaseWrapper,
    converters: list[tuple[models.Field[Any, Any], Any, list[Any]]],
    values: list[Any],
) -> list[Any]:
    out = []
    for (_, column, functions), value in zip(converters, values, strict=True):
        for function in functions:
            value = function(value, column, connection)
        out.append(value)
    return out


@dataclass(frozen=True)
class _Plan:
    sql: str
    own: list[models.Field[Any, Any]]
    versions: list[models.Field[Any, Any]]
    # Each foreign key's target fields, and their converters.
    foreign: list[
        tuple[models.ForeignKey[Any, Any], list[models.Field[Any, Any]], list[Any]]
    ]
    many: list[
        tuple[
            models.ManyToManyField[Any, Any],
            list[models.Field[Any, Any]],
            list[models.Field[Any, Any]],
        ]
    ]
    checks_fresh: bool
    # The converters of `own` and `versions` (as a queryset's compiler finds
    # them), found once with the plan.
    own_converters: list[Any]
    version_converters: list[Any]


_plans: dict[tuple[str, type[models.Model]], _Plan] = {}


def _plan(connection: BaseDatabaseWrapper, model: type[models.Model]) -> _Plan:
    key = (connection.alias, model)
    if key not in _plans:
        _plans[key] = _build_plan(connection, model)
    return _plans[key]


def _build_plan(connection: BaseDatabaseWrapper, model: type[models.Model]) -> _Plan:
    qn = connection.ops.quote_name
    postgresql = connection.vendor == "postgresql"
    history_model = history_model_for(model)
    own = list(model._meta.concrete_fields)
    versions = list(history_model._meta.concrete_fields)
    pk_column = qn(_column(model._meta.pk))
    history_table = qn(history_model._meta.db_table)
    history_pk = qn(history_model._meta.get_field(model._meta.pk.attname).column)
    order = ", ".join(
        f"h2.{qn(history_model._meta.get_field(name.lstrip('-')).column)} DESC"
        for name in NEWEST_FIRST
    )
    history_id = qn(_column(history_model._meta.pk))
    columns = [f"t.{qn(_column(f))}" for f in own]
    columns += [f"h.{qn(_column(f))}" for f in versions]
    joins = [
        f"LEFT JOIN {history_table} h ON h.{history_id} = (SELECT h2.{history_id} "
        f"FROM {history_table} h2 WHERE h2.{history_pk} = t.{pk_column} "
        f"ORDER BY {order} LIMIT 1)"
    ]
    foreign: list[Any] = []
    many: list[Any] = []
    for index, tracked in enumerate(tracked_fields(model)):
        if is_foreign_key(tracked):
            fk = cast("models.ForeignKey[Any, Any]", tracked)
            related = fk.related_model
            related_fields = list(related._meta.concrete_fields)
            alias = f"r{index}"
            joins.append(
                f"LEFT JOIN {qn(related._meta.db_table)} {alias} ON "
                f"{alias}.{qn(_column(fk.target_field))} = t.{qn(_column(fk))}"
            )
            columns += [f"{alias}.{qn(_column(f))}" for f in related_fields]
            foreign.append(
                (fk, related_fields, _converters(connection, related_fields))
            )
        elif is_m2m(tracked):
            m2m = cast("models.ManyToManyField[Any, Any]", tracked)
            through = cast(Any, m2m.remote_field).through
            target = m2m.related_model
            through_fields = list(through._meta.concrete_fields)
            target_fields = list(target._meta.concrete_fields)
            owner = through._meta.get_field(m2m.m2m_field_name())
            pointer = through._meta.get_field(m2m.m2m_reverse_field_name())
            items = ", ".join(
                [f"th.{qn(_column(f))}" for f in through_fields]
                + [f"tg.{qn(_column(f))}" for f in target_fields]
            )
            aggregate = (
                f"json_agg(json_build_array({items}))"
                if postgresql
                else f"json_group_array(json_array({items}))"
            )
            columns.append(
                f"(SELECT {aggregate} FROM {qn(through._meta.db_table)} th "
                f"JOIN {qn(target._meta.db_table)} tg ON "
                f"tg.{qn(_column(pointer.target_field))} = th.{qn(_column(pointer))} "
                f"WHERE th.{qn(_column(owner))} = t.{qn(_column(owner.target_field))})"
            )
            many.append((m2m, through_fields, target_fields))
    where = f"t.{pk_column} = %s"
    lock = ""
    if postgresql:
        # The advisory lock first (a one-time filter, before any row is
        # locked), the order every writer takes the two in.
        where += " AND pg_advisory_xact_lock(%s) IS NOT NULL"
        lock = " FOR UPDATE OF t"
        columns.append(
            f"(to_jsonb(h) ->> 'history_txid')::bigint %% {_XID_MODULUS} "
            "= t.xmin::text::bigint"
        )
    sql = (
        f"SELECT {', '.join(columns)} FROM {qn(model._meta.db_table)} t "
        f"{' '.join(joins)} WHERE {where}{lock}"
    )
    return _Plan(
        sql,
        own,
        versions,
        foreign,
        many,
        checks_fresh=postgresql,
        own_converters=_converters(connection, own),
        version_converters=_converters(connection, versions),
    )


def read_locked(model: type[models.Model], pk: Any) -> tuple[Any | None, Head | None]:
    """Lock one object of a tracked model (advisory lock, then its row) and read
    it with its newest version and related objects, in one statement.

    Returns:
        The instance and its `Head`, or (None, None) when there is no such row.
    """
    using = router.db_for_write(model)
    connection = connections[using]
    plan = _plan(connection, model)
    value = model._meta.pk.get_prep_value(pk)
    if value is None:
        return None, None
    params: list[Any] = [value]
    if plan.checks_fresh:
        params.append(lock_key(model, pk))
    with connection.cursor() as cursor:
        cursor.execute(plan.sql, params)
        row = cursor.fetchone()
    if row is None:
        return None, None
    values = list(row)
    own = _take(values, len(plan.own))
    instance = model.from_db(
        using,
        [f.attname for f in plan.own],
        _convert(connection, plan.own_converters, own),
    )
    version_values = _take(values, len(plan.versions))
    history_model = history_model_for(model)
    previous = None
    if version_values[[f.primary_key for f in plan.versions].index(True)] is not None:
        previous = history_model.from_db(
            using,
            [f.attname for f in plan.versions],
            _convert(connection, plan.version_converters, version_values),
        )
    related: dict[str, Any] = {}
    for fk, related_fields, converters in plan.foreign:
        related_values = _take(values, len(related_fields))
        target_model = fk.related_model
        related[fk.name] = (
            None
            if getattr(instance, fk.attname) is None
            or related_values[related_fields.index(fk.target_field)] is None
            else target_model.from_db(
                using,
                [f.attname for f in related_fields],
                _convert(connection, converters, related_values),
            )
        )
    for m2m, through_fields, target_fields in plan.many:
        items = values.pop(0)
        if isinstance(items, str):
            items = json.loads(items)
        target_model = m2m.related_model
        entries = []
        for item in items or []:
            through_row = {
                f.attname: f.to_python(v)
                for f, v in zip(
                    through_fields, item[: len(through_fields)], strict=True
                )
            }
            target = target_model.from_db(
                using,
                [f.attname for f in target_fields],
                [
                    f.to_python(v)
                    for f, v in zip(
                        target_fields, item[len(through_fields) :], strict=True
                    )
                ],
            )
            entries.append((through_row, target))
        related[m2m.name] = entries
    if plan.checks_fresh and not values.pop(0):
        # Written since this statement began (or never by a version-writing
        # transaction): read the newest version again, now that it is
        # locked, and the related objects when the version is written.
        previous = history_latest(model=model, pk=instance.pk)
        related = {}
    return instance, Head(previous=previous, related=related)


def _take(values: list[Any], count: int) -> list[Any]:
    taken = values[:count]
    del values[:count]
    return taken


def attach_head(instance: Any, head: Head) -> None:
    """Keep `head` on `instance` for the transaction now open (its newest
    version and related objects as read under the lock)."""
    using = router.db_for_write(type(instance))

    def alive() -> None:
        pass

    transaction.on_commit(alive, using=using)
    head.alive = alive
    setattr(instance, HEAD_ATTRIBUTE, head)


def take_head(instance: Any) -> Head | None:
    """The head `attach_head` kept on `instance` in the transaction now open,
    removed from it (a version written from it makes it old); None if there
    is none."""
    head: Head | None = instance.__dict__.pop(HEAD_ATTRIBUTE, None)
    if head is None or not _alive(instance, head):
        return None
    return head


def _alive(instance: Any, head: Head) -> bool:
    pending = connections[router.db_for_write(type(instance))].run_on_commit
    return head.alive is not None and any(entry[1] is head.alive for entry in pending)


def known_foreign_keys(instance: models.Model) -> list[str]:
    """The foreign keys of `instance` whose objects were read under its lock
    in the transaction now open: the key it had when locked (a deleter of the
    object it points to locks every object pointing to it first), or one set
    to an object loaded since (services lock what they point to before
    reading it). Empty for an instance read without `read_locked`."""
    head: Head | None = instance.__dict__.get(HEAD_ATTRIBUTE)
    if head is None or not _alive(instance, head):
        return []
    known = []
    for tracked in tracked_fields(type(instance)):
        if (
            not is_foreign_key(tracked)
            or cast(Any, tracked.remote_field).limit_choices_to
        ):
            continue
        value = getattr(instance, tracked.attname)
        target = cast(Any, tracked).target_field.attname
        loaded = [head.related.get(tracked.name)]
        if tracked.is_cached(instance):  # type: ignore[attr-defined]
            loaded.append(tracked.get_cached_value(instance))  # type: ignore[attr-defined]
        if value is not None and any(
            obj is not None and getattr(obj, target) == value for obj in loaded
        ):
            known.append(tracked.name)
    return known


def related_pks(instance: models.Model, name: str) -> set[Any]:
    """The primary keys of the objects a many-to-many field of `instance`
    holds: from its head when it has one, else read (one query)."""
    head: Head | None = instance.__dict__.get(HEAD_ATTRIBUTE)
    if head is not None and name in head.related:
        return {target.pk for _, target in head.related[name]}
    return set(getattr(instance, name).values_list("pk", flat=True))


def forget_changed_rows(
    sender: Any, instance: Any, action: str, reverse: bool, **kwargs: Any
) -> None:
    """An `m2m_changed` receiver: forget the rows a head kept of a
    many-to-many field about to change (they are read again for the
    version). A change from the other side (`tag.products.add(...)`) reaches
    other instances than a service's: it forgets the whole head of none."""
    if reverse or not action.startswith("pre_"):
        return
    head: Head | None = instance.__dict__.get(HEAD_ATTRIBUTE)
    if head is None:
        return
    model: type[models.Model] = type(instance)
    for m2m in m2m_fields(model):
        if cast(Any, m2m.remote_field).through is sender:
            head.related.pop(m2m.name, None)


def touch_row(instance: models.Model) -> None:
    """Write the row of `instance` without changing it, taking its row lock:
    a version of its many-to-many rows alone then still comes from the
    transaction that last wrote the row (see the module's docstring)."""
    model = type(instance)
    using = router.db_for_write(model)
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    qn = connection.ops.quote_name
    column = qn(_column(model._meta.pk))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {qn(model._meta.db_table)} SET {column} = {column} "
            f"WHERE {column} = %s",
            [instance.pk],
        )
