"""Insert many new rows at once: `COPY` on PostgreSQL, `bulk_create` elsewhere.

`bulk_create` on PostgreSQL sends its rows as one array per column, which
psycopg builds and quotes on the client, and prepares every value through the
model's fields on the way; for the tens of thousands of versions of an import
that is most of its time. `COPY ... FROM STDIN` streams the same values (each
prepared by its field as `bulk_create` prepares it) row by row, in the
binary-backed writer of psycopg, and is the fastest way into a table that
PostgreSQL has.

`COPY` returns no primary keys, so new ones are drawn from the table's
sequence first, in one statement, in the order of the objects (as
`bulk_create` assigns them). Row triggers, constraint triggers (the history
guards) and constraints fire for `COPY` as they do for `INSERT`.

The statement runs through the connection's execute wrappers (the request's
database budget, query counters) and is logged as `bulk_create`'s are.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, cast

from django.db import connections, models, router
from django.db.backends.postgresql.operations import get_json_dumps
from django.db.backends.utils import CursorDebugWrapper
from django.db.models.fields import NOT_PROVIDED, AutoFieldMixin


def insert_new(
    model: type[models.Model], objs: Sequence[models.Model], *, using: str | None = None
) -> None:
    """INSERT `objs`, new instances of `model`, in as few statements as the
    database allows, and set their primary keys.

    Objects are checked and values prepared as `bulk_create` checks and
    prepares them: related objects must be saved, and each value goes through
    its field (`pre_save`, then `get_db_prep_save`) unless it already is what
    the column takes. On databases other than PostgreSQL this is the default
    manager's `bulk_create`.

    Raises:
        ValueError: an object given twice, an unsaved related object, a
            value that is an expression; nothing is written.
        ValidationError: a value its field cannot take (as `bulk_create`).
        DatabaseError: the database refused a row; nothing is written.
    """
    if not objs:
        return
    using = using or router.db_for_write(model)
    connection = connections[using]
    fields = model._meta.concrete_fields
    if connection.vendor != "postgresql" or any(
        field.generated or field.db_default is not NOT_PROVIDED for field in fields
    ):
        # Values the database computes need bulk_create's SQL.
        model._default_manager.db_manager(using).bulk_create(list(objs))
        return
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    if len({id(obj) for obj in objs}) != len(objs):
        raise ValueError(f"{meta.label}: one object is given twice.")
    for obj in objs:
        # What bulk_create checks and fills first: a key with a default, and
        # related objects (refused unsaved; their keys taken if saved since).
        if obj.pk is None:
            obj.pk = pk.get_pk_value_on_save(obj)
        cast(Any, obj)._prepare_related_fields_for_save(operation_name="bulk_create")
    missing = [obj for obj in objs if obj.pk is None]
    if missing:
        if not isinstance(pk, AutoFieldMixin):
            raise ValueError(
                f"{meta.label}: new rows need their primary keys: the field "
                f"{pk.name!r} has no sequence to draw them from."
            )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) "
                "FROM generate_series(1, %s)",
                [connection.ops.quote_name(meta.db_table), pk.column, len(missing)],
            )
            for obj, (value,) in zip(missing, cursor.fetchall(), strict=True):
                setattr(obj, pk.attname, value)
    preparers = [_preparer(field, connection) for field in fields]
    rows = [tuple(prepare(obj) for prepare in preparers) for obj in objs]
    quote = connection.ops.quote_name
    sql = (
        f"COPY {quote(meta.db_table)} "
        f"({', '.join(quote(cast(str, field.column)) for field in fields)}) FROM STDIN"
    )
    with connection.cursor() as cursor:
        # One statement, logged as one, its rows not listed (as COPY's data
        # is not part of its text).
        if isinstance(cursor, CursorDebugWrapper):
            with cursor.debug_sql(sql):
                cursor._execute_with_wrappers(sql, rows, False, _copy)
        else:
            cursor._execute_with_wrappers(sql, rows, False, _copy)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = using


# Field classes whose `pre_save` reads the attribute and whose
# `get_db_prep_save` on PostgreSQL gives back (in COPY's text form) a value of
# these exact types, and None, unchanged; what a subclass does is not known.
_PLAIN: dict[type[models.Field[Any, Any]], tuple[type, ...]] = {
    models.CharField: (str,),
    models.TextField: (str,),
    models.SmallIntegerField: (int,),
    models.IntegerField: (int,),
    models.BigIntegerField: (int,),
    models.PositiveSmallIntegerField: (int,),
    models.PositiveIntegerField: (int,),
    models.PositiveBigIntegerField: (int,),
    models.SmallAutoField: (int,),
    models.AutoField: (int,),
    models.BigAutoField: (int,),
    models.DecimalField: (Decimal,),
}


def _plain_types(field: models.Field[Any, Any]) -> tuple[type, ...] | None:
    """The types of value `field` stores as they are, or None when its values
    go through the field."""
    if type(field) is models.ForeignKey:
        return _plain_types(field.target_field)
    if type(field) is models.DateTimeField and not (
        field.auto_now or field.auto_now_add
    ):
        return (datetime.datetime,)
    return _PLAIN.get(type(field))


def _preparer(
    field: models.Field[Any, Any], connection: Any
) -> Callable[[models.Model], Any]:
    """How to read the value to store of `field` from a new object: as
    `bulk_create` prepares it, without the per-value calls when the value is
    already what the column takes."""
    attname = field.attname
    plain = _plain_types(field)

    def prepare(obj: models.Model) -> Any:
        value = field.get_db_prep_save(field.pre_save(obj, True), connection)
        if hasattr(value, "resolve_expression"):
            raise ValueError(
                f"{field.model._meta.label}.{field.name}: an expression cannot "
                "be copied; give the value."
            )
        return value

    if type(field) is models.JSONField:
        return _json_preparer(field, prepare)
    if plain is None:
        return prepare
    aware = plain == (datetime.datetime,)
    number = plain == (Decimal,)

    def read(obj: models.Model) -> Any:
        value = getattr(obj, attname)
        if value is None or (
            type(value) in plain
            and not (aware and value.tzinfo is None)
            and not (number and not value.is_finite())  # the field refuses those
        ):
            return value
        return prepare(obj)

    return read


def _json_preparer(
    field: models.JSONField[Any], prepare: Callable[[models.Model], Any]
) -> Callable[[models.Model], Any]:
    """A JSON column's value as its text: what Django's `Jsonb` wrapper would
    have psycopg write (Django's `get_json_dumps` of the field's encoder, as
    `adapt_json_value` takes it), without the wrapper and the dumper found
    per value. Anything but a dict, list or str, or a value that text cannot
    be made of, goes through the field, so it fails as `bulk_create` fails."""
    attname = field.attname
    dumps = get_json_dumps(field.encoder)

    def read(obj: models.Model) -> Any:
        value = getattr(obj, attname)
        if type(value) in (dict, list, str):
            try:
                return dumps(value)
            except Exception:  # the field's way raises what bulk_create would
                pass
        return prepare(obj)

    return read


def _copy(sql: str, rows: list[tuple[Any, ...]], many: bool, context: Any) -> None:
    """The executor of a `COPY ... FROM STDIN` of `rows`, for
    `CursorWrapper._execute_with_wrappers`."""
    wrapper = context["cursor"]
    wrapper.db.validate_no_broken_transaction()  # as every other statement
    with wrapper.db.wrap_database_errors, wrapper.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
