"""A database fault in the middle of a mutation fails it cleanly: a masked
GraphQL error (no 500), nothing written, and the next request succeeds.

The fault strikes while simple-history writes the version, after the product's
row has been updated in the same transaction: the worst moment for a partial
write. PostgreSQL only: it needs a second connection to kill the first, and
server-side statement timeouts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any
from unittest.mock import ANY

import pytest
from django.db import connection
from simple_history.signals import pre_create_historical_record

from products.models import Product
from products.services import product_create, product_update
from tests.conftest import GraphQL
from tests.helpers import gid, second_connection

HistoricalProduct = Product.history.model

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: pg_terminate_backend and statement_timeout",
    ),
]

REQUEST_ID = "fault-1"
UPDATE = """mutation($input: UpdateProductInput!) { updateProduct(input: $input) {
  __typename ... on Product { quantity } } }"""
REVERT = """mutation($input: RevertProductInput!) { revertProduct(input: $input) {
  __typename ... on RevertProductResult { product { price } } } }"""


@pytest.fixture
def lamp(db: None) -> Product:
    """A product with two versions."""
    product = product_create(
        data={"name": "Lamp", "price": Decimal("10.00"), "quantity": 2},
        actor=None,
        reason="new",
    )
    return product_update(
        pk=product.pk, data={"price": Decimal("12.00")}, actor=None, reason="dearer"
    )


def mutation(kind: str, product: Product) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A mutation of `product`, its variables, and its answer when it succeeds."""
    product_id = gid("Product", product.pk)
    if kind == "update":
        return (
            UPDATE,
            {"input": {"id": product_id, "quantity": 7, "reason": "recount"}},
            {"updateProduct": {"__typename": "Product", "quantity": 7}},
        )
    first = HistoricalProduct.objects.filter(id=product.pk).earliest("history_id")
    return (
        REVERT,
        {
            "input": {
                "id": product_id,
                "record": gid("HistoricalProduct", first.history_id),
                "reason": "cheaper again",
            }
        },
        {
            "revertProduct": {
                "__typename": "RevertProductResult",
                "product": {"price": "10.00"},
            }
        },
    )


def stored(product: Product) -> tuple[Any, list[Any]]:
    """The product's row and its versions as committed, read on a new connection."""
    with second_connection() as other:
        row = other.execute(
            f"SELECT name, description, price, quantity FROM {Product._meta.db_table} "
            "WHERE id = %s",
            [product.pk],
        ).fetchone()
        versions = other.execute(
            "SELECT history_id, history_type, price, quantity, history_change_reason, "
            f"history_request_id FROM {HistoricalProduct._meta.db_table} "
            "WHERE id = %s ORDER BY history_id",
            [product.pk],
        ).fetchall()
    return row, versions


def backend_pid() -> int:
    """The server process behind Django's connection in this thread."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid: int = cursor.fetchone()[0]
    return pid


@contextmanager
def while_writing_versions(fault: Callable[[], None]) -> Iterator[list[int]]:
    """Run `fault` as simple-history is about to insert a version; yields the
    pids of the connections it struck, so a test can tell it did."""
    struck: list[int] = []

    def receiver(**kwargs: Any) -> None:
        struck.append(backend_pid())
        fault()

    pre_create_historical_record.connect(receiver, dispatch_uid="fault")
    try:
        yield struck
    finally:
        pre_create_historical_record.disconnect(dispatch_uid="fault")


def terminate_backend() -> None:
    """Kill the connection writing the version, from a second connection,
    waiting until its server process is gone."""
    pid = backend_pid()
    with second_connection() as other:
        other.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])


def sleep_past_statement_timeout() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(5)")


def masked_error(query: str, field: str) -> dict[str, Any]:
    """The production-mode answer to an unexpected error in mutation `field`."""
    return {
        "data": None,
        "errors": [
            {
                "message": (
                    f"Unexpected error; quote request id {REQUEST_ID} when "
                    "reporting it."
                ),
                "locations": [{"line": 1, "column": query.index(field) + 1}],
                "path": [field],
                "extensions": {
                    "code": "INTERNAL_SERVER_ERROR",
                    "requestId": REQUEST_ID,
                },
            }
        ],
    }


@pytest.mark.parametrize("kind", ["update", "revert"])
def test_a_connection_killed_mid_mutation_fails_cleanly_and_writes_nothing(
    gql: GraphQL,
    editor: Any,
    lamp: Product,
    kind: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    query, variables, success = mutation(kind, lamp)
    before = stored(lamp)
    pool = getattr(connection, "pool", None)  # None unless DATABASE_POOL is on
    discarded = pool.get_stats().get("returns_bad", 0) if pool else 0

    with while_writing_versions(terminate_backend) as struck:
        answer = gql(
            query, variables, user=editor, headers={"X-Request-ID": REQUEST_ID}
        )

    assert len(struck) == 1
    assert answer == masked_error(query, f"{kind}Product")
    # Logged for the operators, with the database's own error.
    assert "terminating connection due to administrator command" in caplog.text
    assert stored(lamp) == before
    with second_connection() as other:
        gone = other.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", struck
        ).fetchone()
    assert gone == (0,)

    # Django dropped the broken connection, the pool discarded it, and the next
    # request, with no help from the test, gets a working one and succeeds.
    if pool is not None:
        assert pool.get_stats().get("returns_bad", 0) == discarded + 1
    assert gql(query, variables, user=editor) == {"data": success}
    assert backend_pid() != struck[0]
    assert len(stored(lamp)[1]) == len(before[1]) + 1


@pytest.mark.parametrize("kind", ["update", "revert"])
def test_a_statement_timeout_mid_mutation_fails_cleanly_and_writes_nothing(
    gql: GraphQL,
    editor: Any,
    lamp: Product,
    kind: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    query, variables, success = mutation(kind, lamp)
    before = stored(lamp)
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = '200ms'")
    try:
        with while_writing_versions(sleep_past_statement_timeout) as struck:
            answer = gql(
                query, variables, user=editor, headers={"X-Request-ID": REQUEST_ID}
            )

        assert len(struck) == 1
        # A cancelled statement is expected under load: a coded error, not a bug.
        error = {**masked_error(query, f"{kind}Product")["errors"][0]}
        error["message"] = ANY
        error["extensions"] = {"code": "TIMEOUT"}
        assert answer == {"data": None, "errors": [error]}
        assert "canceling statement due to statement timeout" in caplog.text
        assert stored(lamp) == before

        # The same connection, its timeout still in force, serves the next one.
        assert gql(query, variables, user=editor) == {"data": success}
        assert backend_pid() == struck[0]
        with connection.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            assert cursor.fetchone() == ("200ms",)
        assert len(stored(lamp)[1]) == len(before[1]) + 1
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")
