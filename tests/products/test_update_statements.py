"""What one `product_update` costs the database: the row locked and read with
its newest version and related objects, the row written, the changeset and
the version inserted; nothing else."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from products.models import Product
from products.services import category_create, product_create, product_update
from tests.history.chain_oracle import chain_problems

pytestmark = pytest.mark.django_db(transaction=True)

HistoricalProduct: Any = Product.history.model

LOCK_AND_READ = r'^SELECT .* FROM "products_product" t LEFT JOIN .* WHERE t\."id" = '
UPDATE = r'^UPDATE "products_product" SET '
CHANGESET = r'^INSERT (OR IGNORE )?INTO "history_changeset" '
VERSION = r'^INSERT INTO "products_historicalproduct" '
VERSION_TAGS = r'^INSERT INTO "products_historicalproduct_tags" '


def statements(queries: CaptureQueriesContext) -> list[str]:
    """Each statement the update ran, by the first pattern above it matches
    (the statement itself when none does); transaction control left out."""
    patterns = [LOCK_AND_READ, UPDATE, CHANGESET, VERSION, VERSION_TAGS]
    found = []
    for query in queries.captured_queries:
        sql = query["sql"]
        if re.match(r"^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", sql):
            continue
        found.append(
            next((p for p in patterns if re.match(p, sql, re.DOTALL)), sql[:120])
        )
    return found


@pytest.mark.parametrize("tags", [[], ["red", "blue"]], ids=["untagged", "tagged"])
def test_an_update_of_plain_fields_runs_four_statements_and_its_tags_one(
    tags: list[str],
) -> None:
    lighting = category_create(data={"name": "Lighting"}, actor=None)
    lamp = product_create(
        data={
            "name": "Lamp",
            "price": "1.00",
            "category": lighting.pk,
            "tags": tags,
        },
        actor=None,
    )

    with CaptureQueriesContext(connection) as queries:
        product_update(
            pk=lamp.pk,
            data={"price": Decimal("2.50"), "quantity": 3},
            actor=None,
            reason="dearer",
        )

    assert statements(queries) == [LOCK_AND_READ, UPDATE, CHANGESET, VERSION] + (
        [VERSION_TAGS] if tags else []
    )
    version = HistoricalProduct.objects.filter(id=lamp.pk).order_by("-history_id")[0]
    assert (version.history_changes, version.history_snapshot) == (
        {"price": ["1.00", "2.50"], "quantity": ["0", "3"]},
        {
            "category": {"id": lighting.pk, "label": "Lighting"},
            "tags": [
                {"id": pk, "label": name}
                for pk, name in lamp.tags.order_by("pk").values_list("pk", "name")
            ],
        },
    )
    assert sorted(version.tags.values_list("tag__name", flat=True)) == sorted(tags)
    assert chain_problems() == []


def test_an_update_returns_the_values_as_stored() -> None:
    lamp = product_create(data={"name": "Lamp", "price": "1.00"}, actor=None)

    updated: Any = product_update(
        pk=lamp.pk, data={"price": Decimal("2.5"), "quantity": "4"}, actor=None
    )

    assert (str(updated.price), updated.quantity) == ("2.50", 4)
    assert updated.updated_at > lamp.updated_at


def test_a_plain_save_reads_the_tags_once_and_not_the_object_again() -> None:
    """The admin's path: `save()` of a tracked model. Its version's snapshot
    and many-to-many records come from one read of the tags; the object is
    not rebuilt from the version (which read its excluded fields again)."""
    created = product_create(
        data={"name": "Lamp", "price": "1.00", "tags": ["a", "b"]}, actor=None
    )
    lamp = Product.objects.get(pk=created.pk)
    lamp.quantity = 5

    with CaptureQueriesContext(connection) as queries:
        lamp.save()

    found = [
        re.sub(r'^(\w+) .*?"(\w+)".*', r"\1 \2", query["sql"], flags=re.S)
        for query in queries.captured_queries
        if not re.match(
            r"^(BEGIN|COMMIT|SAVEPOINT|RELEASE|SELECT pg_advisory)", query["sql"]
        )
    ]
    assert found == [
        "UPDATE products_product",
        "SELECT products_historicalproduct",  # the newest version
        "SELECT products_product_tags",  # the tags: snapshot and records
        "INSERT history_changeset",
        "INSERT products_historicalproduct",
        "INSERT products_historicalproduct_tags",
    ]
    assert chain_problems() == []
