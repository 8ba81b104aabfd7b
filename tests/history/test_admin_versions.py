"""Versions in the admin: each shows the values it recorded, reverts and
restores go through the services with a required reason, and refusals are
messages, never errors."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from products.models import Category, Product
from products.services import (
    category_create,
    category_update,
    product_create,
    product_delete,
    product_update,
)
from tests.factories import UserFactory
from tests.history.trail_checks import HistoricalProduct

HistoricalCategory = Category.history.model
PRODUCTS = "/admin/products/product"


def version_url(product: Any, version: Any) -> str:
    return f"{PRODUCTS}/{product.pk}/history/{version.history_id}/"


def values_table(html: str) -> dict[str, str]:
    """The version page's "values in this version", label to shown value."""
    table = html.split('id="version-values"', 1)[1].split("</table>", 1)[0]
    return dict(re.findall(r'<th scope="row">([^<]*)</th>\s*<td>([^<]*)</td>', table))


def latest_version(product: Any) -> Any:
    return HistoricalProduct.objects.filter(id=product.pk).first()


def test_a_version_page_shows_the_relations_it_recorded_and_no_supplier_cost(
    admin_client: Client,
) -> None:
    lighting = category_create(data={"name": "Lighting"}, actor=None)
    lamp = product_create(
        data={
            "name": "Lamp",
            "price": "10.00",
            "category": lighting.pk,
            "tags": ["red", "sale"],
            "supplier_cost": "4.25",
        },
        actor=None,
    )
    first = latest_version(lamp)
    category_update(pk=lighting.pk, data={"name": "Lamps and lights"}, actor=None)
    product_update(
        pk=lamp.pk,
        data={"tags": ["blue"], "supplier_cost": "7.75", "price": "12.00"},
        actor=None,
    )

    response = admin_client.get(version_url(lamp, first))

    assert response.status_code == 200
    html = response.content.decode()
    assert values_table(html) == {
        "Name": "Lamp",
        "Description": "",
        "Price": "10.00",
        "Quantity": "0",
        "Category": "Lighting",
        "Tags": "red, sale",
    }
    assert "Lamps and lights" not in html
    assert "blue" not in html
    assert "upplier" not in html
    assert "4.25" not in html
    assert "7.75" not in html


def test_the_change_form_requires_a_reason_and_records_it(
    admin_client: Client,
) -> None:
    lamp = product_create(data={"name": "Lamp", "price": "1.00"}, actor=None)
    form = {
        "name": "Desk lamp",
        "description": "",
        "price": "1.00",
        "quantity": "0",
        "category": "",
        "tags": [],
        "supplier_cost": "",
    }

    refused = admin_client.post(f"{PRODUCTS}/{lamp.pk}/change/", form)
    saved = admin_client.post(
        f"{PRODUCTS}/{lamp.pk}/change/", {**form, "reason": "  Clearer name  "}
    )

    assert refused.status_code == 200
    assert 'name="reason"' in refused.content.decode()
    assert "This field is required." in refused.content.decode()
    assert saved.status_code == 302, saved.content
    assert [v.history_change_reason for v in HistoricalProduct.objects.all()] == [
        "Clearer name",
        None,
    ]


def test_a_delete_without_a_reason_asks_again_and_deletes_nothing(
    admin_client: Client,
) -> None:
    lamp = product_create(data={"name": "Lamp", "price": "1.00"}, actor=None)
    url = f"{PRODUCTS}/{lamp.pk}/delete/"

    page = admin_client.get(url).content.decode()
    refused = admin_client.post(url, {"post": "yes", "reason": " "}, follow=True)
    deleted = admin_client.post(url, {"post": "yes", "reason": "Discontinued"})

    assert 'name="reason"' in page
    assert "Give a reason for the deletion." in refused.content.decode()
    assert deleted.status_code == 302
    assert not Product.objects.filter(pk=lamp.pk).exists()
    assert latest_version(lamp).history_change_reason == "Discontinued"


def test_the_bulk_delete_action_asks_for_a_reason(admin_client: Client) -> None:
    lamp = product_create(data={"name": "Lamp", "price": "1.00"}, actor=None)
    selected = {"action": "delete_selected", "_selected_action": [lamp.pk]}

    refused = admin_client.post(f"{PRODUCTS}/", {**selected, "post": "yes"})
    deleted = admin_client.post(
        f"{PRODUCTS}/", {**selected, "post": "yes", "reason": "Clear-out"}
    )

    assert refused.status_code == 200  # the confirmation again
    assert "Give a reason for the deletion." in refused.content.decode()
    assert 'name="reason"' in refused.content.decode()
    assert deleted.status_code == 302
    assert latest_version(lamp).history_change_reason == "Clear-out"


def test_the_history_list_shows_the_reason_once(admin_client: Client) -> None:
    lamp = product_create(data={"name": "Lamp", "price": "1.00"}, actor=None)
    product_update(
        pk=lamp.pk, data={"price": "2.00"}, actor=None, reason="Supplier raise"
    )

    html = admin_client.get(f"{PRODUCTS}/{lamp.pk}/history/").content.decode()

    assert html.count("Supplier raise") == 1
    assert html.lower().count("change reason") == 1


def test_reverting_in_the_admin_records_a_version_marked_as_a_revert(
    admin_client: Client, root: Any
) -> None:
    lighting = category_create(data={"name": "Lighting"}, actor=None)
    lamp = product_create(
        data={"name": "Lamp", "price": "10.00", "category": lighting.pk},
        actor=None,
    )
    first = latest_version(lamp)
    product_update(pk=lamp.pk, data={"name": "Desk lamp", "category": None}, actor=None)
    url = version_url(lamp, first)

    page = admin_client.get(url).content.decode()
    response = admin_client.post(
        url,
        {
            "reason": "Rename was a mistake",
            "expected_latest": latest_version(lamp).history_id,
        },
        follow=True,
    )

    assert 'id="revert-form"' in page
    assert response.redirect_chain == [(f"{PRODUCTS}/{lamp.pk}/history/", 302)]
    assert "was reverted to version" in response.content.decode()
    lamp.refresh_from_db()
    assert (lamp.name, lamp.category_id) == ("Lamp", lighting.pk)
    revert = latest_version(lamp)
    assert (
        revert.history_reverted_from_id,
        revert.history_change_reason,
        revert.history_user_id,
    ) == (first.history_id, "Rename was a mistake", root.pk)


def test_a_revert_over_a_change_made_since_the_page_was_read_is_stale(
    admin_client: Client,
) -> None:
    lamp = product_create(data={"name": "Lamp", "price": "10.00"}, actor=None)
    first = latest_version(lamp)
    product_update(pk=lamp.pk, data={"name": "Desk lamp"}, actor=None)
    seen = latest_version(lamp)
    product_update(pk=lamp.pk, data={"price": "11.00"}, actor=None)

    response = admin_client.post(
        version_url(lamp, first),
        {"reason": "Undo", "expected_latest": seen.history_id},
        follow=True,
    )

    html = response.content.decode()
    assert response.redirect_chain == [(version_url(lamp, first), 302)]
    assert "Not reverted. STALE:" in html
    assert HistoricalProduct.objects.filter(id=lamp.pk).count() == 3
    lamp.refresh_from_db()
    assert (lamp.name, lamp.price) == ("Desk lamp", Decimal("11.00"))


def test_a_revert_to_a_deleted_category_is_a_related_deleted_message(
    admin_client: Client,
) -> None:
    lighting = category_create(data={"name": "Lighting"}, actor=None)
    lamp = product_create(
        data={"name": "Lamp", "price": "10.00", "category": lighting.pk}, actor=None
    )
    first = latest_version(lamp)
    product_update(pk=lamp.pk, data={"category": None}, actor=None)
    Category.objects.filter(pk=lighting.pk).delete()

    response = admin_client.post(
        version_url(lamp, first), {"reason": "Back"}, follow=True
    )

    assert "Not reverted. RELATED_DELETED:" in response.content.decode()
    assert HistoricalProduct.objects.filter(id=lamp.pk).count() == 2


def test_a_deleted_product_is_restored_from_its_history(
    admin_client: Client,
) -> None:
    lamp = product_create(data={"name": "Lamp", "price": "10.00"}, actor=None)
    first = latest_version(lamp)
    product_delete(pk=lamp.pk, actor=None, reason="Discontinued")

    history = admin_client.get(f"{PRODUCTS}/{lamp.pk}/history/")
    page = admin_client.get(version_url(lamp, first)).content.decode()
    response = admin_client.post(version_url(lamp, first), {"reason": "Back in stock"})

    assert history.status_code == 200
    assert version_url(lamp, first) in history.content.decode()
    assert "Restore from this version" in page
    assert response.status_code == 302
    restored = Product.objects.get(pk=lamp.pk)
    assert restored.name == "Lamp"
    version = latest_version(lamp)
    assert (version.history_type, version.history_change_reason) == (
        "+",
        "Back in stock",
    )
    assert version.history_reverted_from_id == first.history_id


def test_staff_who_may_not_change_products_see_versions_but_cannot_revert(
    db: None, client: Client
) -> None:
    lamp = product_create(data={"name": "Lamp", "price": "10.00"}, actor=None)
    first = latest_version(lamp)
    product_update(pk=lamp.pk, data={"name": "Desk lamp"}, actor=None)
    auditor: Any = UserFactory(
        username="auditor",
        is_staff=True,
        permissions=["view_product", "view_historicalproduct"],
    )
    client.force_login(auditor)

    page = client.get(version_url(lamp, first))
    response = client.post(version_url(lamp, first), {"reason": "Try"}, follow=True)

    assert page.status_code == 200
    assert 'id="revert-form"' not in page.content.decode()
    assert "Not reverted. PERMISSION_DENIED:" in response.content.decode()
    assert HistoricalProduct.objects.filter(id=lamp.pk).count() == 2


def test_staff_without_the_history_permission_cannot_revert(
    db: None, client: Client
) -> None:
    lamp = product_create(data={"name": "Lamp", "price": "10.00"}, actor=None)
    first = latest_version(lamp)
    product_update(pk=lamp.pk, data={"name": "Desk lamp"}, actor=None)
    writer: Any = UserFactory(
        username="writer", is_staff=True, permissions=["view_product", "change_product"]
    )
    client.force_login(writer)

    response = client.post(version_url(lamp, first), {"reason": "Try"})

    assert response.status_code == 403
    assert HistoricalProduct.objects.filter(id=lamp.pk).count() == 2


def test_a_category_version_is_reverted_in_the_admin(admin_client: Client) -> None:
    lighting = category_create(data={"name": "Lighting"}, actor=None)
    first = HistoricalCategory.objects.get(id=lighting.pk)
    category_update(pk=lighting.pk, data={"name": "Lamps"}, actor=None)
    url = f"/admin/products/category/{lighting.pk}/history/{first.history_id}/"

    page = admin_client.get(url).content.decode()
    response = admin_client.post(url, {"reason": "Old name was better"})

    assert values_table(page)["Name"] == "Lighting"
    assert response.status_code == 302
    lighting.refresh_from_db()
    assert lighting.name == "Lighting"
    latest = HistoricalCategory.objects.filter(id=lighting.pk).first()
    assert latest.history_reverted_from_id == first.history_id


def test_an_unknown_version_is_a_404(admin_client: Client) -> None:
    lamp = product_create(data={"name": "Lamp", "price": "10.00"}, actor=None)

    pages = [
        f"{PRODUCTS}/{lamp.pk}/history/999999/",
        f"{PRODUCTS}/{lamp.pk}/history/x/",
    ]

    assert [admin_client.get(page).status_code for page in pages] == [404, 404]


def test_the_deleted_list_shows_each_deleted_object_once_until_restored(
    admin_client: Client,
) -> None:
    lamp = product_create(data={"name": "Lamp", "price": "10.00"}, actor=None)
    desk = product_create(data={"name": "Desk", "price": "20.00"}, actor=None)
    product_create(data={"name": "Chair", "price": "30.00"}, actor=None)
    lamp_created = latest_version(lamp)
    product_delete(pk=lamp.pk, actor=None, reason="First removal")
    admin_client.post(version_url(lamp, lamp_created), {"reason": "Back"})
    product_delete(pk=lamp.pk, actor=None, reason="Second removal")
    product_delete(pk=desk.pk, actor=None, reason="Broken")

    changelist = admin_client.get(f"{PRODUCTS}/").content.decode()
    listing = admin_client.get(f"{PRODUCTS}/deleted/").content.decode()

    assert f'href="{PRODUCTS}/deleted/"' in changelist
    assert listing.count(f'href="{PRODUCTS}/{lamp.pk}/history/"') == 1
    assert listing.count(f'href="{PRODUCTS}/{desk.pk}/history/"') == 1
    assert "Second removal" in listing
    assert "First removal" not in listing
    assert "Chair" not in listing

    admin_client.post(
        version_url(desk, latest_version(desk).prev_record), {"reason": "Fixed"}
    )
    listing = admin_client.get(f"{PRODUCTS}/deleted/").content.decode()
    assert f'href="{PRODUCTS}/{desk.pk}/history/"' not in listing


def test_the_deleted_list_needs_the_history_permission(
    db: None, client: Client
) -> None:
    writer: Any = UserFactory(
        username="writer", is_staff=True, permissions=["view_product", "change_product"]
    )
    client.force_login(writer)

    assert client.get(f"{PRODUCTS}/deleted/").status_code == 403


def test_the_deleted_list_costs_the_same_queries_for_one_or_many(
    admin_client: Client,
) -> None:
    def deleted_list_queries(count: int) -> int:
        for n in range(count):
            doomed = product_create(data={"name": f"P{n}", "price": "1.00"}, actor=None)
            product_delete(pk=doomed.pk, actor=None)
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(f"{PRODUCTS}/deleted/").status_code == 200
        return len(queries.captured_queries)

    one = deleted_list_queries(1)
    many = deleted_list_queries(6)

    assert one == many
