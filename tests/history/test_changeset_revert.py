"""Reverting a whole changeset."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from history.changeset_revert import changeset_revert
from history.changesets import changeset_scope
from history.errors import OperationDenied
from history.models import Changeset
from history.tracking import CREATED, DELETED, UPDATED
from history.writes import tracked_create, tracked_update
from products.models import Category, Product
from products.services import (
    category_delete,
    product_adjust_prices,
    product_create,
    product_import,
    product_update,
)
from tests.factories import UserFactory
from tests.tracked.models import Note

pytestmark = pytest.mark.django_db

HistoricalProduct = Product.history.model


def code(error: ValidationError) -> str | None:
    if hasattr(error, "error_dict"):
        return next(iter(error.error_dict.values()))[0].code
    return error.error_list[0].code


def fifty_adjusted() -> tuple[list[Product], Any]:
    products = product_import(
        rows=[{"name": f"P{i}", "price": Decimal("10.00")} for i in range(50)],
        actor=None,
        reason="seed",
    )
    product_adjust_prices(
        pks=[p.pk for p in products], actor=None, reason="sale", percent=Decimal(50)
    )
    adjusted = HistoricalProduct.objects.filter(history_change_reason="sale")
    return products, adjusted.first().history_changeset_id


def test_reverting_an_adjust_restores_all_fifty_in_one_new_changeset() -> None:
    _, changeset_id = fifty_adjusted()
    changesets_before = Changeset.objects.count()

    result = changeset_revert(changeset_id=changeset_id, actor=None, reason="undo")

    assert set(Product.objects.values_list("price", flat=True)) == {Decimal("10.00")}
    assert Changeset.objects.count() == changesets_before + 1
    assert len(result.versions) == len(result.changes) == 50
    assert {v.history_changeset_id for v in result.versions} == {result.changeset_id}
    seeded = {
        v.id: v.history_id
        for v in HistoricalProduct.objects.filter(history_type=CREATED)
    }
    assert {v.history_reverted_from_id for v in result.versions} == set(seeded.values())
    assert [str(c.old_value) for c in result.changes[0][3]] == ["15.00"]


def test_a_change_since_refuses_stale_and_writes_nothing() -> None:
    products, changeset_id = fifty_adjusted()
    product_update(pk=products[7].pk, data={"quantity": 3}, actor=None)
    versions_before = HistoricalProduct.objects.count()
    changesets_before = Changeset.objects.count()

    with pytest.raises(ValidationError) as caught:
        changeset_revert(changeset_id=changeset_id, actor=None, reason="undo")

    assert code(caught.value) == "STALE"
    assert HistoricalProduct.objects.count() == versions_before
    assert Changeset.objects.count() == changesets_before
    assert set(Product.objects.values_list("price", flat=True)) == {Decimal("15.00")}


def test_a_dry_run_writes_nothing_and_reports_the_changes() -> None:
    _, changeset_id = fifty_adjusted()
    versions_before = HistoricalProduct.objects.count()
    changesets_before = Changeset.objects.count()

    result = changeset_revert(
        changeset_id=changeset_id, actor=None, reason="undo", dry_run=True
    )

    assert (result.changeset_id, result.versions, len(result.changes)) == (None, [], 50)
    assert HistoricalProduct.objects.count() == versions_before
    assert Changeset.objects.count() == changesets_before
    assert set(Product.objects.values_list("price", flat=True)) == {Decimal("15.00")}


def test_reverting_a_category_deletion_restores_it_and_moves_products_back() -> None:
    category = tracked_create(model=Category, data={"name": "Lamps"}, actor=None)
    lamps = [
        product_create(
            data={"name": n, "price": Decimal(1), "category": category.pk}, actor=None
        )
        for n in ("Desk lamp", "Floor lamp")
    ]
    category_delete(pk=category.pk, actor=None, reason="closed")
    deleted = Category.history.get(history_type=DELETED)

    changeset_revert(
        changeset_id=deleted.history_changeset_id, actor=None, reason="reopen"
    )

    assert Category.objects.get(pk=category.pk).name == "Lamps"
    assert [p.category_id for p in Product.objects.order_by("pk")] == [
        category.pk,
        category.pk,
    ]
    assert [p.pk for p in lamps] == list(
        Product.objects.order_by("pk").values_list("pk", flat=True)
    )


def test_reverting_a_creation_deletes_the_object() -> None:
    note = tracked_create(model=Note, data={"title": "Draft"}, actor=None)
    created = note.versions.get()

    result = changeset_revert(
        changeset_id=created.history_changeset_id, actor=None, reason="mistake"
    )

    assert not Note.objects.exists()
    deletion = Note.history.get(history_type=DELETED)
    assert result.versions == [deletion]
    assert deletion.history_reverted_from_id == created.history_id


def test_an_unknown_changeset_is_not_found_and_nothing_to_undo_is_refused() -> None:
    with pytest.raises(ValidationError) as unknown:
        changeset_revert(
            changeset_id="00000000-0000-0000-0000-000000000000",
            actor=None,
            reason="x",
        )
    note = tracked_create(model=Note, data={"title": "Draft"}, actor=None)
    tracked_update(model=Note, pk=note.pk, data={"title": "Final"}, actor=None)
    update = Note.history.get(history_type=UPDATED)
    with changeset_scope() as round_trip:  # Final, then back: no net change
        tracked_update(model=Note, pk=note.pk, data={"title": "Draft"}, actor=None)
        tracked_update(model=Note, pk=note.pk, data={"title": "Final"}, actor=None)

    with pytest.raises(ValidationError) as nothing:
        changeset_revert(changeset_id=round_trip, actor=None, reason="x")
    with pytest.raises(ValidationError) as stale:
        changeset_revert(
            changeset_id=update.history_changeset_id, actor=None, reason="x"
        )
    with pytest.raises(ValidationError) as no_reason:
        changeset_revert(
            changeset_id=update.history_changeset_id, actor=None, reason=" "
        )

    assert [code(e.value) for e in (unknown, nothing, stale, no_reason)] == [
        "NOT_FOUND",
        "NOTHING_TO_REVERT",
        "STALE",
        "REASON_REQUIRED",
    ]


@pytest.mark.parametrize(
    ("permissions", "allowed"),
    [
        (["change_note"], False),
        (["delete_note"], False),
        (["change_note", "delete_note"], True),
    ],
)
def test_undoing_a_creation_needs_change_and_delete(
    permissions: list[str], allowed: bool
) -> None:
    user: Any = UserFactory(username="undoer", permissions=permissions)
    note = tracked_create(model=Note, data={"title": "Draft"}, actor=None)
    changeset_id = note.versions.get().history_changeset_id

    if allowed:
        changeset_revert(changeset_id=changeset_id, actor=user, reason="undo")
        assert not Note.objects.exists()
    else:
        with pytest.raises(OperationDenied):
            changeset_revert(changeset_id=changeset_id, actor=user, reason="undo")
        assert Note.history.count() == 1


def test_a_changeset_of_too_many_objects_is_refused_before_any_write(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from history import changeset_revert as module

    monkeypatch.setattr(module, "MAX_CHANGESET_OBJECTS", 2)
    with changeset_scope() as changeset_id:
        for index in range(3):
            Note.objects.create(title=f"n{index}")
    before = Note.history.count()
    with pytest.raises(ValidationError) as refused:
        changeset_revert(changeset_id=changeset_id, actor=None, reason="undo")
    assert refused.value.error_dict["id"][0].code == "INVALID"
    assert Note.history.count() == before
    assert Note.objects.count() == 3
