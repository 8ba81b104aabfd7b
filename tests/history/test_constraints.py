"""Check constraints evaluated in Python (`history.constraints`) against
Django's own check, which asks the database: the same verdict for every
condition it evaluates, on every value."""

from __future__ import annotations

import gc
import itertools
import weakref
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from history.constraints import Unsupported, check_passes
from products.models import Product

pytestmark = pytest.mark.django_db

CONDITIONS = [
    Q(price__gte=0),
    Q(price__gt=Decimal("9.99")),
    Q(quantity__lt=5) | Q(name="special"),
    ~Q(quantity__isnull=True),
    Q(quantity__isnull=True) | Q(quantity__lte=3, price__lt=10),
    ~(Q(quantity__gt=2) & ~Q(name="x")),
    Q(name="x"),
    Q(quantity=None),
    Q(quantity__gte=1.5),
]
UNSUPPORTED = [
    Q(name__gt="m"),  # text ordering is the database's collation
    Q(name__startswith="a"),
    Q(category__isnull=True),  # a relation
    Q(quantity__gt=models.F("price")),  # an expression
    Q(missing__gt=1),
]
VALUES: dict[str, list[Any]] = {
    "price": [
        Decimal("-1.00"),
        Decimal("0.00"),
        Decimal("9.99"),
        Decimal("12.50"),
        None,
    ],
    "quantity": [0, 3, 7, None],
    "name": ["x", "special", "other"],
}


def product(price: Any, quantity: Any, name: str) -> Product:
    """An unsaved product with these values, None and wrong types included."""
    return Product(name=name, description="", price=price, quantity=quantity)


def django_passes(constraint: models.CheckConstraint, instance: Product) -> bool:
    try:
        constraint.validate(Product, instance)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("condition", CONDITIONS, ids=str)
def test_the_python_verdict_is_the_databases(condition):
    constraint = models.CheckConstraint(condition=condition, name="c")
    for price, quantity, name in itertools.product(
        VALUES["price"], VALUES["quantity"], VALUES["name"]
    ):
        instance = product(price, quantity, name)
        assert check_passes(constraint, instance) is django_passes(
            constraint, instance
        ), (condition, price, quantity, name)


@pytest.mark.parametrize("condition", UNSUPPORTED, ids=str)
def test_what_it_cannot_evaluate_is_left_to_django(condition):
    constraint = models.CheckConstraint(condition=condition, name="c")
    with pytest.raises(Unsupported):
        check_passes(constraint, product(Decimal("1.00"), 1, "x"))
    # Every time, not only when first read.
    with pytest.raises(Unsupported):
        check_passes(constraint, product(Decimal("2.00"), 2, "y"))


def test_a_value_it_cannot_order_is_left_to_django():
    constraint = models.CheckConstraint(condition=Q(quantity__gt=0), name="c")
    assert check_passes(constraint, product(None, 1, "x"))
    with pytest.raises(Unsupported):
        check_passes(constraint, product(None, "1", "x"))


def test_an_excluded_field_passes_even_where_it_cannot_evaluate():
    constraint = models.CheckConstraint(condition=Q(name__gt="m"), name="c")
    assert check_passes(constraint, product(None, 1, "a"), exclude=["name"])
    checked = models.CheckConstraint(condition=Q(quantity__gte=0), name="d")
    assert check_passes(checked, product(None, -1, "a"), exclude=["quantity"])
    assert not check_passes(checked, product(None, -1, "a"), exclude=["price"])


def test_an_instance_left_to_django_is_not_kept_alive():
    """What cannot be evaluated raises a new `Unsupported` each time: one
    raised again would keep every traceback, and the instances in its frames."""
    constraint = models.CheckConstraint(condition=Q(name__startswith="a"), name="c")

    def check_one() -> weakref.ref[Product]:
        instance = product(None, 1, "x")
        with pytest.raises(Unsupported):
            check_passes(constraint, instance)
        return weakref.ref(instance)

    refs = [check_one() for _ in range(3)]
    gc.collect()
    assert [ref() for ref in refs] == [None, None, None]
