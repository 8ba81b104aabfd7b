"""Checkpoints form one line that never signs over a broken trail: a chain
rewritten or cut since the last checkpoint stops the next one (and a prune),
an old checkpoint stored again fails verification, and on PostgreSQL the
checkpoint table refuses UPDATE and DELETE."""

from __future__ import annotations

import datetime
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from history.bulk import history_bulk_update
from history.chains import GENESIS, hashed_fields, version_hash
from history.checkpoints import TrailBroken, write_checkpoint
from history.models import Checkpoint
from history.retention import history_prune
from history.verification import latest_reference
from products.models import Product
from products.services import product_update
from tests.history.tampering import (
    Trail,
    delete_versions,
    set_columns,
    signed_trail,
    tamper,
    versions_of,
)

pytestmark = pytest.mark.django_db

HistoricalProduct = Product.history.model


@pytest.fixture
def trail() -> Trail:
    return signed_trail()


def rewrite(versions: list[Any], index: int, **values: Any) -> None:
    """Change a version and re-hash its chain from it to the end, as someone
    holding the database (but not the signing key) would."""
    set_columns(versions[index], **values)
    fields = hashed_fields(HistoricalProduct)
    prev = versions[index - 1].history_hash if index else GENESIS
    for version in versions[index:]:
        stored = HistoricalProduct._base_manager.get(history_id=version.history_id)
        digest = version_hash("products.product", fields, stored, prev)
        set_columns(stored, history_prev_hash=prev, history_hash=digest)
        prev = digest


def test_new_versions_since_the_last_checkpoint_extend_the_line(trail: Trail) -> None:
    product_update(pk=trail.lamp.pk, data={"price": Decimal("30.00")}, actor=None)

    checkpoint = write_checkpoint()

    assert checkpoint.previous != ""
    assert latest_reference().failure is None


def test_no_checkpoint_is_signed_over_a_rewritten_chain(trail: Trail) -> None:
    rewrite(trail.lamp_versions, 1, price=Decimal("0.01"))
    before = Checkpoint.objects.count()

    with pytest.raises(TrailBroken, match=f"products.product {trail.lamp.pk}"):
        write_checkpoint()
    with pytest.raises(CommandError, match="1 chain no longer continues checkpoint"):
        call_command("checkpoint_history", stdout=StringIO())

    assert Checkpoint.objects.count() == before


def test_no_checkpoint_is_signed_over_a_chain_cut_and_written_again(
    trail: Trail,
) -> None:
    delete_versions(trail.lamp_versions[-1], trail.lamp_versions[-2])
    # A later write extends the cut chain: longer now than it was, but it no
    # longer holds the head the checkpoint signed.
    product_update(pk=trail.lamp.pk, data={"price": Decimal("1.00")}, actor=None)
    product_update(pk=trail.lamp.pk, data={"price": Decimal("2.00")}, actor=None)
    product_update(pk=trail.lamp.pk, data={"price": Decimal("3.00")}, actor=None)

    with pytest.raises(TrailBroken, match=f"products.product {trail.lamp.pk}"):
        write_checkpoint()


def test_a_prune_refuses_before_deleting_over_a_rewritten_chain(trail: Trail) -> None:
    rewrite(trail.mug_versions, 0, history_change_reason="forged")
    stored = HistoricalProduct._base_manager.count()

    with pytest.raises(TrailBroken):
        history_prune(model=Product, cutoff=timezone.now() + datetime.timedelta(days=1))

    assert HistoricalProduct._base_manager.count() == stored
    assert list(Checkpoint.objects.values_list("pk", flat=True)) == [
        trail.checkpoint.pk
    ]


def test_an_old_checkpoint_stored_again_fails_verification(trail: Trail) -> None:
    product_update(pk=trail.lamp.pk, data={"price": Decimal("30.00")}, actor=None)
    write_checkpoint()
    old = trail.checkpoint
    # The newest version is cut, and the older checkpoint, which did not sign
    # it, is stored again as the newest: the signature still holds.
    delete_versions(versions_of(trail.lamp)[-1])
    Checkpoint.objects.create(
        **{
            field.attname: getattr(old, field.attname)
            for field in Checkpoint._meta.concrete_fields
            if not field.primary_key
        }
    )

    reference = latest_reference()

    assert reference.failure is not None
    assert "does not follow the checkpoint stored before it" in reference.failure


def test_a_bulk_write_refuses_one_object_twice(trail: Trail) -> None:
    first = Product.objects.get(pk=trail.lamp.pk)
    second = Product.objects.get(pk=trail.lamp.pk)
    first.price, second.price = Decimal("50.00"), Decimal("60.00")
    stored = HistoricalProduct._base_manager.count()

    with pytest.raises(ValueError, match="given twice"):
        history_bulk_update(
            model=Product,
            instances=[first, second],
            fields=["price"],
            actor=None,
            reason=None,
        )

    assert HistoricalProduct._base_manager.count() == stored
    assert Product.objects.get(pk=trail.lamp.pk).price == Decimal("24.00")


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite: the guards are PostgreSQL's"
)
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE history_checkpoint SET root = repeat('0', 64)",
        "DELETE FROM history_checkpoint",
    ],
)
def test_postgresql_refuses_to_change_or_delete_a_checkpoint(
    trail: Trail, sql: str
) -> None:
    with (
        pytest.raises(IntegrityError, match="checkpoints are append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)

    assert Checkpoint.objects.get().root == trail.checkpoint.root


def test_a_checkpoint_whose_heads_were_changed_fails(trail: Trail) -> None:
    tamper("UPDATE history_checkpoint SET heads = %s", ["{}"])

    failure = latest_reference().failure

    assert failure is not None
    assert "Merkle root" in failure
