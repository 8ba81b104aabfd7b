"""B1: the nested read W against a hand-written floor, cold and warm; what a
user would otherwise write (stock strawberry-django with its optimizer, and
simple-history's `prev_record` + `diff_against`) against the same floor."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from django.contrib.auth import get_user_model
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import override_settings
from django.urls import path
from strawberry import relay
from strawberry.django.views import AsyncGraphQLView
from strawberry.utils.str_converters import to_camel_case

import config.urls
from history.tracking import is_m2m, is_numeric, tracked_fields
from products.models import Product
from products.services import product_create, product_update
from tests.bench import stock
from tests.bench.common import (
    Api,
    Row,
    Samples,
    Statements,
    clear_caches,
    median,
    ms,
    progress,
    verdict,
)

PRODUCTS = 50
VERSIONS = 20
EDITORS = 3
READ_WARMUPS = 2
READ_REPEATS = 15
STOCK_WARMUPS = 1
STOCK_REPEATS = 3
DIFF_REPEATS = 3

# The nested read W; its `first:` arguments must match PRODUCTS and VERSIONS.
NESTED_QUERY = (
    "{ products(first: 50) { edges { node { id name history(first: 20) { "
    "totalCount edges { node { historyDate historyUser { username } "
    "changes { field oldValue newValue delta } } } } } } } }"
)
# The same work as W under another document: it warms every code path up
# without putting W's own answer in any cache.
WARMUP_QUERY = NESTED_QUERY.replace("products(first: 50)", "products(first: 49)")
TRIVIAL_QUERY = "{ __typename }"
B1_TARGET_RATIO = 5.0
B1_TARGET_STATEMENTS = 4
B1_WARM_TARGET_RATIO = 1.0

Answer = Callable[[], str]


class BenchUrls:
    """The project's URLs plus the bench's own views; `ROOT_URLCONF` may be
    any object with `urlpatterns`, so they are served without touching
    `config.urls`."""

    urlpatterns: list[Any] = []


def seed() -> tuple[list[int], list[Any]]:
    """50 products with 20 versions each, written through the services by a few
    users in turn, so every version has a `history_user`.

    Returns:
        The products' primary keys and the users who wrote them.
    """
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
    return pks, actors


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


def simple_history_diffs(pks: list[int]) -> tuple[float, int, int]:
    """simple-history's own way to W's diffs: `prev_record` and
    `diff_against` on each of the 1,000 versions (loaded beforehand).

    Returns:
        The median time in nanoseconds, the statements of one pass, and the
        number of versions.
    """
    model: Any = Product.history.model
    versions = [
        version
        for pk in pks
        for version in model.objects.filter(id=pk).order_by(
            "-history_date", "-history_id"
        )[:VERSIONS]
    ]

    def run() -> None:
        for version in versions:
            previous = version.prev_record
            if previous is not None:
                version.diff_against(previous)

    samples = []
    counter = Statements()
    with connection.execute_wrapper(counter):
        for _ in range(DIFF_REPEATS):
            counter.reset()
            start = time.perf_counter_ns()
            run()
            samples.append(time.perf_counter_ns() - start)
    return median(samples), counter.data, len(versions)


def bench_reads(*, token: str, pks: list[int], actor: Any) -> list[Row]:
    """B1 cold and warm, and the stock and simple-history rows."""
    floor = make_floor()

    def floor_view(request: HttpRequest) -> HttpResponse:
        json.loads(request.body)  # read the document, as the GraphQL view does
        return HttpResponse(floor(), content_type="application/json")

    BenchUrls.urlpatterns = [
        *config.urls.urlpatterns,
        path("bench/floor/", floor_view),
        path("bench/stock/", AsyncGraphQLView.as_view(schema=stock.schema)),
    ]
    # (url, document) of each variant, all served by `config.asgi:application`.
    variants = {
        "cold": ("/graphql/", NESTED_QUERY),
        "warm": ("/graphql/", NESTED_QUERY),
        "warmup": ("/graphql/", WARMUP_QUERY),
        "floor": ("/bench/floor/", NESTED_QUERY),
        "trivial": ("/graphql/", TRIVIAL_QUERY),
        "stock": ("/bench/stock/", NESTED_QUERY),
    }
    counter = Statements()
    samples = Samples(counter)
    written = 0

    def write_one() -> None:
        """Make W's cached answer stale: one version of one of its products,
        through the service, and every Django cache emptied."""
        nonlocal written
        written += 1
        product_update(
            pk=pks[written % len(pks)],
            data={"quantity": 100_000 + written},
            actor=actor,
            reason="bench: a write between reads",
        )
        clear_caches()

    async def post(api: Api, name: str) -> str:
        return await api.post(*variants[name])

    async def sample(api: Api, name: str) -> None:
        await samples.take(name, lambda: post(api, name))

    async def measure() -> int:
        async with Api(token) as api:
            for _ in range(READ_WARMUPS):
                for name in ("warmup", "floor", "trivial"):
                    await post(api, name)
            # W's first request ever: no cache can hold its answer.
            counter.reset()
            await post(api, "cold")
            first = counter.reads
            for _ in range(READ_WARMUPS):
                await sync_to_async(write_one)()
                await post(api, "cold")
            # Interleaved, in two orders, so drift on a busy machine hits
            # every variant alike; the warm W follows the cold one with no
            # write in between.
            for repeat in range(READ_REPEATS):
                await sync_to_async(write_one)()
                order = (
                    ("cold", "floor", "trivial", "warm")
                    if repeat % 2 == 0
                    else ("floor", "trivial", "cold", "warm")
                )
                for name in order:
                    await sample(api, name)
            progress("B1 measured; now stock strawberry-django")
            for _ in range(STOCK_WARMUPS):
                await post(api, "stock")
            for repeat in range(STOCK_REPEATS):
                for name in ("stock", "floor") if repeat % 2 else ("floor", "stock"):
                    await sample(api, name)
        return first

    async def answers() -> dict[str, Any]:
        async with Api(token) as api:
            await sync_to_async(write_one)()
            return {
                name: json.loads(await post(api, name))
                for name in ("cold", "floor", "stock")
            }

    # async_to_sync from the main thread runs the views' database work on this
    # thread, on the connection the counter watches.
    with override_settings(ROOT_URLCONF=BenchUrls), connection.execute_wrapper(counter):
        first_reads = async_to_sync(measure)()
        answer = async_to_sync(answers)()

    for name in ("cold", "stock"):
        if "errors" in answer[name]:
            raise RuntimeError(f"GraphQL errors ({name}): {answer[name]['errors']}")
        answer[name].pop("extensions", None)  # the query cost report
    same = answer["cold"] == answer["floor"]
    stock_same = answer["stock"] == answer["floor"]
    versions = sum(
        len(edge["node"]["history"]["edges"])
        for edge in answer["cold"]["data"]["products"]["edges"]
    )
    # The floor of the B1 loop, and the floor of the stock loop.
    times = samples.times
    floor_b1 = median(times["floor"][:READ_REPEATS])
    floor_stock = median(times["floor"][READ_REPEATS:])
    cold = median(times["cold"])
    warm = median(times["warm"])
    stock_w = median(times["stock"])
    trivial = median(times["trivial"])
    cold_sql = int(median(samples.data["cold"]))
    misses = all(count >= first_reads for count in samples.reads["cold"])
    progress("stock measured; now simple-history's diffs")
    diffs, diff_sql, diffed = simple_history_diffs(pks)

    ratio = cold / floor_b1
    warm_ratio = warm / floor_b1
    same_text = "" if same else "; floor answer DIFFERS from W's"
    return [
        Row(
            "B1 cold",
            f"W {ms(cold):.1f} ms, floor {ms(floor_b1):.1f} ms; W {cold_sql} SQL "
            f"(SELECTs: first W ever {first_reads}, every timed W as many: "
            f"{'yes' if misses else 'NO'}); {versions} versions, 50x20{same_text}",
            ratio,
            f"<= {B1_TARGET_RATIO:.1f}x, <= {B1_TARGET_STATEMENTS} SQL",
            verdict(
                ratio <= B1_TARGET_RATIO
                and cold_sql <= B1_TARGET_STATEMENTS
                and misses
                and same
            ),
        ),
        Row(
            "B1 warm",
            f"W repeated {ms(warm):.1f} ms, "
            f"{int(median(samples.data['warm']))} SQL; floor {ms(floor_b1):.1f} ms",
            warm_ratio,
            f"<= {B1_WARM_TARGET_RATIO:.1f}x",
            verdict(warm_ratio <= B1_WARM_TARGET_RATIO),
        ),
        Row(
            "B1 HTTP only",
            f"{{ __typename }} round trip {ms(trivial):.1f} ms "
            f"({int(median(samples.data['trivial']))} SQL)",
            trivial / floor_b1,
        ),
        Row(
            "stock W",
            f"strawberry-django + optimizer, prev_record + diff_against: "
            f"{ms(stock_w):.1f} ms, {int(median(samples.data['stock']))} SQL; floor "
            f"{ms(floor_stock):.1f} ms; same answer: {'yes' if stock_same else 'no'}",
            stock_w / floor_stock,
        ),
        Row(
            "stock diffs",
            f"simple-history prev_record + diff_against of {diffed} versions: "
            f"{ms(diffs):.1f} ms, {diff_sql} SQL (x the B1 floor request)",
            diffs / floor_b1,
        ),
    ]
