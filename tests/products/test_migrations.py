"""Data migrations of products, run against the current tables."""

from __future__ import annotations

import datetime
import importlib
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from products.models import Category, Product
from products.services import (
    category_create,
    category_update,
    product_create,
    product_update,
)
from tests.helpers import bypass_guards
from tests.history.chain_oracle import chain_problems, chains

pytestmark = pytest.mark.django_db

backfill = importlib.import_module("products.migrations.0004_backfill_version_segments")
staff_only = importlib.import_module("products.migrations.0009_version_staff_only")


def test_backfill_fills_the_segments_of_versions_written_without_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lamp = product_create(
        data={"name": "Lamp", "description": "Brass lamp", "price": Decimal("9")},
        actor=None,
    )
    for n, description in enumerate(["Steel lamp", "Steel desk lamp", "Lamp"]):
        product_update(
            pk=lamp.pk,
            data={"description": description, "quantity": n + 1},
            actor=None,
        )
    category = category_create(data={"name": "Lights"}, actor=None)
    category_update(pk=category.pk, data={"name": "Lighting"}, actor=None)
    written = {model: segments_by_version(model) for model in (Product, Category)}
    with bypass_guards():
        for model in (Product, Category):
            model.history.update(history_segments={})
    monkeypatch.setattr(backfill, "CHUNK_SIZE", 2)  # several chunks

    backfill.backfill_segments(apps, None)

    assert written == {
        Product: [
            {},
            {
                "description": [
                    ["delete", "Brass"],
                    ["insert", "Steel"],
                    ["equal", " lamp"],
                ]
            },
            {
                "description": [
                    ["equal", "Steel "],
                    ["insert", "desk "],
                    ["equal", "lamp"],
                ]
            },
            {"description": [["delete", "Steel desk lamp"], ["insert", "Lamp"]]},
        ],
        Category: [{}, {"name": [["delete", "Lights"], ["insert", "Lighting"]]}],
    }
    for model in (Product, Category):
        assert segments_by_version(model) == written[model]


def segments_by_version(model: Any) -> list[Any]:
    return list(
        model.history.order_by("history_id").values_list("history_segments", flat=True)
    )


def test_backfill_marks_the_updates_that_changed_no_stored_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lamp = product_create(data={"name": "Lamp", "price": Decimal("9")}, actor=None)
    for n in range(3):
        product_update(pk=lamp.pk, data={"supplier_cost": Decimal(n + 1)}, actor=None)
    product_update(pk=lamp.pk, data={"quantity": 4}, actor=None)
    category = category_create(data={"name": "Lights"}, actor=None)
    category_update(pk=category.pk, data={"name": "Lighting"}, actor=None)
    with bypass_guards():
        for model in (Product, Category):
            model.history.update(history_staff_only=False)
    monkeypatch.setattr(staff_only, "CHUNK_SIZE", 2)  # several chunks

    staff_only.mark_staff_only(apps, None)

    assert [flags_by_version(model) for model in (Product, Category)] == [
        [False, True, True, True, False],
        [False, False],
    ]


def flags_by_version(model: Any) -> list[bool]:
    return list(
        model.history.order_by("history_id").values_list(
            "history_staff_only", flat=True
        )
    )


# -- 0011: versions written before hash chains are sealed into them ---------------

BEFORE_CHAINS = [("products", "0009_version_staff_only")]


@pytest.mark.django_db(transaction=True)
def test_versions_written_before_chains_are_sealed_into_valid_chains_in_order() -> None:
    """Versions are sealed oldest first per object, by date then history id,
    whatever order their rows were inserted in."""
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_CHAINS)
    old = executor.loader.project_state(BEFORE_CHAINS).apps
    old_product = old.get_model("products", "Product")
    old_category = old.get_model("products", "Category")
    versions = old.get_model("products", "HistoricalProduct")
    category_versions = old.get_model("products", "HistoricalCategory")
    start = datetime.datetime(2024, 5, 1, 9, 0, tzinfo=datetime.UTC)

    def at(minutes: int) -> datetime.datetime:
        return start + datetime.timedelta(minutes=minutes)

    lighting = old_category.objects.create(name="Lighting", created_at=at(0))
    category_versions.objects.create(
        id=lighting.pk,
        history_relation_id=lighting.pk,
        name="Lighting",
        created_at=at(0),
        history_date=at(0),
        history_type="+",
    )
    lamp = old_product.objects.create(
        name="Lamp", price=Decimal("10.00"), created_at=at(1), category=lighting
    )
    desk = old_product.objects.create(
        name="Desk", price=Decimal("20.00"), created_at=at(2)
    )
    # Inserted out of order: the chain follows the dates, and the history id
    # between versions of the same date.
    rows = [
        (lamp, "+", at(1), "Lamp", Decimal("10.00")),
        (desk, "+", at(2), "Desk", Decimal("20.00")),
        (lamp, "~", at(9), "Desk lamp", Decimal("12.50")),
        (lamp, "~", at(5), "Lamp", Decimal("11.00")),
        (desk, "-", at(7), "Desk", Decimal("20.00")),
        (lamp, "~", at(5), "Lamp", Decimal("11.50")),
    ]
    written = [
        versions.objects.create(
            id=product.pk,
            history_relation_id=product.pk,
            name=name,
            price=price,
            quantity=0,
            category_id=product.category_id,
            created_at=product.created_at,
            history_date=date,
            history_type=kind,
            history_change_reason=f"{kind} at {date:%H:%M}",
            history_snapshot={"category": None, "tags": []},
        ).history_id
        for product, kind, date, name, price in rows
    ]
    old_product.objects.filter(pk=desk.pk).delete()

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    sealed = chains([Product, Category])
    assert {key: [v.history_id for v in chain] for key, chain in sealed.items()} == {
        ("products.category", str(lighting.pk)): [
            Category.history.model.objects.get().history_id
        ],
        ("products.product", str(lamp.pk)): [
            written[0],
            written[3],
            written[5],
            written[2],
        ],
        ("products.product", str(desk.pk)): [written[1], written[4]],
    }
    assert chain_problems([Product, Category]) == []
    # A version written now extends the sealed chain.
    product_update(pk=lamp.pk, data={"quantity": 3}, actor=None)
    assert [
        v.history_type for v in chains([Product])[("products.product", str(lamp.pk))]
    ] == ["+", "~", "~", "~", "~"]
    assert chain_problems([Product]) == []
