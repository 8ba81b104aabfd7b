"""The chain is well-defined for any save: a version is linked to its
object's newest version read under the object's lock, which services hold
already and plain saves take when their version is written."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from simple_history.signals import pre_create_historical_record

from history import signals
from history.changeset_revert import changeset_revert
from history.writes import locked_instance, tracked_update
from products.models import Product, Tag
from products.services import (
    category_create,
    category_delete,
    category_update,
    product_create,
    product_delete,
    product_revert,
    product_update,
    tag_delete,
)
from tests.helpers import run_together, slow_version_writes
from tests.history.chain_oracle import chain_problems, chains
from tests.tracked.models import Note

HistoricalProduct = Product.history.model

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs concurrent connections and advisory locks of a server database",
)


@pytest.fixture
def locks_taken(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """The objects whose lock `fill_version` takes itself, in order."""
    taken: list[tuple[str, Any]] = []
    real = signals.lock_object

    def recording(model: Any, pk: Any, **kwargs: Any) -> None:
        taken.append((model._meta.label_lower, pk))
        real(model, pk, **kwargs)

    monkeypatch.setattr(signals, "lock_object", recording)
    return taken


# -- who takes the lock ------------------------------------------------------------


def _update(lamp: Product) -> None:
    product_update(pk=lamp.pk, data={"name": "Desk lamp", "tags": ["b"]}, actor=None)


def _delete(lamp: Product) -> None:
    product_delete(pk=lamp.pk, actor=None)


def _revert(lamp: Product) -> None:
    first = HistoricalProduct.objects.filter(id=lamp.pk).earliest("history_id")
    product_update(pk=lamp.pk, data={"name": "Desk lamp"}, actor=None)
    product_revert(pk=lamp.pk, record_id=first.history_id, actor=None, reason="u")


def _restore(lamp: Product) -> None:
    first = HistoricalProduct.objects.filter(id=lamp.pk).earliest("history_id")
    product_delete(pk=lamp.pk, actor=None)
    product_revert(pk=lamp.pk, record_id=first.history_id, actor=None, reason="u")


def _changeset_revert(lamp: Product) -> None:
    product_update(pk=lamp.pk, data={"quantity": 5}, actor=None)
    updated = HistoricalProduct.objects.filter(id=lamp.pk).latest("history_id")
    changeset_revert(changeset_id=updated.history_changeset_id, actor=None, reason="u")
    mug = product_create(data={"name": "Mug", "price": "2.00"}, actor=None)
    created = HistoricalProduct.objects.get(id=mug.pk)
    changeset_revert(changeset_id=created.history_changeset_id, actor=None, reason="x")


def _category_delete(lamp: Product) -> None:
    category_update(pk=lamp.category_id, data={"name": "Lights"}, actor=None)
    category_delete(pk=lamp.category_id, actor=None)


def _tag_delete(lamp: Product) -> None:
    tag_delete(pk=Tag.objects.get(name="a").pk, actor=None)


def _note(lamp: Product) -> None:
    note = Note.objects.create(title="n")  # CREATED: no lock
    tracked_update(model=Note, pk=note.pk, data={"title": "m"}, actor=None)


SERVICE_WRITES = [
    pytest.param(_update, id="update"),
    pytest.param(_delete, id="delete"),
    pytest.param(_revert, id="revert"),
    pytest.param(_restore, id="restore"),
    pytest.param(_changeset_revert, id="changeset-revert"),
    pytest.param(_category_delete, id="category-delete"),
    pytest.param(_tag_delete, id="tag-delete"),
    pytest.param(_note, id="generic-update"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("write", SERVICE_WRITES)
def test_service_writes_hold_the_lock_already(
    locks_taken: list[tuple[str, Any]], write: Callable[[Product], None]
) -> None:
    lighting = category_create(data={"name": "Lighting"}, actor=None)
    lamp = product_create(
        data={"name": "Lamp", "price": "1.00", "category": lighting.pk, "tags": ["a"]},
        actor=None,
    )
    written = sum(map(len, chains().values()))

    write(lamp)

    assert locks_taken == []
    assert chain_problems() == []
    assert sum(map(len, chains().values())) > written


@pytest.mark.django_db
def test_plain_writes_take_the_objects_lock_unless_they_create(
    locks_taken: list[tuple[str, Any]],
) -> None:
    lamp = Product.objects.create(name="Lamp", price=Decimal("1.00"))
    created = list(locks_taken)
    lamp.quantity = 2
    lamp.save()
    lamp.tags.add(Tag.objects.create(name="red"))
    pk = lamp.pk
    lamp.delete()

    assert (created, locks_taken) == (
        [],
        [("products.product", pk)] * 3,
    )
    assert chain_problems() == []


@pytest.mark.django_db(transaction=True)
def test_an_instance_a_service_locked_is_locked_again_in_a_later_transaction(
    locks_taken: list[tuple[str, Any]],
) -> None:
    lamp = product_create(data={"name": "Lamp", "price": "1.00"}, actor=None)
    updated = product_update(pk=lamp.pk, data={"quantity": 1}, actor=None)
    assert signals.lock_held(updated) is False  # its transaction is over

    with transaction.atomic():
        updated.quantity = 2
        updated.save()
        with transaction.atomic():
            again = product_update(pk=lamp.pk, data={"quantity": 3}, actor=None)
            assert signals.lock_held(again) is True

    assert locks_taken == [("products.product", lamp.pk)]
    assert chain_problems() == []


@pytest.mark.django_db
def test_a_mark_from_a_rolled_back_savepoint_does_not_count(
    locks_taken: list[tuple[str, Any]],
) -> None:
    lamp = product_create(data={"name": "Lamp", "price": "1.00"}, actor=None)

    inside = []

    try:
        with transaction.atomic():
            signals.mark_lock_held(lamp)
            inside.append(signals.lock_held(lamp))
            raise RuntimeError("roll back")
    except RuntimeError:
        pass

    assert (inside, signals.lock_held(lamp)) == ([True], False)
    lamp.quantity = 2
    lamp.save()
    assert locks_taken == [("products.product", lamp.pk)]


@on_postgresql
@pytest.mark.django_db
def test_a_plain_save_locks_before_it_reads_the_previous_version() -> None:
    lamp = Product.objects.create(name="Lamp", price=Decimal("1.00"))
    lamp.quantity = 2

    with CaptureQueriesContext(connection) as queries:
        lamp.save()

    statements = [q["sql"] for q in queries.captured_queries]
    lock = next(i for i, s in enumerate(statements) if "pg_advisory_xact_lock" in s)
    previous = next(
        i for i, s in enumerate(statements) if "products_historicalproduct" in s
    )
    assert lock < previous
    assert sum("pg_advisory_xact_lock(" in s for s in statements) == 1


@on_postgresql
@pytest.mark.django_db
def test_a_service_update_takes_the_objects_lock_once() -> None:
    lamp = product_create(data={"name": "Lamp", "price": "1.00"}, actor=None)

    with CaptureQueriesContext(connection) as queries:
        product_update(pk=lamp.pk, data={"quantity": 2}, actor=None)

    # `locked_instance`'s; the shared locks of related objects end in _shared.
    exclusive = [q for q in queries.captured_queries if "_xact_lock(" in q["sql"]]
    assert len(exclusive) == 1


# -- concurrent plain writes ---------------------------------------------------------


def _save(pk: int, n: int) -> Callable[[], Any]:
    def write() -> None:
        with transaction.atomic():
            lamp = Product.objects.get(pk=pk)
            lamp.quantity = n
            lamp.save()

    return write


def _add_tag(pk: int, n: int) -> Callable[[], Any]:
    tag = Tag.objects.create(name=f"tag {n}")

    def write() -> None:
        with transaction.atomic():
            Product.objects.get(pk=pk).tags.add(tag)

    return write


@on_postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "plain_write",
    [pytest.param(_save, id="save"), pytest.param(_add_tag, id="tags-add")],
)
def test_concurrent_plain_writes_of_one_object_give_a_linear_chain(
    plain_write: Callable[[int, int], Callable[[], Any]],
) -> None:
    """A many-to-many change writes a version without touching the object's
    row, so no row lock orders it: only the object's lock does."""
    lamp = product_create(data={"name": "Lamp", "price": "1.00"}, actor=None)
    writes = [plain_write(lamp.pk, n) for n in range(1, 4)]

    pre_create_historical_record.connect(slow_version_writes, dispatch_uid="slow")
    try:
        results = run_together(*writes)
    finally:
        pre_create_historical_record.disconnect(dispatch_uid="slow")

    assert [r for r in results if isinstance(r, Exception)] == []
    versions = chains([Product])[("products.product", str(lamp.pk))]
    assert len(versions) == 4
    prev_hashes = [v.history_prev_hash for v in versions]
    assert len(set(prev_hashes)) == len(prev_hashes)
    assert chain_problems() == []
    for older, newer in itertools.pairwise(versions):
        assert newer.history_prev_hash == older.history_hash


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_plain_write_that_waited_for_the_lock_is_dated_after_what_it_follows() -> (
    None
):
    """simple-history dates a version before `fill_version` waits for the
    lock: the version is dated again once the lock is granted, so that it
    sorts after the version written meanwhile, which it follows."""
    lamp = product_create(data={"name": "Lamp", "price": "1.00"}, actor=None)
    red = Tag.objects.create(name="red")
    locked = threading.Event()

    def service_holding_the_lock() -> None:
        with transaction.atomic():
            locked_instance(Product, lamp.pk)
            locked.set()
            time.sleep(0.5)  # the plain write below is built and waits
            product_update(pk=lamp.pk, data={"quantity": 1}, actor=None)

    def plain_write() -> None:
        locked.wait(timeout=10)
        with transaction.atomic():
            Product.objects.get(pk=lamp.pk).tags.add(red)

    results = run_together(service_holding_the_lock, plain_write)

    assert results == [None, None]
    versions = chains([Product])[("products.product", str(lamp.pk))]
    # In chain order: the service's version, then the plain write's (which
    # records the values of the instance it read before waiting).
    assert [v.history_changes.get("tags") for v in versions] == [
        None,
        None,
        [[], ["red"]],
    ]
    assert chain_problems() == []
