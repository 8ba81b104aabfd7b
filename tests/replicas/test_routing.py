"""History reads on the read replica: which alias served each read, over real
GraphQL requests. The alias `replica` (tests/settings.py) is a second connection
to the test database, as a replica would be a second server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext

from history.models import Changeset, Checkpoint
from products.models import Category, Product
from products.services import product_create
from replicas.routers import REPLICA, ReplicaRouter, read_scope_begin, read_scope_end
from tests.conftest import GraphQL
from tests.factories import UserFactory
from tests.helpers import gid

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", REPLICA])

HISTORY = """{ auditLog(first: 10) { edges { node { __typename historyType
    historyUser { username } } } } }"""
UPDATE = """
mutation ($input: UpdateProductInput!) {
  updateProduct(input: $input) {
    __typename
    ... on Product { name history(first: 5) { edges { node { historyType name } } } }
  }
}
"""


@pytest.fixture(autouse=True)
def replica_routing(settings: Any) -> Iterator[None]:
    """The router on, and this test's writes out of every other test's scope."""
    settings.DATABASE_ROUTERS = ["replicas.routers.ReplicaRouter"]
    token = read_scope_begin()
    yield
    read_scope_end(token)


class Served:
    """The statements each alias ran, as captured."""

    def __init__(self) -> None:
        self.captures = {
            alias: CaptureQueriesContext(connections[alias])
            for alias in ("default", REPLICA)
        }

    def __enter__(self) -> Served:
        self._stack = ExitStack()
        for capture in self.captures.values():
            self._stack.enter_context(capture)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def on(self, alias: str, table: str) -> int:
        """How many statements of `alias` read `table`."""
        return sum(
            f'FROM "{table}"' in query["sql"] and query["sql"].startswith("SELECT")
            for query in self.captures[alias].captured_queries
        )


def _product(editor: Any, name: str = "Lamp") -> Product:
    return product_create(
        data={"name": name, "price": "10.00", "quantity": 1}, actor=editor
    )


@pytest.mark.parametrize("cache", [False, True], ids=["uncached", "cache-on"])
def test_a_history_read_is_served_by_the_replica(
    gql: GraphQL, editor: Any, settings: Any, cache: bool
) -> None:
    settings.GRAPHQL_RESPONSE_CACHE = cache
    _product(editor)
    auditor = UserFactory(
        username="auditor",
        permissions=["view_historicalproduct", "view_historicalcategory"],
    )
    with Served() as served:
        answer = gql(HISTORY, user=auditor)
    assert answer == {
        "data": {
            "auditLog": {
                "edges": [
                    {
                        "node": {
                            "__typename": "HistoricalProduct",
                            "historyType": "CREATED",
                            "historyUser": {"username": "editor"},
                        }
                    }
                ]
            }
        }
    }
    # The page's keys (one statement over both models), then its versions;
    # with the cache, the data stamp on the primary and on the replica too.
    assert served.on(REPLICA, "products_historicalcategory") == 1 + cache
    assert served.on(REPLICA, "products_historicalproduct") == 2 + cache
    assert served.on("default", "products_historicalproduct") == cache
    # Who the viewer is and what they may do: the primary.
    assert served.on(REPLICA, "accounts_apitoken") == 0
    assert served.on("default", "accounts_apitoken") >= 1


def test_a_request_that_wrote_reads_the_primary(gql: GraphQL, editor: Any) -> None:
    product = _product(editor)
    with Served() as served:
        answer = gql(
            UPDATE,
            {"input": {"id": gid("Product", product.pk), "name": "Desk lamp"}},
            user=editor,
        )
    assert answer == {
        "data": {
            "updateProduct": {
                "__typename": "Product",
                "name": "Desk lamp",
                "history": {
                    "edges": [
                        {"node": {"historyType": "UPDATED", "name": "Desk lamp"}},
                        {"node": {"historyType": "CREATED", "name": "Lamp"}},
                    ]
                },
            }
        }
    }
    assert served.on("default", "products_historicalproduct") >= 1
    assert served.on(REPLICA, "products_historicalproduct") == 0
    assert served.captures[REPLICA].captured_queries == []

    # The next request starts afresh: it has written nothing.
    with Served() as served:
        gql(HISTORY, user=editor)
    assert served.on(REPLICA, "products_historicalproduct") == 1
    assert served.on("default", "products_historicalproduct") == 0


def test_reads_in_a_transaction_stay_on_the_primary(editor: Any) -> None:
    _product(editor)
    token = read_scope_begin()  # nothing written in it yet
    try:
        with Served() as served:
            with transaction.atomic():
                assert Product.history.count() == 1
            assert Product.history.count() == 1
    finally:
        read_scope_end(token)
    assert served.on("default", "products_historicalproduct") == 1
    assert served.on(REPLICA, "products_historicalproduct") == 1


def test_a_write_outside_a_request_keeps_later_reads_on_the_primary(
    editor: Any,
) -> None:
    token = read_scope_begin()
    try:
        with Served() as served:
            assert Product.history.count() == 0
            _product(editor)
            assert Product.history.count() == 1
    finally:
        read_scope_end(token)
    assert served.on(REPLICA, "products_historicalproduct") == 1
    assert served.on("default", "products_historicalproduct") >= 1
    replica_counts = [
        query["sql"]
        for query in served.captures[REPLICA].captured_queries
        if "COUNT" in query["sql"]
    ]
    assert len(replica_counts) == 1


def test_only_versions_changesets_and_checkpoints_read_the_replica() -> None:
    router = ReplicaRouter()
    assert router.db_for_read(Product.history.model) == REPLICA
    assert router.db_for_read(Changeset) == REPLICA
    # With the versions it signed: a lagging replica is not a truncated chain.
    assert router.db_for_read(Checkpoint) == REPLICA
    assert router.db_for_read(Product) is None
    assert router.db_for_read(Category) is None
    assert router.db_for_read(get_user_model()) is None


def test_every_write_goes_to_the_primary() -> None:
    router = ReplicaRouter()
    assert router.db_for_write(Changeset) == "default"
    assert router.db_for_write(Product) == "default"


def test_nothing_migrates_the_replica() -> None:
    router = ReplicaRouter()
    assert router.allow_migrate(REPLICA, "products") is False
    assert router.allow_migrate("default", "products") is None
