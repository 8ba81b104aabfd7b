"""The bad-input matrix of the queries: bad ids, filters, page sizes, cursors
and moments, one case per bad value."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tests.schema.bad_input import ANY, FAIL, HUGE, PERMISSION_DENIED, Case, Ref
from tests.schema.bad_input_mutations import WRONG_JSON_FOR_ID, b64, bad_ids


@dataclass(frozen=True)
class Query:
    """A query with one argument, and a value of it that answers."""

    name: str
    document: str
    field: str
    argument: str
    base: dict[str, Any]
    type_name: str

    def case(self, label: str, value: Any, expect: frozenset[str] | None) -> Case:
        return Case(
            id=f"{self.name}-{label}",
            document=self.document,
            variables={**self.base, self.argument: value},
            field=self.field,
            mutation=False,
            expect=expect,
        )


def query(
    name: str,
    document: str,
    type_name: str,
    base: dict[str, Any],
    argument: str = "id",
) -> Query:
    field_name = document.split("{", 1)[1].split("(", 1)[0].strip()
    return Query(name, document, field_name, argument, base, type_name)


HISTORY_NODE = "historyId name historyChangeReason"
ID_QUERIES = [
    query(
        "product",
        "query($id: ID!) { product(id: $id) { id name } }",
        "Product",
        {"id": Ref("product")},
    ),
    query(
        "category",
        "query($id: ID!) { category(id: $id) { id name } }",
        "Category",
        {"id": Ref("category")},
    ),
    query(
        "productAsOf",
        "query($id: ID!, $at: DateTime!) { productAsOf(id: $id, at: $at) "
        "{ historyId name } }",
        "Product",
        {"id": Ref("product"), "at": "2100-01-01T00:00:00Z"},
    ),
    query(
        "categoryAsOf",
        "query($id: ID!, $at: DateTime!) { categoryAsOf(id: $id, at: $at) "
        "{ historyId name } }",
        "Category",
        {"id": Ref("category"), "at": "2100-01-01T00:00:00Z"},
    ),
    query(
        "node",
        "query($id: ID!) { node(id: $id) { __typename id } }",
        "Product",
        {"id": Ref("product")},
    ),
    query(
        "productDiff",
        "query($id: ID!, $against: ID!) { node(id: $id) { ... on HistoricalProduct "
        "{ diff(against: $against) { field oldValue newValue } } } }",
        "HistoricalProduct",
        {"id": Ref("product_latest"), "against": Ref("product_first")},
        argument="against",
    ),
    query(
        "categoryDiff",
        "query($id: ID!, $against: ID!) { node(id: $id) { ... on HistoricalCategory "
        "{ diff(against: $against) { field oldValue newValue } } } }",
        "HistoricalCategory",
        {"id": Ref("category_latest"), "against": Ref("category_first")},
        argument="against",
    ),
    query(
        "productsByCategory",
        "query($id: ID) { products(filters: {category: $id}) "
        "{ totalCount edges { node { id } } } }",
        "Category",
        {"id": Ref("category")},
    ),
    query(
        "productHistoryByProduct",
        "query($id: ID) { productHistory(filters: {product: $id}) "
        f"{{ totalCount edges {{ node {{ {HISTORY_NODE} }} }} }} }}",
        "Product",
        {"id": Ref("product")},
    ),
    query(
        "productHistoryByCategory",
        "query($id: ID) { productHistory(filters: {category: $id}) "
        f"{{ totalCount edges {{ node {{ {HISTORY_NODE} }} }} }} }}",
        "Category",
        {"id": Ref("category")},
    ),
    query(
        "productHistoryByUser",
        "query($id: ID) { productHistory(filters: {historyUser: $id}) "
        f"{{ totalCount edges {{ node {{ {HISTORY_NODE} }} }} }} }}",
        "Product",
        {"id": Ref("user")},
    ),
    query(
        "categoryHistoryByCategory",
        "query($id: ID) { categoryHistory(filters: {category: $id}) "
        f"{{ totalCount edges {{ node {{ {HISTORY_NODE} }} }} }} }}",
        "Category",
        {"id": Ref("category")},
    ),
    query(
        "categoryHistoryByUser",
        "query($id: ID) { categoryHistory(filters: {historyUser: $id}) "
        f"{{ totalCount edges {{ node {{ {HISTORY_NODE} }} }} }} }}",
        "Category",
        {"id": Ref("user")},
    ),
]

PRODUCT_HISTORY = query(
    "productHistoryFilters",
    "query($filters: HistoricalProductFilter, $first: Int, $after: String, "
    "$last: Int, $before: String) { productHistory(filters: $filters, "
    "first: $first, after: $after, last: $last, before: $before) "
    f"{{ totalCount edges {{ node {{ {HISTORY_NODE} }} }} }} }}",
    "Product",
    {"filters": None},
    argument="filters",
)
PRODUCTS = query(
    "productsFilters",
    "query($filters: ProductFilter, $ordering: [ProductOrder!]) "
    "{ products(filters: $filters, ordering: $ordering) "
    "{ totalCount edges { node { id name } } } }",
    "Product",
    {"filters": None},
    argument="filters",
)
# Bad filter and page values: (query, argument, label, value).
FILTER_VALUES: list[tuple[Query, str, str, Any]] = [
    *(
        (q, "filters", f"name_{lookup}_{label}", {"name": {lookup: value}})
        for q in (PRODUCT_HISTORY, PRODUCTS)
        for lookup, label, value in [
            ("regex", "unbalanced", "("),
            ("regex", "bracket", "["),
            ("regex", "nothing_to_repeat", "*"),
            ("regex", "trailing_backslash", "\\"),
            ("iRegex", "unbalanced", "(?i"),
            ("exact", "nul", "a\x00b"),
            ("iContains", "nul", "\x00"),
            ("iContains", "lone_surrogate", "\ud800"),
            ("iContains", "huge", HUGE),
            ("startsWith", "like_wildcards", "%_\\"),
            ("inList", "nul", ["\x00"]),
            ("exact", "list", ["a"]),
        ]
    ),
    *(
        (q, "filters", label, value)
        for q in (PRODUCT_HISTORY, PRODUCTS)
        for label, value in [
            ("price_gt_nan", {"price": {"gt": "NaN"}}),
            ("price_gt_huge", {"price": {"gt": "1e999999"}}),
            ("price_exact_infinity", {"price": {"exact": "Infinity"}}),
            ("price_in_list_word", {"price": {"inList": ["abc"]}}),
            ("price_range_reversed", {"price": {"range": {"start": "9", "end": "1"}}}),
            ("quantity_beyond_32_bits", {"quantity": {"gt": 2**31}}),
            ("quantity_string", {"quantity": {"exact": "5"}}),
            ("quantity_is_null_string", {"quantity": {"isNull": "yes"}}),
            ("unknown_filter", {"colour": "red"}),
            ("tag_nul", {"tag": "\x00"}),
            ("deep_not", {"NOT": {"NOT": {"NOT": {"name": {"exact": "x"}}}}}),
        ]
    ),
    *(
        (PRODUCT_HISTORY, "filters", label, value)
        for label, value in [
            ("date_garbage", {"historyDate": {"gte": "yesterday"}}),
            ("date_month_13", {"historyDate": {"gte": "2024-13-01T00:00:00Z"}}),
            ("date_year_zero", {"historyDate": {"gte": "0000-01-01T00:00:00Z"}}),
            ("date_offset_25h", {"historyDate": {"gte": "2024-01-01T00:00:00+25:00"}}),
            ("date_far_future", {"historyDate": {"lt": "9999-12-31T23:59:59+00:00"}}),
            ("date_far_past", {"historyDate": {"gt": "0001-01-01T00:00:00-05:00"}}),
            ("date_number", {"historyDate": {"gte": 1700000000}}),
            ("date_year_huge", {"historyDate": {"year": {"exact": 99999}}}),
            ("type_unknown", {"historyType": "BOGUS"}),
            ("type_lowercase", {"historyType": "created"}),
            ("changed_field_nul", {"changedField": "price\x00"}),
            ("changed_field_sql", {"changedField": "price'); --"}),
            ("changed_field_huge", {"changedField": HUGE}),
            ("search_operators", {"search": "& | ! ( ) : * <-> '"}),
            ("search_quote", {"search": "'"}),
            ("search_nul", {"search": "lamp\x00"}),
            ("search_empty", {"search": ""}),
            ("search_huge", {"search": HUGE}),
            ("search_backslash", {"search": "\\"}),
            ("search_emoji", {"search": "💡 e\u0301"}),
        ]
    ),
    *(
        (PRODUCT_HISTORY, argument, label, value)
        for argument, label, value in [
            ("first", "negative", -1),
            ("first", "zero", 0),
            ("first", "over_page_size", 101),
            ("first", "beyond_32_bits", 2**31),
            ("first", "string", "10"),
            ("last", "negative", -5),
            ("after", "garbage", "garbage"),
            ("after", "negative_offset", b64("arrayconnection:-5")),
            ("after", "huge_offset", b64("arrayconnection:" + "9" * 30)),
            ("after", "not_a_number", b64("arrayconnection:x")),
            ("before", "nul", "\x00"),
            ("before", "number", 5),
        ]
    ),
    *(
        (PRODUCTS, "ordering", label, value)
        for label, value in [
            ("two_keys", [{"name": "ASC", "price": "DESC"}]),
            ("no_key", [{}]),
            ("unknown_direction", [{"name": "SIDEWAYS"}]),
            ("unknown_key", [{"supplierCost": "ASC"}]),
            ("null_item", [None]),
        ]
    ),
]
BAD_MOMENTS: dict[str, Any] = {
    "empty": "",
    "word": "yesterday",
    "month_13": "2024-13-01T00:00:00Z",
    "year_zero": "0000-01-01T00:00:00Z",
    "earliest": "0001-01-01T00:00:00+14:00",
    "latest": "9999-12-31T23:59:59-14:00",
    "offset_25h": "2024-01-01T00:00:00+25:00",
    "date_only": "2024-01-01",
    "number": 1700000000,
    "nul": "2024-01-01T00:00:00\x00",
    "huge": HUGE,
}


def query_cases() -> Iterator[Case]:
    for q in ID_QUERIES:
        for label, value in bad_ids(q.type_name):
            yield q.case(label, value, ANY)
        for label, value in WRONG_JSON_FOR_ID.items():
            yield q.case(f"wrong_json_{label}", value, FAIL)
    for q in ID_QUERIES:
        if "at" in q.base:
            for label, value in BAD_MOMENTS.items():
                yield Case(
                    id=f"{q.name}-at={label}",
                    document=q.document,
                    variables={**q.base, "at": value},
                    field=q.field,
                    mutation=False,
                )
    for q, argument, label, value in FILTER_VALUES:
        yield Case(
            id=f"{q.name}-{argument}-{label}",
            document=q.document,
            variables={**q.base, argument: value},
            field=q.field,
            mutation=False,
        )
    yield Case(
        id="productHistory-as_reader",
        document=PRODUCT_HISTORY.document,
        variables=PRODUCT_HISTORY.base,
        field=PRODUCT_HISTORY.field,
        mutation=False,
        expect=PERMISSION_DENIED,
        role="reader",
    )
