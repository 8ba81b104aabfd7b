"""Performance figures of the history API, as ratios measured in one run.

`make bench` (that is, `DJANGO_DEBUG=1 python -m tests.bench`) creates a throwaway
test database (SQLite, or PostgreSQL when DATABASE_URL is set), seeds 50 products
with 20 versions each through `products.services`, and prints:

- the nested history read over GraphQL, against a hand-written floor that runs the
  same 2 SQL statements, builds the same dicts and calls `json.dumps`, both served
  by the same test `Client`, middleware stack and bearer token;
- 500 tracked `product_update` calls against 500 plain `.update()`s, each in its
  own transaction;
- what hash chains add to a tracked write: 500 `product_update` calls with
  chains on against the same with `history.versions.extend_chain` replaced by a
  no-op, in alternating rounds, the statements of one update each way, and the
  time of `extend_chain` alone.

Absolute times depend on the machine; compare the ratios. Query logging is off
while timing (`DEBUG=False`, as in the test runner). Nothing is asserted.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import django

PRODUCTS = 50
VERSIONS = 20
READ_WARMUPS = 2
READ_REPEATS = 15
WRITES = 500
WRITE_WARMUPS = 20
WRITE_ROUNDS = 5
CHAIN_WRITES = 500
CHAIN_ROUNDS = 20
CHAIN_SEALS = 2_000
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")

# The nested read; its `first:` arguments must match PRODUCTS and VERSIONS.
NESTED_QUERY = (
    "{ products(first: 50) { edges { node { history(first: 20) { totalCount edges "
    "{ node { historyDate historyUser { username } "
    "changes { field oldValue newValue delta } } } } } } } }"
)

Answer = Callable[[], str]


class BenchUrls:
    """The project's URLs plus the floor view; `ROOT_URLCONF` may be any object
    with `urlpatterns`, so the floor is served without touching `config.urls`."""

    urlpatterns: list[Any] = []


def ms(nanoseconds: float) -> float:
    return nanoseconds / 1e6


def timed(call: Callable[[], object]) -> int:
    """Nanoseconds one call takes."""
    gc.collect()
    start = time.perf_counter_ns()
    call()
    return time.perf_counter_ns() - start


def data_statements(queries: list[dict[str, Any]]) -> int:
    """Statements other than BEGIN/COMMIT/SAVEPOINT and friends."""
    return sum(
        1
        for query in queries
        if not str(query["sql"]).lstrip().upper().startswith(TRANSACTION_CONTROL)
    )


def seed() -> list[int]:
    """50 products with 20 versions each, written through the services."""
    from products.services import product_create, product_update

    pks = [
        product_create(
            data={
                "name": f"Product {n}",
                "description": f"Bench product number {n}.",
                "price": Decimal("10.00") + n,
                "quantity": n,
            },
            actor=None,
            reason="bench seed",
        ).pk
        for n in range(PRODUCTS)
    ]
    # Version-major, so the versions of different products interleave in time.
    for version in range(1, VERSIONS):
        for n, pk in enumerate(pks):
            data: dict[str, Any] = {
                "price": Decimal("10.00") + n + Decimal(version) / 4,
                "quantity": n + version * 3,
            }
            if version % 5 == 0:
                data["description"] = f"Bench product number {n}, revision {version}."
            product_update(pk=pk, data=data, actor=None, reason=f"bench v{version}")
    return pks


def make_floor() -> tuple[Answer, Callable[[], object]]:
    """The hand-written floor: 2 SQL statements, the same dicts, `json.dumps`."""
    from django.db.models import Count, F, Window
    from django.db.models.functions import RowNumber
    from strawberry.utils.str_converters import to_camel_case

    from history.tracking import is_numeric, tracked_fields
    from products.models import Product

    history_model = Product.history.model
    fields = {
        field.name: (
            to_camel_case(field.name),
            is_numeric(field),
            getattr(field, "decimal_places", None),
        )
        for field in tracked_fields(Product)
    }

    def changes(stored: dict[str, list[str | None]]) -> list[dict[str, Any]]:
        out = []
        for name, (old, new) in sorted(stored.items()):
            meta = fields.get(name)
            if meta is None:
                continue
            api_name, numeric, places = meta
            delta = None
            if numeric and old is not None and new is not None:
                difference = Decimal(new) - Decimal(old)
                delta = (
                    str(difference) if places is None else f"{difference:.{places}f}"
                )
            out.append(
                {"field": api_name, "oldValue": old, "newValue": new, "delta": delta}
            )
        return out

    def rows() -> tuple[list[int], list[Any]]:
        pks = list(
            Product.objects.order_by("id").values_list("id", flat=True)[:PRODUCTS]
        )
        versions = (
            history_model.objects.filter(id__in=pks)
            .annotate(
                row=Window(
                    RowNumber(),
                    partition_by=F("id"),
                    order_by=(F("history_date").desc(), F("history_id").desc()),
                ),
                total=Window(Count("history_id"), partition_by=F("id")),
            )
            .filter(row__lte=VERSIONS)
            .order_by("id", "row")
            .values_list(
                "id",
                "total",
                "history_date",
                "history_user__username",
                "history_changes",
            )
        )
        return pks, list(versions)

    def answer() -> str:
        pks, versions = rows()
        edges: dict[int, list[dict[str, Any]]] = {pk: [] for pk in pks}
        totals: dict[int, int] = {}
        for pk, total, date, username, stored in versions:
            totals[pk] = total
            edges[pk].append(
                {
                    "node": {
                        "historyDate": date.isoformat(),
                        "historyUser": None
                        if username is None
                        else {"username": username},
                        "changes": changes(stored),
                    }
                }
            )
        products = [
            {"node": {"history": {"totalCount": totals.get(pk, 0), "edges": edges[pk]}}}
            for pk in pks
        ]
        return json.dumps({"data": {"products": {"edges": products}}})

    return answer, rows


def bench_reads(token: str) -> None:
    from django.db import connection
    from django.http import HttpRequest, HttpResponse
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext
    from django.urls import path

    import config.urls

    floor, floor_rows = make_floor()

    def floor_view(request: HttpRequest) -> HttpResponse:
        json.loads(request.body)  # read the document, as the GraphQL view does
        return HttpResponse(floor(), content_type="application/json")

    BenchUrls.urlpatterns = [
        *config.urls.urlpatterns,
        path("bench/floor/", floor_view),
    ]
    client = Client()
    body = json.dumps({"query": NESTED_QUERY, "variables": {}})
    headers = {"Authorization": f"Bearer {token}"}

    def post(url: str) -> str:
        response = client.post(
            url, body, content_type="application/json", headers=headers
        )
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code} {response.content!r}")
        return response.content.decode()

    def graphql() -> str:
        return post("/graphql/")

    def floor_http() -> str:
        return post("/bench/floor/")

    with override_settings(ROOT_URLCONF=BenchUrls):
        for _ in range(READ_WARMUPS):
            graphql()
            floor_http()
            floor()
        samples: dict[str, list[int]] = {
            "graphql": [],
            "floor_http": [],
            "floor": [],
            "sql": [],
        }
        # Interleaved, so drift on a busy machine hits every variant alike.
        for _ in range(READ_REPEATS):
            samples["graphql"].append(timed(graphql))
            samples["floor_http"].append(timed(floor_http))
            samples["floor"].append(timed(floor))
            samples["sql"].append(timed(floor_rows))
        with CaptureQueriesContext(connection) as graphql_queries:
            graphql_answer = json.loads(graphql())
        with CaptureQueriesContext(connection) as floor_queries:
            floor_answer = json.loads(floor_http())

    if "errors" in graphql_answer:
        raise RuntimeError(f"GraphQL errors: {graphql_answer['errors']}")
    graphql_answer.pop("extensions", None)  # the query cost report
    same = graphql_answer == floor_answer
    versions = sum(
        len(edge["node"]["history"]["edges"])
        for edge in graphql_answer["data"]["products"]["edges"]
    )
    median = {name: statistics.median(values) for name, values in samples.items()}
    base = median["floor_http"]

    print()
    print(
        f"Nested read: {PRODUCTS} products x {VERSIONS} versions "
        f"({versions} versions in the answer), median of {READ_REPEATS} "
        f"after {READ_WARMUPS} warm-ups"
    )
    print(f"  {'':44} {'ms':>8} {'x floor':>8} {'x alone':>8}")
    rows = [
        ("GraphQL POST /graphql/ (test Client)", "graphql"),
        ("floor view, same Client/middleware/token", "floor_http"),
        ("floor alone: 2 SQL + dicts + json.dumps", "floor"),
        ("the 2 SQL statements alone (ORM rows)", "sql"),
    ]
    for label, name in rows:
        value = median[name]
        print(
            f"  {label:44} {ms(value):8.2f} {value / base:8.2f} "
            f"{value / median['floor']:8.2f}"
        )
    print("  x floor: ratio to the floor view; x alone: ratio to the floor alone")
    print(
        f"  SQL statements per request: GraphQL {len(graphql_queries)}, "
        f"floor view {len(floor_queries)} (each with the bearer-token lookup)"
    )
    print(f"  floor answer identical to GraphQL's: {'yes' if same else 'NO'}")


def bench_writes(pks: list[int]) -> None:
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from products.services import product_update

    counter = 0

    def values() -> tuple[int, Decimal, int]:
        nonlocal counter
        counter += 1
        return (
            pks[counter % len(pks)],
            Decimal(counter % 1000) + Decimal("0.5"),
            counter,
        )

    def tracked() -> None:
        pk, price, quantity = values()
        product_update(
            pk=pk,
            data={"price": price, "quantity": quantity},
            actor=None,
            reason="bench write",
        )

    # The untracked twin: a copy of the product table with no history and no
    # guards (the database refuses an untracked write to the real one).
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_untracked_product (id integer PRIMARY KEY, "
            "price numeric(12, 2) NOT NULL, quantity integer NOT NULL, "
            "updated_at timestamp NOT NULL)"
        )
        cursor.execute(
            "INSERT INTO bench_untracked_product "
            "SELECT id, price, quantity, updated_at FROM products_product"
        )

    def plain() -> None:
        pk, price, quantity = values()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE bench_untracked_product SET price = %s, quantity = %s, "
                "updated_at = %s WHERE id = %s",
                [price, quantity, timezone.now(), pk],
            )

    def batch(write: Callable[[], None], count: int) -> Callable[[], None]:
        def run() -> None:
            for _ in range(count):
                write()

        return run

    batch(tracked, WRITE_WARMUPS)()
    batch(plain, WRITE_WARMUPS)()
    per_round = WRITES // WRITE_ROUNDS
    totals = {"tracked": 0, "plain": 0}
    # Alternating rounds, so drift on a busy machine hits both alike.
    for _ in range(WRITE_ROUNDS):
        totals["tracked"] += timed(batch(tracked, per_round))
        totals["plain"] += timed(batch(plain, per_round))
    with CaptureQueriesContext(connection) as tracked_queries:
        tracked()
    with CaptureQueriesContext(connection) as plain_queries:
        plain()

    count = per_round * WRITE_ROUNDS
    base = totals["plain"]
    print()
    print(
        f"Writes: {count} updates of price and quantity, one transaction each, "
        f"in {WRITE_ROUNDS} alternating rounds after {WRITE_WARMUPS} warm-ups"
    )
    print(f"  {'':44} {'ms':>8} {'us/op':>8} {'x plain':>8} {'SQL/op':>7} {'data':>5}")
    for label, name, queries in (
        ("product_update (tracked, service)", "tracked", tracked_queries),
        ("UPDATE of an untracked copy, atomic", "plain", plain_queries),
    ):
        total = totals[name]
        print(
            f"  {label:44} {ms(total):8.1f} {total / count / 1e3:8.1f} "
            f"{total / base:8.2f} {len(queries):7} "
            f"{data_statements(queries.captured_queries):5}"
        )
    print(
        "  SQL/op counts every statement, BEGIN/COMMIT/SAVEPOINT included; data "
        "leaves those out"
    )


def bench_chains(pks: list[int]) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    import history.versions
    from history.chains import extend_chain
    from history.selectors import history_versions
    from products.models import Product
    from products.services import product_update

    counter = 0

    def update() -> None:
        nonlocal counter
        counter += 1
        product_update(
            pk=pks[counter % len(pks)],
            data={"quantity": 10_000 + counter},
            actor=None,
            reason="bench chain",
        )

    def no_chain(model: Any, version: Any, previous: Any) -> None:
        """`extend_chain` that seals nothing: the versions keep empty hashes."""

    def chains(on: bool) -> None:
        history.versions.extend_chain = extend_chain if on else no_chain

    def batch(on: bool, count: int) -> Callable[[], None]:
        def run() -> None:
            chains(on)
            try:
                for _ in range(count):
                    update()
            finally:
                chains(True)

        return run

    batch(True, WRITE_WARMUPS)()
    batch(False, WRITE_WARMUPS)()
    per_round = CHAIN_WRITES // CHAIN_ROUNDS
    totals = {True: 0, False: 0}
    # Alternating rounds, each way first in turn, so drift on a busy machine
    # and whatever one round leaves to the next hit both alike.
    for round_ in range(CHAIN_ROUNDS):
        for on in (True, False) if round_ % 2 else (False, True):
            totals[on] += timed(batch(on, per_round))
    queries: dict[bool, CaptureQueriesContext] = {}
    for on in (True, False):
        with CaptureQueriesContext(connection) as captured:
            batch(on, 1)()
        queries[on] = captured

    # The sealing alone: hash a stored version again and again.
    version = history_versions(model=Product, pk=pks[0]).first()
    previous = history_versions(model=Product, pk=pks[0])[1]
    start = time.perf_counter_ns()
    for _ in range(CHAIN_SEALS):
        extend_chain(Product, version, previous)
    sealing = (time.perf_counter_ns() - start) / CHAIN_SEALS

    count = per_round * CHAIN_ROUNDS
    base = totals[False]
    print()
    print(
        f"Hash chains: {count} product_update calls each way, one transaction "
        f"each, in {CHAIN_ROUNDS} alternating rounds after {WRITE_WARMUPS} warm-ups"
    )
    print(f"  {'':44} {'ms':>8} {'us/op':>8} {'x off':>8} {'SQL/op':>7} {'data':>5}")
    for label, on in (
        ("chains on (extend_chain)", True),
        ("chains off (extend_chain a no-op)", False),
    ):
        total = totals[on]
        print(
            f"  {label:44} {ms(total):8.1f} {total / count / 1e3:8.1f} "
            f"{total / base:8.2f} {len(queries[on]):7} "
            f"{data_statements(queries[on].captured_queries):5}"
        )
    print(
        f"  extend_chain alone: {sealing / 1e3:.1f} us per version "
        f"({sealing / (totals[True] / count):.1%} of a tracked update)"
    )


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    from accounts.tokens import api_token_create

    started = time.perf_counter()
    setup_test_environment(debug=False)
    if connection.vendor != "sqlite":
        # A name of our own: a test run elsewhere may be using test_<name>.
        test_settings = connection.settings_dict.setdefault("TEST", {})
        test_settings["NAME"] = f"test_bench_{os.getpid()}"
    old_name = connection.settings_dict["NAME"]
    test_name = connection.creation.create_test_db(
        verbosity=0, autoclobber=True, serialize=False, keepdb=False
    )
    try:
        print(
            f"Database: {connection.vendor} {test_name} (django {django.get_version()})"
        )
        seed_started = time.perf_counter()
        pks = seed()
        user = get_user_model().objects.create_superuser(
            "bench", "bench@example.com", None
        )
        raw, _ = api_token_create(user=user, name="bench")
        print(
            f"Seeded {PRODUCTS} products x {VERSIONS} versions through the services "
            f"in {time.perf_counter() - seed_started:.1f} s"
        )
        bench_reads(raw)
        bench_writes(pks)
        bench_chains(pks)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
    print()
    print(f"Total run time {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
