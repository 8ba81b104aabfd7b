"""Performance figures of the history API, as ratios measured in one run.

`make bench` (that is, `DJANGO_DEBUG=1 python -m tests.bench`) creates a throwaway
test database (SQLite, or PostgreSQL when DATABASE_URL is set), seeds 50 products
with 20 versions each through `products.services`, written by a few users in turn
so every version has a `history_user`, and prints:

- B1 cold: the nested read W (`products(first: 50)` with `id name` and
  `history(first: 20)` with dates, users and changes) over HTTP through
  `config.asgi:application` (httpx's ASGITransport), against a floor served the
  same way by a plain view: 2 raw SQL statements (the products page with each
  history total; the newest versions with LAG windows for the previous values),
  the same dicts and `json.dumps`; the HTTP round trip of `{ __typename }` on
  its own; W's statement count; and whether the floor's answer equals W's;
- 500 tracked `product_update` calls against 500 plain `.update()`s, each in its
  own transaction;
- what hash chains add to a tracked write: 500 `product_update` calls with
  chains on against the same with `history.versions.extend_chain` replaced by a
  no-op, in alternating rounds, the statements of one update each way, and the
  time of `extend_chain` alone.

Absolute times depend on the machine; compare the ratios. Query logging is off
while timing (`DEBUG=False`, as in the test runner), and no timing collects
garbage first: the collector's cost is part of what a request or a write costs.
Nothing is asserted.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import django

PRODUCTS = 50
VERSIONS = 20
EDITORS = 3
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
    "{ products(first: 50) { edges { node { id name history(first: 20) { "
    "totalCount edges { node { historyDate historyUser { username } "
    "changes { field oldValue newValue delta } } } } } } } }"
)
TRIVIAL_QUERY = "{ __typename }"
B1_TARGET_RATIO = 5.0
B1_TARGET_STATEMENTS = 4

Answer = Callable[[], str]


class BenchUrls:
    """The project's URLs plus the floor view; `ROOT_URLCONF` may be any object
    with `urlpatterns`, so the floor is served without touching `config.urls`."""

    urlpatterns: list[Any] = []


def ms(nanoseconds: float) -> float:
    return nanoseconds / 1e6


def timed(call: Callable[[], object]) -> int:
    """Nanoseconds one call takes, the garbage collector's share included."""
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
    """50 products with 20 versions each, written through the services by a few
    users in turn, so every version has a `history_user`."""
    from django.contrib.auth import get_user_model

    from products.services import product_create, product_update

    actors = [
        get_user_model().objects.create_superuser(
            f"editor{n}", f"editor{n}@example.com", None
        )
        for n in range(EDITORS)
    ]
    pks = [
        product_create(
            data={
                "name": f"Product {n}",
                "description": f"Bench product number {n}.",
                "price": Decimal("10.00") + n,
                "quantity": n,
            },
            actor=actors[n % EDITORS],
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
            product_update(
                pk=pk,
                data=data,
                actor=actors[(n + version) % EDITORS],
                reason=f"bench v{version}",
            )
    return pks


def aware(value: Any) -> datetime:
    """A raw `history_date` as an aware datetime (SQLite hands back text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def make_floor() -> Answer:
    """The hand-written floor: 2 raw SQL statements, the same dicts, `json.dumps`.

    The first reads the products page with each product's history total; the
    second reads the newest versions of those products with their users and,
    through LAG windows, the previous version's values, so each version's changes
    are computed here rather than read from what the write stored.
    """
    from django.db import connection
    from strawberry import relay
    from strawberry.utils.str_converters import to_camel_case

    from history.tracking import is_m2m, is_numeric, tracked_fields
    from products.models import Product

    history_model = Product.history.model
    user_table = history_model._meta.get_field("history_user").related_model._meta
    quote = connection.ops.quote_name
    product_table = quote(Product._meta.db_table)
    history_table = quote(history_model._meta.db_table)
    # (column, API name, numeric, decimal places) of each stored tracked field.
    fields = sorted(
        (
            (
                str(field.column),
                to_camel_case(field.name),
                is_numeric(field),
                getattr(field, "decimal_places", None),
            )
            for field in tracked_fields(Product)
            if not is_m2m(field)
        ),
        key=lambda meta: meta[1],
    )
    window = "OVER (PARTITION BY h.id ORDER BY h.history_date, h.history_id)"
    values = ", ".join(
        f"h.{quote(column)}, LAG(h.{quote(column)}) {window}" for column, *_ in fields
    )
    page_sql = (
        f"SELECT p.id, p.name, (SELECT COUNT(*) FROM {history_table} c "
        f"WHERE c.id = p.id) FROM {product_table} p ORDER BY p.id LIMIT %s"
    )
    versions_sql = (
        f"SELECT * FROM (SELECT h.id, h.history_date, u.username, "
        f"LAG(h.history_id) {window} AS previous, {values}, ROW_NUMBER() OVER "
        f"(PARTITION BY h.id ORDER BY h.history_date DESC, h.history_id DESC) "
        f"AS newest FROM {history_table} h LEFT JOIN "
        f"{quote(user_table.db_table)} u ON u.id = h.history_user_id "
        f"WHERE h.id IN (SELECT id FROM {product_table} ORDER BY id LIMIT %s)) v "
        f"WHERE v.newest <= %s ORDER BY v.id, v.newest"
    )

    def text(value: Any, places: int | None) -> str | None:
        if value is None:
            return None
        if places is not None:
            return f"{Decimal(str(value)):.{places}f}"
        return str(value)

    def changes(row: tuple[Any, ...]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if row[3] is None:  # the first version: nothing to compare against
            return out
        for index, (_, api_name, numeric, places) in enumerate(fields):
            new, old = row[4 + 2 * index], row[5 + 2 * index]
            new_text, old_text = text(new, places), text(old, places)
            if new_text == old_text:
                continue
            delta = None
            if numeric and old is not None and new is not None:
                difference = Decimal(str(new)) - Decimal(str(old))
                delta = (
                    str(difference) if places is None else f"{difference:.{places}f}"
                )
            out.append(
                {
                    "field": api_name,
                    "oldValue": old_text,
                    "newValue": new_text,
                    "delta": delta,
                }
            )
        return out

    def answer() -> str:
        with connection.cursor() as cursor:
            cursor.execute(page_sql, [PRODUCTS])
            page = cursor.fetchall()
            cursor.execute(versions_sql, [PRODUCTS, VERSIONS])
            versions = cursor.fetchall()
        edges: dict[int, list[dict[str, Any]]] = {pk: [] for pk, _, _ in page}
        for row in versions:
            edges[row[0]].append(
                {
                    "node": {
                        "historyDate": aware(row[1]).isoformat(),
                        "historyUser": None if row[2] is None else {"username": row[2]},
                        "changes": changes(row),
                    }
                }
            )
        products = [
            {
                "node": {
                    "id": relay.to_base64("Product", pk),
                    "name": name,
                    "history": {"totalCount": total, "edges": edges[pk]},
                }
            }
            for pk, name, total in page
        ]
        return json.dumps({"data": {"products": {"edges": products}}})

    return answer


def bench_reads(token: str) -> None:
    import httpx
    from asgiref.sync import async_to_sync
    from django.db import connection
    from django.http import HttpRequest, HttpResponse
    from django.test import override_settings
    from django.test.utils import CaptureQueriesContext
    from django.urls import path

    import config.urls
    from config.asgi import application

    floor = make_floor()
    # The client's own log line per request is no part of what a request costs.
    logging.getLogger("httpx").setLevel(logging.WARNING)

    def floor_view(request: HttpRequest) -> HttpResponse:
        json.loads(request.body)  # read the document, as the GraphQL view does
        return HttpResponse(floor(), content_type="application/json")

    BenchUrls.urlpatterns = [
        *config.urls.urlpatterns,
        path("bench/floor/", floor_view),
    ]
    headers = {"Authorization": f"Bearer {token}"}
    # (url, document) of each variant, all served by `config.asgi:application`.
    variants = {
        "graphql": ("/graphql/", NESTED_QUERY),
        "floor": ("/bench/floor/", NESTED_QUERY),
        "trivial": ("/graphql/", TRIVIAL_QUERY),
    }

    async def post(client: httpx.AsyncClient, name: str) -> str:
        url, document = variants[name]
        response = await client.post(
            url, json={"query": document, "variables": {}}, headers=headers
        )
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code} {response.text!r}")
        return response.text

    def client() -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=application)
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    async def measure() -> dict[str, list[int]]:
        samples: dict[str, list[int]] = {name: [] for name in variants}
        async with client() as http:
            for _ in range(READ_WARMUPS):
                for name in variants:
                    await post(http, name)
            # Interleaved, so drift on a busy machine hits every variant alike.
            for _ in range(READ_REPEATS):
                for name in variants:
                    start = time.perf_counter_ns()
                    await post(http, name)
                    samples[name].append(time.perf_counter_ns() - start)
        return samples

    async def once(name: str) -> str:
        async with client() as http:
            return await post(http, name)

    # async_to_sync from the main thread runs the views' database work on this
    # thread, on the connection the captures below watch.
    with override_settings(ROOT_URLCONF=BenchUrls):
        samples = async_to_sync(measure)()
        with CaptureQueriesContext(connection) as graphql_queries:
            graphql_answer = json.loads(async_to_sync(once)("graphql"))
        with CaptureQueriesContext(connection) as floor_queries:
            floor_answer = json.loads(async_to_sync(once)("floor"))

    if "errors" in graphql_answer:
        raise RuntimeError(f"GraphQL errors: {graphql_answer['errors']}")
    graphql_answer.pop("extensions", None)  # the query cost report
    same = graphql_answer == floor_answer
    versions = sum(
        len(edge["node"]["history"]["edges"])
        for edge in graphql_answer["data"]["products"]["edges"]
    )
    median = {name: statistics.median(values) for name, values in samples.items()}
    base = median["floor"]
    statements = data_statements(graphql_queries.captured_queries)

    print()
    print(
        f"Nested read W: {PRODUCTS} products x {VERSIONS} versions "
        f"({versions} versions in the answer, every one with a user), over HTTP "
        f"through config.asgi:application (httpx ASGITransport), median of "
        f"{READ_REPEATS} after {READ_WARMUPS} warm-ups, no gc.collect()"
    )
    print(f"  {'':48} {'ms':>8} {'x floor':>8}")
    rows = [
        ("W: GraphQL POST /graphql/", "graphql"),
        ("floor: 2 raw SQL (LAG) + dicts + json.dumps", "floor"),
        ("HTTP round trip of { __typename }", "trivial"),
    ]
    for label, name in rows:
        value = median[name]
        print(f"  {label:48} {ms(value):8.2f} {value / base:8.2f}")
    ratio = median["graphql"] / base
    print(
        f"  B1 cold: W / floor {ratio:.2f}x (target <= {B1_TARGET_RATIO:.1f}x: "
        f"{'pass' if ratio <= B1_TARGET_RATIO else 'short'}); SQL statements of W "
        f"{statements} (target <= {B1_TARGET_STATEMENTS}: "
        f"{'pass' if statements <= B1_TARGET_STATEMENTS else 'short'})"
    )
    print(
        f"  statements per request (bearer-token lookup included; BEGIN, COMMIT "
        f"and SAVEPOINT left out): W {statements}, floor "
        f"{data_statements(floor_queries.captured_queries)}"
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
