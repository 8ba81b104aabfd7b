"""The indexes of every historical model: an object's versions in keyset order,
which the newest version read under a write's lock is found by."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.utils import timezone

from history.heads import _plan
from history.locks import lock_key
from products.models import Category, Product
from products.services import product_create, product_update
from tests.helpers import old_versions
from tests.tracked.models import Note

pytestmark = pytest.mark.django_db

HistoricalProduct = Product.history.model


def indexes(table: str) -> list[list[str]]:
    """The columns of each non-unique index of `table`, in order."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return [
        list(c["columns"])
        for c in constraints.values()
        if c["index"] and not c["unique"] and not c["primary_key"]
    ]


@pytest.mark.parametrize("model", [Product, Category, Note])
def test_versions_have_an_index_on_object_then_keyset_and_none_on_the_object_alone(
    model,
):
    table = model.history.model._meta.db_table
    column = model._meta.pk.column
    assert [column, "history_date", "history_id"] in indexes(table)
    assert ["history_relation_id", "history_date", "history_id"] in indexes(table)
    assert ["history_date", "history_id"] in indexes(table)
    # Each composite leads with its column: no index of that column alone.
    assert [column] not in indexes(table)
    assert ["history_relation_id"] not in indexes(table)
    assert ["history_date"] not in indexes(table)


def test_the_many_to_many_versions_keep_their_index_on_the_row_id():
    tags = apps.get_model("products", "HistoricalProduct_tags")
    assert ["id"] in indexes(tags._meta.db_table)


def behind_another(editor: Any, *, busy: int) -> Product:
    """A product with 3,000 old versions, behind `busy` newer versions of
    another, with fresh statistics (`enable_seqscan` left on)."""
    old, other = (
        product_create(
            data={"name": name, "price": Decimal("1.00"), "quantity": 1},
            actor=editor,
        )
        for name in ("Old", "Busy")
    )
    now = timezone.now()
    old_versions(old, 3000, now - datetime.timedelta(days=20))
    old_versions(other, busy, now - datetime.timedelta(days=10))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE products_historicalproduct")
    return old


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="EXPLAIN plans are PostgreSQL's"
)
def test_a_write_finds_the_newest_version_by_the_object_index(editor):
    """The head read of a product with 3,000 versions, behind 3,000 newer
    versions of another: an index scan on (id, history_date, history_id), no
    sort of the product's versions and no walk of the feed. With fresh
    statistics and `enable_seqscan` left on."""
    old = behind_another(editor, busy=3000)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"EXPLAIN {_plan(connection, Product).sql}",
            [old.pk, lock_key(Product, old.pk)],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "products_historicalprod_object" in plan, plan
    assert not re.search(r"(^|->  )Sort ", plan), plan
    assert "Seq Scan on products_historicalproduct" not in plan, plan
    # And the write reads the right head: its version follows the newest.
    updated = product_update(pk=old.pk, data={"quantity": 7}, actor=editor)
    newest = HistoricalProduct.objects.filter(id=updated.pk).order_by(
        "-history_date", "-history_id"
    )
    assert [v.quantity for v in newest[:2]] == [7, 1]


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="EXPLAIN plans are PostgreSQL's"
)
def test_an_objects_history_page_is_read_by_the_relation_index(editor):
    """The first page of a product's `versions` (its `history` connection),
    3,000 versions behind 30,000 newer ones of another: an index scan on
    (history_relation, history_date, history_id), not a walk of the feed's
    index that filters out the other product's versions."""
    old = behind_another(editor, busy=30000)
    page = HistoricalProduct.objects.filter(history_relation=old).order_by(
        "-history_date", "-history_id"
    )[:21]
    plan = page.explain()
    assert "products_historicalpr_relation" in plan, plan
    assert "Filter" not in plan, plan
    assert not re.search(r"(^|->  )Sort ", plan), plan
    assert [v.quantity for v in page[:2]] == [1, 2999]
