"""Concurrent writers of one object queue up (PostgreSQL: real row and advisory
locks; SQLite runs one writing transaction at a time by design)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from simple_history.signals import pre_create_historical_record

from history.revert import history_revert
from products.models import Product
from products.services import product_create, product_delete, product_update
from tests.helpers import run_together, slow_version_writes

HistoricalProduct = Product.history.model

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs concurrent connections to a server database",
    ),
]


def test_concurrent_restores_of_a_deleted_product_restore_it_once() -> None:
    product = product_create(
        data={"name": "Mug", "price": Decimal("5.00")}, actor=None, reason="new"
    )
    first = HistoricalProduct.objects.get(id=product.pk)
    product_delete(pk=product.pk, actor=None, reason="gone")
    deleted = HistoricalProduct.objects.filter(id=product.pk).latest("history_id")

    def restore() -> Any:
        return history_revert(
            model=Product,
            pk=product.pk,
            record_id=first.history_id,
            actor=None,
            reason="back",
            expected_latest_id=deleted.history_id,
        )

    pre_create_historical_record.connect(slow_version_writes, dispatch_uid="slow")
    try:
        results = run_together(restore, restore, restore)
    finally:
        pre_create_historical_record.disconnect(dispatch_uid="slow")

    errors = [r for r in results if isinstance(r, ValidationError)]
    assert [type(r) for r in results].count(ValidationError) == 2
    assert [
        [
            (name, [e.code for e in field_errors])
            for name, field_errors in e.error_dict.items()
        ]
        for e in errors
    ] == [[("expected_latest", ["STALE"])]] * 2
    assert [
        v.history_type for v in HistoricalProduct.objects.filter(id=product.pk)
    ] == [
        "+",
        "-",
        "+",
    ]


def test_concurrent_updates_each_write_one_version_in_a_consistent_chain() -> None:
    product = product_create(
        data={"name": "Pen", "price": Decimal("1.00")}, actor=None, reason="new"
    )

    def update(quantity: int) -> Callable[[], Any]:
        return lambda: product_update(
            pk=product.pk, data={"quantity": quantity}, actor=None, reason="count"
        )

    results = run_together(*(update(q) for q in range(1, 6)))

    assert not [r for r in results if isinstance(r, Exception)]
    versions = list(
        HistoricalProduct.objects.filter(id=product.pk).order_by("history_id")
    )
    assert len(versions) == 6
    for older, newer in itertools.pairwise(versions):
        assert newer.history_changes == {
            "quantity": [str(older.quantity), str(newer.quantity)]
        }
    assert Product.objects.get().quantity == versions[-1].quantity
