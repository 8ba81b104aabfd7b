"""The trail keeps who made a change, even after the user is deleted."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User

from products.services import (
    product_adjust_prices,
    product_create,
    product_import,
    product_update,
)
from tests.conftest import EDITOR_PERMISSIONS, bearer
from tests.factories import UserFactory
from tests.helpers import gid
from tests.history.trail_checks import CREATE, UPDATE, HistoricalProduct

WHO = """
query($filters: HistoricalProductFilter) {
  productHistory(filters: $filters) { edges { node {
    historyType historyUser { __typename id username }
  } } }
}
"""


@pytest.fixture
def alice(db: None) -> Any:
    return UserFactory(username="alice", permissions=EDITOR_PERMISSIONS)


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
