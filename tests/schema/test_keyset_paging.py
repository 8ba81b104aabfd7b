"""Keyset cursors of the history connections, over HTTP, and the cross-model feed
of `history.paging`."""

from __future__ import annotations

import datetime
import json
import re
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from strawberry.relay import to_base64

from history import paging
from products.models import Category, Product
from products.services import (
    category_create,
    category_update,
    product_create,
    product_update,
)
from schema.connections import cursor_of
from tests.conftest import bearer
from tests.helpers import bypass_guards, gid, old_versions

pytestmark = pytest.mark.django_db

HistoricalProduct = Product.history.model
HistoricalCategory = Category.history.model

PAGE = """
query Page($first: Int, $after: String, $last: Int, $before: String,
           $filters: HistoricalProductFilter) {
  productHistory(first: $first, after: $after, last: $last, before: $before,
                 filters: $filters) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { historyId } }
  }
}
"""
CATEGORY_PAGE = """
query { categoryHistory(first: 1) { edges { cursor } } }
"""
PRODUCTS_PAGE = """
query { products(first: 1) { edges { cursor } } }
"""
NESTED = """
query Nested($after: String) {
  products(first: 10) {
    edges { node { name history(first: 2, after: $after) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage }
      edges { node { historyId } }
    } } }
  }
}
"""
CREATE = """
mutation Create($input: CreateProductInput!) {
  createProduct(input: $input) { __typename ... on Product { id } }
}
"""
UPDATE = """
mutation Update($input: UpdateProductInput!) {
  updateProduct(input: $input) { __typename }
}
"""
DELETE = """
mutation Delete($input: DeleteProductInput!) {
  deleteProduct(input: $input) { __typename }
}
"""


def catalog(actor: Any, products: int = 4, updates: int = 2) -> list[Product]:
    made = []
    for n in range(products):
        product = product_create(
            data={"name": f"Item {n}", "price": Decimal("1.00")}, actor=actor
        )
        for m in range(updates):
            product_update(pk=product.pk, data={"quantity": m + 1}, actor=actor)
        made.append(product)
    return made


def newest_first(model: Any = HistoricalProduct) -> list[int]:
    return list(
        model.objects.order_by("-history_date", "-history_id").values_list(
            "history_id", flat=True
        )
    )


def page(gql: Any, user: Any, **variables: Any) -> dict[str, Any]:
    answer = gql(PAGE, variables, user=user)
    assert "errors" not in answer, answer["errors"]
    result: dict[str, Any] = answer["data"]["productHistory"]
    return result


def ids(result: dict[str, Any]) -> list[int]:
    return [edge["node"]["historyId"] for edge in result["edges"]]


def write_between_pages(gql: Any, user: Any, step: int, products: list[Product]):
    """An update, a create and a delete, each writing a version newer than any
    the walk started with."""
    target = gid("Product", products[0].pk)
    answers = [
        gql(UPDATE, {"input": {"id": target, "quantity": 100 + step}}, user=user),
        gql(
            CREATE,
            {"input": {"name": f"New {step}", "price": "2.00"}},
            user=user,
        ),
    ]
    created = answers[1]["data"]["createProduct"]["id"]
    answers.append(gql(DELETE, {"input": {"id": created}}, user=user))
    assert [a["data"] for a in answers] == [
        {"updateProduct": {"__typename": "Product"}},
        {"createProduct": {"__typename": "Product", "id": created}},
        {"deleteProduct": {"__typename": "Product"}},
    ]


def test_forward_walk_with_writes_between_pages_sees_each_version_once(gql, editor):
    products = catalog(editor)
    before = newest_first()
    seen: list[int] = []
    after = None
    for step in range(20):
        result = page(gql, editor, first=3, after=after)
        seen += ids(result)
        assert result["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not result["pageInfo"]["hasNextPage"]:
            break
        after = result["pageInfo"]["endCursor"]
        write_between_pages(gql, editor, step, products)
    assert seen == before
    assert len(newest_first()) == len(before) + 3 * step


def test_backward_walk_with_writes_between_pages_sees_each_version_once(gql, editor):
    products = catalog(editor)
    before = newest_first()
    seen: list[int] = []
    cursor = None
    for step in range(20):
        result = page(gql, editor, last=3, before=cursor)
        seen = ids(result) + seen
        assert result["pageInfo"]["hasNextPage"] is (cursor is not None)
        if not result["pageInfo"]["hasPreviousPage"]:
            break
        cursor = result["pageInfo"]["startCursor"]
        if step < 2:  # then let the walk catch up with the writes
            write_between_pages(gql, editor, step, products)
    # Walking towards the newest end, the versions written meanwhile come last.
    assert len(seen) == len(set(seen))
    assert [i for i in seen if i in set(before)] == before
    assert seen[: -len(before)] == [i for i in newest_first() if i not in before]


def test_first_and_last_together_take_the_end_of_the_first(gql, editor):
    catalog(editor)
    everything = newest_first()
    result = page(gql, editor, first=5, last=2)
    assert ids(result) == everything[3:5]
    assert result["pageInfo"] | {"startCursor": None, "endCursor": None} == {
        "hasNextPage": True,
        "hasPreviousPage": True,
        "startCursor": None,
        "endCursor": None,
    }


def deep_page_queries(
    gql: Any, user: Any, depth: int = -6
) -> tuple[list[str], list[int]]:
    """The statements of the page of 3 after the version at `depth`."""
    everything = newest_first()
    cursor = cursor_of(HistoricalProduct.objects.get(history_id=everything[depth]))
    with CaptureQueriesContext(connection) as captured:
        result = page(gql, user, first=3, after=cursor)
    assert ids(result) == everything[depth + 1 : depth + 4]
    return [q["sql"] for q in captured.captured_queries], everything


def test_a_deep_page_is_a_keyset_query_without_offset(gql, editor):
    catalog(editor, products=6, updates=3)
    statements, _ = deep_page_queries(gql, editor)
    assert not [sql for sql in statements if " OFFSET " in sql.upper()]
    pages = [sql for sql in statements if "LIMIT 5" in sql]
    assert len(pages) == 1
    if connection.vendor == "postgresql":
        # A row comparison, which bounds an index scan.
        keyset = r'\("products_historicalproduct"\."history_date", ' + (
            r'"products_historicalproduct"\."history_id"\) <= \('
        )
    else:
        # SQLite: Django spells the row comparison out.
        keyset = r'"history_date" < .* OR .*"history_id" < \d+ OR .*"history_id" = '
    assert re.search(keyset, pages[0]), pages[0]


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="EXPLAIN plans are PostgreSQL's"
)
def test_explain_of_a_deep_page_is_an_index_scan(gql, editor):
    """With 5,000 versions and fresh statistics the planner picks an index
    range scan bounded by the cursor by itself (`enable_seqscan` is left on),
    for a page in the middle of the feed and one near its oldest end."""
    product = catalog(editor, products=1, updates=0)[0]
    start = timezone.now() - datetime.timedelta(days=10)
    old_versions(product, 5000, start)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE products_historicalproduct")
    for depth in (2500, -6):
        statements, _ = deep_page_queries(gql, editor, depth)
        [sql] = [sql for sql in statements if "LIMIT 5" in sql]
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {sql}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "Seq Scan" not in plan, plan
        assert re.search(r"Index (Only )?Scan.*\n.*Index Cond: .*history_date", plan), (
            plan
        )
        # At most a sort of rows that tie on the date, never of the whole feed.
        assert not re.search(r"(^|->  )Sort ", plan), plan


def test_total_count_counts_the_filtered_versions_on_every_page(gql, editor):
    catalog(editor)
    updated = list(
        HistoricalProduct.objects.filter(history_type="~")
        .order_by("-history_date", "-history_id")
        .values_list("history_id", flat=True)
    )
    filters = {"historyType": "UPDATED"}
    first = page(gql, editor, first=3, filters=filters)
    second = page(
        gql, editor, first=3, after=first["pageInfo"]["endCursor"], filters=filters
    )
    assert [first["totalCount"], second["totalCount"]] == [len(updated)] * 2
    assert ids(first) + ids(second) == updated[:6]


def bad_cursor_answer(gql: Any, user: Any, cursor: str) -> dict[str, Any]:
    answer: dict[str, Any] = gql(PAGE, {"first": 2, "after": cursor}, user=user)
    assert answer["data"] is None
    [error] = answer["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    return error


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        to_base64("version", "[1,2"),
        to_base64(
            "version", '["2024-01-01T00:00:00", "products.historicalproduct", 1]'
        ),
        to_base64("version", '["2024-01-01T00:00:00+00:00", "x", -1]'),
        to_base64("version", '["2024-01-01T00:00:00+00:00", "x", 1.5]'),
    ],
    ids=["garbage", "bad_json", "naive_date", "negative_id", "float_id"],
)
def test_a_malformed_cursor_is_bad_user_input(gql, editor, cursor):
    catalog(editor, products=1)
    error = bad_cursor_answer(gql, editor, cursor)
    assert error["message"] == "Argument 'after' is not a cursor this API gave out."


def test_a_cursor_of_another_connection_is_bad_user_input(gql, editor, staff):
    """Decided: a cursor names a place in one model's versions; a cursor of
    another model's history, or of a list connection, is refused, not read as
    some place in this one."""
    catalog(editor, products=1)
    category_create(data={"name": "Lamps"}, actor=None)
    staff.user_permissions.add(
        *type(staff.user_permissions.first()).objects.filter(
            codename="view_historicalcategory"
        )
    )
    category = gql(CATEGORY_PAGE, user=staff)["data"]["categoryHistory"]
    product = gql(PRODUCTS_PAGE, user=staff)["data"]["products"]
    for cursor in (category["edges"][0]["cursor"], product["edges"][0]["cursor"]):
        error = bad_cursor_answer(gql, editor, cursor)
        assert error["message"] == (
            "Argument 'after': the cursor belongs to another connection."
        )


def test_nested_history_pages_after_a_cursor_in_the_same_queries(
    gql, editor, django_assert_num_queries
):
    products = catalog(editor, products=3, updates=3)
    newest = HistoricalProduct.objects.filter(id=products[1].pk).order_by(
        "-history_date", "-history_id"
    )
    cursor = cursor_of(newest[0])
    headers = bearer(editor)
    gql(NESTED, headers=headers)  # the token's first use records it
    # The token, its user's permissions, the products, every product's page.
    with django_assert_num_queries(4):
        answer = gql(NESTED, {"after": cursor}, headers=headers)
    histories = {
        edge["node"]["name"]: edge["node"]["history"]
        for edge in answer["data"]["products"]["edges"]
    }
    assert histories["Item 1"] == {
        "totalCount": 4,
        "pageInfo": {"hasNextPage": True, "hasPreviousPage": True},
        "edges": [{"node": {"historyId": v.history_id}} for v in newest[1:3]],
    }
    # The cursor is a moment: for a product written entirely after it, the page
    # is empty, and its count still known.
    assert histories["Item 2"] == {
        "totalCount": 4,
        "pageInfo": {"hasNextPage": False, "hasPreviousPage": True},
        "edges": [],
    }


NESTED_PAGES = """
query Nested($first: Int, $after: String, $last: Int, $before: String,
             $filters: HistoricalProductFilter) {
  products(first: 10) {
    edges { node { id history(first: $first, after: $after, last: $last,
                              before: $before, filters: $filters) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { historyId } }
    } } }
  }
}
"""
OWN_PAGE = """
query Own($id: ID!, $first: Int, $after: String, $last: Int, $before: String,
          $filters: HistoricalProductFilter) {
  product(id: $id) {
    history(first: $first, after: $after, last: $last, before: $before,
            filters: $filters) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { historyId } }
    }
  }
}
"""
# Every shape of page; "c" is a cursor in the middle of one product's history,
# "d" one two versions older (so that each product's writes lie on both sides).
PAGE_SHAPES = [
    {"first": 2},
    {"last": 2},
    {"first": 0},
    {"last": 0},
    {"first": 9},
    {"last": 9},
    {"first": 2, "after": "c"},
    {"last": 2, "before": "c"},
    {"first": 2, "before": "c"},
    {"last": 2, "after": "c"},
    {"first": 3, "last": 1, "after": "c"},
    {"first": 1, "last": 3, "after": "c"},
    {"first": 2, "last": 5, "after": "c"},
    {"first": 0, "last": 1, "after": "c"},
    {"first": 5, "after": "d", "before": "c"},
    {"last": 1, "after": "d", "before": "c"},
    {"first": 2, "filters": {"historyType": "UPDATED"}},
    {"last": 2, "after": "c", "filters": {"historyType": "UPDATED"}},
]


@pytest.mark.parametrize("shape", PAGE_SHAPES, ids=json.dumps)
def test_each_nested_page_is_the_products_own_page(gql, editor, shape):
    """A product's `history` under a list of products (one statement for every
    product's page) is the page its own `history` gives, counts and flags
    included, whatever the page's shape."""
    products = catalog(editor, products=4, updates=4)
    # Interleave: the cursors' moment falls inside every product's history.
    for step in range(2):
        for product in products:
            product_update(pk=product.pk, data={"quantity": 50 + step}, actor=editor)
    middle = list(
        HistoricalProduct.objects.filter(id=products[1].pk).order_by(
            "-history_date", "-history_id"
        )
    )
    cursors = {"c": cursor_of(middle[3]), "d": cursor_of(middle[5])}
    variables = {
        name: cursors.get(value, value) if name in ("after", "before") else value
        for name, value in shape.items()
    }
    nested = gql(NESTED_PAGES, variables, user=editor)
    assert "errors" not in nested, nested["errors"]
    pages = {
        edge["node"]["id"]: edge["node"]["history"]
        for edge in nested["data"]["products"]["edges"]
    }
    assert len(pages) == len(products)
    for product in products:
        own = gql(
            OWN_PAGE, {"id": gid("Product", product.pk), **variables}, user=editor
        )
        assert "errors" not in own, own["errors"]
        expected = own["data"]["product"]["history"]
        got = pages[gid("Product", product.pk)]
        if product != products[1] and ("after" in shape or "before" in shape):
            # A cursor of another product's version: a product's own page
            # cannot tell whether versions lie beyond it (it looks for the
            # cursor's own version), the nested one can (it counts them).
            got, expected = ({**page, "pageInfo": {}} for page in (got, expected))
        assert got == expected, product.name
    sizes = {len(page["edges"]) for page in pages.values()}
    size = shape.get("last", shape.get("first"))
    assert max(sizes) <= size


@pytest.mark.parametrize(
    "page_size", [{"first": 3}, {"first": 5}, {"first": 10}, {"last": 3}]
)
def test_a_distinct_filter_across_tags_pages_and_counts_each_version_once(
    gql, editor, page_size
):
    """`tag: a OR tag: b` joins a version once per matching tag; with
    `DISTINCT: true` a nested page lists and counts each version once, as the
    product's own page does."""
    products = []
    for name in ("Tagged", "Other"):
        product = product_create(
            data={"name": name, "price": Decimal("1.00"), "tags": ["a", "b"]},
            actor=editor,
        )
        for quantity in range(1, 5):
            product_update(pk=product.pk, data={"quantity": quantity}, actor=editor)
        products.append(product)
    variables = {
        **page_size,
        "filters": {"tag": "a", "OR": {"tag": "b"}, "DISTINCT": True},
    }
    nested = gql(NESTED_PAGES, variables, user=editor)
    assert "errors" not in nested, nested["errors"]
    pages = {
        edge["node"]["id"]: edge["node"]["history"]
        for edge in nested["data"]["products"]["edges"]
    }
    for product in products:
        own = gql(
            OWN_PAGE, {"id": gid("Product", product.pk), **variables}, user=editor
        )
        assert "errors" not in own, own["errors"]
        page = pages[gid("Product", product.pk)]
        assert page == own["data"]["product"]["history"]
        assert page["totalCount"] == 5
        ids = [edge["node"]["historyId"] for edge in page["edges"]]
        assert len(ids) == len(set(ids)) == min(5, *page_size.values())


def test_a_slice_of_the_parents_pages_is_kept(editor):
    products = catalog(editor, products=2, updates=2)
    pages = paging.windowed_versions(
        HistoricalProduct.objects.all(),
        parent_field="history_relation_id",
        bounds=paging.Bounds(first=2),
    ).filter(history_relation__in=products)
    assert len(list(pages.all())) >= 4
    assert len(list(pages.all()[:1])) == 1


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="LATERAL reads are PostgreSQL's"
)
def test_nested_pages_read_each_products_page_by_its_index(gql, editor):
    """Under a list, each product's page is an index range scan of its own
    versions and its counts come from the index: no window over every
    version of every listed product, however long their histories."""
    products = catalog(editor, products=3, updates=1)
    start = timezone.now() - datetime.timedelta(days=10)
    for product in products:
        old_versions(product, 1000, start)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE products_historicalproduct")
    with CaptureQueriesContext(connection) as captured:
        answer = gql(NESTED_PAGES, {"first": 2}, user=editor)
    assert "errors" not in answer, answer["errors"]
    [sql] = [q["sql"] for q in captured.captured_queries if "LATERAL" in q["sql"]]
    assert " OVER " not in sql
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT TEXT) {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "WindowAgg" not in plan, plan
    # Each product's page: 2 rows read from its end of the relation index.
    assert re.search(
        r"Index Scan Backward using products_historicalpr_relation .*"
        r"\(actual time=[\d.]+\.\.[\d.]+ rows=2 loops=3\)",
        plan,
    ), plan
    for edge in answer["data"]["products"]["edges"]:
        assert edge["node"]["history"]["totalCount"] == 1002


# -- the cross-model feed ----------------------------------------------------------


def feed_ids(page_: paging.Page) -> list[tuple[str, int]]:
    return [(paging.model_label(type(v)), v.pk) for v in page_.versions]


def interleaved(actor: Any) -> list[tuple[str, int]]:
    """Versions of products and categories, written alternately; newest first."""
    for n in range(3):
        product = product_create(
            data={"name": f"P{n}", "price": Decimal("1")}, actor=actor
        )
        category = category_create(data={"name": f"C{n}"}, actor=None)
        product_update(pk=product.pk, data={"quantity": 2}, actor=actor)
        category_update(pk=category.pk, data={"name": f"C{n}!"}, actor=None)
    rows = [
        (v.history_date, paging.model_label(type(v)), v.pk)
        for model in (HistoricalProduct, HistoricalCategory)
        for v in model.objects.all()
    ]
    return [(label, pk) for _, label, pk in sorted(rows, reverse=True)]


def querysets() -> list[Any]:
    return [HistoricalProduct.objects.all(), HistoricalCategory.objects.all()]


def test_feed_interleaves_models_newest_first(editor, django_assert_num_queries):
    expected = interleaved(editor)
    labels = [label for label, _ in expected]
    assert (
        labels[:4]
        == [
            "products.historicalcategory",
            "products.historicalproduct",
        ]
        * 2
    )
    with django_assert_num_queries(3):  # the page, then one per model
        first = paging.feed_page(querysets(), bounds=paging.Bounds(first=5))
    assert feed_ids(first) == expected[:5]
    assert (first.has_next, first.has_previous) == (True, False)
    with django_assert_num_queries(2):
        assert paging.feed_total(querysets()) == len(expected)


def test_feed_breaks_ties_of_the_same_moment_by_model_then_id(editor):
    interleaved(editor)
    moment = timezone.now()
    with bypass_guards():
        HistoricalProduct.objects.update(history_date=moment)
        HistoricalCategory.objects.update(history_date=moment)
    expected = [("products.historicalproduct", i) for i in newest_first()] + [
        ("products.historicalcategory", i) for i in newest_first(HistoricalCategory)
    ]
    walked: list[tuple[str, int]] = []
    after = None
    while True:
        result = paging.feed_page(
            querysets(), bounds=paging.Bounds(first=4, after=after)
        )
        walked += feed_ids(result)
        if not result.has_next:
            break
        after = paging.Key.of(result.versions[-1])
    assert walked == expected


def test_feed_walks_with_writes_between_pages_see_each_version_once(editor):
    expected = interleaved(editor)
    walked: list[tuple[str, int]] = []
    after = None
    while True:
        result = paging.feed_page(
            querysets(), bounds=paging.Bounds(first=3, after=after)
        )
        walked += feed_ids(result)
        if not result.has_next:
            break
        after = paging.Key.of(result.versions[-1])
        product_create(data={"name": "Meanwhile", "price": Decimal("1")}, actor=editor)
        category_create(data={"name": "Meanwhile"}, actor=None)
    assert walked == expected
    backwards: list[tuple[str, int]] = []
    before = None
    while True:
        result = paging.feed_page(
            querysets(), bounds=paging.Bounds(last=4, before=before)
        )
        backwards = feed_ids(result) + backwards
        if not result.has_previous:
            break
        before = paging.Key.of(result.versions[0])
    assert backwards[-len(expected) :] == expected


def test_feed_refuses_a_cursor_of_a_model_it_does_not_hold(editor):
    interleaved(editor)
    key = paging.Key.of(HistoricalCategory.objects.first())
    with pytest.raises(paging.BadKey, match="another connection"):
        paging.feed_page(
            [HistoricalProduct.objects.all()], bounds=paging.Bounds(after=key, first=2)
        )


FIVE_HOURS_WEST = datetime.timezone(-datetime.timedelta(hours=5))


@pytest.mark.parametrize(
    "moment",
    [
        datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC),
        datetime.datetime(2026, 3, 1, 12, 0, 0, 1234, tzinfo=datetime.UTC),
        datetime.datetime(
            1999,
            12,
            31,
            23,
            59,
            59,
            tzinfo=datetime.timezone(-datetime.timedelta(hours=5)),
        ),
    ],
)
def test_a_key_is_written_as_the_json_it_always_was(moment):
    key = paging.Key(
        history_date=moment, model="products.historicalproduct", history_id=7
    )
    version = HistoricalProduct(history_id=7, history_date=moment)

    written = json.dumps(
        [moment.astimezone(datetime.UTC).isoformat(), key.model, 7],
        separators=(",", ":"),
    )
    assert paging.encode_key(key) == written
    assert paging.encode_key_of(version) == written
    assert paging.decode_key(written) == key
