"""B2: one tracked update against `save()` of an untracked twin; B3: a tracked
import of 10,000 products against `bulk_create` of 10,000 twins."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any, cast

from django.db import connection, models, transaction
from django.test.utils import CaptureQueriesContext

from products.models import Product
from products.services import product_import_rows, product_update
from tests.bench.common import (
    Row,
    Statements,
    data_statements,
    median,
    ms,
    progress,
    timed,
    verdict,
)

WRITES = 500
WRITE_WARMUPS = 20
WRITE_ROUNDS = 10
B2_TARGET_RATIO = 2.0
IMPORT_ROWS = 10_000
# Alternating import rounds go on until this many seconds have passed (at
# least one pair, at most IMPORT_MAX_ROUNDS).
IMPORT_BUDGET_SECONDS = 60.0
IMPORT_MAX_ROUNDS = 3
B3_TARGET_RATIO = 2.0


def untracked_twin() -> type[models.Model]:
    """A model with the product's own fields and no history, no guards and no
    service: what the catalog would be without tracking. Its table (and its
    tags' through table) are created here, in the bench's database."""
    attrs: dict[str, Any] = {
        "__module__": __name__,
        "Meta": type(
            "Meta", (), {"app_label": "bench", "db_table": "bench_untracked_product"}
        ),
    }
    for field in [*Product._meta.local_fields, *Product._meta.local_many_to_many]:
        if field.primary_key:
            continue
        _, _, args, kwargs = field.deconstruct()
        if field.is_relation:
            kwargs["related_name"] = "+"  # Product's reverse accessors stay its own
        attrs[field.name] = type(field)(*args, **kwargs)
    twin = cast(type[models.Model], type("UntrackedProduct", (models.Model,), attrs))
    with connection.schema_editor() as editor:
        editor.create_model(twin)
    return twin


def bench_update(*, twin: type[models.Model], pks: list[int], actor: Any) -> Row:
    """B2: `product_update` (lock, diff, chain, context, transaction) against
    `save()` of a loaded twin inside `transaction.atomic()`."""
    fields = [
        field.attname for field in twin._meta.concrete_fields if not field.primary_key
    ]
    products = list(Product.objects.filter(pk__in=pks).order_by("pk"))
    # New primary keys of the twins' own, so B3's bulk_create can follow them.
    created = twin.objects.bulk_create(  # type: ignore[attr-defined]
        [
            twin(**{name: getattr(product, name) for name in fields})
            for product in products
        ]
    )
    twins = {product.pk: obj for product, obj in zip(products, created, strict=True)}
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
            actor=actor,
            reason="bench write",
        )

    def plain() -> None:
        pk, price, quantity = values()
        obj: Any = twins[pk]
        obj.price = price
        obj.quantity = quantity
        with transaction.atomic():
            obj.save()

    def batch(write: Any, count: int) -> Any:
        def run() -> None:
            for _ in range(count):
                write()

        return run

    batch(tracked, WRITE_WARMUPS)()
    batch(plain, WRITE_WARMUPS)()
    per_round = WRITES // WRITE_ROUNDS
    samples: dict[str, list[int]] = {"tracked": [], "plain": []}
    # Alternating rounds, each way first in turn, so drift on a busy machine
    # hits both alike.
    for round_ in range(WRITE_ROUNDS):
        for name, write in (
            (("tracked", tracked), ("plain", plain))
            if round_ % 2 == 0
            else (("plain", plain), ("tracked", tracked))
        ):
            samples[name].append(timed(batch(write, per_round)) // per_round)
    captured = {}
    for name, write in (("tracked", tracked), ("plain", plain)):
        with CaptureQueriesContext(connection) as queries:
            write()
        captured[name] = queries.captured_queries
    tracked_op, plain_op = median(samples["tracked"]), median(samples["plain"])
    ratio = tracked_op / plain_op
    return Row(
        "B2",
        f"product_update {tracked_op / 1e3:.0f} us, {len(captured['tracked'])} SQL "
        f"({data_statements(captured['tracked'])} data); twin save() "
        f"{plain_op / 1e3:.0f} us, {len(captured['plain'])} SQL "
        f"({data_statements(captured['plain'])} data); median of {WRITE_ROUNDS} "
        f"rounds of {per_round}",
        ratio,
        f"<= {B2_TARGET_RATIO:.1f}x",
        verdict(ratio <= B2_TARGET_RATIO),
    )


def bench_import(*, twin: type[models.Model]) -> Row:
    """B3: `product_import_rows` (the `import_products` command's service: each
    product with its CREATED version, returned as written, as `bulk_create`
    returns its objects) against `bulk_create` of twins, both in one
    transaction, 10,000 rows each, in alternating rounds."""
    counter = Statements()
    rounds = 0

    def rows() -> list[dict[str, Any]]:
        return [
            {
                "name": f"Imported {rounds}-{n}",
                "description": f"Imported product number {n}.",
                "price": Decimal(n % 5000) + Decimal("0.99"),
                "quantity": n % 100,
            }
            for n in range(IMPORT_ROWS)
        ]

    def tracked() -> None:
        product_import_rows(rows=rows(), actor=None, reason="bench import")

    def plain() -> None:
        with transaction.atomic():
            twin.objects.bulk_create([twin(**row) for row in rows()])  # type: ignore[attr-defined]

    samples: dict[str, list[int]] = {"tracked": [], "plain": []}
    statements: dict[str, list[int]] = {"tracked": [], "plain": []}
    started = time.perf_counter()
    with connection.execute_wrapper(counter):
        while rounds < IMPORT_MAX_ROUNDS and (
            rounds == 0 or time.perf_counter() - started < IMPORT_BUDGET_SECONDS
        ):
            rounds += 1
            for name, write in (
                (("plain", plain), ("tracked", tracked))
                if rounds % 2
                else (("tracked", tracked), ("plain", plain))
            ):
                counter.reset()
                samples[name].append(timed(write))
                statements[name].append(counter.data)
            progress(
                f"B3 round {rounds}: import {ms(samples['tracked'][-1]) / 1e3:.1f} s, "
                f"bulk_create {ms(samples['plain'][-1]) / 1e3:.2f} s"
            )
    tracked_s, plain_s = (
        median(samples["tracked"]) / 1e9,
        median(samples["plain"]) / 1e9,
    )
    ratio = tracked_s / plain_s
    return Row(
        "B3",
        f"product_import_rows of {IMPORT_ROWS:,} {tracked_s:.2f} s, "
        f"{statements['tracked'][-1]:,} SQL; bulk_create of twins {plain_s:.2f} s, "
        f"{statements['plain'][-1]:,} SQL; median of {rounds}",
        ratio,
        f"<= {B3_TARGET_RATIO:.1f}x",
        verdict(ratio <= B3_TARGET_RATIO),
    )
