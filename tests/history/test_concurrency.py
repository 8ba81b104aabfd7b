"""Concurrent writers of one object queue up (PostgreSQL: real row and advisory
locks; SQLite runs one writing transaction at a time by design)."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from simple_history.signals import pre_create_historical_record

from history.revert import history_revert
from products.models import Product, Tag
from products.services import (
    product_create,
    product_delete,
    product_import_rows,
    product_update,
)
from tests.helpers import run_together, slow_version_writes
from tests.history.chain_oracle import chain_problems

HistoricalProduct = Product.history.model

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs concurrent connections to a server database",
    ),
]


def test_concurrent_restores_of_a_deleted_product_restore_it_once() -> None:
    product = product_create(
        data={"name": "Mug", "price": Decimal("5.00")}, actor=None, reason="new"
    )
    first = HistoricalProduct.objects.get(id=product.pk)
    product_delete(pk=product.pk, actor=None, reason="gone")
    deleted = HistoricalProduct.objects.filter(id=product.pk).latest("history_id")

    def restore() -> Any:
        return history_revert(
            model=Product,
            pk=product.pk,
            record_id=first.history_id,
            actor=None,
            reason="back",
            expected_latest_id=deleted.history_id,
        )

    pre_create_historical_record.connect(slow_version_writes, dispatch_uid="slow")
    try:
        results = run_together(restore, restore, restore)
    finally:
        pre_create_historical_record.disconnect(dispatch_uid="slow")

    errors = [r for r in results if isinstance(r, ValidationError)]
    assert [type(r) for r in results].count(ValidationError) == 2
    assert [
        [
            (name, [e.code for e in field_errors])
            for name, field_errors in e.error_dict.items()
        ]
        for e in errors
    ] == [[("expected_latest", ["STALE"])]] * 2
    assert [
        v.history_type for v in HistoricalProduct.objects.filter(id=product.pk)
    ] == [
        "+",
        "-",
        "+",
    ]


def test_concurrent_updates_each_write_one_version_in_a_consistent_chain() -> None:
    product = product_create(
        data={"name": "Pen", "price": Decimal("1.00")}, actor=None, reason="new"
    )

    def update(quantity: int) -> Callable[[], Any]:
        return lambda: product_update(
            pk=product.pk, data={"quantity": quantity}, actor=None, reason="count"
        )

    results = run_together(*(update(q) for q in range(1, 6)))

    assert not [r for r in results if isinstance(r, Exception)]
    versions = list(
        HistoricalProduct.objects.filter(id=product.pk).order_by("history_id")
    )
    assert len(versions) == 6
    for older, newer in itertools.pairwise(versions):
        assert newer.history_changes == {
            "quantity": [str(older.quantity), str(newer.quantity)]
        }
    assert Product.objects.get().quantity == versions[-1].quantity


def test_updates_that_wait_for_the_lock_extend_the_chain_from_the_newest_version() -> (
    None
):
    """The statement that locks a product reads its newest version too; one
    that waited for the lock began before the holder's version was written,
    and must not extend the chain from the version before it."""
    product = product_create(
        data={"name": "Pen", "price": Decimal("1.00")}, actor=None, reason="new"
    )

    def update(quantity: int) -> Callable[[], Any]:
        return lambda: product_update(
            pk=product.pk, data={"quantity": quantity}, actor=None, reason="count"
        )

    pre_create_historical_record.connect(slow_version_writes, dispatch_uid="slow")
    try:
        results = run_together(*(update(q) for q in range(1, 4)))
    finally:
        pre_create_historical_record.disconnect(dispatch_uid="slow")

    assert [r for r in results if isinstance(r, Exception)] == []
    versions = list(
        HistoricalProduct.objects.filter(id=product.pk).order_by("history_id")
    )
    for older, newer in itertools.pairwise(versions):
        assert newer.history_prev_hash == older.history_hash
        assert newer.history_changes == {
            "quantity": [str(older.quantity), str(newer.quantity)]
        }
    assert len(versions) == 4
    assert chain_problems() == []


def test_a_plain_tag_change_racing_an_update_keeps_one_chain() -> None:
    """A change of a product's tags alone (simple-history's many-to-many
    signal, no service) writes the product's row too, so an update that
    waited for it reads the version it wrote."""
    product = product_create(
        data={"name": "Pen", "price": Decimal("1.00"), "tags": ["a"]},
        actor=None,
        reason="new",
    )
    tag = Tag.objects.create(name="b")
    tag_version_begun = threading.Event()

    def hold_tag_version(**kwargs: Any) -> None:
        if kwargs["instance"].quantity != 3:  # the tag change's version
            tag_version_begun.set()
            time.sleep(0.3)

    def add_tag() -> None:
        with transaction.atomic():
            Product.objects.get(pk=product.pk).tags.add(tag)

    def update() -> None:
        # Lock (and read) while the tag change holds the lock, uncommitted.
        tag_version_begun.wait(timeout=5)
        product_update(pk=product.pk, data={"quantity": 3}, actor=None, reason="n")

    pre_create_historical_record.connect(hold_tag_version, dispatch_uid="slow")
    try:
        results = run_together(add_tag, update)
    finally:
        pre_create_historical_record.disconnect(dispatch_uid="slow")

    assert [r for r in results if isinstance(r, Exception)] == []
    versions = list(
        HistoricalProduct.objects.filter(id=product.pk).order_by("history_id")
    )
    for older, newer in itertools.pairwise(versions):
        assert newer.history_prev_hash == older.history_hash
    assert versions[-1].history_snapshot["tags"] == [
        {"id": pk, "label": name}
        for pk, name in Tag.objects.order_by("pk").values_list("pk", "name")
    ]
    assert chain_problems() == []


def test_concurrent_imports_each_write_their_products_and_versions() -> None:
    # Each import draws its keys from the sequences before its COPY
    # (history.inserts): the keys of two imports at once interleave, never
    # collide, and every product gets the one version of its own import.
    def rows(name: str) -> list[dict[str, Any]]:
        return [{"name": f"{name} {n}", "price": "1.00"} for n in range(300)]

    results = run_together(
        *(
            (
                lambda name=name: product_import_rows(
                    rows=rows(name), actor=None, reason=name
                )
            )
            for name in ("first", "second", "third")
        )
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    for name, created in zip(("first", "second", "third"), results, strict=True):
        pks = [product.pk for product in created]
        assert pks == sorted(pks)
        assert [p.name for p in Product.objects.filter(pk__in=pks).order_by("pk")] == [
            row["name"] for row in rows(name)
        ]
        versions = HistoricalProduct.objects.filter(id__in=pks)
        assert versions.count() == 300
        assert {v.history_change_reason for v in versions} == {name}
    assert Product.objects.count() == 900
    assert chain_problems() == []
