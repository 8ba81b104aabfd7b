"""`product_adjust_prices` reports the products whose price it left as it was.

A change that rounds to nothing (or a zero price scaled by a percentage) writes
no version for that product, and the caller learns which products those were.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from products import services
from products.models import Product
from tests.products.bulk_checks import ADJUST, catalog, database_state, ids

pytestmark = pytest.mark.django_db

HistoricalProduct = Product.history.model


def versions_of(product: Product) -> int:
    return HistoricalProduct.objects.filter(id=product.pk).count()


def test_products_whose_price_would_not_change_are_reported_unchanged() -> None:
    # +10%: 10.00 -> 11.00; 0.00 stays 0.00; 0.04 -> 0.044, rounded back to 0.04.
    moved, zero, tiny = catalog([Decimal("10.00"), Decimal("0.00"), Decimal("0.04")])
    zero_before = Product.objects.get(pk=zero.pk).updated_at

    adjustment = services.product_adjust_prices(
        pks=[tiny.pk, zero.pk, moved.pk],
        actor=None,
        reason="Reprice",
        percent=Decimal("10"),
    )

    assert [(p.pk, p.price) for p in adjustment.changed] == [
        (moved.pk, Decimal("11.00"))
    ]
    assert [(p.pk, p.price) for p in adjustment.unchanged] == [
        (zero.pk, Decimal("0.00")),
        (tiny.pk, Decimal("0.04")),
    ]
    assert [versions_of(p) for p in (moved, zero, tiny)] == [2, 1, 1]
    assert Product.objects.get(pk=zero.pk).updated_at == zero_before


def test_an_adjustment_that_changes_no_price_writes_nothing() -> None:
    products = catalog([Decimal("10.00"), Decimal("20.00")])
    before = database_state()

    adjustment = services.product_adjust_prices(
        pks=[p.pk for p in products],
        actor=None,
        reason="Reprice",
        amount=Decimal("0.004"),
    )

    assert adjustment.changed == []
    assert [p.pk for p in adjustment.unchanged] == [p.pk for p in products]
    assert database_state() == before


def test_the_result_is_immutable() -> None:
    (product,) = catalog([Decimal("10.00")])

    adjustment = services.product_adjust_prices(
        pks=[product.pk], actor=None, reason="Reprice", amount=Decimal("1")
    )

    with pytest.raises(AttributeError):
        adjustment.changed = []  # type: ignore[misc]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"percent": Decimal("10"), "amount": Decimal("1")}, id="both"),
        pytest.param({}, id="neither"),
    ],
)
def test_the_service_needs_exactly_one_of_percent_and_amount(
    change: dict[str, Decimal],
) -> None:
    products = catalog([Decimal("10.00")])
    before = database_state()

    with pytest.raises(ValidationError) as raised:
        services.product_adjust_prices(
            pks=[p.pk for p in products], actor=None, reason="Reprice", **change
        )

    assert raised.value.code == "INVALID"
    assert database_state() == before


def test_adjust_prices_answers_with_the_changed_products_only(
    gql: Any, editor: Any
) -> None:
    moved, zero = catalog([Decimal("10.00"), Decimal("0.00")])

    answer = gql(
        ADJUST,
        {"input": {"ids": ids([moved, zero]), "percent": "50", "reason": "Sale"}},
        user=editor,
    )

    assert answer == {
        "data": {
            "adjustPrices": {
                "__typename": "ProductsResult",
                "count": 1,
                "products": [{"id": ids([moved])[0], "price": "15.00"}],
            }
        }
    }
    assert [versions_of(p) for p in (moved, zero)] == [2, 1]
