"""The trail never loses a fact: who made a change (after the user is deleted),
where from (a forged X-Forwarded-For is not believed), and versions whose text
is huge still save."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client

from history.context import MAX_FORWARDED_HOPS
from history.validation import MAX_REASON_LENGTH
from history.versions import MAX_SEARCH_TEXT, fair_shares, search_text
from history.writes import history_save
from products import services as products_services
from products.models import (
    MAX_DESCRIPTION_LENGTH,
    MAX_TAGS,
    Category,
    Product,
)
from products.services import (
    category_create,
    product_adjust_prices,
    product_create,
    product_import,
    product_update,
)
from tests.conftest import EDITOR_PERMISSIONS, bearer
from tests.factories import TagFactory, UserFactory
from tests.helpers import gid
from tests.test_live_server import read_log, wait_until_answering

HistoricalProduct = Product.history.model
HistoricalCategory = Category.history.model

CREATE = """
mutation($input: CreateProductInput!) {
  createProduct(input: $input) {
    __typename
    ... on Product { id }
    ... on OperationInfo { messages { kind code field } }
  }
}
"""
UPDATE = """
mutation($input: UpdateProductInput!) {
  updateProduct(input: $input) {
    __typename
    ... on Product { name }
    ... on OperationInfo { messages { kind code field } }
  }
}
"""
WHO = """
query($filters: HistoricalProductFilter) {
  productHistory(filters: $filters) { edges { node {
    historyType historyUser { __typename id username }
  } } }
}
"""
WHERE = """
{ productHistory(first: 1) { edges { node { historyType ipAddress } } } }
"""


@pytest.fixture
def alice(db: None) -> Any:
    return UserFactory(username="alice", permissions=EDITOR_PERMISSIONS)


@pytest.fixture
def root(db: None) -> Any:
    return User.objects.create_superuser("root", password="root-password")


@pytest.fixture
def admin_client(root: Any) -> Client:
    client = Client()
    client.force_login(root)
    return client


# -- who -------------------------------------------------------------------------


def test_history_user_survives_deleting_the_user_in_the_admin(
    gql, alice, staff, admin_client
):
    created = gql(CREATE, {"input": {"name": "Lamp", "price": "10.00"}}, user=alice)
    lamp_id = created["data"]["createProduct"]["id"]
    gql(UPDATE, {"input": {"id": lamp_id, "name": "Desk lamp"}}, user=alice)
    alice_id = gid("User", alice.pk)

    response = admin_client.post(
        f"/admin/auth/user/{alice.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == 302, response.content
    assert not User.objects.filter(pk=alice.pk).exists()
    assert set(HistoricalProduct.objects.values_list("history_user_id", flat=True)) == {
        None
    }
    who = {"__typename": "User", "id": alice_id, "username": "alice"}
    expected = {
        "data": {
            "productHistory": {
                "edges": [
                    {"node": {"historyType": "UPDATED", "historyUser": who}},
                    {"node": {"historyType": "CREATED", "historyUser": who}},
                ]
            }
        }
    }
    assert gql(WHO, user=staff) == expected
    assert gql(WHO, {"filters": {"historyUser": alice_id}}, user=staff) == expected


def test_history_user_is_the_live_user_while_it_exists(gql, alice, staff):
    product_create(data={"name": "Lamp", "price": "1.00"}, actor=alice)
    alice.username = "alice2"
    alice.save()

    answer = gql(WHO, user=staff)

    assert answer["data"]["productHistory"]["edges"] == [
        {
            "node": {
                "historyType": "CREATED",
                "historyUser": {
                    "__typename": "User",
                    "id": gid("User", alice.pk),
                    "username": "alice2",
                },
            }
        }
    ]
    version = HistoricalProduct.objects.get()
    assert (version.history_user_pk, version.history_username) == (alice.pk, "alice")


def test_changes_outside_a_request_have_no_user(db, staff, gql):
    product_create(data={"name": "Lamp", "price": "1.00"}, actor=None)

    version = HistoricalProduct.objects.get()

    assert (version.history_user_pk, version.history_username) == (None, "")
    assert gql(WHO, user=staff)["data"]["productHistory"]["edges"] == [
        {"node": {"historyType": "CREATED", "historyUser": None}}
    ]


def test_bulk_versions_keep_who_made_them(alice):
    lamp = product_create(data={"name": "Lamp", "price": "1.00"}, actor=None)
    product_adjust_prices(
        pks=[lamp.pk], actor=alice, reason="Sale", percent=Decimal(10)
    )
    product_import(
        rows=[{"name": "Desk", "price": "2.00"}], actor=alice, reason="Import"
    )

    rows = HistoricalProduct.objects.exclude(history_change_reason=None).values_list(
        "history_change_reason", "history_user_pk", "history_username"
    )

    assert sorted(rows) == [("Import", alice.pk, "alice"), ("Sale", alice.pk, "alice")]


NESTED_WHO = """
{ products(first: 50) { edges { node { history(first: 20) { edges { node {
  historyUser { id username }
} } } } } } }
"""


def test_deleted_users_cost_no_extra_query(
    gql, alice, staff, django_assert_max_num_queries
):
    for n in range(3):
        lamp = product_create(data={"name": f"Lamp {n}", "price": "1.00"}, actor=alice)
        product_update(pk=lamp.pk, data={"quantity": 2}, actor=staff)
    alice_id = gid("User", alice.pk)
    alice.delete()
    headers = bearer(staff)

    # The same bound as the nested history query with live users.
    with django_assert_max_num_queries(4):
        answer = gql(NESTED_WHO, headers=headers)

    users = [
        edge["node"]["historyUser"]
        for product in answer["data"]["products"]["edges"]
        for edge in product["node"]["history"]["edges"]
    ]
    assert (
        users
        == [
            {"id": gid("User", staff.pk), "username": "staff"},
            {"id": alice_id, "username": "alice"},
        ]
        * 3
    )


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
        f"/admin/products/category/{lighting.pk}/delete/", {"post": "yes"}
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
        f"/admin/products/category/{lighting.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == 200
    assert b"would require deleting the following protected" in response.content
    assert HistoricalCategory.objects.filter(id=lighting.pk).count() == 1


def test_deleting_a_product_in_the_admin_records_who_and_its_tags(admin_client, root):
    lamp = product_create(
        data={"name": "Lamp", "price": "1.00", "tags": ["red"]}, actor=None
    )

    response = admin_client.post(
        f"/admin/products/product/{lamp.pk}/delete/", {"post": "yes"}
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
        },
    )

    assert response.status_code == 302, response.content
    version = HistoricalProduct.objects.get()
    assert (version.history_type, version.history_user_id) == ("+", root.pk)


def test_versions_cannot_be_saved_through_the_admin(admin_client):
    lamp = product_create(data={"name": "Lamp", "price": "1.00"}, actor=None)
    product_update(pk=lamp.pk, data={"name": "Desk lamp"}, actor=None)
    first = HistoricalProduct.objects.filter(id=lamp.pk).last()
    url = f"/admin/products/product/{lamp.pk}/history/{first.history_id}/"

    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, product_form(first.instance))

    assert response.status_code == 403
    lamp.refresh_from_db()
    assert lamp.name == "Desk lamp"
    assert HistoricalProduct.objects.filter(id=lamp.pk).count() == 2


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


# -- where from ------------------------------------------------------------------


@pytest.fixture
def write_from(gql, staff):
    """Create a product with the given REMOTE_ADDR and X-Forwarded-For; return
    the recorded ipAddress (as staff sees it)."""

    def write(remote: str, forwarded: str | None = None) -> str | None:
        headers = bearer(staff)
        if forwarded is not None:
            headers["X-Forwarded-For"] = forwarded
        answer = gql(
            CREATE,
            {"input": {"name": "Lamp", "price": "1.00"}},
            headers=headers,
            client=Client(REMOTE_ADDR=remote),
        )
        assert answer["data"]["createProduct"]["__typename"] == "Product", answer
        version = HistoricalProduct.objects.order_by("-history_id").first()
        return version.history_ip_address

    return write


@pytest.mark.parametrize(
    ("remote", "forwarded", "recorded"),
    [
        # No proxy trusted: the header is ignored.
        ("127.0.0.1", "6.6.6.6", "127.0.0.1"),
        ("203.0.113.9", "6.6.6.6, 7.7.7.7", "203.0.113.9"),
        # uvicorn already put the forged address in REMOTE_ADDR: the real
        # peer was the loopback proxy uvicorn trusts.
        ("6.6.6.6", "6.6.6.6", "127.0.0.1"),
        ("7.7.7.7", "6.6.6.6, 7.7.7.7:4000", "127.0.0.1"),
        # Garbage never fails a write, and is never stored.
        ("127.0.0.1", "not-an-ip, ,,", "127.0.0.1"),
        ("not-an-ip", "not-an-ip", "127.0.0.1"),
        ("127.0.0.1", "1.2.3.4%eth0, \x7f, [zz]:80", "127.0.0.1"),
        ("203.0.113.9", None, "203.0.113.9"),
        ("::ffff:203.0.113.9", None, "203.0.113.9"),
    ],
)
def test_forwarded_for_is_not_believed_by_default(
    write_from, remote, forwarded, recorded
):
    assert write_from(remote, forwarded) == recorded


def test_a_forged_address_behind_many_loopback_hops_is_not_believed(write_from):
    """uvicorn walks the whole header past its trusted loopback hops: an
    address it took from far to the left is still spotted as taken from it."""
    hops = ", ".join(["127.0.0.1"] * (MAX_FORWARDED_HOPS + 8))

    assert write_from("6.6.6.6", f"6.6.6.6, {hops}") == "127.0.0.1"


def test_no_valid_peer_records_no_address(write_from):
    assert write_from("not-an-ip") is None


@pytest.mark.parametrize(
    ("remote", "forwarded", "recorded"),
    [
        # One trusted proxy: the address it appended.
        ("10.0.0.5", "203.0.113.9", "203.0.113.9"),
        # The client's own claims to the left are not believed.
        ("10.0.0.5", "6.6.6.6, 203.0.113.9", "203.0.113.9"),
        # A chain of trusted proxies (a network and a single address).
        ("10.0.0.5", "6.6.6.6, 203.0.113.9, 10.1.2.3, 192.0.2.1", "203.0.113.9"),
        ("10.0.0.5", "6.6.6.6, [2001:db8::7]:443, 10.1.2.3", "2001:db8::7"),
        # A malformed hop ends the walk: the last trusted hop is recorded.
        ("10.0.0.5", "6.6.6.6, garbage, 10.1.2.3", "10.1.2.3"),
        ("10.0.0.5", "not-an-ip, ,,", "10.0.0.5"),
        # Every hop trusted: the client was a proxy itself.
        ("10.0.0.5", "10.1.0.1, 10.1.0.2", "10.1.0.1"),
        # An untrusted peer's header is ignored.
        ("203.0.113.50", "6.6.6.6", "203.0.113.50"),
        # Behind a loopback proxy that uvicorn trusts too: uvicorn put the
        # client in REMOTE_ADDR; the walk finds the same client.
        ("203.0.113.9", "6.6.6.6, 203.0.113.9", "203.0.113.9"),
        # A client that connected directly, bypassing the proxy, and names
        # itself in the header to look rewritten keeps its own address.
        ("198.51.100.7", "198.51.100.7, 6.6.6.6", "198.51.100.7"),
        ("198.51.100.7", "6.6.6.6, 198.51.100.7", "198.51.100.7"),
    ],
)
def test_trusted_proxies_are_believed(
    settings, write_from, remote, forwarded, recorded
):
    settings.TRUSTED_PROXIES = [
        "10.0.0.5",
        "10.1.0.0/16",
        "192.0.2.1",
        "127.0.0.1",
        "not a network",
    ]

    assert write_from(remote, forwarded) == recorded


def test_a_long_chain_is_walked_only_so_far(settings, write_from):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    chain = ", ".join(["6.6.6.6"] + ["10.0.0.1"] * (MAX_FORWARDED_HOPS + 5))

    assert write_from("10.0.0.5", chain) == "10.0.0.1"


def test_a_server_that_does_not_rewrite_addresses(settings, write_from):
    settings.FORWARDED_ALLOW_IPS = []

    # A direct client that repeats its own address is recorded as itself.
    assert write_from("203.0.113.9", "203.0.113.9") == "203.0.113.9"


# -- large texts -----------------------------------------------------------------


def invalid(field: str) -> dict[str, Any]:
    """The payload of a write refused for an invalid `field`."""
    return {
        "__typename": "OperationInfo",
        "messages": [{"kind": "VALIDATION", "code": "INVALID", "field": field}],
    }


def test_an_over_long_description_is_refused_and_writes_nothing(gql, editor):
    answer = gql(
        CREATE,
        {
            "input": {
                "name": "Lamp",
                "price": "1.00",
                "description": "x" * (MAX_DESCRIPTION_LENGTH + 1),
            }
        },
        user=editor,
    )

    assert answer == {"data": {"createProduct": invalid("description")}}
    assert not Product.objects.exists()
    assert not HistoricalProduct.objects.exists()


def test_an_over_long_update_of_the_description_is_refused(gql, editor):
    lamp = product_create(data={"name": "Lamp", "price": "1.00"}, actor=None)

    answer = gql(
        UPDATE,
        {"input": {"id": gid("Product", lamp.pk), "description": "y" * 800_000}},
        user=editor,
    )

    assert answer["data"]["updateProduct"] == invalid("description")
    assert HistoricalProduct.objects.count() == 1


def test_an_over_long_reason_is_refused(gql, editor):
    answer = gql(
        CREATE,
        {
            "input": {
                "name": "Lamp",
                "price": "1.00",
                "reason": "r" * (MAX_REASON_LENGTH + 1),
            }
        },
        user=editor,
    )

    assert answer == {"data": {"createProduct": invalid("reason")}}
    assert not Product.objects.exists()
    ok = gql(
        CREATE,
        {"input": {"name": "Lamp", "price": "1.00", "reason": "r" * MAX_REASON_LENGTH}},
        user=editor,
    )
    assert ok["data"]["createProduct"]["__typename"] == "Product"


def test_fair_shares_keep_short_texts_whole():
    assert fair_shares([10, 1000, 5, 1000], 100) == [10, 42, 5, 43]
    assert fair_shares([3, 4], 100) == [3, 4]
    assert fair_shares([], 100) == []


class Version:
    def __init__(self, reason: str, changes: dict[str, Any]) -> None:
        self.history_change_reason = reason
        self.history_changes = changes


def test_search_text_is_bounded_and_keeps_every_part():
    text = search_text(
        Version(
            "why " * 100_000,
            {
                "name": ["Lamp", "Desk lamp"],
                "description": ["a" * 500_000, "b" * 500_000],
                "tags": [["red"], ["red", "sale"]],
            },
        )
    )

    assert len(text) <= MAX_SEARCH_TEXT
    assert text.startswith("why why")
    for word in ("Lamp", "Desk lamp", "aaaa", "bbbb", "red sale"):
        assert word in text


def test_search_text_of_small_versions_is_unchanged():
    version = Version("Sale", {"price": ["1.00", "2.00"], "tags": [[], ["red"]]})

    assert search_text(version) == "Sale 1.00 2.00 red"


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL: the tsvector size limit of the search index",
)
def test_a_version_with_a_huge_search_text_saves(db, gql, staff):
    lamp = product_create(data={"name": "Lamp", "price": "1.00"}, actor=None)
    lamp.description = " ".join(f"w{n}" for n in range(1_500))
    # Services refuse such a reason; the engine below them must not fail on one.
    reason = " ".join(f"reason{n}" for n in range(150_000))

    history_save(instance=lamp, actor=None, reason=reason)

    latest = HistoricalProduct.objects.filter(id=lamp.pk).first()
    assert latest.history_change_reason == reason
    assert len(latest.history_search) <= MAX_SEARCH_TEXT
    answer = gql(
        '{ productHistory(filters: {search: "reason7"}) { totalCount } }', user=staff
    )
    assert answer == {"data": {"productHistory": {"totalCount": 1}}}


# -- where from, against the real server -------------------------------------------

LIVE_PORT = 8131
COMMAND_SECONDS = 120


def manage(environment: dict[str, str], *args: str) -> str:
    """Run a management command of this project; its standard output."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=Path(settings.BASE_DIR),
        env=environment,
        capture_output=True,
        text=True,
        timeout=COMMAND_SECONDS,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout


def test_uvicorn_with_its_defaults_does_not_record_a_forged_address(tmp_path):
    """uvicorn as `make run` starts it (trusting loopback's X-Forwarded-For) on a
    SQLite file: a forged header is not recorded, a garbage one fails nothing."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"FORWARDED_ALLOW_IPS", "DJANGO_TRUSTED_PROXIES"}
    }
    environment.update(
        {
            "DJANGO_DEBUG": "1",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "DJANGO_LOG_LEVEL": "WARNING",
            "DJANGO_SUPERUSER_PASSWORD": "root-password",
        }
    )
    manage(environment, "migrate", "--noinput")
    manage(
        environment,
        "createsuperuser",
        "--noinput",
        "--username",
        "root",
        "--email",
        "root@example.com",
    )
    token = manage(environment, "create_api_token", "root").strip()
    headers = {"Authorization": f"Bearer {token}"}
    url = f"http://127.0.0.1:{LIVE_PORT}/graphql/"
    command = [
        str(Path(sys.executable).with_name("uvicorn")),
        "config.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(LIVE_PORT),
        "--no-access-log",
    ]
    with tempfile.TemporaryFile("w+") as log:
        server = subprocess.Popen(
            command,
            cwd=Path(settings.BASE_DIR),
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_until_answering(url, server, log)
            with httpx.Client(timeout=30) as client:

                def create(forwarded: str) -> dict[str, Any]:
                    response = client.post(
                        url,
                        json={
                            "query": CREATE,
                            "variables": {"input": {"name": "Lamp", "price": "1"}},
                        },
                        headers={**headers, "X-Forwarded-For": forwarded},
                    )
                    assert response.status_code == 200, response.text
                    answer: dict[str, Any] = response.json()
                    return answer

                forged = create("6.6.6.6")
                garbage = create("not-an-ip, ,,")
                # uvicorn puts this one in the client address itself.
                substituted = create("not-an-ip")
                # And this one, found past any number of loopback hops.
                far = create("6.6.6.6, " + ", ".join(["127.0.0.1"] * 40))
                recorded = client.post(
                    url,
                    json={
                        "query": "{ productHistory { edges { node { ipAddress } } } }"
                    },
                    headers=headers,
                ).json()
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=15)
            server_log = read_log(log)
    recorded.pop("extensions", None)  # the query's cost
    assert forged["data"]["createProduct"]["__typename"] == "Product", server_log
    assert garbage["data"]["createProduct"]["__typename"] == "Product", server_log
    assert substituted["data"]["createProduct"]["__typename"] == "Product", server_log
    assert far["data"]["createProduct"]["__typename"] == "Product", server_log
    assert recorded == {
        "data": {
            "productHistory": {"edges": [{"node": {"ipAddress": "127.0.0.1"}}] * 4}
        }
    }, server_log
