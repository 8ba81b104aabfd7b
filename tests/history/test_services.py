"""History services: atomic writes, reverts, restores; outside any request."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from simple_history.signals import pre_create_historical_record

from history.revert import history_revert
from products.models import Product
from products.services import product_create, product_delete, product_update

HistoricalProduct = Product.history.model


def _make() -> Product:
    return product_create(
        data={"name": "Kettle", "price": Decimal("20.00"), "quantity": 4},
        actor=None,
        reason="stocked",
    )


@pytest.mark.django_db(transaction=True)
def test_change_and_version_commit_together_or_not_at_all() -> None:
    product = _make()

    def fail(**kwargs: Any) -> None:
        raise RuntimeError("history table unavailable")

    pre_create_historical_record.connect(fail, dispatch_uid="test-fail")
    try:
        with pytest.raises(RuntimeError):
            product_update(pk=product.pk, data={"price": Decimal("25.00")}, actor=None)
    finally:
        pre_create_historical_record.disconnect(dispatch_uid="test-fail")

    product.refresh_from_db()
    assert product.price == Decimal("20.00")
    assert HistoricalProduct.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_invalid_update_writes_nothing() -> None:
    product = _make()
    with pytest.raises(ValidationError) as error:
        product_update(pk=product.pk, data={"quantity": -1}, actor=None)
    assert error.value.message_dict == {
        "quantity": ["Ensure this value is greater than or equal to 0."]
    }
    assert [e.code for e in error.value.error_dict["quantity"]] == ["INVALID"]
    product.refresh_from_db()
    assert product.quantity == 4
    assert HistoricalProduct.objects.count() == 1


@pytest.mark.django_db
def test_changes_outside_a_request_record_no_user_and_no_context() -> None:
    product = _make()
    version = HistoricalProduct.objects.get(id=product.pk)
    assert version.history_user is None
    assert version.history_change_reason == "stocked"
    assert version.history_ip_address is None
    assert version.history_request_id == ""


@pytest.mark.django_db
def test_restore_keeps_id_and_creation_time_and_diffs_against_deleted() -> None:
    product = _make()
    created_at = product.created_at
    first = HistoricalProduct.objects.get(id=product.pk, history_type="+")
    product_update(pk=product.pk, data={"price": Decimal("30.00")}, actor=None)
    product_delete(pk=product.pk, actor=None, reason="gone")

    result = history_revert(
        model=Product,
        pk=product.pk,
        record_id=first.history_id,
        actor=None,
        reason="back",
        fields=["price"],
    )

    restored = Product.objects.get(pk=product.pk)
    assert result.record is not None
    assert (restored.price, restored.created_at) == (Decimal("20.00"), created_at)
    assert result.record.history_type == "+"
    assert result.record.history_reverted_from_id == first.history_id
    assert result.record.history_changes == {"price": ["30.00", "20.00"]}
    assert [
        (v.history_type, v.history_change_reason)
        for v in HistoricalProduct.objects.filter(id=product.pk)
    ] == [("+", "back"), ("-", "gone"), ("~", None), ("+", "stocked")]


@pytest.mark.django_db
def test_dry_run_reports_changes_and_writes_nothing() -> None:
    product = _make()
    first = HistoricalProduct.objects.get(id=product.pk)
    product_update(pk=product.pk, data={"name": "Big kettle"}, actor=None)

    result = history_revert(
        model=Product,
        pk=product.pk,
        record_id=first.history_id,
        actor=None,
        reason="undo rename",
        dry_run=True,
    )

    assert result.record is None
    assert [(c.field, c.old_value, c.new_value) for c in result.changes] == [
        ("name", "Big kettle", "Kettle")
    ]
    assert Product.objects.get().name == "Big kettle"
    assert HistoricalProduct.objects.count() == 2
