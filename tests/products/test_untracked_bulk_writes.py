"""Bulk writes that would skip history are refused and change nothing, unless
inside a tracked bulk operation."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from history.managers import UntrackedWriteError, tracked_bulk
from products import services
from products.models import Category, Product
from tests.helpers import bypass_guards
from tests.products.bulk_checks import (
    HistoricalCategory,
    HistoricalProduct,
    database_state,
)

pytestmark = pytest.mark.django_db


# -- untracked bulk writes ----------------------------------------------------------


@pytest.fixture
def lamp(db: None) -> Product:
    """A product in a category, each with one CREATED version."""
    lighting = services.category_create(data={"name": "Lighting"}, actor=None)
    return services.product_create(
        data={"name": "Lamp", "price": Decimal("10.00"), "category": lighting.pk},
        actor=None,
    )


def _repriced(product: Product) -> Product:
    product.price = Decimal("1.00")
    return product


def _renamed(category: Category) -> Category:
    category.name = "Renamed"
    return category


UNTRACKED_WRITES = [
    pytest.param(
        lambda p: Product.objects.filter(pk=p.pk).update(price=Decimal("1.00")),
        "products.Product.objects.update()",
        id="product-update",
    ),
    pytest.param(
        lambda p: Product.objects.all().update(price=Decimal("1.00")),
        "products.Product.objects.update()",
        id="product-update-all",
    ),
    pytest.param(
        lambda p: p.category.products.update(price=Decimal("1.00")),
        "products.Product.objects.update()",
        id="product-update-through-related-manager",
    ),
    pytest.param(
        lambda p: Product.objects.bulk_update([_repriced(p)], ["price"]),
        "products.Product.objects.bulk_update()",
        id="product-bulk_update",
    ),
    pytest.param(
        lambda p: Product.objects.bulk_create(
            [Product(name="Bulk", price=Decimal("1.00"))]
        ),
        "products.Product.objects.bulk_create()",
        id="product-bulk_create",
    ),
    pytest.param(
        lambda p: Category.objects.filter(pk=p.category_id).update(name="Renamed"),
        "products.Category.objects.update()",
        id="category-update",
    ),
    pytest.param(
        lambda p: Category.objects.bulk_update([_renamed(p.category)], ["name"]),
        "products.Category.objects.bulk_update()",
        id="category-bulk_update",
    ),
    pytest.param(
        lambda p: Category.objects.bulk_create([Category(name="Bulk")]),
        "products.Category.objects.bulk_create()",
        id="category-bulk_create",
    ),
]


@pytest.mark.parametrize(("write", "operation"), UNTRACKED_WRITES)
def test_untracked_bulk_write_is_refused_and_changes_nothing(
    lamp: Product, write: Callable[[Product], Any], operation: str
) -> None:
    before = database_state()

    with pytest.raises(UntrackedWriteError) as refusal:
        write(lamp)

    message = str(refusal.value)
    assert message.startswith(operation), message
    for pointer in ("tracked_bulk()", "bulk_update_with_history", "services"):
        assert pointer in message, message
    assert database_state() == before


@pytest.mark.parametrize(("write", "operation"), UNTRACKED_WRITES)
def test_bulk_write_is_allowed_inside_tracked_bulk(
    lamp: Product, write: Callable[[Product], Any], operation: str
) -> None:
    before = database_state()

    # The database refuses rows written with no version (tests/history/
    # test_guards.py); here only the queryset's own refusal is at stake.
    with tracked_bulk(), bypass_guards():
        write(lamp)

    assert database_state() != before
    with pytest.raises(UntrackedWriteError, match=re.escape(operation)):
        write(Product.objects.get(pk=lamp.pk))  # refused again once outside


def test_simple_history_bulk_helpers_record_versions_inside_tracked_bulk(
    lamp: Product,
) -> None:
    product_versions = HistoricalProduct.objects.count()
    category_versions = HistoricalCategory.objects.count()
    lamp.price = Decimal("12.00")

    with tracked_bulk():
        updated = bulk_update_with_history(
            [lamp], Product, ["price"], default_change_reason="bulk reprice"
        )
        created = bulk_create_with_history(
            [Category(name="Garden")], Category, default_change_reason="bulk add"
        )

    assert updated == 1
    assert Product.objects.get(pk=lamp.pk).price == Decimal("12.00")
    assert HistoricalProduct.objects.count() == product_versions + 1
    newest = HistoricalProduct.objects.filter(id=lamp.pk).latest("history_id")
    assert (newest.history_type, newest.price, newest.history_change_reason) == (
        "~",
        Decimal("12.00"),
        "bulk reprice",
    )
    assert [c.name for c in created] == ["Garden"]
    assert HistoricalCategory.objects.count() == category_versions + 1
    assert list(
        HistoricalCategory.objects.filter(name="Garden").values_list(
            "history_type", "history_change_reason"
        )
    ) == [("+", "bulk add")]
