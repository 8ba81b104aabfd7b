"""Property-based tests over HTTP: generated inputs that mix valid and invalid
values; on success exactly the expected versions were written, holding the
values the API answered, and on failure nothing was."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from products import services
from products.models import Product
from tests.helpers import gid, node_pk
from tests.schema.bad_input import (
    CENT,
    HISTORY_TABLES,
    PRODUCT,
    TABLES,
    Catalog,
    HistoricalCategory,
    HistoricalProduct,
    HistoricalProductTags,
    ProductTags,
    Snapshot,
    Verdict,
    assert_unchanged,
    explained,
    send,
    shown,
    snapshot,
    verdict,
    versions_of,
)
from tests.schema.bad_input_mutations import OPERATIONS, Operation, b64

# --- Property-based tests ----------------------------------------------------


def mostly(
    valid: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """Valid values about three times in four, odd ones otherwise (`one_of`
    would draw each half the time); shrinks towards the valid ones."""
    return st.integers(min_value=0, max_value=3).flatmap(
        lambda n: odd if n == 3 else valid
    )


PRINTABLE = st.characters(exclude_categories=("Cs", "Cc"))
ODD_CHARACTERS = st.one_of(
    st.characters(),
    st.characters(categories=["Cs"]),
    st.sampled_from(["\x00", "\x01", "\u202e", "\u200f", "\u0301", "\ufeff", "\n"]),
)
ODD_TEXTS = st.one_of(
    st.text(ODD_CHARACTERS, max_size=12),
    st.sampled_from(["", "   ", "a\x00b", "\ud800", "x" * 201, "x" * 5000]),
)
NAMES = mostly(st.text(PRINTABLE, min_size=1, max_size=40), ODD_TEXTS)
DESCRIPTIONS = mostly(st.text(PRINTABLE, max_size=60), ODD_TEXTS)
REASONS = mostly(st.one_of(st.none(), st.text(PRINTABLE, max_size=30)), ODD_TEXTS)
VALID_MONEY = st.decimals(
    min_value=0, max_value=Decimal("9999999999.99"), places=2
).map(str)
ODD_DECIMALS = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(
        [
            *("NaN", "-NaN", "sNaN", "Infinity", "-Infinity", "1e999999", "-1e999999"),
            *("-1", "-0.01", "1.234", "12345678901234", "abc", "", "1_0", " 5 "),
        ]
    ),
    st.integers().map(str),
    st.floats(allow_nan=False, allow_infinity=False),
)
MONEY = mostly(VALID_MONEY, ODD_DECIMALS)
QUANTITIES = mostly(
    st.integers(min_value=0, max_value=2**31 - 1),
    st.one_of(
        st.integers(min_value=-(2**40), max_value=2**40),
        st.sampled_from([-1, 2**31, -(2**31) - 1, 2**63]),
    ),
)
TAGS = mostly(
    st.lists(
        st.one_of(
            st.sampled_from(["brass", "steel", "oak"]),
            st.text(PRINTABLE, min_size=1, max_size=20),
        ),
        max_size=4,
    ),
    st.lists(st.one_of(ODD_TEXTS, st.sampled_from(["t" * 51, " oak "])), max_size=4),
)
CATEGORIES = mostly(
    st.sampled_from(["category", None]), st.sampled_from(["", "abc", b64("Category:0")])
)
PROPERTY_SETTINGS = settings(
    max_examples=75,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass
class Outcomes:
    """How the generated examples ended; a property must see both kinds."""

    succeeded: int = 0
    failed: int = 0
    codes: set[str] = field(default_factory=set)

    def count(self, result: Verdict) -> None:
        if result.succeeded:
            self.succeeded += 1
        else:
            self.failed += 1
            self.codes.update(result.codes)

    def assert_both(self) -> None:
        assert self.succeeded, f"no example succeeded; codes: {sorted(self.codes)}"
        assert self.failed, "no example failed"


def run_example(
    catalog: Catalog,
    op: Operation,
    input: dict[str, Any],
    check: Callable[[Snapshot, Any, Any], None],
    caplog: pytest.LogCaptureFixture,
) -> Verdict:
    """Send one generated input in a savepoint that is rolled back afterwards,
    so every example starts from the seeded catalog. A failure must leave every
    row as it was; a success must pass `check(before, payload, body)`."""
    caplog.clear()
    with transaction.atomic():
        before = snapshot()
        status, body = send(
            op.document, {"input": input}, headers=catalog.headers("admin")
        )
        with explained(caplog):
            result = verdict(status, body, op.field)
            if result.succeeded:
                check(before, result.payload, body)
            else:
                assert_unchanged(before, f"a refused {op.field}({shown(input)})")
        transaction.set_rollback(True)
    return result


def rows_by_pk(snap: Snapshot, model: Any) -> dict[Any, dict[str, Any]]:
    key = model._meta.pk.attname
    return {row[key]: row for row in snap[model._meta.label]}


def new_rows(before: Snapshot, after: Snapshot, model: Any) -> list[dict[str, Any]]:
    old = rows_by_pk(before, model)
    return [row for pk, row in rows_by_pk(after, model).items() if pk not in old]


def assert_only(
    before: Snapshot, after: Snapshot, *, products: set[int], body: Any
) -> None:
    """No row changed or vanished but those of `products` (their rows, and
    their tag links); new rows are for the caller to check."""
    for model in TABLES:
        old = rows_by_pk(before, model)
        now = rows_by_pk(after, model)
        for pk, row in old.items():
            if model is ProductTags and row["product_id"] in products:
                continue
            assert pk in now, f"{model.__name__} #{pk} vanished: {shown(body)}"
            if model is Product and pk in products:
                continue
            assert now[pk] == row, f"{model.__name__} #{pk} changed: {shown(body)}"


def money(value: Any) -> str:
    return f"{Decimal(value):.2f}"


def category_id(pk: int | None) -> dict[str, str] | None:
    return None if pk is None else {"id": gid("Category", pk)}


def stored_product(pk: int) -> dict[str, Any]:
    """A product as stored, in the API's terms."""
    product = Product.objects.get(pk=pk)
    return {
        "name": product.name,
        "description": product.description,
        "price": money(product.price),
        "quantity": product.quantity,
        "category": category_id(product.category_id),
        "tags": by_name(product.tags.values_list("name", flat=True)),
    }


def version_values(version: Any) -> dict[str, Any]:
    """A version's values (with the tags it recorded), in the API's terms."""
    tags = HistoricalProductTags.objects.filter(history=version).values_list(
        "tag__name", flat=True
    )
    return {
        "name": version.name,
        "description": version.description,
        "price": money(version.price),
        "quantity": version.quantity,
        "category": category_id(version.category_id),
        "tags": by_name(tags),
    }


def by_name(names: Any) -> list[dict[str, str]]:
    """Tags in the API's terms, in code-point order (which the database's
    collation need not follow)."""
    return [{"name": name} for name in sorted(names)]


def answered(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The product fields of an answer, but its id; tags in code-point order."""
    fields = {k: payload[k] for k in PRODUCT.split() if k in payload and k != "id"}
    if "tags" in fields:
        fields["tags"] = by_name(tag["name"] for tag in fields["tags"])
    return fields


def assert_one_version_holding_the_answer(
    catalog: Catalog, before: Snapshot, pk: int, payload: Any, body: Any
) -> Any:
    """Exactly one new version of product `pk`, by the admin, with exactly the
    tag rows it records; it, the stored product and the answer hold the same
    values. Returns the version."""
    after = snapshot()
    added = [r for r in new_rows(before, after, HistoricalProduct) if r["id"] == pk]
    assert len(added) == 1, f"{len(added)} new versions of #{pk}: {shown(body)}"
    version = HistoricalProduct.objects.get(history_id=added[0]["history_id"])
    assert version.history_user_id == catalog.admin_id
    tag_rows = new_rows(before, after, HistoricalProductTags)
    assert all(
        row["history_id"] != version.history_id or row["product_id"] == pk
        for row in tag_rows
    ), shown(body)
    assert stored_product(pk) == answered(payload), shown(body)
    assert version_values(version) == answered(payload), shown(body)
    return version


def decimal_of(value: Any) -> Decimal:
    """A decimal input as the server reads it (the Decimal scalar)."""
    return Decimal(str(value))


def expected_tags(names: list[str]) -> list[dict[str, str]]:
    """The tags a list of names gives: stripped, without blanks or repeats."""
    return by_name({n.strip() for n in names if n.strip()})


def expected_reason(reason: str | None) -> str | None:
    return (reason or "").strip() or None


def optional_fields(
    draw: st.DrawFn, strategies: Mapping[str, st.SearchStrategy[Any]]
) -> dict[str, Any]:
    return {key: draw(s) for key, s in strategies.items() if draw(st.booleans())}


@st.composite
def create_inputs(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "name": draw(NAMES),
        "price": draw(MONEY),
        **optional_fields(
            draw,
            {
                "description": DESCRIPTIONS,
                "quantity": QUANTITIES,
                "tags": TAGS,
                "reason": REASONS,
                "supplierCost": st.one_of(st.none(), MONEY),
                "category": CATEGORIES,
            },
        ),
    }


def test_generated_creates_write_one_version_or_nothing(
    catalog: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    op = OPERATIONS["createProduct"]
    outcomes = Outcomes()

    @PROPERTY_SETTINGS
    @given(create_inputs())
    def run(input: dict[str, Any]) -> None:
        if input.get("category") == "category":
            input = {**input, "category": catalog.refs["category"]}

        def check(before: Snapshot, payload: Any, body: Any) -> None:
            pk = node_pk(payload["id"])
            after = snapshot()
            assert [r["id"] for r in new_rows(before, after, Product)] == [pk]
            assert len(new_rows(before, after, HistoricalProduct)) == 1, shown(body)
            assert not new_rows(before, after, HistoricalCategory), shown(body)
            assert_only(before, after, products=set(), body=body)
            version = assert_one_version_holding_the_answer(
                catalog, before, pk, payload, body
            )
            assert version.history_type == "+"
            assert version.history_change_reason == expected_reason(input.get("reason"))
            assert payload["name"] == input["name"]
            assert payload["description"] == input.get("description", "")
            assert Decimal(payload["price"]) == decimal_of(input["price"])
            assert payload["quantity"] == input.get("quantity", 0)
            assert payload["category"] == (
                None if input.get("category") is None else {"id": input["category"]}
            )
            assert answered(payload)["tags"] == expected_tags(input.get("tags") or [])
            if input.get("supplierCost") is not None:
                cost = Product.objects.get(pk=pk).supplier_cost
                assert cost == decimal_of(input["supplierCost"])

        outcomes.count(run_example(catalog, op, input, check, caplog))

    run()
    outcomes.assert_both()


@st.composite
def update_inputs(draw: st.DrawFn) -> dict[str, Any]:
    return optional_fields(
        draw,
        {
            "name": st.one_of(st.just("Lamp"), NAMES),
            "description": st.one_of(st.just("A lamp."), DESCRIPTIONS),
            "price": st.one_of(st.sampled_from(["12", "12.00", "12.001"]), MONEY),
            "quantity": st.one_of(st.just(2), QUANTITIES),
            "tags": st.one_of(st.just(["steel", "brass"]), TAGS),
            "reason": REASONS,
            "supplierCost": st.one_of(st.none(), MONEY),
            "category": CATEGORIES,
        },
    )


def test_generated_updates_write_one_version_per_change_or_nothing(
    catalog: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    op = OPERATIONS["updateProduct"]
    lamp = catalog.lamp
    outcomes = Outcomes()
    targets = {
        "lamp": catalog.refs["product"],
        "malformed": b64("Product:x"),
        "category": catalog.refs["category"],
    }

    @PROPERTY_SETTINGS
    @given(update_inputs(), mostly(st.just("lamp"), st.sampled_from(sorted(targets))))
    def run(input: dict[str, Any], target: str) -> None:
        input = {**input, "id": targets[target]}
        if input.get("category") == "category":
            input["category"] = catalog.refs["category"]

        def check(before: Snapshot, payload: Any, body: Any) -> None:
            after = snapshot()

            def state(snap: Snapshot) -> tuple[Any, ...]:
                row = dict(rows_by_pk(snap, Product)[lamp.pk])
                del row["updated_at"]
                links = rows_by_pk(snap, ProductTags).values()
                tags = {r["tag_id"] for r in links if r["product_id"] == lamp.pk}
                return row, tags

            changed = state(before) != state(after)
            assert_only(
                before, after, products={lamp.pk} if changed else set(), body=body
            )
            if changed:
                version = assert_one_version_holding_the_answer(
                    catalog, before, lamp.pk, payload, body
                )
                assert version.history_type == "~"
                assert version.history_change_reason == expected_reason(
                    input.get("reason")
                )
            else:
                assert not any(
                    new_rows(before, after, model) for model in HISTORY_TABLES
                ), f"a change of nothing wrote a version: {shown(body)}"
                assert stored_product(lamp.pk) == answered(payload), shown(body)
            for key in ("name", "description", "quantity"):
                if key in input:
                    assert payload[key] == input[key], shown(body)
            if "price" in input:
                assert Decimal(payload["price"]) == decimal_of(input["price"]), (
                    f"the price sent is not the price answered: {shown(body)}"
                )
            if input.get("tags") is not None:
                assert answered(payload)["tags"] == expected_tags(input["tags"]), shown(
                    body
                )

        outcomes.count(run_example(catalog, op, input, check, caplog))

    run()
    outcomes.assert_both()


def test_generated_reverts_write_one_version_or_nothing(
    catalog: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    op = OPERATIONS["revertProduct"]
    lamp, desk = catalog.lamp, catalog.desk
    # A third version, so there are two older ones to go back to.
    services.product_update(
        pk=lamp.pk,
        data={"name": "Lamp II", "quantity": 7, "category": None, "tags": ["oak"]},
        actor=None,
        reason="renamed",
    )
    records = {
        f"lamp_{n}": gid("HistoricalProduct", version.history_id)
        for n, version in enumerate(versions_of(HistoricalProduct, lamp.pk))
    }
    records["desk_0"] = gid(
        "HistoricalProduct", versions_of(HistoricalProduct, desk.pk)[0].history_id
    )
    records["malformed"] = b64("HistoricalProduct:x")
    records["category"] = catalog.refs["category"]
    targets = {
        "lamp": catalog.refs["product"],
        "desk": catalog.refs["other_product"],
        "malformed": "!!!",
    }
    tracked = ["name", "description", "price", "quantity", "category", "tags"]
    outcomes = Outcomes()

    @PROPERTY_SETTINGS
    @given(
        target=mostly(st.just("lamp"), st.sampled_from(["desk", "malformed"])),
        record=mostly(
            st.sampled_from(["lamp_0", "lamp_1"]),
            st.sampled_from(["lamp_2", "desk_0", "malformed", "category"]),
        ),
        reason=mostly(st.text(PRINTABLE, min_size=1, max_size=20), ODD_TEXTS),
        fields=mostly(
            st.one_of(
                st.none(), st.lists(st.sampled_from(tracked), min_size=1, max_size=3)
            ),
            st.lists(
                st.one_of(
                    st.sampled_from(tracked),
                    st.sampled_from(["x", "id", "supplierCost", "PRICE", ""]),
                ),
                max_size=3,
            ),
        ),
        expected=mostly(
            st.sampled_from([None, "lamp_2"]),
            st.sampled_from(["lamp_0", "lamp_1", "desk_0", "malformed"]),
        ),
        dry_run=st.one_of(st.none(), st.booleans()),
    )
    def run(
        target: str,
        record: str,
        reason: str,
        fields: list[str] | None,
        expected: str | None,
        dry_run: bool | None,
    ) -> None:
        input: dict[str, Any] = {
            "id": targets[target],
            "record": records[record],
            "reason": reason,
            "fields": fields,
            "expectedLatest": None if expected is None else records[expected],
            "dryRun": dry_run,
        }

        def check(before: Snapshot, payload: Any, body: Any) -> None:
            pk = node_pk(input["id"])
            source = HistoricalProduct.objects.get(history_id=node_pk(input["record"]))
            assert source.id == pk, shown(body)
            product = payload["product"]
            wanted = version_values(source)
            for name in fields or tracked:
                assert product[name] == wanted[name], shown(body)
            assert payload["changes"], shown(body)
            if dry_run:
                assert payload["record"] is None, shown(body)
                assert_unchanged(before, "a dry run")
                return
            after = snapshot()
            assert_only(before, after, products={pk}, body=body)
            version = assert_one_version_holding_the_answer(
                catalog, before, pk, product, body
            )
            assert payload["record"] == {"historyId": version.history_id}
            assert version.history_reverted_from_id == source.history_id
            assert version.history_change_reason == reason.strip()

        outcomes.count(run_example(catalog, op, input, check, caplog))

    run()
    outcomes.assert_both()


def test_generated_price_adjustments_write_one_version_per_product_or_nothing(
    catalog: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    op = OPERATIONS["adjustPrices"]
    ids = {
        "lamp": catalog.refs["product"],
        "desk": catalog.refs["other_product"],
        "malformed": "abc",
        "category": catalog.refs["category"],
    }
    outcomes = Outcomes()

    @PROPERTY_SETTINGS
    @given(
        targets=mostly(
            st.lists(st.sampled_from(["lamp", "desk"]), min_size=1, max_size=4),
            st.lists(st.sampled_from(sorted(ids)), max_size=4),
        ),
        how=mostly(
            st.sampled_from(["percent", "amount"]),
            st.sampled_from(["both", "neither"]),
        ),
        change=mostly(
            st.decimals(min_value=-12, max_value=1000, places=3).map(str),
            ODD_DECIMALS,
        ),
        reason=mostly(st.text(PRINTABLE, min_size=1, max_size=20), ODD_TEXTS),
    )
    def run(targets: list[str], how: str, change: Any, reason: str) -> None:
        input: dict[str, Any] = {"ids": [ids[t] for t in targets], "reason": reason}
        if how in ("percent", "both"):
            input["percent"] = change
        if how in ("amount", "both"):
            input["amount"] = change

        def check(before: Snapshot, payload: Any, body: Any) -> None:
            after = snapshot()
            given = sorted({node_pk(ids[t]) for t in targets})
            number = decimal_of(change)
            expected = {}
            for pk in given:
                old = Decimal(rows_by_pk(before, Product)[pk]["price"])
                new = old * (1 + number / 100) if how == "percent" else old + number
                rounded = new.quantize(CENT, rounding=ROUND_HALF_UP)
                if rounded != old:  # a change that rounds to nothing writes nothing
                    expected[pk] = money(rounded)
            pks = sorted(expected)
            assert_only(before, after, products=set(pks), body=body)
            added = new_rows(before, after, HistoricalProduct)
            # One version per product whose price changes.
            assert sorted(row["id"] for row in added) == pks, shown(body)
            assert payload["count"] == len(pks), shown(body)
            prices = {node_pk(p["id"]): p["price"] for p in payload["products"]}
            for pk in pks:
                price = expected[pk]
                assert prices[pk] == price, shown(body)
                row = next(r for r in added if r["id"] == pk)
                version = HistoricalProduct.objects.get(history_id=row["history_id"])
                assert version_values(version) == stored_product(pk), shown(body)
                assert money(version.price) == price, shown(body)
                assert version.history_change_reason == reason.strip()
                assert version.history_user_id == catalog.admin_id

        outcomes.count(run_example(catalog, op, input, check, caplog))

    run()
    outcomes.assert_both()
