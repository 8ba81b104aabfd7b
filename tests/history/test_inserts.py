"""`insert_new` stores what `bulk_create` stores: the same rows, read back,
whatever form the values were given in; on PostgreSQL in one `COPY`, with the
primary keys drawn in order, seen by the connection's execute wrappers."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.db import DataError, IntegrityError, connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from history.inserts import insert_new
from products.models import Category, Product
from products.services import product_create

pytestmark = pytest.mark.django_db

HistoricalProduct = Product.history.model
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="COPY is PostgreSQL's"
)
REQUEST = uuid.UUID("25377381-b60a-4777-a2a2-a290006697f4")
MOMENT = datetime.datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=datetime.UTC)


def versions(category: Category | None) -> list[Any]:
    """Unsaved versions of one product with every kind of column, values in
    the forms callers give them: exact types, and text or numbers a field
    converts."""
    product = Product.objects.first() or product_create(
        data={"name": "Lamp", "price": "1.00"}, actor=None
    )
    given: list[dict[str, Any]] = [
        {
            "id": product.pk,
            "name": "Lamp",
            "description": "",
            "price": Decimal("10.50"),
            "quantity": 3,
            "created_at": MOMENT,
            "category_id": category.pk if category else None,
            "history_changes": {"price": ["9.00", "10.50"]},
            "history_snapshot": {"tags": [{"id": 1, "name": "a"}]},
            "history_segments": {},
            "history_ip_address": "192.0.2.1",
            "history_request_id": str(REQUEST),
            "history_staff_only": True,
            "history_user_pk": 7,
            "history_username": "ann",
        },
        {
            "id": str(product.pk),  # text for numbers
            "name": 'Sofa, "big"\twith\\tabs\nand lines',  # COPY's specials
            "description": "naïve ✓ " * 50,
            "price": "3.5",
            "quantity": "12",
            "created_at": "2026-01-02T03:04:05+02:00",
            "history_changes": {"name": [None, "Sofa"]},
            "history_snapshot": {},
            "history_segments": {"name": [{"op": "INSERT", "text": "Sofa"}]},
            "history_ip_address": "2001:db8::1",
            "history_staff_only": False,
        },
        {
            "id": product.pk,
            "name": "Chair",
            "price": 4,  # an int for a decimal
            "quantity": 0,
            "created_at": MOMENT.astimezone(
                datetime.timezone(datetime.timedelta(hours=-5))
            ),
            "history_changes": {},
            "history_snapshot": {"category": None},
            "history_segments": {},
            "history_change_reason": "why\\not",
        },
    ]
    return [
        HistoricalProduct(
            history_date=MOMENT,
            history_type="+",
            history_prev_hash="0" * 64,
            history_hash="f" * 64,
            history_relation_id=product.pk,
            **values,
        )
        for values in given
    ]


def stored(pks: list[Any]) -> list[dict[str, Any]]:
    rows = HistoricalProduct.objects.filter(history_id__in=pks).order_by("history_id")
    return [
        {k: v for k, v in row.items() if k != "history_id"} for row in rows.values()
    ]


def test_the_rows_stored_are_those_bulk_create_stores() -> None:
    category = Category.objects.create(name="Lighting")
    copied, created = versions(category), versions(category)

    insert_new(HistoricalProduct, copied)
    HistoricalProduct.objects.bulk_create(created)

    assert [v.pk for v in copied] == sorted(v.pk for v in copied)
    assert all(v.pk is not None and not v._state.adding for v in copied)
    assert stored([v.pk for v in copied]) == stored([v.pk for v in created])
    # the stored values are the given ones, converted as their fields convert
    first, second, _ = stored([v.pk for v in copied])
    assert first["history_changes"] == {"price": ["9.00", "10.50"]}
    assert second["name"] == 'Sofa, "big"\twith\\tabs\nand lines'
    assert second["price"] == Decimal("3.50")
    assert second["created_at"] == datetime.datetime(
        2026, 1, 2, 1, 4, 5, tzinfo=datetime.UTC
    )


def test_a_naive_moment_is_taken_in_the_default_time_zone_as_bulk_create_does() -> None:
    copied, created = versions(None)[:1], versions(None)[:1]
    for version in (*copied, *created):
        version.created_at = datetime.datetime(2026, 5, 6, 7, 8, 9)

    with pytest.warns(RuntimeWarning, match="naive datetime"):
        insert_new(HistoricalProduct, copied)
    with pytest.warns(RuntimeWarning, match="naive datetime"):
        HistoricalProduct.objects.bulk_create(created)

    assert stored([copied[0].pk]) == stored([created[0].pk])
    assert stored([copied[0].pk])[0]["created_at"] == timezone.make_aware(
        datetime.datetime(2026, 5, 6, 7, 8, 9)
    )


def test_a_given_primary_key_is_kept() -> None:
    version = versions(None)[0]
    version.history_id = 10_000_001

    insert_new(HistoricalProduct, [version])

    assert HistoricalProduct.objects.get(pk=10_000_001).name == "Lamp"


def test_nothing_given_writes_nothing() -> None:
    with CaptureQueriesContext(connection) as queries:
        insert_new(HistoricalProduct, [])

    assert queries.captured_queries == []


@on_postgresql
def test_on_postgresql_the_rows_go_in_one_copy_seen_by_the_execute_wrappers() -> None:
    seen: list[str] = []
    new = versions(None)

    def wrapper(execute: Any, sql: str, *args: Any) -> Any:
        seen.append(sql.split()[0])
        return execute(sql, *args)

    with (
        CaptureQueriesContext(connection) as queries,
        connection.execute_wrapper(wrapper),
    ):
        insert_new(HistoricalProduct, new)

    assert seen == ["SELECT", "COPY"]  # the primary keys, then the rows
    assert queries.captured_queries[-1]["sql"].startswith(
        'COPY "products_historicalproduct" ('
    )


@on_postgresql
def test_a_refused_row_is_a_database_error_and_writes_nothing() -> None:
    good, bad = versions(None)[:2]
    bad.history_type = "too long for the column"

    with pytest.raises(DataError, match="value too long"), transaction.atomic():
        insert_new(HistoricalProduct, [good, bad])

    assert HistoricalProduct.objects.count() == 1  # the product's own


@on_postgresql
def test_a_constraint_trigger_fires_for_copied_rows() -> None:
    # A product without its version is refused at commit by the history
    # guard, as for an INSERT.
    product = Product(name="Lamp", price=Decimal(1))

    with (  # noqa: PT012
        pytest.raises(IntegrityError, match="written without a version"),
        transaction.atomic(),
    ):
        insert_new(Product, [product])
        # The test's transaction does not commit: check now.
        connection.cursor().execute("SET CONSTRAINTS ALL IMMEDIATE")

    assert not Product.objects.filter(pk=product.pk).exists()


@on_postgresql
def test_an_expression_is_refused_before_anything_is_sent() -> None:
    version = versions(None)[0]
    version.quantity = F("quantity") + 1

    with (
        CaptureQueriesContext(connection) as queries,
        pytest.raises(ValueError, match="quantity: an expression cannot be copied"),
    ):
        insert_new(HistoricalProduct, [version])

    assert not [q for q in queries.captured_queries if q["sql"].startswith("COPY")]
