"""Bulk writes insert each version once, complete: no statement of any write
path changes a version after its INSERT, and a bulk write's statements do
not grow with the number of objects."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from history.bulk import history_bulk_create, record_bulk_versions
from history.changeset_revert import changeset_revert
from history.tracking import DELETED
from history.writes import tracked_create, tracked_delete, tracked_update
from products.models import Product, Tag
from products.services import (
    category_create,
    category_delete,
    product_adjust_prices,
    product_create,
    product_delete,
    product_import,
    product_revert,
    product_update,
    tag_delete,
)
from tests.history.chain_oracle import chain_problems, chain_types
from tests.products.bulk_checks import database_state
from tests.tracked.models import Note

pytestmark = pytest.mark.django_db

HistoricalProduct = Product.history.model
STATEMENT = re.compile(
    r"^(?:(?P<insert>INSERT (?:OR IGNORE )?INTO|COPY)|(?P<update>UPDATE)|"
    r'(?P<delete>DELETE FROM)|(?P<select>SELECT .*? FROM)) "(?P<table>\w+)"',
    re.DOTALL,
)


def data_statements(queries: CaptureQueriesContext) -> list[tuple[str, str]]:
    """(verb, table) of each statement that reads or writes a table, in
    order; a bulk INSERT that Django splits into batches counts once."""
    found: list[tuple[str, str]] = []
    for query in queries.captured_queries:
        match = STATEMENT.match(query["sql"])
        if match is None:
            continue  # transaction control, advisory locks, sequence draws
        verb = next(
            name for name in ("insert", "update", "delete", "select") if match[name]
        )
        entry = (verb, match["table"])
        if verb == "insert" and found and found[-1] == entry:
            continue
        found.append(entry)
    return found


def catalog(count: int) -> list[Product]:
    lighting = category_create(data={"name": "Lighting"}, actor=None)
    rows = [
        {"name": f"P{i}", "price": "10.00", "category": lighting.pk, "tags": ["a"]}
        for i in range(count)
    ]
    return product_import(rows=rows, actor=None, reason="seed")


ADJUST_STATEMENTS = [
    ("select", "products_product"),  # the rows, locked
    ("update", "products_product"),
    ("select", "products_historicalproduct"),  # the previous versions
    ("select", "products_category"),  # the snapshot: category, tags
    ("select", "products_product_tags"),
    ("insert", "history_changeset"),
    ("insert", "products_historicalproduct"),  # the versions, complete
    ("insert", "products_historicalproduct_tags"),  # their many-to-many rows
    ("select", "products_product"),  # the answer, with its tags
    ("select", "products_tag"),
]


@pytest.mark.parametrize("count", [2, 40])
def test_adjusting_prices_writes_each_version_once_in_constant_statements(
    editor: Any, count: int
) -> None:
    products = catalog(count)
    editor.has_perm("products.change_product")  # its permissions, cached

    with CaptureQueriesContext(connection) as queries:
        product_adjust_prices(
            pks=[p.pk for p in products], actor=editor, reason="x", percent=Decimal(5)
        )

    assert data_statements(queries) == ADJUST_STATEMENTS
    assert chain_problems() == []


@pytest.mark.parametrize("count", [2, 40])
def test_an_import_writes_each_version_once(count: int) -> None:
    lighting = category_create(data={"name": "Lighting"}, actor=None)
    Tag.objects.create(name="a")
    rows = [
        {"name": f"P{i}", "price": "1.00", "category": lighting.pk, "tags": ["a"]}
        for i in range(count)
    ]

    with CaptureQueriesContext(connection) as queries:
        product_import(rows=rows, actor=None, reason="feed")

    # A constant number of statements whatever the number of rows: the
    # rows' categories and tags are looked up together, not row by row.
    assert data_statements(queries) == [
        ("select", "products_category"),  # the rows' categories, at once
        ("insert", "products_tag"),  # their tags, created if missing
        ("select", "products_tag"),
        ("select", "products_tag"),
        ("insert", "products_product"),
        ("insert", "products_product_tags"),
        ("select", "products_category"),  # the snapshot: category, tags' names
        ("select", "products_tag"),
        ("insert", "history_changeset"),
        ("insert", "products_historicalproduct"),  # the versions, complete
        ("insert", "products_historicalproduct_tags"),  # their many-to-many rows
        ("select", "products_product"),  # the answer, with its tags
        ("select", "products_tag"),
    ]
    assert chain_problems() == []


# -- no write path changes a version ---------------------------------------------


def every_write_path() -> None:
    lighting = category_create(data={"name": "Lighting"}, actor=None)
    lamp = product_create(
        data={"name": "Lamp", "price": "1.00", "category": lighting.pk, "tags": ["a"]},
        actor=None,
    )
    first = HistoricalProduct.objects.get(id=lamp.pk)
    product_update(pk=lamp.pk, data={"name": "Desk lamp", "tags": ["b"]}, actor=None)
    product_revert(pk=lamp.pk, record_id=first.history_id, actor=None, reason="u")
    (mug,) = product_import(
        rows=[{"name": "Mug", "price": "2.00", "tags": ["a"]}], actor=None, reason="i"
    )
    product_adjust_prices(
        pks=[lamp.pk, mug.pk], actor=None, reason="x", amount=Decimal(1)
    )
    changeset = HistoricalProduct.objects.filter(id=mug.pk).latest("history_id")
    changeset_revert(
        changeset_id=changeset.history_changeset_id, actor=None, reason="u"
    )
    tag_delete(pk=Tag.objects.get(name="a").pk, actor=None)
    category_delete(pk=lighting.pk, actor=None)
    last = HistoricalProduct.objects.filter(id=mug.pk).latest("history_id")
    product_delete(pk=mug.pk, actor=None)
    product_revert(pk=mug.pk, record_id=last.history_id, actor=None, reason="b")
    note = tracked_create(model=Note, data={"title": "n"}, actor=None)
    tracked_update(model=Note, pk=note.pk, data={"title": "m"}, actor=None)
    tracked_delete(model=Note, pk=note.pk, actor=None)
    plain = Product.objects.create(name="Plain", price=Decimal(3))
    plain.tags.add(Tag.objects.get(name="b"))
    plain.delete()


def test_no_write_path_updates_or_deletes_a_version() -> None:
    with CaptureQueriesContext(connection) as queries:
        every_write_path()

    history_writes = [
        (verb, table)
        for verb, table in data_statements(queries)
        if verb in ("update", "delete") and "historical" in table
    ]
    assert history_writes == []
    assert len(chain_types()) == 5  # a category, three products, a note


# -- refusals ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(
            lambda p: record_bulk_versions(
                Product, [p], history_type=DELETED, actor=None, reason=None
            ),
            "CREATED or UPDATED",
            id="deleted-type",
        ),
        pytest.param(
            lambda p: record_bulk_versions(
                Product,
                [Product(name="New", price=Decimal(1))],
                history_type="+",
                actor=None,
                reason=None,
            ),
            "primary key is missing",
            id="unsaved",
        ),
        pytest.param(
            lambda p: history_bulk_create(
                model=Product,
                instances=[Product(name="New", price=Decimal(1))],
                actor=None,
                reason=None,
                m2m=[{"colours": [1]}],
            ),
            "no many-to-many field ['colours']",
            id="unknown-m2m",
        ),
        pytest.param(
            lambda p: history_bulk_create(
                model=Product,
                instances=[Product(name="New", price=Decimal(1))],
                actor=None,
                reason=None,
                m2m=[],
            ),
            "every instance",
            id="m2m-of-some",
        ),
    ],
)
def test_bulk_writes_refuse_what_they_cannot_record_and_write_nothing(
    call: Callable[[Product], Any], message: str
) -> None:
    lamp = product_create(data={"name": "Lamp", "price": "1.00"}, actor=None)
    before = database_state()

    with pytest.raises(ValueError, match=re.escape(message)):
        call(lamp)

    assert database_state() == before
