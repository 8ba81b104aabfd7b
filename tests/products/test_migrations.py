"""Data migrations of products, run against the current tables."""

from __future__ import annotations

import importlib
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps

from products.models import Category, Product
from products.services import (
    category_create,
    category_update,
    product_create,
    product_update,
)
from tests.helpers import bypass_guards

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
