"""`historyCheckpoint` and `historyPublicKey` over HTTP: the latest signed
checkpoint and the verify key, for anyone who may read some history."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from history.checkpoints import public_key, write_checkpoint
from history.retention import history_prune
from history.signing import signature_valid
from products.models import Product
from products.services import product_create, product_update
from tests.conftest import GraphQL
from tests.factories import UserFactory

CHECKPOINT = """
{
  historyPublicKey
  historyCheckpoint {
    __typename id createdAt kind versions chains root previous statement
    signature publicKey pruned { __typename model cutoff count }
  }
}
"""


def lamp() -> Any:
    product = product_create(
        data={"name": "Lamp", "price": Decimal("1.00")}, actor=None
    )
    product_update(pk=product.pk, data={"price": Decimal("2.00")}, actor=None)
    return product


def test_no_checkpoint_yet_is_null(gql: GraphQL, editor: Any) -> None:
    assert gql(CHECKPOINT, user=editor) == {
        "data": {"historyPublicKey": public_key(), "historyCheckpoint": None}
    }


def test_the_latest_checkpoint_as_signed(gql: GraphQL, editor: Any) -> None:
    lamp()
    first = write_checkpoint()
    latest = write_checkpoint()

    answer = gql(CHECKPOINT, user=editor)

    assert answer == {
        "data": {
            "historyPublicKey": public_key(),
            "historyCheckpoint": {
                "__typename": "HistoryCheckpoint",
                "id": latest.pk,
                "createdAt": latest.created_at.isoformat(),
                "kind": "CHECKPOINT",
                "versions": 2,
                "chains": 1,
                "root": latest.root,
                "previous": latest.previous,
                "statement": latest.statement,
                "signature": latest.signature,
                "publicKey": public_key(),
                "pruned": None,
            },
        }
    }
    assert latest.pk == first.pk + 1
    node = answer["data"]["historyCheckpoint"]
    assert signature_valid(
        answer["data"]["historyPublicKey"], node["statement"], node["signature"]
    )


def test_a_prunes_checkpoint_says_what_it_pruned(gql: GraphQL, editor: Any) -> None:
    lamp()
    later = timezone.now() + datetime.timedelta(seconds=1)
    product_update(pk=Product.objects.get().pk, data={"quantity": 3}, actor=None)
    result = history_prune(model=Product, cutoff=later)
    assert result.checkpoint is not None

    answer = gql(CHECKPOINT, user=editor)

    assert answer["data"]["historyCheckpoint"]["kind"] == "PRUNE"
    assert answer["data"]["historyCheckpoint"]["id"] == result.checkpoint.pk
    assert answer["data"]["historyCheckpoint"]["pruned"] == {
        "__typename": "CheckpointPruned",
        "model": "products.product",
        "cutoff": later.isoformat(),
        "count": 2,
    }
    assert answer["data"]["historyCheckpoint"]["versions"] == 1


@override_settings(HISTORY_SIGNING_KEY="", HISTORY_VERIFY_KEY="")
def test_no_configured_key_is_null(gql: GraphQL, editor: Any) -> None:
    assert gql("{ historyPublicKey }", user=editor) == {
        "data": {"historyPublicKey": None}
    }


def test_any_history_permission_is_enough(gql: GraphQL, db: None) -> None:
    write_checkpoint()
    category_reader = UserFactory(
        username="category-reader", permissions=["view_historicalcategory"]
    )

    answer = gql(
        "{ historyCheckpoint { kind } historyPublicKey }", user=category_reader
    )

    assert answer == {
        "data": {
            "historyCheckpoint": {"kind": "CHECKPOINT"},
            "historyPublicKey": public_key(),
        }
    }


@pytest.mark.parametrize("field", ["historyCheckpoint { id }", "historyPublicKey"])
@pytest.mark.parametrize("who", ["anonymous", "reader"])
def test_viewers_who_may_read_no_history_are_refused(
    gql: GraphQL, reader: Any, field: str, who: str
) -> None:
    write_checkpoint()

    answer = gql(f"{{ {field} }}", user=reader if who == "reader" else None)

    assert answer["data"] is None
    assert [error["extensions"]["code"] for error in answer["errors"]] == [
        "PERMISSION_DENIED"
    ]


def test_the_checkpoint_costs_one_query(gql: GraphQL, editor: Any) -> None:
    lamp()
    write_checkpoint()
    gql("{ me { username } }", user=editor)
    with CaptureQueriesContext(connection) as baseline:
        gql("{ me { username } }", user=editor)

    with CaptureQueriesContext(connection) as captured:
        answer = gql(CHECKPOINT, user=editor)

    assert answer["data"]["historyCheckpoint"]["chains"] == 1
    assert len(captured) == len(baseline) + 1
    assert [q for q in captured.captured_queries if "history_checkpoint" in q["sql"]]
