"""Time travel over HTTP: a product as it was at a moment."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from products.services import (
    product_delete,
)
from tests.helpers import gid
from tests.schema.reads import create, iso, product_gid, update, versions

pytestmark = pytest.mark.django_db


# -- time travel --------------------------------------------------------------------

AS_OF = """
query AsOf($id: ID!, $at: DateTime!) {
  productAsOf(id: $id, at: $at) {
    __typename historyType name price quantity historyChangeReason
  }
}
"""


def as_of(gql: Any, user: Any, product_id: str, at: datetime.datetime) -> Any:
    answer = gql(AS_OF, {"id": product_id, "at": iso(at)}, user=user)
    assert "errors" not in answer, answer["errors"]
    return answer["data"]["productAsOf"]


def test_product_as_of(gql, editor):
    product = create(editor, "Clock", "40.00", quantity=1)
    product_id = product_gid(product)
    update(product, editor, reason="repriced", price="45.00")
    update(product, editor, reason="restocked", quantity=9)
    product_delete(pk=product.pk, actor=editor, reason="gone")
    deleted, restocked, repriced, created = versions(product)
    moments = [v.history_date for v in (created, repriced, restocked, deleted)]
    assert moments == sorted(set(moments)), "versions need distinct times"
    tick = datetime.timedelta(microseconds=1)

    def version(history_type: str, price: str, quantity: int, reason: str):
        return {
            "__typename": "HistoricalProduct",
            "historyType": history_type,
            "name": "Clock",
            "price": price,
            "quantity": quantity,
            "historyChangeReason": reason,
        }

    first = version("CREATED", "40.00", 1, "create Clock")
    second = version("UPDATED", "45.00", 1, "repriced")
    third = version("UPDATED", "45.00", 9, "restocked")
    at = [
        (created.history_date - datetime.timedelta(days=1), None),
        (created.history_date - tick, None),
        (created.history_date, first),
        (repriced.history_date - tick, first),
        (repriced.history_date, second),
        (
            repriced.history_date
            + (restocked.history_date - repriced.history_date) / 2,
            second,
        ),
        (restocked.history_date, third),
        (deleted.history_date - tick, third),
        (deleted.history_date, None),
        (deleted.history_date + datetime.timedelta(days=1), None),
    ]

    answers = [as_of(gql, editor, product_id, moment) for moment, _ in at]

    assert answers == [expected for _, expected in at]


def test_product_as_of_accepts_other_time_zones(gql, editor):
    product = create(editor, "Clock", "40.00")
    (created,) = versions(product)
    paris = datetime.timezone(datetime.timedelta(hours=2))

    answer = as_of(
        gql, editor, product_gid(product), created.history_date.astimezone(paris)
    )

    assert answer == {
        "__typename": "HistoricalProduct",
        "historyType": "CREATED",
        "name": "Clock",
        "price": "40.00",
        "quantity": 0,
        "historyChangeReason": "create Clock",
    }


def test_product_as_of_for_an_id_of_another_type_is_null(gql, editor):
    create(editor, "Clock")
    future = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)

    assert as_of(gql, editor, gid("User", editor.pk), future) is None


def test_product_as_of_needs_the_permission(gql, reader, editor):
    product = create(editor, "Clock")
    future = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)

    answer = gql(AS_OF, {"id": product_gid(product), "at": iso(future)}, user=reader)

    assert answer["data"] is None
    assert [error["extensions"]["code"] for error in answer["errors"]] == [
        "PERMISSION_DENIED"
    ]
