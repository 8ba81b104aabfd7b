"""Tampering with the history as someone holding the database would: raw SQL.

On PostgreSQL the history tables refuse UPDATE and DELETE (triggers); a
superuser gets past them with `session_replication_role = replica`, which
fires no ordinary trigger. `tamper` does that, in a savepoint, and sets the
role back to `origin` (`tests.helpers.bypass_guards`; the tests connect as the
superuser postgres). On SQLite it runs the SQL as it is.

`tamper_with` does each kind of tampering the verification must catch to one
object's chain and says what it must find.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection

from history.checkpoints import write_checkpoint
from history.models import Checkpoint
from history.verification import BreakKind
from history.writes import tracked_create, tracked_update
from products.models import Category, Product
from products.services import (
    category_create,
    category_update,
    product_create,
    product_update,
)
from tests.helpers import bypass_guards
from tests.tracked.models import Note

# Each way of tampering with a chain, as `tamper_with` names them.
TAMPERINGS = (
    "edit a value",
    "edit a reason",
    "delete a version",
    "insert a version",
    "swap two dates",
    "cut the newest",
)


def tamper(sql: str, params: Sequence[Any] | None = None) -> None:
    """Run raw SQL as a database superuser would, past any trigger
    (`tests.helpers.bypass_guards`), on a trail already committed.

    A test writes its trail and tampers with it in one transaction, where the
    tamperer would come after the trail's commit: on PostgreSQL the checks a
    commit runs (deferred constraints, the guards' among them) run first, so
    that they judge the trail as written, not as tampered with.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    with bypass_guards(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def _table(history_model: Any) -> str:
    return connection.ops.quote_name(history_model._meta.db_table)


def _column(history_model: Any, name: str) -> str:
    return connection.ops.quote_name(history_model._meta.get_field(name).column)


def set_columns(version: Any, **values: Any) -> None:
    """UPDATE columns (by field name) of one stored version."""
    model = type(version)
    assignments = ", ".join(f"{_column(model, name)} = %s" for name in values)
    tamper(
        f"UPDATE {_table(model)} SET {assignments} WHERE history_id = %s",
        [*values.values(), version.history_id],
    )


def delete_versions(*versions: Any) -> None:
    """DELETE stored versions (all of one historical model)."""
    model = type(versions[0])
    marks = ", ".join(["%s"] * len(versions))
    tamper(
        f"DELETE FROM {_table(model)} WHERE history_id IN ({marks})",
        [version.history_id for version in versions],
    )


def insert_copy(version: Any, **values: Any) -> int:
    """INSERT a copy of a stored version with some columns (by field name)
    changed, its hashes included; returns the copy's history id."""
    model = type(version)
    columns, selected, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.attname == "history_id":
            continue
        column = connection.ops.quote_name(field.column)
        columns.append(column)
        if field.name in values:
            selected.append("%s")
            params.append(values[field.name])
        else:
            selected.append(column)
    table = _table(model)
    tamper(
        f"INSERT INTO {table} ({', '.join(columns)}) "
        f"SELECT {', '.join(selected)} FROM {table} WHERE history_id = %s",
        [*params, version.history_id],
    )
    newest: int = model._base_manager.order_by("-history_id")[0].history_id
    return newest


def swap_dates(first: Any, second: Any) -> None:
    """Swap the dates of two stored versions."""
    set_columns(first, history_date=second.history_date)
    set_columns(second, history_date=first.history_date)


def tamper_with(
    how: str, versions: list[Any], *, value: tuple[str, Any]
) -> tuple[BreakKind, int | None]:
    """Tamper with one object's chain, `how` being one of `TAMPERINGS`, and
    say what verification must find: the kind of break and the history id of
    the version it must be found at.

    Args:
        how: One of `TAMPERINGS`.
        versions: The object's versions, oldest first (at least four), all
            signed by a checkpoint (so that cutting the newest is caught).
        value: A tracked field and a value it never had, to edit and insert.
    """
    field, forged = value
    _first, second, third, fourth = versions[:4]
    if how == "edit a value":
        set_columns(second, **{field: forged})
        return BreakKind.CHANGED, second.history_id
    if how == "edit a reason":
        set_columns(third, history_change_reason="Nothing to see here")
        return BreakKind.CHANGED, third.history_id
    if how == "delete a version":
        delete_versions(second)
        return BreakKind.MISSING, third.history_id
    if how == "insert a version":
        between = second.history_date + (third.history_date - second.history_date) / 2
        copy = insert_copy(second, history_date=between, **{field: forged})
        return BreakKind.INSERTED, copy
    if how == "swap two dates":
        swap_dates(second, third)
        return BreakKind.REORDERED, third.history_id
    if how == "cut the newest":
        delete_versions(third, fourth, *versions[4:])
        return BreakKind.TRUNCATED, second.history_id
    raise ValueError(f"Unknown tampering {how!r}.")


# A price no product of `signed_trail` ever had, to forge with.
FORGED_PRICE = ("price", Decimal("0.01"))


@dataclass
class Trail:
    """Versions of a few objects of every tracked model, oldest first, and
    the checkpoint that signed them all."""

    lamp: Product
    mug: Product
    lamp_versions: list[Any]
    mug_versions: list[Any]
    category: Category
    note: Note
    checkpoint: Checkpoint

    @property
    def chains(self) -> int:
        """How many chains the trail has."""
        return 4

    @property
    def versions(self) -> int:
        """How many versions the trail has."""
        return 5 + 4 + 2 + 2


def signed_trail() -> Trail:
    """Two products (the lamp with five versions, the mug with four), a
    category and a note with two each, then a checkpoint."""
    lamp = product_create(
        data={"name": "Lamp", "price": Decimal("20.00"), "quantity": 3},
        actor=None,
        reason="New",
    )
    mug = product_create(data={"name": "Mug", "price": Decimal("4.00")}, actor=None)
    for price in ("21.00", "22.00", "23.00", "24.00"):
        product_update(
            pk=lamp.pk, data={"price": Decimal(price)}, actor=None, reason=price
        )
    for quantity in (1, 2, 3):
        product_update(pk=mug.pk, data={"quantity": quantity}, actor=None)
    category = category_create(data={"name": "Lights"}, actor=None, reason="New")
    category_update(pk=category.pk, data={"name": "Lamps"}, actor=None)
    note = tracked_create(model=Note, data={"title": "Draft"}, actor=None)
    tracked_update(model=Note, pk=note.pk, data={"title": "Final"}, actor=None)
    return Trail(
        lamp=lamp,
        mug=mug,
        lamp_versions=versions_of(lamp),
        mug_versions=versions_of(mug),
        category=category,
        note=note,
        checkpoint=write_checkpoint(),
    )


def versions_of(instance: Any) -> list[Any]:
    """An object's stored versions, oldest first (chain order)."""
    history_model = type(instance).history.model
    return list(
        history_model._base_manager.filter(id=instance.pk).order_by(
            "history_date", "history_id"
        )
    )
