"""What verification costs a request: each object's chain is verified once
however many of its versions are selected, the queries do not grow with the
page, the fields carry their node cost, and `verifyHistory` runs off the event
loop within the request's database time budget."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from history import verification
from history.checkpoints import write_checkpoint
from products.services import product_create, product_update
from schema import budget as request_budget
from tests.conftest import GraphQL, bearer
from tests.helpers import ok
from tests.history.tampering import Trail, signed_trail
from tests.schema.limit_checks import cost

pytestmark = pytest.mark.django_db

FEED = """
{
  productHistory(first: 20) {
    edges {
      node {
        historyId
        integrity { contentIntact chain { intact firstBreak { kind } } }
        again: integrity { chain { intact } }
      }
    }
  }
}
"""


@pytest.fixture
def trail() -> Trail:
    return signed_trail()


def more_products(count: int) -> None:
    for n in range(count):
        product = product_create(
            data={"name": f"Extra {n}", "price": Decimal("1.00")}, actor=None
        )
        product_update(pk=product.pk, data={"quantity": 2}, actor=None)


def test_each_chain_is_verified_once_per_request(
    gql: GraphQL, staff: Any, trail: Trail
) -> None:
    with mock.patch.object(
        verification, "verify_chain", wraps=verification.verify_chain
    ) as verify_chain:
        answer = gql(FEED, user=staff)

    nodes = [edge["node"] for edge in ok(answer)["productHistory"]["edges"]]
    assert len(nodes) == 9
    assert all(node["integrity"]["chain"]["intact"] for node in nodes)
    assert sorted(call.args[1] for call in verify_chain.call_args_list) == sorted(
        [str(trail.lamp.pk), str(trail.mug.pk)]
    )


def test_the_queries_do_not_grow_with_the_page(
    gql: GraphQL, staff: Any, trail: Trail, django_assert_num_queries: Any
) -> None:
    headers = bearer(staff)
    # The token and the viewer's permissions; the page; the checkpoint and the
    # one before it (its signed link); the chains of the page's objects; the
    # page's versions in full, hashed.
    with django_assert_num_queries(7):
        ok(gql(FEED, headers=headers))
    more_products(4)
    write_checkpoint()

    with django_assert_num_queries(7):
        answer = gql(FEED, headers=headers)

    assert len(ok(answer)["productHistory"]["edges"]) == 17


def test_only_the_columns_a_chain_needs_are_read(
    gql: GraphQL, staff: Any, trail: Trail
) -> None:
    headers = bearer(staff)
    query = "{ verifyHistory(model: PRODUCT) { intact versionsChecked } }"

    with CaptureQueriesContext(connection) as captured:
        answer = gql(query, headers=headers)

    assert ok(answer) == {"verifyHistory": {"intact": True, "versionsChecked": 9}}
    chains = [q["sql"] for q in captured if "historicalproduct" in q["sql"]]
    assert chains
    for sql in chains:
        assert "history_search" not in sql
        assert "history_user_id" not in sql


def test_chain_counts_as_a_page_of_versions_in_the_node_cost(
    gql: GraphQL, staff: Any, settings: Any
) -> None:
    query = "{ productHistory(first: 10) { edges { node { %s } } } }"

    plain = gql(query % "historyId", user=staff, extensions=True)
    hashes = gql(query % "integrity { hash }", user=staff, extensions=True)
    chains = gql(query % "integrity { chain { intact } }", user=staff, extensions=True)

    assert plain["extensions"] == cost(nodes=10, depth=4, settings=settings)
    assert hashes["extensions"] == cost(nodes=20, depth=5, settings=settings)
    page = settings.GRAPHQL_MAX_PAGE_SIZE
    assert chains["extensions"] == cost(
        nodes=20 + 10 * page, depth=6, settings=settings
    )


def test_verify_history_costs_its_page_of_versions(
    gql: GraphQL, staff: Any, settings: Any
) -> None:
    settings.HISTORY_VERIFY_PAGE_VERSIONS = 7000
    query = (
        "{ verifyHistory(model: PRODUCT) "
        "{ intact breaks { kind version { historyId } } } }"
    )

    answer = gql(query, user=staff, extensions=True)

    from schema.verification import MAX_BREAKS

    assert answer["extensions"] == cost(
        nodes=7000 + MAX_BREAKS * 2, depth=4, settings=settings
    )
    settings.GRAPHQL_MAX_NODES = 7000
    refused = gql(query, user=staff, extensions=True)
    assert refused["errors"][0]["extensions"] == {"code": "TOO_MANY_NODES"}


def test_verify_history_runs_off_the_event_loop(
    gql: GraphQL, staff: Any, trail: Trail
) -> None:
    loops: list[bool] = []
    page = verification.verification_page

    def watched(*args: Any, **kwargs: Any) -> Any:
        try:
            asyncio.get_running_loop()
            loops.append(True)
        except RuntimeError:
            loops.append(False)
        return page(*args, **kwargs)

    with mock.patch("schema.verification.verification_page", watched):
        answer = gql("{ verifyHistory(model: PRODUCT) { intact } }", user=staff)

    assert ok(answer) == {"verifyHistory": {"intact": True}}
    assert loops == [False]


def test_verify_history_stops_at_the_request_budget(
    gql: GraphQL, staff: Any, trail: Trail, settings: Any, monkeypatch: Any
) -> None:
    headers = bearer(staff)
    settings.DATABASE_REQUEST_BUDGET_MS = 30
    ticks = iter(range(10**6))
    monkeypatch.setattr(request_budget, "perf_counter", lambda: next(ticks) * 0.02)

    answer = gql("{ verifyHistory(model: PRODUCT) { intact } }", headers=headers)

    assert answer["data"] == {"verifyHistory": None}
    assert answer["errors"][0]["extensions"] == {"code": "TIMEOUT"}
