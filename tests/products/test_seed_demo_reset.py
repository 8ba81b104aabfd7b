"""`manage.py seed_demo`: a second run says the data is there; `--reset` wipes
the catalog and its history and seeds the same demo again."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from history.models import Changeset, Pruning
from products.models import Category, Product, Tag
from products.services import product_create
from tests.helpers import command_help

pytestmark = pytest.mark.django_db

HistoricalProduct = Product.history.model


def seed(**options: Any) -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def demo() -> dict[str, Any]:
    """What the README's tour reads: ids included."""
    return {
        "products": list(Product.objects.order_by("pk").values("pk", "name", "price")),
        "categories": list(Category.objects.order_by("pk").values("pk", "name")),
        "tags": list(Tag.objects.order_by("pk").values("pk", "name")),
        "versions": list(
            HistoricalProduct.objects.order_by("history_id").values_list(
                "history_id", "id", "history_type", "history_change_reason"
            )
        ),
        "changesets": Changeset.objects.count(),
    }


def test_a_second_run_says_the_data_is_there_and_how_to_reset() -> None:
    seed()
    before = demo()

    out = seed()

    assert demo() == before
    assert "Demo data is ready." not in out
    assert (
        "The catalog is not empty (2 products, 13 versions): the demo data is "
        "already there, or other data is; nothing was changed." in out
    )
    assert (
        'To start again from the demo data: make manage ARGS="seed_demo --reset"' in out
    )
    assert "Authorization: Bearer hist_" in out


@override_settings(DEBUG=True)
def test_reset_wipes_the_catalog_and_its_history_and_seeds_the_same_again() -> None:
    seed()
    seed(reset=True)
    first = demo()
    product_create(
        data={"name": "Extra", "price": Decimal("1.00"), "tags": ["extra"]},
        actor=None,
    )
    Pruning.objects.create(
        pruned_at=first_moment(),
        model="products.product",
        cutoff=first_moment(),
        count=1,
    )

    out = seed(reset=True)

    assert "Demo data is ready." in out
    assert demo() == first
    # The ids restart, as the README's tour names them.
    assert [p["pk"] for p in first["products"]] == [1, 2]
    assert first["versions"][0][0] == 1
    assert not Tag.objects.filter(name="extra").exists()
    assert not Pruning.objects.exists()


def first_moment() -> Any:
    return HistoricalProduct.objects.earliest("history_date").history_date


def test_reset_is_refused_without_debug_and_changes_nothing() -> None:
    seed()
    before = demo()

    with pytest.raises(CommandError, match="Refused: --reset deletes the catalog"):
        seed(reset=True)

    assert demo() == before


def test_force_allows_reset_without_debug() -> None:
    seed(reset=True, force=True)
    first = demo()
    product_create(data={"name": "Extra", "price": Decimal("1.00")}, actor=None)

    seed(reset=True, force=True)

    assert demo() == first


def test_force_alone_is_refused() -> None:
    with pytest.raises(CommandError, match="--force goes with --reset only"):
        seed(force=True)
    assert not Product.objects.exists()


def test_help_explains_the_command() -> None:
    text = command_help("seed_demo")

    assert "--reset" in text
    assert "--force" in text
    assert "development only" in text
