"""Every write path extends its objects' hash chains: after each, every chain
in the database holds (`chain_oracle`), and each object's chain is the
versions it should have, in order."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from history.changeset_revert import changeset_revert
from history.revert import history_revert
from history.writes import tracked_create, tracked_delete, tracked_update
from products.models import Product, Tag
from products.services import (
    category_create,
    category_delete,
    category_update,
    product_adjust_prices,
    product_create,
    product_delete,
    product_import,
    product_revert,
    product_update,
    tag_delete,
)
from tests.conftest import GraphQL
from tests.helpers import gid
from tests.history.chain_oracle import chain_problems, chain_types, chains, walk
from tests.tracked.models import Note

pytestmark = pytest.mark.django_db

HistoricalProduct = Product.history.model


def product(pk: Any) -> tuple[str, str]:
    return ("products.product", str(pk))


def category(pk: Any) -> tuple[str, str]:
    return ("products.category", str(pk))


def note(pk: Any) -> tuple[str, str]:
    return ("tracked.note", str(pk))


def versions_of(pk: Any) -> list[Any]:
    return list(HistoricalProduct.objects.filter(id=pk).order_by("history_id"))


# -- the oracle ---------------------------------------------------------------------


def broken_at(problems: list[str]) -> list[int]:
    """The history ids of the versions each problem names, in order."""
    return [int(problem.split(":")[0].rsplit(" ", 1)[1]) for problem in problems]


def test_the_oracle_finds_a_changed_missing_inserted_or_reordered_version() -> None:
    lamp = product_create(data={"name": "Lamp", "price": "1.00"}, actor=None)
    for quantity in (1, 2, 3):
        product_update(pk=lamp.pk, data={"quantity": quantity}, actor=None)
    versions = chains()[product(lamp.pk)]
    first, second, third, fourth = versions
    changed = HistoricalProduct.objects.get(history_id=second.history_id)
    changed.quantity = 7
    ids = [v.history_id for v in versions]

    assert walk(Product, versions) == []
    assert broken_at(walk(Product, [first, changed, third, fourth])) == [ids[1]]
    assert broken_at(walk(Product, [first, third, fourth])) == [ids[2]]
    assert broken_at(walk(Product, [first, second, first, third, fourth])) == [
        ids[0],
        ids[2],
    ]
    assert broken_at(walk(Product, [first, third, second, fourth])) == [
        ids[2],
        ids[1],
        ids[3],
    ]
    assert broken_at(walk(Product, [second, third, fourth])) == [ids[1]]


# -- services -----------------------------------------------------------------------


def test_create_update_and_delete_extend_the_chain(editor: Any) -> None:
    lighting = category_create(data={"name": "Lighting"}, actor=None)
    lamp = product_create(
        data={"name": "Lamp", "price": "1.00", "tags": ["red"]}, actor=editor
    )

    product_update(pk=lamp.pk, data={"name": "Desk lamp"}, actor=editor)
    product_update(pk=lamp.pk, data={"tags": ["red", "sale"]}, actor=editor)
    product_update(pk=lamp.pk, data={"category": lighting.pk}, actor=editor)
    product_update(pk=lamp.pk, data={"supplier_cost": "0.50"}, actor=None)
    category_update(pk=lighting.pk, data={"name": "Lights"}, actor=None)
    product_delete(pk=lamp.pk, actor=editor, reason="gone")

    assert chain_types() == {product(lamp.pk): "+~~~~-", category(lighting.pk): "+~"}


def test_restore_and_revert_extend_the_chain() -> None:
    lamp = product_create(
        data={"name": "Lamp", "price": "1.00", "tags": ["red"]}, actor=None
    )
    first = versions_of(lamp.pk)[0]
    product_update(pk=lamp.pk, data={"name": "Desk lamp", "tags": []}, actor=None)
    product_revert(pk=lamp.pk, record_id=first.history_id, actor=None, reason="undo")
    product_delete(pk=lamp.pk, actor=None)
    product_revert(pk=lamp.pk, record_id=first.history_id, actor=None, reason="back")

    assert chain_types() == {product(lamp.pk): "+~~-+"}
    assert Product.objects.get(pk=lamp.pk).name == "Lamp"


def test_a_changeset_revert_extends_every_chain_it_touches() -> None:
    lighting = category_create(data={"name": "Lighting"}, actor=None)
    lamp = product_create(
        data={"name": "Lamp", "price": "1.00", "category": lighting.pk}, actor=None
    )
    desk = product_create(data={"name": "Desk", "price": "2.00"}, actor=None)
    category_delete(pk=lighting.pk, actor=None, reason="reorganise")
    deletion = versions_of(lamp.pk)[-1].history_changeset_id
    product_update(pk=desk.pk, data={"quantity": 3}, actor=None)
    added = versions_of(desk.pk)[-1].history_changeset_id

    changeset_revert(changeset_id=deletion, actor=None, reason="undo the deletion")
    changeset_revert(changeset_id=added, actor=None, reason="undo the count")

    assert chain_types() == {
        category(lighting.pk): "+-+",
        product(lamp.pk): "+~~",
        product(desk.pk): "+~~",
    }
    assert Product.objects.get(pk=lamp.pk).category_id == lighting.pk


def test_a_changeset_revert_that_deletes_what_it_created_extends_the_chain() -> None:
    lamp = product_create(data={"name": "Lamp", "price": "1.00"}, actor=None)
    created = versions_of(lamp.pk)[0].history_changeset_id

    changeset_revert(changeset_id=created, actor=None, reason="not wanted")

    assert chain_types() == {product(lamp.pk): "+-"}


def test_adjusting_prices_in_bulk_extends_each_chain(editor: Any) -> None:
    lighting = category_create(data={"name": "Lighting"}, actor=None)
    lamp = product_create(
        data={
            "name": "Lamp",
            "price": "10.00",
            "category": lighting.pk,
            "tags": ["red", "sale"],
        },
        actor=None,
    )
    desk = product_create(data={"name": "Desk", "price": "20.00"}, actor=None)
    product_update(pk=desk.pk, data={"quantity": 2}, actor=None)
    pks = [lamp.pk, desk.pk]

    product_adjust_prices(pks=pks, actor=editor, reason="sale", percent=Decimal(-10))
    product_adjust_prices(pks=pks, actor=None, reason="back", amount=Decimal("1.5"))

    assert chain_types() == {
        category(lighting.pk): "+",
        product(lamp.pk): "+~~",
        product(desk.pk): "+~~~",
    }
    assert [v.price for v in versions_of(lamp.pk)] == [
        Decimal("10.00"),
        Decimal("9.00"),
        Decimal("10.50"),
    ]


def test_an_import_starts_a_chain_per_product_that_later_writes_extend() -> None:
    lighting = category_create(data={"name": "Lighting"}, actor=None)
    rows: list[dict[str, Any]] = [
        {"name": "Lamp", "price": "1.00", "category": lighting.pk, "tags": ["a"]},
        {"name": "Desk", "price": "2.00", "tags": ["a", "b"]},
        {"name": "Mug", "price": "3.00"},
    ]

    lamp, desk, mug = product_import(rows=rows, actor=None, reason="feed")
    product_update(pk=desk.pk, data={"tags": ["b"]}, actor=None)
    product_adjust_prices(pks=[mug.pk], actor=None, reason="x", percent=Decimal(50))

    assert chain_types() == {
        category(lighting.pk): "+",
        product(lamp.pk): "+",
        product(desk.pk): "+~",
        product(mug.pk): "+~",
    }


def test_deleting_a_category_extends_the_chains_of_the_products_moved_out() -> None:
    lighting = category_create(data={"name": "Lighting"}, actor=None)
    lamp = product_create(
        data={"name": "Lamp", "price": "1.00", "category": lighting.pk}, actor=None
    )
    desk = product_create(
        data={"name": "Desk", "price": "2.00", "category": lighting.pk}, actor=None
    )

    category_delete(pk=lighting.pk, actor=None, reason="reorganise")

    assert chain_types() == {
        category(lighting.pk): "+-",
        product(lamp.pk): "+~",
        product(desk.pk): "+~",
    }


def test_deleting_a_tag_extends_the_chains_of_the_products_that_had_it() -> None:
    lamp = product_create(
        data={"name": "Lamp", "price": "1.00", "tags": ["red", "sale"]}, actor=None
    )
    desk = product_create(
        data={"name": "Desk", "price": "2.00", "tags": ["sale"]}, actor=None
    )
    mug = product_create(data={"name": "Mug", "price": "3.00"}, actor=None)

    tag_delete(pk=Tag.objects.get(name="sale").pk, actor=None, reason="season over")

    assert chain_types() == {
        product(lamp.pk): "+~",
        product(desk.pk): "+~",
        product(mug.pk): "+",
    }


def test_the_generic_services_extend_the_chain_of_a_model_only_the_tests_track() -> (
    None
):
    first = tracked_create(model=Note, data={"title": "a"}, actor=None, reason="r")
    tracked_update(model=Note, pk=first.pk, data={"priority": 2}, actor=None)
    version = Note.history.model.objects.filter(id=first.pk).earliest("history_id")
    history_revert(
        model=Note, pk=first.pk, record_id=version.history_id, actor=None, reason="u"
    )
    tracked_delete(model=Note, pk=first.pk, actor=None)
    history_revert(
        model=Note, pk=first.pk, record_id=version.history_id, actor=None, reason="b"
    )

    assert chain_types() == {note(first.pk): "+~~-+"}


def test_plain_saves_and_deletes_extend_the_chain() -> None:
    """Outside the services too (a shell, a script): save(), many-to-many
    changes and delete() each extend the chain."""
    lamp = Product.objects.create(name="Lamp", price=Decimal("1.00"))
    lamp.quantity = 4
    lamp.save()
    lamp.tags.add(Tag.objects.create(name="red"))
    lamp.tags.clear()
    pk = lamp.pk
    lamp.delete()
    Product.objects.create(pk=pk, name="Lamp again", price=Decimal("2.00"))
    scratch = Note.objects.create(title="n")
    scratch.title = "m"
    scratch.save()

    assert chain_types() == {product(pk): "+~~~-+", note(scratch.pk): "+~"}


# -- requests -----------------------------------------------------------------------

WRITES = """
mutation($rename: UpdateProductInput!, $adjust: AdjustPricesInput!,
         $tag: UpdateProductInput!) {
  rename: updateProduct(input: $rename) { __typename }
  adjust: adjustPrices(input: $adjust) { __typename }
  tag: updateProduct(input: $tag) { __typename }
}
"""


def test_writes_inside_one_request_changeset_extend_each_chain_in_turn(
    gql: GraphQL, editor: Any
) -> None:
    lamp = product_create(data={"name": "Lamp", "price": "1.00"}, actor=None)
    desk = product_create(data={"name": "Desk", "price": "2.00"}, actor=None)
    ids = [gid("Product", lamp.pk), gid("Product", desk.pk)]

    answer = gql(
        WRITES,
        {
            "rename": {"id": ids[0], "name": "Desk lamp", "reason": "r"},
            "adjust": {"ids": ids, "reason": "r", "by": {"percent": "10"}},
            "tag": {"id": ids[0], "tags": ["new"], "reason": "r"},
        },
        user=editor,
    )

    assert answer == {
        "data": {
            "rename": {"__typename": "Product"},
            "adjust": {"__typename": "ProductsResult"},
            "tag": {"__typename": "Product"},
        }
    }
    assert chain_types() == {product(lamp.pk): "+~~~", product(desk.pk): "+~"}
    request_versions = [v for v in versions_of(lamp.pk) if v.history_change_reason]
    assert len({v.history_changeset_id for v in request_versions}) == 1
    assert [v.name for v in versions_of(lamp.pk)][-1] == "Desk lamp"


# -- the admin ----------------------------------------------------------------------


def product_form(lamp: Product, **changes: Any) -> dict[str, Any]:
    form = {
        "name": lamp.name,
        "description": lamp.description,
        "price": str(lamp.price),
        "quantity": str(lamp.quantity),
        "category": lamp.category_id or "",
        "tags": [tag.pk for tag in lamp.tags.all()],
        "supplier_cost": "",
        "reason": "Catalog review",
    }
    form.update(changes)
    return form


def test_admin_writes_extend_the_chain(admin_client: Client) -> None:
    lighting = category_create(data={"name": "Lighting"}, actor=None)
    red = Tag.objects.create(name="red")
    added = admin_client.post(
        "/admin/products/product/add/",
        {
            "name": "Lamp",
            "description": "",
            "price": "1.00",
            "quantity": "0",
            "category": lighting.pk,
            "tags": [red.pk],
            "supplier_cost": "",
            "reason": "New stock",
        },
    )
    lamp = Product.objects.get(name="Lamp")
    first = versions_of(lamp.pk)[0]
    changed = admin_client.post(
        f"/admin/products/product/{lamp.pk}/change/",
        product_form(lamp, name="Desk lamp", tags=[]),
    )
    reverted = admin_client.post(
        f"/admin/products/product/{lamp.pk}/history/{first.history_id}/",
        {"reason": "Undo", "expected_latest": versions_of(lamp.pk)[-1].history_id},
    )
    deleted_tag = admin_client.post(
        f"/admin/products/tag/{red.pk}/delete/", {"post": "yes"}
    )
    deleted = admin_client.post(
        f"/admin/products/product/{lamp.pk}/delete/", {"post": "yes", "reason": "Gone"}
    )

    assert [
        r.status_code for r in (added, changed, reverted, deleted_tag, deleted)
    ] == [302] * 5
    assert chain_types() == {
        category(lighting.pk): "+",
        product(lamp.pk): "+~~~-",
    }


def test_chains_of_an_empty_database_hold_vacuously_and_of_a_seeded_one_too(
    editor: Any,
) -> None:
    """`chain_problems` walks every tracked model (guards the oracle against
    looking at nothing)."""
    assert chain_problems() == []
    lighting = category_create(data={"name": "Lighting"}, actor=None)
    tracked_create(model=Note, data={"title": "a"}, actor=None)
    product_create(
        data={"name": "Lamp", "price": "1.00", "category": lighting.pk}, actor=None
    )

    assert sorted(label for label, _ in chains()) == [
        "products.category",
        "products.product",
        "tracked.note",
    ]
    assert chain_problems() == []
