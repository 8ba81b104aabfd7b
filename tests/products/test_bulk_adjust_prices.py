"""`adjustPrices` over HTTP: one complete version per product, all or nothing,
and a bounded number of SQL statements.

A bulk change writes one version per object, complete (reason, user, request
context, diff, related objects), in one transaction: all or nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from products import services
from products.models import Product
from tests.conftest import EDITOR_PERMISSIONS
from tests.factories import UserFactory
from tests.helpers import Mentions, gid, node_pk, refused
from tests.products.bulk_checks import (
    ADJUST,
    FEED,
    HistoricalProduct,
    HistoricalProductTag,
    catalog,
    database_state,
    ids,
)

pytestmark = pytest.mark.django_db


PRODUCT_HISTORY = """
query($id: ID!) {
  product(id: $id) {
    name price category { name } tags { name }
    history(first: 10) { edges { node {
      historyType historyChangeReason price
      category { name exists } tags { name exists }
      changes { field oldValue newValue delta added removed }
    } } }
  }
}
"""


def version_tag_ids(version: Any) -> list[int]:
    """The tag ids simple-history recorded for a version, duplicates included."""
    return sorted(
        HistoricalProductTag.objects.filter(history=version).values_list(
            "tag_id", flat=True
        )
    )


def latest_two(product: Product) -> tuple[Any, Any]:
    """The newest version of a product and the one before it."""
    newest, previous = HistoricalProduct.objects.filter(id=product.pk).order_by(
        "-history_date", "-history_id"
    )[:2]
    return newest, previous


# -- adjustPrices: what it writes ---------------------------------------------------


def test_adjust_prices_by_percent_writes_one_complete_version_per_product(
    gql: Any, staff: Any
) -> None:
    # 10.15 + i grown by 10% is 11.165 + 1.1 i: always a half cent, rounded up.
    products = catalog([Decimal("10.15") + index for index in range(100)])
    versions_before = HistoricalProduct.objects.count()

    answer = gql(
        ADJUST,
        {"input": {"ids": ids(products), "percent": "10", "reason": "Spring prices"}},
        user=staff,
        headers={"X-Request-ID": "bulk-req.42"},
    )

    new_prices = [Decimal("11.17") + Decimal("1.1") * i for i in range(100)]
    assert answer == {
        "data": {
            "adjustPrices": {
                "__typename": "ProductsResult",
                "count": 100,
                "products": [
                    {"id": gid("Product", product.pk), "price": f"{price:.2f}"}
                    for product, price in zip(products, new_prices, strict=True)
                ],
            }
        }
    }
    assert HistoricalProduct.objects.count() == versions_before + 100
    assert list(Product.objects.order_by("pk").values_list("price", flat=True)) == (
        new_prices
    )
    written = HistoricalProduct.objects.filter(history_type="~").order_by("id")
    assert [
        (
            version.id,
            version.price,
            version.history_change_reason,
            version.history_user_id,
            version.history_request_id,
        )
        for version in written
    ] == [
        (product.pk, price, "Spring prices", staff.pk, "bulk-req.42")
        for product, price in zip(products, new_prices, strict=True)
    ]

    feed = gql(FEED, {"filters": {"historyType": "UPDATED"}}, user=staff)
    feed["data"]["productHistory"]["edges"].sort(
        key=lambda edge: node_pk(edge["node"]["productId"])
    )
    assert feed == {
        "data": {
            "productHistory": {
                "totalCount": 100,
                "edges": [
                    {
                        "node": {
                            "productId": gid("Product", product.pk),
                            "historyType": "UPDATED",
                            "historyChangeReason": "Spring prices",
                            "historyUser": {"username": "staff"},
                            "requestId": "bulk-req.42",
                            "name": product.name,
                            "price": f"{price:.2f}",
                            "category": None,
                            "changes": [
                                {
                                    "field": "price",
                                    "oldValue": f"{product.price:.2f}",
                                    "newValue": f"{price:.2f}",
                                    "delta": f"{price - product.price:.2f}",
                                }
                            ],
                        }
                    }
                    for product, price in zip(products, new_prices, strict=True)
                ],
            }
        }
    }


def test_adjust_prices_by_amount_rounds_half_up(gql: Any, editor: Any) -> None:
    products = catalog([Decimal("10.00"), Decimal("0.15"), Decimal("99.99")])

    answer = gql(
        ADJUST,
        {"input": {"ids": ids(products), "amount": "1.005", "reason": "Surcharge"}},
        user=editor,
        headers={"X-Request-ID": "req-amount"},
    )

    # 11.005 -> 11.01 (half even would give 11.00), 1.155 -> 1.16, 100.995 -> 101.00
    new_prices = ["11.01", "1.16", "101.00"]
    assert answer == {
        "data": {
            "adjustPrices": {
                "__typename": "ProductsResult",
                "count": 3,
                "products": [
                    {"id": gid("Product", product.pk), "price": price}
                    for product, price in zip(products, new_prices, strict=True)
                ],
            }
        }
    }
    written = HistoricalProduct.objects.filter(history_type="~").order_by("id")
    assert [
        (
            version.id,
            version.history_change_reason,
            version.history_user_id,
            version.history_request_id,
            version.history_changes,
        )
        for version in written
    ] == [
        (
            products[0].pk,
            "Surcharge",
            editor.pk,
            "req-amount",
            {"price": ["10.00", "11.01"]},
        ),
        (
            products[1].pk,
            "Surcharge",
            editor.pk,
            "req-amount",
            {"price": ["0.15", "1.16"]},
        ),
        (
            products[2].pk,
            "Surcharge",
            editor.pk,
            "req-amount",
            {"price": ["99.99", "101.00"]},
        ),
    ]


@pytest.mark.parametrize(
    ("old", "change", "new"),
    [
        pytest.param("10.05", {"percent": Decimal("-10")}, "9.05", id="pct-9.045"),
        pytest.param("10.15", {"percent": Decimal("10")}, "11.17", id="pct-11.165"),
        pytest.param("0.15", {"percent": Decimal("10")}, "0.17", id="pct-0.165"),
        pytest.param("19.99", {"percent": Decimal("2.5")}, "20.49", id="pct-20.48975"),
        pytest.param("10.00", {"percent": Decimal("-100")}, "0.00", id="pct-to-zero"),
        pytest.param("10.00", {"amount": Decimal("0.005")}, "10.01", id="amt-10.005"),
        pytest.param("10.00", {"amount": Decimal("-10")}, "0.00", id="amt-to-zero"),
        pytest.param("10.00", {"amount": Decimal("-1")}, "9.00", id="amt-negative"),
    ],
)
def test_product_adjust_prices_rounds_half_up_to_the_cent(
    old: str, change: dict[str, Decimal], new: str
) -> None:
    (product,) = catalog([Decimal(old)])

    (adjusted,) = services.product_adjust_prices(
        pks=[product.pk], actor=None, reason="reprice", **change
    ).changed

    product.refresh_from_db()
    newest = HistoricalProduct.objects.filter(id=product.pk).latest("history_id")
    assert (adjusted.price, product.price, newest.price) == (
        Decimal(new),
        Decimal(new),
        Decimal(new),
    )
    assert newest.history_changes == {"price": [old, new]}


def test_adjust_prices_keeps_tags_and_category_on_the_new_versions(
    gql: Any, editor: Any
) -> None:
    lighting = services.category_create(data={"name": "Lighting"}, actor=None)
    lamp = services.product_create(
        data={
            "name": "Lamp",
            "price": Decimal("20.00"),
            "category": lighting.pk,
            "tags": ["sale", "blue"],
        },
        actor=None,
        reason="new",
    )
    plain = services.product_create(
        data={"name": "Plain", "price": Decimal("5.00")}, actor=None, reason="new"
    )

    answer = gql(
        ADJUST,
        {"input": {"ids": ids([lamp, plain]), "percent": "50", "reason": "Inflation"}},
        user=editor,
    )

    assert answer["data"]["adjustPrices"]["count"] == 2
    for product in (lamp, plain):
        newest, previous = latest_two(product)
        assert (newest.history_type, previous.history_type) == ("~", "+")
        assert version_tag_ids(newest) == version_tag_ids(previous)
        assert newest.history_snapshot == previous.history_snapshot
        assert newest.category_id == previous.category_id
    assert len(version_tag_ids(latest_two(lamp)[0])) == 2
    assert version_tag_ids(latest_two(plain)[0]) == []

    seen = gql(PRODUCT_HISTORY, {"id": gid("Product", lamp.pk)}, user=editor)
    at_version = {
        "category": {"name": "Lighting", "exists": True},
        "tags": [{"name": "blue", "exists": True}, {"name": "sale", "exists": True}],
    }
    assert seen == {
        "data": {
            "product": {
                "name": "Lamp",
                "price": "30.00",
                "category": {"name": "Lighting"},
                "tags": [{"name": "blue"}, {"name": "sale"}],
                "history": {
                    "edges": [
                        {
                            "node": {
                                "historyType": "UPDATED",
                                "historyChangeReason": "Inflation",
                                "price": "30.00",
                                **at_version,
                                "changes": [
                                    {
                                        "field": "price",
                                        "oldValue": "20.00",
                                        "newValue": "30.00",
                                        "delta": "10.00",
                                        "added": None,
                                        "removed": None,
                                    }
                                ],
                            }
                        },
                        {
                            "node": {
                                "historyType": "CREATED",
                                "historyChangeReason": "new",
                                "price": "20.00",
                                **at_version,
                                "changes": [],
                            }
                        },
                    ]
                },
            }
        }
    }


# -- adjustPrices: all or nothing ---------------------------------------------------


def test_adjust_prices_refuses_all_when_one_price_would_be_negative(
    gql: Any, editor: Any
) -> None:
    products = catalog([Decimal("100.00")] * 3, prefix="Dear")
    products += catalog([Decimal("10.00")], prefix="Cheap")
    before = database_state()

    answer = gql(
        ADJUST,
        {"input": {"ids": ids(products), "amount": "-50", "reason": "Clearance"}},
        user=editor,
    )

    assert answer == refused(
        "adjustPrices", "INVALID", field="price", message=Mentions("Cheap 000")
    )
    assert database_state() == before


@pytest.mark.parametrize(
    "make_id",
    [
        pytest.param(lambda last: gid("Product", last.pk + 1000), id="unknown-pk"),
        pytest.param(lambda last: gid("Product", "nope"), id="malformed-pk"),
        pytest.param(lambda last: gid("Category", last.pk), id="other-type"),
        pytest.param(lambda last: "not a global id", id="not-an-id"),
    ],
)
def test_adjust_prices_with_an_unknown_id_is_not_found(
    gql: Any, editor: Any, make_id: Callable[[Product], str]
) -> None:
    products = catalog([Decimal("10.00")] * 3)
    before = database_state()

    answer = gql(
        ADJUST,
        {
            "input": {
                "ids": [*ids(products), make_id(products[-1])],
                "percent": "10",
                "reason": "Reprice",
            }
        },
        user=editor,
    )

    assert answer == refused("adjustPrices", "NOT_FOUND", field="ids")
    assert database_state() == before


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"percent": "10", "amount": "1"}, id="both"),
        pytest.param({}, id="neither"),
        pytest.param({"percent": None, "amount": None}, id="both-null"),
    ],
)
def test_adjust_prices_needs_exactly_one_of_percent_and_amount(
    gql: Any, editor: Any, change: dict[str, Any]
) -> None:
    products = catalog([Decimal("10.00")] * 2)
    before = database_state()

    answer = gql(
        ADJUST,
        {"input": {"ids": ids(products), "reason": "Reprice", **change}},
        user=editor,
    )

    assert answer == refused("adjustPrices", "INVALID")
    assert database_state() == before


def test_adjust_prices_with_no_ids_is_invalid(gql: Any, editor: Any) -> None:
    catalog([Decimal("10.00")])
    before = database_state()

    answer = gql(
        ADJUST, {"input": {"ids": [], "percent": "10", "reason": "x"}}, user=editor
    )

    assert answer == refused("adjustPrices", "INVALID", field="ids")
    assert database_state() == before


@pytest.mark.parametrize("reason", ["", "   ", "\t\n"])
def test_adjust_prices_needs_a_reason(gql: Any, editor: Any, reason: str) -> None:
    products = catalog([Decimal("10.00")] * 2)
    before = database_state()

    answer = gql(
        ADJUST,
        {"input": {"ids": ids(products), "percent": "10", "reason": reason}},
        user=editor,
    )

    assert answer == refused("adjustPrices", "REASON_REQUIRED", field="reason")
    assert database_state() == before


@pytest.mark.parametrize(
    "permissions",
    [
        pytest.param([], id="no-permissions"),
        pytest.param(
            [p for p in EDITOR_PERMISSIONS if p != "change_product"],
            id="all-but-change_product",
        ),
    ],
)
def test_adjust_prices_needs_change_product(gql: Any, permissions: list[str]) -> None:
    user = UserFactory(username="limited", permissions=permissions)
    products = catalog([Decimal("10.00")] * 2)
    before = database_state()

    answer = gql(
        ADJUST,
        {"input": {"ids": ids(products), "percent": "10", "reason": "Reprice"}},
        user=user,
    )

    assert answer == refused("adjustPrices", "PERMISSION_DENIED", kind="PERMISSION")
    assert database_state() == before


def test_adjust_prices_anonymous_is_permission_denied(gql: Any) -> None:
    products = catalog([Decimal("10.00")])
    before = database_state()

    answer = gql(
        ADJUST, {"input": {"ids": ids(products), "percent": "10", "reason": "x"}}
    )

    assert answer == refused("adjustPrices", "PERMISSION_DENIED", kind="PERMISSION")
    assert database_state() == before


def test_product_adjust_prices_rolls_back_when_recording_the_versions_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The rows and the versions are written in one transaction: a failure after
    the bulk update (while completing the versions) leaves nothing behind."""
    products = catalog([Decimal("10.00")] * 5)
    before = database_state()

    def fail(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("recording failed")

    monkeypatch.setattr("history.bulk.complete_version", fail)

    with pytest.raises(RuntimeError, match="recording failed"):
        services.product_adjust_prices(
            pks=[p.pk for p in products],
            actor=None,
            reason="Reprice",
            percent=Decimal("10"),
        )

    assert database_state() == before


# -- adjustPrices: queries ----------------------------------------------------------

INSERT_INTO = re.compile(r'INSERT INTO "(\w+)"')


def statements(queries: CaptureQueriesContext) -> list[str]:
    """The SQL statements run, a bulk INSERT counted once.

    Django splits a bulk INSERT into batches of at most
    `connection.features.max_query_params` parameters (999 on SQLite), so 100
    versions of a many-column model take more than one statement there: that is
    still one bulk write, not a query per object.
    """
    result: list[str] = []
    previous_table = None
    for query in queries.captured_queries:
        sql = query["sql"]
        match = INSERT_INTO.match(sql)
        table = match.group(1) if match else None
        if table is None or table != previous_table:
            result.append(sql)
        previous_table = table
    return result


@pytest.mark.parametrize(
    ("related", "selection"),
    [
        pytest.param(False, "count", id="plain-count"),
        pytest.param(False, "count products { id price updatedAt }", id="plain"),
        pytest.param(True, "count", id="categorised-count"),
        pytest.param(
            True,
            "count products { id price category { name } tags { name } }",
            id="categorised-with-relations",
        ),
    ],
)
def test_adjust_prices_query_count_does_not_grow_with_the_products(
    gql: Any, editor: Any, related: bool, selection: str
) -> None:
    """10 or 100 products, one transaction of the same queries."""
    category = None
    if related:
        category = services.category_create(data={"name": "Lighting"}, actor=None).pk
    rows = [
        {"name": f"P{i}", "price": Decimal("10.00"), "category": category}
        for i in range(111)
    ]
    products = services.product_import(rows=rows, actor=None, reason="seed")
    if related:
        for product in products:
            services.product_update(
                pk=product.pk, data={"tags": ["a", "b"]}, actor=None, reason="tag"
            )
    warm, small, large = products[:1], products[1:11], products[11:]
    document = f"""
    mutation($input: AdjustPricesInput!) {{
      adjustPrices(input: $input) {{ ... on ProductsResult {{ {selection} }} }}
    }}
    """

    def adjust(batch: list[Product]) -> list[str]:
        variables = {"input": {"ids": ids(batch), "percent": "1", "reason": "x"}}
        with CaptureQueriesContext(connection) as queries:
            answer = gql(document, variables, user=editor)
        assert answer["data"]["adjustPrices"]["count"] == len(batch)
        return statements(queries)

    adjust(warm)  # caches (content types, permissions) filled once
    versions_before = HistoricalProduct.objects.count()
    small_queries = adjust(small)
    large_queries = adjust(large)

    assert HistoricalProduct.objects.count() == versions_before + 110
    assert len(large_queries) == len(small_queries), "\n".join(
        sql[:200] for sql in large_queries
    )
