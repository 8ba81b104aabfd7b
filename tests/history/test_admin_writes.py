"""Writes through the Django admin leave a complete trail (who, the tags of a
deleted product, exactly what changed) and meet the same refusals."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from products import services as products_services
from products.models import (
    MAX_TAGS,
    Category,
    Product,
)
from products.services import (
    category_create,
    product_create,
    product_update,
)
from tests.factories import TagFactory, UserFactory
from tests.history.trail_checks import HistoricalProduct

HistoricalCategory = Category.history.model


# -- admin writes ----------------------------------------------------------------


def tag_names(version: Any) -> list[str]:
    return sorted(entry["label"] for entry in version.history_snapshot["tags"])


def test_deleting_a_tag_in_the_admin_records_a_version_per_product(admin_client, root):
    lamp = product_create(
        data={"name": "Lamp", "price": "1.00", "tags": ["red", "sale"]}, actor=None
    )
    desk = product_create(
        data={"name": "Desk", "price": "2.00", "tags": ["sale"]}, actor=None
    )
    chair = product_create(
        data={"name": "Chair", "price": "3.00", "tags": ["red"]}, actor=None
    )
    sale = lamp.tags.get(name="sale")

    response = admin_client.post(
        f"/admin/products/tag/{sale.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == 302, response.content
    assert not lamp.tags.filter(name="sale").exists()
    for product, left in ((lamp, ["red"]), (desk, [])):
        latest = HistoricalProduct.objects.filter(id=product.pk).first()
        assert latest.history_change_reason == "Tag 'sale' deleted"
        assert latest.history_user_id == root.pk
        assert latest.history_changes == {"tags": [sorted([*left, "sale"]), left]}
        assert tag_names(latest) == left
        assert sorted(t.name for t in product.tags.all()) == left
    assert HistoricalProduct.objects.filter(id=chair.pk).count() == 1


def test_the_admin_bulk_delete_action_on_tags_records_versions(admin_client, root):
    lamp = product_create(
        data={"name": "Lamp", "price": "1.00", "tags": ["red", "sale", "new"]},
        actor=None,
    )
    doomed = lamp.tags.filter(name__in=["red", "sale"]).values_list("pk", flat=True)

    response = admin_client.post(
        "/admin/products/tag/",
        {"action": "delete_selected", "_selected_action": list(doomed), "post": "yes"},
    )

    assert response.status_code == 302, response.content
    versions = list(HistoricalProduct.objects.filter(id=lamp.pk))
    assert [v.history_change_reason for v in versions] == [
        "Tag 'sale' deleted",
        "Tag 'red' deleted",
        None,
    ]
    assert [tag_names(v) for v in versions] == [
        ["new"],
        ["new", "sale"],
        ["new", "red", "sale"],
    ]
    assert {v.history_user_id for v in versions[:2]} == {root.pk}


def test_deleting_an_empty_category_in_the_admin_records_who(admin_client, root):
    lighting = category_create(data={"name": "Lighting"}, actor=None)

    response = admin_client.post(
        f"/admin/products/category/{lighting.pk}/delete/",
        {"post": "yes", "reason": "Gone"},
    )

    assert response.status_code == 302, response.content
    latest = HistoricalCategory.objects.filter(id=lighting.pk).first()
    assert (latest.history_type, latest.history_user_id) == ("-", root.pk)
    assert latest.history_username == "root"


def test_the_admin_refuses_deleting_a_category_with_products(admin_client):
    lighting = category_create(data={"name": "Lighting"}, actor=None)
    product_create(
        data={"name": "Lamp", "price": "1.00", "category": lighting.pk}, actor=None
    )

    response = admin_client.post(
        f"/admin/products/category/{lighting.pk}/delete/",
        {"post": "yes", "reason": "Gone"},
    )

    assert response.status_code == 200
    assert b"would require deleting the following protected" in response.content
    assert HistoricalCategory.objects.filter(id=lighting.pk).count() == 1


def test_deleting_a_product_in_the_admin_records_who_and_its_tags(admin_client, root):
    lamp = product_create(
        data={"name": "Lamp", "price": "1.00", "tags": ["red"]}, actor=None
    )

    response = admin_client.post(
        f"/admin/products/product/{lamp.pk}/delete/", {"post": "yes", "reason": "Gone"}
    )

    assert response.status_code == 302, response.content
    latest = HistoricalProduct.objects.filter(id=lamp.pk).first()
    assert (latest.history_type, latest.history_user_id) == ("-", root.pk)
    assert tag_names(latest) == ["red"]
    assert list(latest.tags.values_list("tag__name", flat=True)) == ["red"]


def product_form(product: Product, **changes: Any) -> dict[str, Any]:
    form = {
        "name": product.name,
        "description": product.description,
        "price": str(product.price),
        "quantity": str(product.quantity),
        "category": product.category_id or "",
        "tags": [tag.pk for tag in product.tags.all()],
        "supplier_cost": "",
        "reason": "Catalog review",
    }
    form.update(changes)
    return form


def test_editing_a_product_in_the_admin_records_exactly_what_changed(
    admin_client, root
):
    lamp = product_create(
        data={"name": "Lamp", "price": "1.00", "tags": ["red", "sale"]}, actor=None
    )
    red = lamp.tags.get(name="red")

    response = admin_client.post(
        f"/admin/products/product/{lamp.pk}/change/",
        product_form(lamp, name="Desk lamp", tags=[red.pk]),
    )

    assert response.status_code == 302, response.content
    versions = list(HistoricalProduct.objects.filter(id=lamp.pk))
    assert len(versions) == 2
    assert versions[0].history_changes == {
        "name": ["Lamp", "Desk lamp"],
        "tags": [["red", "sale"], ["red"]],
    }
    assert versions[0].history_user_id == root.pk
    assert tag_names(versions[0]) == ["red"]


def test_the_admin_refuses_more_tags_than_a_product_may_have(admin_client):
    lamp = product_create(data={"name": "Lamp", "price": "1.00"}, actor=None)
    tags = [TagFactory.create(name=f"t{n}").pk for n in range(MAX_TAGS + 1)]

    response = admin_client.post(
        f"/admin/products/product/{lamp.pk}/change/", product_form(lamp, tags=tags)
    )

    assert response.status_code == 200  # the form again, with its error
    assert f"A product has at most {MAX_TAGS} tags." in response.content.decode()
    assert list(lamp.tags.all()) == []
    assert HistoricalProduct.objects.filter(id=lamp.pk).count() == 1


def test_a_refusal_of_the_services_in_the_admin_is_a_403_that_writes_nothing(
    admin_client, monkeypatch
):
    """A write the form could not foresee (here: the category deleted between
    the form's check and the save) is a 403 naming the refusal, never a 500."""
    lamp = product_create(data={"name": "Lamp", "price": "1.00"}, actor=None)
    lighting = category_create(data={"name": "Lighting"}, actor=None)
    original = products_services._category

    def category_gone(pk: Any) -> Any:
        Category.objects.filter(pk=pk).delete()
        return original(pk)

    monkeypatch.setattr(products_services, "_category", category_gone)
    response = admin_client.post(
        f"/admin/products/product/{lamp.pk}/change/",
        product_form(lamp, name="Desk lamp", category=lighting.pk),
    )

    assert response.status_code == 403
    lamp.refresh_from_db()
    assert (lamp.name, lamp.category_id) == ("Lamp", None)
    assert HistoricalProduct.objects.filter(id=lamp.pk).count() == 1


def test_saving_an_unchanged_product_in_the_admin_records_nothing(admin_client):
    lamp = product_create(
        data={"name": "Lamp", "price": "1.00", "tags": ["red"]}, actor=None
    )

    response = admin_client.post(
        f"/admin/products/product/{lamp.pk}/change/", product_form(lamp)
    )

    assert response.status_code == 302, response.content
    assert HistoricalProduct.objects.filter(id=lamp.pk).count() == 1


def test_adding_a_product_in_the_admin_records_one_version(admin_client, root):
    response = admin_client.post(
        "/admin/products/product/add/",
        {
            "name": "Lamp",
            "description": "",
            "price": "1.00",
            "quantity": "0",
            "category": "",
            "tags": [],
            "supplier_cost": "",
            "reason": "New stock",
        },
    )

    assert response.status_code == 302, response.content
    version = HistoricalProduct.objects.get()
    assert (version.history_type, version.history_user_id) == ("+", root.pk)


def test_values_posted_to_a_version_page_are_never_saved(admin_client):
    """simple-history's revert saved whatever was POSTed to a version's page;
    here a POST is a revert to that version's own values through the service,
    and without a reason it writes nothing."""
    lamp = product_create(data={"name": "Lamp", "price": "1.00"}, actor=None)
    product_update(pk=lamp.pk, data={"name": "Desk lamp"}, actor=None)
    first = HistoricalProduct.objects.filter(id=lamp.pk).last()
    url = f"/admin/products/product/{lamp.pk}/history/{first.history_id}/"

    assert admin_client.get(url).status_code == 200
    posted = product_form(first.instance, name="Forged", price="9.99", reason="")
    refused = admin_client.post(url, posted, follow=True)
    reverted = admin_client.post(url, {**posted, "reason": "Undo the rename"})

    assert "REASON_REQUIRED" in refused.content.decode()
    assert reverted.status_code == 302
    lamp.refresh_from_db()
    assert (lamp.name, str(lamp.price)) == ("Lamp", "1.00")
    latest = HistoricalProduct.objects.filter(id=lamp.pk).first()
    assert latest.history_reverted_from_id == first.history_id
    assert HistoricalProduct.objects.filter(id=lamp.pk).count() == 3


def test_the_admin_history_pages_need_the_history_permission(db, client):
    """Staff who may change products but not read their history see neither the
    history list nor a version in the admin."""
    lamp = product_create(data={"name": "Lamp", "price": "1.00"}, actor=None)
    version = HistoricalProduct.objects.get(id=lamp.pk)
    writer: Any = UserFactory(
        username="writer",
        is_staff=True,
        permissions=["view_product", "change_product"],
    )
    client.force_login(writer)
    pages = [
        f"/admin/products/product/{lamp.pk}/history/",
        f"/admin/products/product/{lamp.pk}/history/{version.history_id}/",
    ]

    assert client.get(f"/admin/products/product/{lamp.pk}/change/").status_code == 200
    assert [client.get(page).status_code for page in pages] == [403, 403]

    writer.user_permissions.add(
        Permission.objects.get(codename="view_historicalproduct")
    )
    client.force_login(get_user_model().objects.get(pk=writer.pk))
    assert [client.get(page).status_code for page in pages] == [200, 200]
