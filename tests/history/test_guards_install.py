"""What the guards stand on: tracked saves and deletes are atomic (a system
check requires it of every tracked model), the migration operations read a
tracked model's tables from migration state and install and remove the
guards, and SQLite has none."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.core.checks import Error
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.transaction import TransactionManagementError
from simple_history.signals import pre_create_historical_record

from history.checks import check_tracked_models_are_atomic
from history.guards import (
    UNVERSIONED_MESSAGE,
    GuardedTables,
    check_function_name,
    guarded_tables,
    sanctioned_prune,
)
from products.models import Product, Tag
from products.services import product_create
from tests.tracked.models import Note

HistoricalNote = Note.history.model
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL only: SQLite has no triggers guarding history",
)


class VersionFailure(Exception):
    """Raised while a version is being written."""


@pytest.fixture
def version_writes() -> Iterator[dict[str, bool]]:
    """A switch: while `["fail"]` is true, every version write fails, after
    the tracked row has been written."""
    switch = {"fail": False}

    def fail(**kwargs: Any) -> None:
        if switch["fail"]:
            raise VersionFailure

    pre_create_historical_record.connect(fail, dispatch_uid="test.fail")
    yield switch
    pre_create_historical_record.disconnect(dispatch_uid="test.fail")


# Tracked writes are atomic ----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_save_in_autocommit_whose_version_fails_writes_nothing(
    version_writes: dict[str, bool],
) -> None:
    assert connection.get_autocommit()
    version_writes["fail"] = True
    with pytest.raises(VersionFailure):
        Note(title="Half written").save()
    assert not Note.objects.exists()
    assert not HistoricalNote.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_delete_in_autocommit_whose_version_fails_deletes_nothing(
    version_writes: dict[str, bool],
) -> None:
    note = Note.objects.create(title="Kept")
    version_writes["fail"] = True
    with pytest.raises(VersionFailure):
        note.delete()
    assert list(Note.objects.values_list("title", flat=True)) == ["Kept"]
    assert list(HistoricalNote.objects.values_list("history_type", flat=True)) == ["+"]


def test_every_tracked_model_derives_from_the_atomic_base() -> None:
    assert check_tracked_models_are_atomic() == []


def test_a_tracked_model_without_the_atomic_base_is_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Tag is no tracked model: it stands in for one declared without the base.
    monkeypatch.setattr("history.checks.tracked_models", lambda: [Product, Tag])
    assert check_tracked_models_are_atomic() == [
        Error(
            "products.Tag records versions but does not derive from "
            "history.models.TrackedModel.",
            hint=(
                "Declare it as `class Tag(TrackedModel)`: its save() and delete() "
                "must write the row and its version in one transaction."
            ),
            obj=Tag,
            id="history.E001",
        )
    ]
    assert (
        check_tracked_models_are_atomic(app_configs=[apps.get_app_config("tracked")])
        == []
    )


@pytest.mark.django_db(transaction=True)
def test_a_sanctioned_prune_outside_a_transaction_is_refused() -> None:
    """Its setting would last one statement: a prune must be one transaction."""
    with (
        pytest.raises(TransactionManagementError, match="must run inside"),
        sanctioned_prune(),
    ):
        pass


# The tables a tracked model's guards cover -------------------------------------


def test_the_guarded_tables_of_a_model_with_a_tracked_many_to_many_field() -> None:
    assert guarded_tables(apps, "products", "Product", "HistoricalProduct") == (
        GuardedTables(
            tracked="products_product",
            tracked_pk="id",
            history="products_historicalproduct",
            history_pk="id",
            m2m=(
                (
                    "products_product_tags",
                    "product_id",
                    "products_historicalproduct_tags",
                ),
            ),
        )
    )
    assert guarded_tables(apps, "tracked", "Note", "HistoricalNote").m2m == ()


# Installed and removed by migrations (PostgreSQL) ---------------------------


def installed() -> dict[str, Any]:
    """The guards' functions, triggers and columns in the database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT proname FROM pg_proc WHERE proname LIKE %s ORDER BY 1", [PREFIX]
        )
        functions = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT tgrelid::regclass::text, tgname, tgconstraint <> 0, "
            "tgfoid::regproc::text FROM pg_trigger WHERE tgname LIKE %s "
            "ORDER BY 1, 2",
            [PREFIX],
        )
        triggers = cursor.fetchall()
        cursor.execute(
            "SELECT table_name FROM information_schema.columns "
            "WHERE column_name = 'history_txid' ORDER BY 1"
        )
        columns = [row[0] for row in cursor.fetchall()]
    return {"functions": functions, "triggers": triggers, "columns": columns}


PREFIX = "history\\_%"
GUARDS: dict[str, list[Any]] = {
    "functions": [
        "history_append_only",
        "history_checkpoint_append_only",
        "history_require_version",
        "history_require_version__products_category",
        "history_require_version__products_product",
        "history_require_version__products_product_tags",
        "history_require_version__tracked_note",
    ],
    "triggers": [
        (
            "history_checkpoint",
            "history_checkpoint_append_only",
            False,
            "history_checkpoint_append_only",
        ),
        (
            "products_category",
            "history_require_version",
            True,
            "history_require_version__products_category",
        ),
        (
            "products_historicalcategory",
            "history_append_only",
            False,
            "history_append_only",
        ),
        (
            "products_historicalproduct",
            "history_append_only",
            False,
            "history_append_only",
        ),
        (
            "products_historicalproduct_tags",
            "history_append_only",
            False,
            "history_append_only",
        ),
        (
            "products_product",
            "history_require_version",
            True,
            "history_require_version__products_product",
        ),
        (
            "products_product_tags",
            "history_require_version",
            True,
            "history_require_version__products_product_tags",
        ),
        (
            "tracked_historicalnote",
            "history_append_only",
            False,
            "history_append_only",
        ),
        (
            "tracked_note",
            "history_require_version",
            True,
            "history_require_version__tracked_note",
        ),
    ],
    "columns": [
        "products_historicalcategory",
        "products_historicalproduct",
        "tracked_historicalnote",
    ],
}


RAW_INSERT = (
    "INSERT INTO products_product "
    "(name, description, price, quantity, created_at, updated_at) "
    "VALUES ('Raw', '', 1, 1, now(), now())"
)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_the_guards_migrations_install_and_remove_every_guard() -> None:
    assert installed() == GUARDS
    try:
        # Unapplies the tracked apps' guards too: they depend on it.
        call_command("migrate", "history", "0004", verbosity=0)
        assert installed() == {"functions": [], "triggers": [], "columns": []}
        with connection.cursor() as cursor:  # unguarded, a raw write passes
            cursor.execute(RAW_INSERT)
    finally:
        call_command("migrate", verbosity=0)
    assert installed() == GUARDS


def refused_raw_insert() -> str:
    """The refusal of a raw product INSERT at commit, its row id left out."""
    with (
        pytest.raises(IntegrityError, match="written without a version") as refusal,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(RAW_INSERT)
    return re.sub(r"row \d+ ", "row N ", str(refusal.value).splitlines()[0])


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_the_per_table_checks_refuse_what_the_shared_check_refused() -> None:
    try:
        call_command("migrate", "products", "0012", verbosity=0)
        call_command("migrate", "tracked", "0002", verbosity=0)
        shared = installed()
        shared_refusal = refused_raw_insert()
    finally:
        call_command("migrate", verbosity=0)
    assert installed() == GUARDS
    # Back at 0012, every table was checked by the shared function.
    assert shared["functions"] == GUARDS["functions"][:3]
    assert [t for t in shared["triggers"] if t[1] == "history_require_version"] == [
        (table, name, True, "history_require_version")
        for table, name, _, _ in GUARDS["triggers"]
        if name == "history_require_version"
    ]
    assert (
        refused_raw_insert()
        == shared_refusal
        == ("products_product row N " + UNVERSIONED_MESSAGE)
    )
    assert not Product.objects.exists()


def test_a_long_table_name_gets_a_check_function_name_postgresql_takes() -> None:
    long = "app_" + "x" * 70
    names = {check_function_name(long), check_function_name(long + "y")}

    assert len(names) == 2
    assert all(len(name.encode()) <= 63 for name in names)
    assert check_function_name("products_product") == (
        "history_require_version__products_product"
    )


@pytest.mark.skipif(
    connection.vendor != "sqlite", reason="SQLite: the guards are PostgreSQL's"
)
@pytest.mark.django_db
def test_sqlite_relies_on_the_chains_alone() -> None:
    """No trigger refuses a raw write on SQLite; the hash chains catch a
    changed version (history.chains)."""
    product = product_create(
        data={"name": "Lamp", "price": Decimal("10.00")}, actor=None, reason="New"
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        assert cursor.fetchall() == []
        cursor.execute(
            "UPDATE products_historicalproduct SET history_change_reason = 'forged'"
        )
        cursor.execute("UPDATE products_product SET price = 1")
    assert Product.history.get().history_change_reason == "forged"
    assert Product.objects.get(pk=product.pk).price == Decimal("1.00")
