"""How bulk writes build their versions (`history.bulk._version_maker`): the
instance Django's constructor would build, without going through it unless
something could tell the difference."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db.models.signals import post_init
from django.utils import timezone

from history.bulk import _version_maker
from history.models import VersionExtras
from products.models import Category, Product

pytestmark = pytest.mark.django_db

HistoricalProduct = Product.history.model


def common() -> dict[str, Any]:
    return {
        "history_date": timezone.now(),
        "history_type": "+",
        "history_change_reason": "why",
    }


def built(version: Any) -> dict[str, Any]:
    values = {k: v for k, v in vars(version).items() if k != "_state"}
    return {**values, "_state": (version._state.adding, version._state.db)}


def test_a_version_is_what_the_constructor_builds():
    category = Category.objects.create(name="Tools")
    product = Product.objects.create(
        name="Saw", price=Decimal("9.50"), quantity=2, category=category
    )
    columns = common()
    made = _version_maker(HistoricalProduct, columns)(product)
    assert type(made) is HistoricalProduct
    by_constructor = HistoricalProduct(
        *[
            getattr(made, field.attname)
            for field in HistoricalProduct._meta.concrete_fields
        ]
    )
    assert built(made) == built(by_constructor)
    assert made.category_id == category.pk
    assert made.category == category
    assert made.history_relation_id == product.pk
    assert made.history_change_reason == "why"
    assert made.history_id is None
    # Defaults called for each version, not shared.
    other = _version_maker(HistoricalProduct, columns)(product)
    assert made.history_changes == other.history_changes == {}
    assert other.history_changes is not made.history_changes


def test_the_constructor_builds_it_when_its_init_signals_are_listened_to():
    product = Product.objects.create(name="Saw", price=Decimal("9.50"), quantity=2)
    seen: list[Any] = []

    def receiver(sender: Any, instance: Any, **kwargs: Any) -> None:
        seen.append(instance)

    post_init.connect(receiver, sender=HistoricalProduct)
    try:
        made = _version_maker(HistoricalProduct, common())(product)
    finally:
        post_init.disconnect(receiver, sender=HistoricalProduct)
    assert seen == [made]
    assert made.name == "Saw"


def test_the_constructor_builds_it_when_a_base_has_an_init_of_its_own(monkeypatch):
    product = Product.objects.create(name="Saw", price=Decimal("9.50"), quantity=2)
    built_by_init: list[Any] = []

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        super(VersionExtras, self).__init__(*args, **kwargs)
        built_by_init.append(self)

    monkeypatch.setattr(VersionExtras, "__init__", init, raising=False)
    made = _version_maker(HistoricalProduct, common())(product)
    assert built_by_init == [made]
    assert made.name == "Saw"
