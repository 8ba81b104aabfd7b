"""`insert_new` against `bulk_create`, value by value: odd values are stored
alike, bad ones refused alike, and the checks `bulk_create` makes first
(related objects, a broken transaction, one object twice) are made; imports
of odd values keep every hash chain."""

from __future__ import annotations

import datetime
import ipaddress
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError

from history.bulk import history_bulk_create
from history.inserts import insert_new
from products.models import Category, Product
from tests.history.chain_oracle import chain_problems

pytestmark = pytest.mark.django_db

HistoricalProduct = Product.history.model
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="COPY is PostgreSQL's"
)
MOMENT = datetime.datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=datetime.UTC)


def a_version(product: Product, **values: Any) -> Any:
    base: dict[str, Any] = {
        "id": product.pk,
        "name": "Lamp",
        "description": "",
        "price": Decimal("10.50"),
        "quantity": 3,
        "created_at": MOMENT,
        "history_date": MOMENT,
        "history_type": "+",
        "history_prev_hash": "0" * 64,
        "history_hash": "f" * 64,
        "history_relation_id": product.pk,
    }
    base.update(values)
    return HistoricalProduct(**base)


def row_of(pk: Any) -> dict[str, Any]:
    row = HistoricalProduct.objects.filter(pk=pk).values().get()
    row.pop("history_id")
    return row


def a_product() -> Product:
    from products.services import product_create

    return product_create(data={"name": "Lamp", "price": "1.00"}, actor=None)


ODD_VALUES: list[dict[str, Any]] = [
    {"name": "back\\slash \\N \\. end"},
    {"name": "tab\tnl\nlf\rcr\x0bvt\x0cff\x08bs"},
    {"name": "\\.\n\\.", "description": "\n\\.\n"},
    {"description": "ünïcödé ✓ 𝄞 " * 2000},
    {"description": "x" * 1_000_000},
    {"name": "", "description": ""},
    {"history_change_reason": "\\N"},
    {"history_change_reason": ""},
    {"price": Decimal("10.555")},
    {"price": Decimal("10.565")},
    {"price": Decimal("1E+2")},
    {"price": Decimal("-0.00")},
    {"price": "7.125"},
    {"price": 7.125},
    {"price": 3},
    {"quantity": True},
    {"quantity": "0012"},
    {"quantity": 2**31 - 1},
    {
        "created_at": datetime.datetime(
            2026,
            5,
            6,
            7,
            8,
            9,
            tzinfo=datetime.timezone(
                datetime.timedelta(hours=5, minutes=30, seconds=15)
            ),
        )
    },
    {"created_at": "2026-01-02T03:04:05.123456-07:00"},
    {"created_at": datetime.datetime(1, 1, 1, tzinfo=datetime.UTC)},
    {"created_at": datetime.date(2026, 1, 2)},
    {"history_changes": {"a\\b": ["\t", "\n\\N"], "\u2028": None}},
    {
        "history_snapshot": {
            "tags": [{"id": 1, "name": "\\\\"}],
            "n": 1.5,
            "big": 10**30,
        }
    },
    {"history_segments": []},
    {"history_snapshot": None},
    {"history_changes": "just a string"},
    {"history_ip_address": "::ffff:192.0.2.1"},
    {"history_ip_address": "2001:DB8:0:0:0:0:0:1"},
    {"history_ip_address": ipaddress.ip_address("192.0.2.7")},
    {"history_ip_address": ""},
    {"history_request_id": uuid.UUID("25377381-b60a-4777-a2a2-a290006697f4")},
    {"history_staff_only": 1},
    {"history_staff_only": "yes"},
    {"history_user_pk": "12"},
    {"history_user_pk": 2**63 - 1},
    {"history_username": 42},
    {"history_user_agent": "Mozilla/5.0 (\\) \t"},
]


@on_postgresql
@pytest.mark.parametrize("values", ODD_VALUES, ids=range(len(ODD_VALUES)))
def test_odd_values_are_stored_as_bulk_create_stores_them(
    values: dict[str, Any],
) -> None:
    product = a_product()
    copied, created = a_version(product, **values), a_version(product, **values)
    outcomes = []
    for insert in (
        lambda: insert_new(HistoricalProduct, [copied]),
        lambda: HistoricalProduct.objects.bulk_create([created]),
    ):
        try:
            with transaction.atomic():
                insert()
            outcomes.append("ok")
        except Exception as error:
            outcomes.append(type(error).__name__)
    assert outcomes[0] == outcomes[1]
    if outcomes[0] == "ok":
        assert row_of(copied.pk) == row_of(created.pk)
        # the in-memory values after the insert are the same too
        for field in HistoricalProduct._meta.concrete_fields:
            if field.attname != "history_id":
                assert repr(getattr(copied, field.attname)) == repr(
                    getattr(created, field.attname)
                ), field.attname


BAD_VALUES: list[dict[str, Any]] = [
    {"name": "nul\x00here"},
    {"name": "lone \ud800 surrogate"},
    {"history_changes": {"a": "nul\x00"}},
    {"history_changes": {"a": "\ud800"}},
    {"history_changes": {"a": object()}},
    {"history_changes": {"a": float("nan")}},
    {"price": Decimal("NaN")},
    {"price": Decimal("1E+20")},
    {"price": "abc"},
    {"quantity": 2**31},
    {"quantity": 2**80},
    {"history_ip_address": "not an ip"},
    {"history_type": "long"},
    {"created_at": "yesterday"},
    {"history_user_pk": 2**64},
]


@on_postgresql
@pytest.mark.parametrize("values", BAD_VALUES, ids=range(len(BAD_VALUES)))
def test_bad_values_fail_as_bulk_create_fails(values: dict[str, Any]) -> None:
    product = a_product()
    outcomes = []
    for insert in (
        lambda v: insert_new(HistoricalProduct, [v]),
        lambda v: HistoricalProduct.objects.bulk_create([v]),
    ):
        version = a_version(product, **values)
        try:
            with transaction.atomic():
                insert(version)
            outcomes.append("ok")
        except Exception as error:
            outcomes.append(f"{type(error).__module__}.{type(error).__name__}")
        # the connection is usable afterwards
        assert HistoricalProduct.objects.filter(pk=-1).count() == 0
    assert outcomes[0] == outcomes[1]


@on_postgresql
@pytest.mark.parametrize("number", ["NaN", "-NaN", "sNaN", "Infinity"])
def test_a_non_finite_decimal_is_refused_as_bulk_create_refuses_it(number: str) -> None:
    # bulk_create's DecimalField.to_python refuses non-finite decimals.
    product = Product(name="Lamp", price=Decimal(number))

    with (  # noqa: PT012
        pytest.raises(ValidationError),
        transaction.atomic(),
    ):
        history_bulk_create(model=Product, instances=[product], actor=None, reason=None)
        connection.cursor().execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert not Product.objects.filter(name="Lamp").exists()


@on_postgresql
def test_a_nan_price_is_refused_before_it_reaches_the_table() -> None:
    product = Product(name="Lamp", price=Decimal("NaN"))

    with pytest.raises(ValidationError), transaction.atomic():
        insert_new(Product, [product])

    assert not Product.objects.filter(name="Lamp").exists()


def test_an_unsaved_related_object_is_refused_as_bulk_create_refuses_it() -> None:
    # An unsaved category is a ValueError before anything is written.
    product = Product(name="Lamp", price=Decimal("1.00"), category=Category(name="New"))

    with (
        pytest.raises(ValueError, match="unsaved related object 'category'"),
        transaction.atomic(),
    ):
        history_bulk_create(model=Product, instances=[product], actor=None, reason=None)

    assert not Product.objects.filter(name="Lamp").exists()


def test_a_related_object_saved_after_its_assignment_is_stored() -> None:
    # The related object's key is taken when it was saved after it was
    # assigned.
    category = Category(name="Lighting")
    product = Product(name="Lamp", price=Decimal("1.00"), category=category)
    category.save()

    history_bulk_create(model=Product, instances=[product], actor=None, reason=None)

    stored = Product.objects.get(pk=product.pk)
    version = HistoricalProduct.objects.get(id=product.pk)
    assert stored.category_id == category.pk
    assert version.category_id == category.pk
    assert version.history_snapshot["category"]["id"] == category.pk
    assert chain_problems() == []


def test_a_broken_transaction_is_refused_before_the_rows_go_in() -> None:
    # Django refuses any statement once an atomic block is marked for
    # rollback; the COPY too, when no key needs drawing before it.
    product = a_product()
    version = a_version(product, history_id=10_000_001)
    with transaction.atomic():
        try:
            with transaction.atomic(savepoint=False):
                raise KeyError("a failure the caller catches")
        except KeyError:
            pass
        with pytest.raises(TransactionManagementError):
            insert_new(HistoricalProduct, [version])


def test_one_instance_given_twice_fails_as_bulk_create_fails() -> None:
    product = Product(name="Lamp", price=Decimal("1.00"))

    with pytest.raises(ValueError, match="given twice"), transaction.atomic():
        history_bulk_create(
            model=Product, instances=[product, product], actor=None, reason=None
        )

    assert not Product.objects.filter(name="Lamp").exists()


def test_an_import_of_odd_values_keeps_every_chain() -> None:
    from products.services import product_adjust_prices, product_import

    category = Category.objects.create(name="Ünï \\ cat\t")
    rows: list[dict[str, Any]] = [
        {"name": "back\\slash \\N \\.", "price": "10.5", "quantity": "3"},
        {"name": "tab\tnl\ncr\r", "price": Decimal("0.01"), "description": "✓ " * 4000},
        {"name": "\\.", "price": 7, "category": category.pk, "tags": ["a\\b", "c\td"]},
        {"name": "𝄞", "price": "3.10", "category": str(category.pk), "tags": ["a\\b"]},
    ]
    created = product_import(rows=rows, actor=None, reason="why\\not\t")
    assert chain_problems() == []
    product_adjust_prices(
        pks=[p.pk for p in created], actor=None, reason="up", percent=Decimal("33.335")
    )
    assert chain_problems() == []
    versions = HistoricalProduct.objects.filter(history_type="+").order_by("id")
    assert [v.name for v in versions] == [row["name"] for row in rows]
