"""Plain helpers shared by the tests: global ids, permission lists, answer
matchers, the GraphQL-over-HTTP request (the `gql` fixture is built on it),
snapshots of the product tables, concurrent calls, `manage.py` in a fresh
process, a second PostgreSQL connection and writes past the guards."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.test import Client
from strawberry.relay import from_base64, to_base64
from strawberry_django.test.client import TestClient

from products.models import Product

EDITOR_PERMISSIONS = [
    "add_product",
    "change_product",
    "delete_product",
    "view_historicalproduct",
]
CATEGORY_PERMISSIONS = [
    "add_category",
    "change_category",
    "delete_category",
    "view_historicalcategory",
]
# Write products and categories and read the history of both.
CATALOG_PERMISSIONS = [*EDITOR_PERMISSIONS, *CATEGORY_PERMISSIONS]


def gid(type_name: str, pk: Any) -> str:
    """The Relay global id of the object of type `type_name` with `pk`."""
    return to_base64(type_name, pk)


def node_pk(global_id: str) -> int:
    """The primary key inside a Relay global id."""
    return int(from_base64(global_id)[1])


def post(
    query: str,
    variables: Any = None,
    *,
    headers: dict[str, str] | None = None,
    client: Client | None = None,
) -> Any:
    """POST a GraphQL document over HTTP (strawberry-django's `TestClient`) and
    return the raw response, whatever its status.

    `variables` is sent as given (an empty object when None), so tests may send
    variables of the wrong shape. An exception escaping the view fails the test
    with its traceback unless `client` was built not to raise.
    """
    body = {"query": query, "variables": {} if variables is None else variables}
    return TestClient("/graphql/", client=client or Client()).request(
        body, headers=dict(headers or {})
    )


def post_body(
    body: bytes | str,
    *,
    content_type: str | None = "application/json",
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Any:
    """POST `body` as it is to the endpoint and return the raw response.

    A server error is an answer (a 500) here, not an exception in the test. An
    empty body keeps its Content-Type too; None sends no Content-Type. `extra`
    sets WSGI environ keys (`CONTENT_LENGTH`, `HTTP_HOST`, ...).
    """
    if content_type is not None:
        extra["CONTENT_TYPE"] = content_type
    return Client(raise_request_exception=False).generic(
        "POST", "/graphql/", body, headers=headers, **extra
    )


def without_cost(response: Any) -> dict[str, Any]:
    """The JSON answer without its `extensions` (the query cost)."""
    answer: dict[str, Any] = response.json()
    answer.pop("extensions", None)
    return answer


def ok(answer: dict[str, Any]) -> dict[str, Any]:
    """The data of an answer without errors."""
    assert "errors" not in answer, answer["errors"]
    data: dict[str, Any] = answer["data"]
    return data


class NonBlank:
    """Equal to any non-blank string: messages are for people, codes for clients."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and bool(other.strip())

    def __repr__(self) -> str:
        return "<non-blank message>"


class Mentions:
    """Equal to a string that contains every one of `parts`."""

    def __init__(self, *parts: str) -> None:
        self.parts = parts

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and all(part in other for part in self.parts)

    def __repr__(self) -> str:
        return f"<text mentioning {self.parts!r}>"


def refused(
    mutation: str,
    code: str,
    *,
    field: str | None = None,
    kind: str = "VALIDATION",
    message: object = None,
) -> dict[str, Any]:
    """The whole answer of a mutation refused with one message (any non-blank
    message unless `message` is given)."""
    entry = {
        "kind": kind,
        "message": NonBlank() if message is None else message,
        "field": field,
        "code": code,
    }
    return {"data": {mutation: {"__typename": "OperationInfo", "messages": [entry]}}}


def product_state() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every product row and every historical row, all columns."""
    return (
        [dict(row) for row in Product.objects.order_by("pk").values()],
        list(Product.history.model.objects.order_by("history_id").values()),
    )


def run_together(*calls: Callable[[], Any]) -> list[Any]:
    """Run calls in threads started at once; each returns its value or error."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[index] = call()
        except Exception as error:
            results[index] = error
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def slow_version_writes(**kwargs: Any) -> None:
    """A `pre_create_historical_record` receiver that delays each version write."""
    time.sleep(0.2)  # widen the window in which a racing writer could interleave


def manage_py(
    *args: str,
    env: dict[str, str],
    unset: Collection[str] = (),
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run `manage.py` with `args` in a fresh process, on the project's
    settings in debug mode, with `env` over this process's environment less
    the variables named in `unset`."""
    inherited = {k: v for k, v in os.environ.items() if k not in unset}
    return subprocess.run(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), *args],
        env={
            **inherited,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_DEBUG": "1",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=check,
    )


def command_help(name: str) -> str:
    """What `manage.py NAME --help` prints, run as a user runs it: in a process
    of its own, so Django picks the command the way `manage.py` does."""
    result = manage_py(name, "--help", env={})
    assert result.returncode == 0, result.stderr
    return " ".join(result.stdout.split())  # argparse wraps lines


def second_connection() -> psycopg.Connection[Any]:
    """A connection to the PostgreSQL test database of its own, outside Django
    (autocommit): it sees only what Django's connection has committed."""
    db = connection.settings_dict
    params = {
        "dbname": db["NAME"],
        "user": db["USER"],
        "password": db["PASSWORD"],
        "host": db["HOST"],
        "port": db["PORT"],
    }
    return psycopg.connect(autocommit=True, **{k: v for k, v in params.items() if v})


@contextmanager
def bypass_guards(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Write past the PostgreSQL guards (`history.guards`) what no service can:
    backdated versions, tampered rows. For test setup only.

    The block runs in a transaction (a savepoint inside the test's) with
    `session_replication_role = replica`, under which no trigger fires, not
    even at commit (foreign-key checks neither): it takes a superuser, as the
    tests connect. The role is back to `origin` after the block. On SQLite,
    which has no guards, just a transaction.
    """
    with transaction.atomic(using=using):
        database = connections[using]
        if database.vendor != "postgresql":
            yield
            return
        with database.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
        yield
        with database.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = origin")


def old_versions(product: Product, count: int, start: datetime.datetime) -> None:
    """`count` UPDATED versions of `product` a second apart from `start`,
    written straight into its historical table (no chain): data for plans."""
    history_model = Product.history.model
    history_model.objects.bulk_create(
        history_model(
            id=product.pk,
            name=product.name,
            description="",
            price=Decimal("1.00"),
            quantity=n,
            created_at=product.created_at,
            history_date=start + datetime.timedelta(seconds=n),
            history_type="~",
            history_relation_id=product.pk,
        )
        for n in range(count)
    )
