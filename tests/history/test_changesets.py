"""Changesets: one per request, or per service call outside a request."""

from __future__ import annotations

import importlib
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.db import transaction
from django.utils import timezone

from history.changesets import _insert_ignoring_conflicts, changeset_scope
from history.models import Changeset
from history.selectors import changeset_versions, tracked_models
from history.tracking import history_model_for
from history.writes import tracked_create, tracked_update
from products.models import Category, Product
from products.services import product_adjust_prices, product_import
from tests.conftest import GraphQL
from tests.factories import UserFactory
from tests.helpers import bypass_guards
from tests.tracked.models import Note

pytestmark = pytest.mark.django_db

HistoricalNote = Note.history.model
HistoricalProduct = Product.history.model
backfill = importlib.import_module("products.migrations.0007_backfill_changesets")

CREATE = """
mutation($a: CreateProductInput!, $b: CreateProductInput!) {
  a: createProduct(input: $a) { __typename }
  b: createProduct(input: $b) { __typename }
}
"""


def product_input(name: str) -> dict[str, Any]:
    return {"name": name, "price": "5.00", "reason": f"stock {name}"}


def orphan_versions() -> int:
    """Versions whose changeset row does not exist, across every tracked model."""
    return sum(
        history_model_for(model)
        .objects.exclude(history_changeset__in=Changeset.objects.values("id"))
        .count()
        for model in tracked_models()
    )


def test_two_mutations_of_one_request_share_one_changeset(
    gql: GraphQL, editor: Any
) -> None:
    answer = gql(
        CREATE,
        {"a": product_input("Lamp"), "b": product_input("Desk")},
        user=editor,
        headers={"X-Request-ID": "req-1", "User-Agent": "probe"},
    )

    assert answer == {
        "data": {"a": {"__typename": "Product"}, "b": {"__typename": "Product"}}
    }
    changesets = {v.history_changeset_id for v in HistoricalProduct.objects.all()}
    assert len(changesets) == 1
    changeset = Changeset.objects.get()
    assert changeset.id in changesets
    assert (
        changeset.history_user_id,
        changeset.history_username,
        changeset.history_change_reason,
        changeset.history_request_id,
        changeset.history_user_agent,
    ) == (editor.pk, "editor", "stock Lamp", "req-1", "probe")
    assert (
        changeset.history_date
        == HistoricalProduct.objects.earliest("history_id").history_date
    )


def test_two_requests_are_two_changesets(gql: GraphQL, editor: Any) -> None:
    for names in (("Lamp", "Desk"), ("Chair", "Sofa")):
        gql(
            CREATE,
            {"a": product_input(names[0]), "b": product_input(names[1])},
            user=editor,
        )

    per_changeset = sorted(
        sorted(v.name for v in HistoricalProduct.objects.filter(history_changeset=c))
        for c in Changeset.objects.all()
    )
    assert per_changeset == [["Chair", "Sofa"], ["Desk", "Lamp"]]


def test_each_service_call_outside_a_request_is_one_changeset() -> None:
    first = tracked_create(model=Note, data={"title": "a"}, actor=None, reason="r1")
    tracked_update(model=Note, pk=first.pk, data={"priority": 2}, actor=None)

    versions = list(HistoricalNote.objects.order_by("history_id"))
    assert len({v.history_changeset_id for v in versions}) == 2
    assert Changeset.objects.count() == 2
    assert (
        Changeset.objects.get(id=versions[0].history_changeset_id).history_change_reason
        == "r1"
    )


def test_a_scope_gathers_the_service_calls_inside_it() -> None:
    with changeset_scope(reason="batch") as changeset_id:
        note = tracked_create(model=Note, data={"title": "a"}, actor=None)
        tracked_update(model=Note, pk=note.pk, data={"title": "b"}, actor=None)
        category = tracked_create(model=Category, data={"name": "c"}, actor=None)

    versions = changeset_versions(changeset_id=changeset_id)
    assert [v.title for v in versions[Note]] == ["b", "a"]
    assert [v.id for v in versions[Category]] == [category.pk]
    assert not versions[Product].exists()
    assert Changeset.objects.get(pk=changeset_id).history_change_reason == "batch"


def test_bulk_adjust_is_one_changeset_of_every_version() -> None:
    products = product_import(
        rows=[{"name": f"P{i}", "price": Decimal("10.00")} for i in range(50)],
        actor=None,
        reason="seed",
    )
    before = Changeset.objects.count()

    product_adjust_prices(
        pks=[p.pk for p in products], actor=None, reason="sale", percent=Decimal(-10)
    )

    assert Changeset.objects.count() == before + 1
    changeset = Changeset.objects.order_by("history_date").last()
    assert changeset is not None
    assert changeset.history_change_reason == "sale"
    assert HistoricalProduct.objects.filter(history_changeset=changeset).count() == 50
    assert orphan_versions() == 0


def test_a_write_after_a_rollback_in_the_same_scope_writes_the_changeset_again() -> (
    None
):
    with changeset_scope() as changeset_id:

        def write_then_fail() -> None:
            with transaction.atomic():
                tracked_create(model=Note, data={"title": "lost"}, actor=None)
                assert Changeset.objects.filter(id=changeset_id).exists()
                raise RuntimeError("roll back")

        with pytest.raises(RuntimeError):
            write_then_fail()
        assert not Changeset.objects.filter(id=changeset_id).exists()

        note = tracked_create(model=Note, data={"title": "kept"}, actor=None)

    assert Changeset.objects.filter(id=changeset_id).exists()
    assert note.versions.get().history_changeset_id == changeset_id
    assert orphan_versions() == 0


@pytest.mark.django_db(transaction=True)
def test_a_committed_changeset_is_not_written_twice() -> None:
    with changeset_scope() as changeset_id:
        first = tracked_create(model=Note, data={"title": "a"}, actor=None)
        tracked_create(model=Note, data={"title": "b"}, actor=None)

    assert Changeset.objects.filter(id=changeset_id).count() == 1
    assert first.versions.get().history_changeset_id == changeset_id
    assert orphan_versions() == 0


def test_a_changesets_row_goes_in_once_its_values_prepared_by_their_fields() -> None:
    """The row is written by one INSERT that ignores a row of the same id (a
    rolled-back writer's row may be there again): the first values stay, and
    each value is stored as its field stores it (an IPv6 address compressed,
    a UUID key on either database)."""
    moment = timezone.now()
    row = Changeset(
        id=uuid.uuid4(),
        history_date=moment,
        history_user_pk=7,
        history_username="ann",
        history_change_reason=None,
        history_ip_address="2001:db8:0:0::1",
        history_user_agent="agent",
        history_request_id="r-1",
    )
    _insert_ignoring_conflicts(row, "default")
    again = Changeset(id=row.id, history_date=moment, history_username="bob")
    _insert_ignoring_conflicts(again, "default")

    [stored] = Changeset.objects.filter(id=row.id)
    assert (
        stored.history_date,
        stored.history_user_id,
        stored.history_user_pk,
        stored.history_username,
        stored.history_change_reason,
        stored.history_ip_address,
        stored.history_user_agent,
        stored.history_request_id,
    ) == (moment, None, 7, "ann", None, "2001:db8::1", "agent", "r-1")


def test_every_tracked_model_is_listed_by_label() -> None:
    assert tracked_models() == [Category, Product, Note]


def test_backfill_groups_versions_by_request_and_gives_the_rest_their_own() -> None:
    user: Any = UserFactory(username="ann", permissions=["add_category"])
    for title, request_id in (("a", "r1"), ("b", ""), ("c", "r1"), ("d", "")):
        tracked_create(model=Category, data={"name": title}, actor=user, reason=title)
        HistoricalCategory = Category.history.model
        with bypass_guards():
            HistoricalCategory.objects.filter(history_change_reason=title).update(
                history_request_id=request_id
            )
    with bypass_guards():
        Category.history.update(history_changeset=None)
    Changeset.objects.all().delete()

    backfill.backfill_changesets(apps, None)

    versions = list(Category.history.order_by("history_id"))
    ids = [v.history_changeset_id for v in versions]
    assert None not in ids
    assert ids[0] == ids[2]
    assert len({ids[0], ids[1], ids[3]}) == 3
    assert Changeset.objects.count() == 3
    grouped = Changeset.objects.get(id=ids[0])
    assert (
        grouped.history_date,
        grouped.history_change_reason,
        grouped.history_request_id,
        grouped.history_user_id,
        grouped.history_username,
    ) == (versions[0].history_date, "a", "r1", user.pk, "ann")
    assert Changeset.objects.get(id=ids[3]).history_change_reason == "d"
    assert orphan_versions() == 0
