"""Bad input over HTTP gets a clear answer, and a refused mutation writes nothing.

Every answer must be a success, or a failure that says why: `OperationInfo`
messages that each carry a `code`, or GraphQL errors that each carry an
`extensions.code` (never `INTERNAL_SERVER_ERROR`). The status is 200 or 4xx,
never 5xx. When a mutation fails, every row of the catalog (products,
categories, tags, product-tag links) and of its history (product and category
versions, the versions' tag rows) is exactly as it was.

The matrix sends one bad value at a time, through JSON variables, in an input
that succeeds as it is (`test_every_base_input_succeeds`), so each case tests
the one value it changes. The property-based tests generate whole inputs that
mix valid and invalid values, and check on success that exactly the expected
versions were written, holding the values the API answered.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from history.tracking import m2m_history_model
from products import services
from products.models import Category, Product, Tag
from tests.conftest import EDITOR_PERMISSIONS, bearer
from tests.factories import UserFactory
from tests.helpers import CATALOG_PERMISSIONS, gid, node_pk, post

HistoricalProduct: Any = Product.history.model
HistoricalCategory: Any = Category.history.model
HistoricalProductTags: Any = m2m_history_model(Product, Product._meta.get_field("tags"))
ProductTags: Any = Product.tags.through

# Every table a mutation may write, catalog and history alike.
TABLES: tuple[Any, ...] = (
    Product,
    Category,
    Tag,
    ProductTags,
    HistoricalProduct,
    HistoricalCategory,
    HistoricalProductTags,
)
HISTORY_TABLES = (HistoricalProduct, HistoricalCategory, HistoricalProductTags)

GRAPHQL_RESPONSE = "application/graphql-response+json"
CENT = Decimal("0.01")
HUGE = "x" * 100_000

Snapshot = dict[str, list[dict[str, Any]]]


# --- Talking to the server and judging its answers --------------------------


def send(
    document: str,
    variables: Any,
    *,
    headers: Mapping[str, str],
    accept: str = "application/json",
) -> tuple[int, Any]:
    """POST a document over HTTP; the status and the decoded JSON answer.

    An exception escaping the view (a 500) fails the test with its traceback:
    Django's test client raises it."""
    response = post(document, variables, headers={**headers, "Accept": accept})
    return response.status_code, response.json()


def shown(body: Any) -> str:
    """An answer in an assertion message, cut short (huge inputs echo back)."""
    text = repr(body)
    return text if len(text) <= 1500 else text[:1500] + "..."


@dataclass(frozen=True)
class Verdict:
    """What an answer says: success, or failure with the codes it gave."""

    succeeded: bool
    codes: list[str]
    payload: Any


def verdict(status: int, body: Any, field_name: str | None) -> Verdict:
    """Judge an answer, failing the test unless it is a success or a clear error.

    `field_name` is the root field whose payload may be an `OperationInfo`.
    """
    assert status == 200 or 400 <= status < 500, f"HTTP {status}: {shown(body)}"
    assert isinstance(body, dict), shown(body)
    codes: list[str] = []
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code, f"a GraphQL error without extensions.code: {shown(error)}"
        assert code != "INTERNAL_SERVER_ERROR", f"a server error: {shown(body)}"
        codes.append(code)
    if status != 200:
        assert codes, f"HTTP {status} without errors: {shown(body)}"
        assert body.get("data") is None, f"HTTP {status} with data: {shown(body)}"
    data = body.get("data")
    payload = data.get(field_name) if isinstance(data, dict) and field_name else None
    if isinstance(payload, dict) and payload.get("__typename") == "OperationInfo":
        messages = payload.get("messages") or []
        assert messages, f"an OperationInfo without messages: {shown(body)}"
        for message in messages:
            assert message.get("code"), f"a message without a code: {shown(message)}"
            codes.append(message["code"])
    if not codes:
        assert data is not None, f"neither data nor errors: {shown(body)}"
    return Verdict(succeeded=not codes, codes=codes, payload=payload)


@contextmanager
def explained(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Add the server's logged errors (the real cause behind a masked
    `INTERNAL_SERVER_ERROR`) to a failed assertion."""
    try:
        yield
    except AssertionError as error:
        logged = [
            f"{r.name}: {r.getMessage()}"
            for r in caplog.records
            if r.levelno >= logging.ERROR
        ]
        if logged:
            error.args = (f"{error}\nThe server logged: {logged}",)
        raise


def snapshot() -> Snapshot:
    """Every row of every table a mutation may write, by primary key."""
    return {
        model._meta.label: list(model._base_manager.order_by("pk").values())
        for model in TABLES
    }


def history_rows() -> int:
    return sum(model._base_manager.count() for model in HISTORY_TABLES)


def assert_unchanged(before: Snapshot, what: str) -> None:
    """Fail, naming the rows that changed, unless every row is as it was."""
    after = snapshot()
    for label, rows in before.items():
        assert after[label] == rows, f"{what} changed {label}: {rows} -> {after[label]}"


# --- The seeded catalog ----------------------------------------------------


@dataclass
class Catalog:
    """Data every case starts from, and the global ids that name it."""

    lamp: Product
    desk: Product
    lighting: Category
    admin_id: int
    refs: dict[str, str]
    headers: Callable[[str], dict[str, str]]


def seed_catalog() -> tuple[Product, Product, Category]:
    """A category and two products, each with more than one version; the lamp
    is in the category and has a tag."""
    lighting = services.category_create(
        data={"name": "Lighting", "description": "Lamps."}, actor=None, reason="new"
    )
    services.category_update(
        pk=lighting.pk, data={"name": "Lights"}, actor=None, reason="shorter"
    )
    lamp = services.product_create(
        data={
            "name": "Lamp",
            "description": "A lamp.",
            "price": Decimal("10.00"),
            "quantity": 2,
            "category": lighting.pk,
            "tags": ["brass"],
        },
        actor=None,
        reason="new",
    )
    services.product_update(
        pk=lamp.pk,
        data={"price": Decimal("12.00"), "tags": ["brass", "steel"]},
        actor=None,
        reason="dearer",
    )
    desk = services.product_create(
        data={"name": "Desk", "price": Decimal("100.00"), "quantity": 1},
        actor=None,
        reason="new",
    )
    lighting.refresh_from_db()
    lamp.refresh_from_db()
    return lamp, desk, lighting


def versions_of(history_model: Any, pk: int) -> list[Any]:
    return list(history_model.objects.filter(id=pk).order_by("history_id"))


def build_catalog() -> Catalog:
    """Seed the catalog and the users who send the requests."""
    admin: Any = UserFactory(
        username="admin", is_staff=True, permissions=CATALOG_PERMISSIONS
    )
    users = {
        "admin": admin,
        "editor": UserFactory(username="editor", permissions=EDITOR_PERMISSIONS),
        "reader": UserFactory(username="reader"),
    }
    tokens = {role: bearer(user) for role, user in users.items()}
    lamp, desk, lighting = seed_catalog()
    lamp_versions = versions_of(HistoricalProduct, lamp.pk)
    category_versions = versions_of(HistoricalCategory, lighting.pk)
    refs = {
        "product": gid("Product", lamp.pk),
        "product_first": gid("HistoricalProduct", lamp_versions[0].history_id),
        "product_latest": gid("HistoricalProduct", lamp_versions[-1].history_id),
        "other_product": gid("Product", desk.pk),
        "other_product_first": gid(
            "HistoricalProduct", versions_of(HistoricalProduct, desk.pk)[0].history_id
        ),
        "category": gid("Category", lighting.pk),
        "category_first": gid("HistoricalCategory", category_versions[0].history_id),
        "category_latest": gid("HistoricalCategory", category_versions[-1].history_id),
        "user": gid("User", admin.pk),
    }
    return Catalog(
        lamp=lamp,
        desk=desk,
        lighting=lighting,
        admin_id=admin.pk,
        refs=refs,
        headers=lambda role: tokens.get(role, {}),
    )


@pytest.fixture(scope="module")
def module_catalog(django_db_setup: None, django_db_blocker: Any) -> Iterator[Catalog]:
    """The catalog, written once for the whole module in a transaction that is
    rolled back when the module ends. Each test runs in a savepoint of it
    (pytest-django's `db`), so each starts from this state."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_catalog()
        transaction.set_rollback(True)


@pytest.fixture
def catalog(db: None, module_catalog: Catalog) -> Catalog:
    return module_catalog


# --- The matrix ------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """A global id of the seeded data, known only once it exists."""

    name: str


class Missing:
    """Leave the value out of the input altogether."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = Missing()
Path = tuple[str | int, ...]

ANY: frozenset[str] | None = None  # a success, or a failure with codes
FAIL: frozenset[str] = frozenset()  # a failure, whatever its codes
INVALID = frozenset({"INVALID"})
NOT_FOUND = frozenset({"NOT_FOUND"})
STALE = frozenset({"STALE"})
REASON_REQUIRED = frozenset({"REASON_REQUIRED"})
UNKNOWN_FIELD = frozenset({"UNKNOWN_FIELD"})
PERMISSION_DENIED = frozenset({"PERMISSION_DENIED"})


def resolve(value: Any, refs: Mapping[str, str]) -> Any:
    """`value` with every `Ref` replaced by the global id it names."""
    if isinstance(value, Ref):
        return refs[value.name]
    if isinstance(value, dict):
        return {k: resolve(v, refs) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, refs) for v in value]
    return value


def put(value: Any, path: Path, new: Any) -> Any:
    """A copy of `value` with `new` at `path` (`MISSING` removes it)."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    copy: Any = list(value) if isinstance(value, list) else dict(value)
    if isinstance(new, Missing) and not rest:
        del copy[head]
    else:
        copy[head] = put(copy[head], rest, new)
    return copy


def get(value: Any, path: Path) -> Any:
    for key in path:
        value = value[key]
    return value


@dataclass(frozen=True)
class Case:
    """One request of the matrix and what its answer may be."""

    id: str
    document: str
    variables: Any
    field: str
    mutation: bool
    expect: frozenset[str] | None = ANY
    role: str = "admin"
    # On success, the payload's value at this path must equal the value sent.
    echo: tuple[Path, Any] | None = None
    accept: str = "application/json"


ERRORS = "__typename ... on OperationInfo { messages { kind message field code } }"
PRODUCT = "id name description price quantity category { id } tags { name }"


@dataclass(frozen=True)
class Operation:
    """A mutation, an input of it that succeeds, and what its answer selects."""

    field: str
    input_type: str
    selection: str
    base: dict[str, Any]
    echo_root: Path = ()

    @property
    def document(self) -> str:
        return (
            f"mutation($input: {self.input_type}!) {{ {self.field}(input: $input) "
            f"{{ {ERRORS} {self.selection} }} }}"
        )

    def case(
        self,
        name: str,
        variables: Any,
        expect: frozenset[str] | None,
        *,
        role: str = "admin",
        echo: tuple[Path, Any] | None = None,
    ) -> Case:
        return Case(
            id=f"{self.field}-{name}",
            document=self.document,
            variables=variables,
            field=self.field,
            mutation=True,
            expect=expect,
            role=role,
            echo=echo,
        )

    def with_value(
        self,
        path: Path,
        label: str,
        value: Any,
        expect: frozenset[str] | None,
        *,
        echo: bool = False,
    ) -> Case:
        name = ".".join(str(p) for p in path)
        return self.case(
            f"{name}={label}",
            {"input": put(self.base, path, value)},
            expect,
            echo=(self.echo_root + path[-1:], value) if echo else None,
        )


OPERATIONS = {
    op.field: op
    for op in [
        Operation(
            "createProduct",
            "CreateProductInput",
            f"... on Product {{ {PRODUCT} }}",
            {
                "name": "Desk lamp",
                "description": "Brass.",
                "price": "19.90",
                "quantity": 3,
                "category": Ref("category"),
                "tags": ["brass", "new"],
                "supplierCost": "7.50",
                "reason": "new line",
            },
        ),
        Operation(
            "updateProduct",
            "UpdateProductInput",
            f"... on Product {{ {PRODUCT} }}",
            {
                "id": Ref("product"),
                "name": "Lamp II",
                "description": "Taller.",
                "price": "14.00",
                "quantity": 4,
                "category": None,
                "tags": ["oak"],
                "supplierCost": "8.00",
                "reason": "restyled",
            },
        ),
        Operation(
            "deleteProduct",
            "DeleteProductInput",
            "... on Product { id name }",
            {"id": Ref("product"), "reason": "discontinued"},
        ),
        Operation(
            "revertProduct",
            "RevertProductInput",
            f"... on RevertProductResult {{ product {{ {PRODUCT} }} "
            "record { historyId } changes { field } }",
            {
                "id": Ref("product"),
                "record": Ref("product_first"),
                "reason": "too dear",
                "fields": ["price"],
                "expectedLatest": Ref("product_latest"),
                "dryRun": False,
            },
        ),
        Operation(
            "adjustPrices",
            "AdjustPricesInput",
            "... on ProductsResult { count products { id price } }",
            {
                "ids": [Ref("product"), Ref("other_product")],
                "reason": "sale",
                "percent": "-10",
            },
        ),
        Operation(
            "importProducts",
            "ImportProductsInput",
            "... on ProductsResult { count products { id name description price "
            "quantity category { id } } }",
            {
                "products": [
                    {
                        "name": "Stool",
                        "description": "Oak.",
                        "price": "30.00",
                        "quantity": 1,
                        "category": Ref("category"),
                    }
                ],
                "reason": "imported",
            },
            echo_root=("products", 0),
        ),
        Operation(
            "createCategory",
            "CreateCategoryInput",
            "... on Category { id name description }",
            {"name": "Garden", "description": "Outdoor.", "reason": "new"},
        ),
        Operation(
            "updateCategory",
            "UpdateCategoryInput",
            "... on Category { id name description }",
            {
                "id": Ref("category"),
                "name": "Lamps",
                "description": "All lamps.",
                "reason": "rename",
            },
        ),
        Operation(
            "deleteCategory",
            "DeleteCategoryInput",
            "... on Category { id name }",
            {"id": Ref("category"), "reason": "merged"},
        ),
        Operation(
            "revertCategory",
            "RevertCategoryInput",
            "... on RevertCategoryResult { category { id name description } "
            "record { historyId } changes { field } }",
            {
                "id": Ref("category"),
                "record": Ref("category_first"),
                "reason": "old name",
                "fields": ["name"],
                "expectedLatest": Ref("category_latest"),
                "dryRun": False,
            },
        ),
    ]
}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def malformed_ids(type_name: str) -> dict[str, Any]:
    """Ids that name no `type_name`, whether or not they decode."""
    return {
        "empty": "",
        "blank": "   ",
        "abc": "abc",
        "bangs": "!!!",
        "type_only": b64(type_name),
        "not_a_number": b64(f"{type_name}:x"),
        "negative": b64(f"{type_name}:-1"),
        "two_colons": b64(f"{type_name}:1:2"),
        "absent": b64(f"{type_name}:999999"),
        "beyond_64_bits": b64(f"{type_name}:9223372036854775808"),
        "huge": b64(f"{type_name}:{'9' * 40}"),
        "raw_huge_number": "9" * 20,
        "nul": b64(f"{type_name}:1\x00"),
        "not_utf8": base64.b64encode(b"\xff\xfe:1").decode(),
        "lowercase_type": b64(f"{type_name.lower()}:1"),
        "very_long": "QUFB" * 5000,
        "json_int": 999999,
    }


OTHER_TYPES = {
    "Product": ["category", "product_first", "user"],
    "Category": ["product", "category_first", "user"],
    "HistoricalProduct": ["product", "category_first", "user"],
    "HistoricalCategory": ["category", "product_first", "user"],
}
WRONG_JSON_FOR_ID = {"list": ["x"], "object": {"id": 1}, "bool": True, "float": 1.5}


def bad_ids(type_name: str) -> Iterator[tuple[str, Any]]:
    yield from malformed_ids(type_name).items()
    for name in OTHER_TYPES[type_name]:
        yield f"other_type_{name}", Ref(name)


# The id fields of each mutation: the type they name and the code a bad one gets.
ID_FIELDS: list[tuple[str, Path, str, frozenset[str]]] = [
    ("createProduct", ("category",), "Category", NOT_FOUND),
    ("updateProduct", ("id",), "Product", NOT_FOUND),
    ("updateProduct", ("category",), "Category", NOT_FOUND),
    ("deleteProduct", ("id",), "Product", NOT_FOUND),
    ("revertProduct", ("id",), "Product", NOT_FOUND),
    ("revertProduct", ("record",), "HistoricalProduct", NOT_FOUND),
    ("revertProduct", ("expectedLatest",), "HistoricalProduct", STALE),
    ("adjustPrices", ("ids", 0), "Product", NOT_FOUND),
    ("importProducts", ("products", 0, "category"), "Category", NOT_FOUND),
    ("updateCategory", ("id",), "Category", NOT_FOUND),
    ("deleteCategory", ("id",), "Category", NOT_FOUND),
    ("revertCategory", ("id",), "Category", NOT_FOUND),
    ("revertCategory", ("record",), "HistoricalCategory", NOT_FOUND),
    ("revertCategory", ("expectedLatest",), "HistoricalCategory", STALE),
]

ODD_TEXT: dict[str, str] = {
    "huge": HUGE,
    "nul": "a\x00b",
    "rtl_override": "\u202eevil\u202c",
    "rtl_mark": "\u200fname\u200e",
    "emoji": "💡🔥",
    "zwj_emoji": "👨\u200d👩\u200d👧",
    "combining": "e\u0301\u0301\u0301\u0301",
    "lone_high_surrogate": "a\ud800b",
    "lone_low_surrogate": "\udfff",
    "controls": "a\x01\x1f\x7fb",
    "newlines": "a\r\nb\n",
    "sql": "'; DROP TABLE products_product; --",
}
# The odd texts every text field gets; the fields marked full get them all.
SOME_ODD_TEXT = ("huge", "nul", "rtl_override", "zwj_emoji", "lone_high_surrogate")


def text_expectation(kind: str, label: str) -> frozenset[str] | None:
    """What an odd text gets: NUL bytes are always refused; the huge text is too
    long for names and tags; the rest may pass."""
    if label == "nul":
        return INVALID
    if label == "huge" and kind in ("name", "tag"):
        return INVALID
    return ANY


# Text fields of each mutation: path, kind ("name", "text", "reason", "tag").
TEXT_FIELDS: list[tuple[str, Path, str, bool]] = [
    ("createProduct", ("name",), "name", True),
    ("createProduct", ("description",), "text", True),
    ("createProduct", ("reason",), "reason", True),
    ("createProduct", ("tags", 0), "tag", True),
    ("updateProduct", ("name",), "name", True),
    ("updateProduct", ("description",), "text", False),
    ("updateProduct", ("reason",), "reason", False),
    ("updateProduct", ("tags", 0), "tag", False),
    ("deleteProduct", ("reason",), "reason", False),
    ("revertProduct", ("reason",), "reason", True),
    ("adjustPrices", ("reason",), "reason", False),
    ("importProducts", ("products", 0, "name"), "name", True),
    ("importProducts", ("products", 0, "description"), "text", False),
    ("importProducts", ("reason",), "reason", False),
    ("createCategory", ("name",), "name", True),
    ("createCategory", ("description",), "text", False),
    ("createCategory", ("reason",), "reason", False),
    ("updateCategory", ("name",), "name", False),
    ("updateCategory", ("description",), "text", False),
    ("updateCategory", ("reason",), "reason", False),
    ("deleteCategory", ("reason",), "reason", False),
    ("revertCategory", ("reason",), "reason", False),
]
REQUIRED_REASON = {"revertProduct", "adjustPrices", "revertCategory"}
ECHOED_KINDS = {"name", "text"}

# Decimal fields: a price-like field must stay a valid non-negative money amount.
MONEY_FIELDS: list[tuple[str, Path]] = [
    ("createProduct", ("price",)),
    ("createProduct", ("supplierCost",)),
    ("updateProduct", ("price",)),
    ("updateProduct", ("supplierCost",)),
    ("importProducts", ("products", 0, "price")),
]
NOT_A_DECIMAL: dict[str, Any] = {
    "word": "abc",
    "empty": "",
    "blank": "   ",
    "hex": "0x10",
    "comma": "1,5",
    "two_points": "1.2.3",
    "currency": "$5",
    "json_bool": True,
    "json_list": ["1"],
    "json_object": {"value": "1"},
}
# Finite decimals a price may not take: refused by validation (INVALID).
INVALID_MONEY: dict[str, Any] = {
    "negative": "-1",
    "minus_a_cent": "-0.01",
    "three_places": "1.234",
    "fourteen_digits": "12345678901234",
    "eleven_integer_digits": "12345678901.00",
}
# Decimals that are not finite or far out of range: refused, whether by the
# Decimal scalar (a GraphQL error) or by validation (INVALID).
NOT_A_PRICE: dict[str, Any] = {
    "huge_exponent": "1e999999",
    "huge_negative": "-1e999999",
    "tiny_exponent": "1e-999999",
    "nan": "NaN",
    "negative_nan": "-NaN",
    "signalling_nan": "sNaN",
    "infinity": "Infinity",
    "negative_infinity": "-Infinity",
    "inf": "inf",
    "json_nan": float("nan"),
    "json_infinity": float("inf"),
    "json_huge_float": 1e308,
}
# Odd but valid money amounts.
ODD_MONEY: dict[str, Any] = {
    "largest": "9999999999.99",
    "zero": "0",
    "negative_zero": "-0",
    "exponent_form": "1E+2",
    "underscores": "1_000",
    "arabic_digits": "١٢",
    "padded": " 5 ",
    "json_float": 1.5,
    "json_int": 7,
}
# adjustPrices' percent and amount: negative is fine, a negative result is not;
# values that are not finite decimals are refused one way or another.
ADJUSTMENTS: dict[str, tuple[Any, frozenset[str] | None]] = {
    "percent=-100": ("-100", ANY),
    "percent=-101": ("-101", INVALID),
    "percent=1e999999": ("1e999999", FAIL),
    "percent=-1e999999": ("-1e999999", FAIL),
    "percent=1e-999999": ("1e-999999", ANY),
    "percent=NaN": ("NaN", FAIL),
    "percent=sNaN": ("sNaN", FAIL),
    "percent=Infinity": ("Infinity", FAIL),
    "percent=-Infinity": ("-Infinity", FAIL),
    "percent=12345678901234": ("12345678901234", INVALID),
    "percent=0.001": ("0.001", ANY),
    # Finite, but the new price has more digits than decimal arithmetic keeps.
    "percent=1e30": ("1e30", FAIL),
    "percent=json_float_8e26": (8.333333333333334e26, FAIL),
    "percent=json_nan": (float("nan"), FAIL),
    "amount=-1000": ("-1000", INVALID),
    "amount=1.234": ("1.234", ANY),
    "amount=1e999999": ("1e999999", FAIL),
    "amount=-1e999999": ("-1e999999", FAIL),
    "amount=NaN": ("NaN", FAIL),
    "amount=Infinity": ("Infinity", FAIL),
    "amount=-Infinity": ("-Infinity", FAIL),
    "amount=12345678901234": ("12345678901234", INVALID),
    "amount=9999999999.99": ("9999999999.99", INVALID),
    "amount=1e30": ("1e30", FAIL),
}

INT_FIELDS: list[tuple[str, Path]] = [
    ("createProduct", ("quantity",)),
    ("updateProduct", ("quantity",)),
    ("importProducts", ("products", 0, "quantity")),
]
BAD_INTS: dict[str, tuple[Any, frozenset[str] | None]] = {
    "negative": (-1, INVALID),
    "most_negative_32_bit": (-(2**31), INVALID),
    "largest_32_bit": (2**31 - 1, ANY),
    "beyond_32_bits": (2**31, FAIL),
    "below_32_bits": (-(2**31) - 1, FAIL),
    "beyond_64_bits": (2**64, FAIL),
    "huge": (10**40, FAIL),
    "fraction": (1.5, FAIL),
    "integral_float": (3.0, ANY),
    "json_nan": (float("nan"), FAIL),
    "string": ("5", FAIL),
    "word": ("many", FAIL),
    "bool": (True, FAIL),
    "list": ([1], FAIL),
    "object": ({"n": 1}, FAIL),
}

# Lists of strings: tags (names; created when missing) and revert's `fields`.
LIST_CASES: list[tuple[str, Path, str, Any, frozenset[str] | None]] = [
    ("createProduct", ("tags",), "single_string", "brass", ANY),
    ("createProduct", ("tags",), "too_long_tag", ["t" * 51], INVALID),
    ("createProduct", ("tags",), "blank_tags", ["", "   "], ANY),
    ("createProduct", ("tags",), "duplicates", ["oak", " oak ", "oak"], ANY),
    ("createProduct", ("tags",), "many", [f"tag{n}" for n in range(200)], ANY),
    ("createProduct", ("tags",), "null_item", ["oak", None], FAIL),
    ("createProduct", ("tags",), "nested", [["oak"]], FAIL),
    ("createProduct", ("tags",), "number_item", [5], FAIL),
    ("createProduct", ("tags",), "object", {"name": "oak"}, FAIL),
    ("updateProduct", ("tags",), "null", None, ANY),
    ("updateProduct", ("tags",), "empty", [], ANY),
    ("updateProduct", ("tags",), "nul_among_valid", ["oak", "a\x00"], INVALID),
    ("updateProduct", ("tags",), "too_long_among_valid", ["oak", "t" * 51], INVALID),
    ("revertProduct", ("fields",), "empty", [], UNKNOWN_FIELD),
    ("revertProduct", ("fields",), "unknown", ["colour"], UNKNOWN_FIELD),
    ("revertProduct", ("fields",), "untracked", ["supplierCost"], UNKNOWN_FIELD),
    ("revertProduct", ("fields",), "model_name", ["supplier_cost"], UNKNOWN_FIELD),
    ("revertProduct", ("fields",), "key", ["id"], UNKNOWN_FIELD),
    ("revertProduct", ("fields",), "timestamp", ["updatedAt"], UNKNOWN_FIELD),
    ("revertProduct", ("fields",), "history_field", ["historyId"], UNKNOWN_FIELD),
    ("revertProduct", ("fields",), "wrong_case", ["PRICE"], UNKNOWN_FIELD),
    ("revertProduct", ("fields",), "nul", ["price\x00"], UNKNOWN_FIELD),
    ("revertProduct", ("fields",), "huge", [HUGE], UNKNOWN_FIELD),
    ("revertProduct", ("fields",), "valid_and_unknown", ["price", "x"], UNKNOWN_FIELD),
    ("revertProduct", ("fields",), "repeated", ["price", "price"], ANY),
    ("revertProduct", ("fields",), "single_string", "price", ANY),
    ("revertProduct", ("fields",), "null_item", [None], FAIL),
    ("revertCategory", ("fields",), "empty", [], UNKNOWN_FIELD),
    ("revertCategory", ("fields",), "unknown", ["price"], UNKNOWN_FIELD),
    ("revertCategory", ("fields",), "nul", ["\x00"], UNKNOWN_FIELD),
    ("adjustPrices", ("ids",), "empty", [], INVALID),
    ("adjustPrices", ("ids",), "too_many", [Ref("product")] * 1001, INVALID),
    ("adjustPrices", ("ids",), "repeated", [Ref("product")] * 3, ANY),
    ("adjustPrices", ("ids",), "null_item", [None], FAIL),
    ("importProducts", ("products",), "empty", [], INVALID),
    ("importProducts", ("products",), "null_row", [None], FAIL),
    ("importProducts", ("products",), "row_is_a_string", ["Stool"], FAIL),
    (
        "importProducts",
        ("products",),
        "too_many",
        [{"name": "Stool", "price": "1"}] * 1001,
        INVALID,
    ),
    (
        "importProducts",
        ("products",),
        "one_bad_row_of_three",
        [
            {"name": "A", "price": "1"},
            {"name": "B", "price": "-1"},
            {"name": "C", "price": "1"},
        ],
        INVALID,
    ),
]

# Each input with one unknown field, and with one required field missing.
UNKNOWN_INPUT_FIELDS: dict[str, Any] = {
    "bogus": 1,
    "historyId": 1,
    "updatedAt": "2000-01-01T00:00:00Z",
    "supplier_cost": "1.00",
    "__typename": "Product",
}
REQUIRED_FIELDS: dict[str, list[Path]] = {
    "createProduct": [("name",), ("price",)],
    "updateProduct": [("id",)],
    "deleteProduct": [("id",)],
    "revertProduct": [("id",), ("record",), ("reason",)],
    "adjustPrices": [("ids",), ("reason",)],
    "importProducts": [
        ("products",),
        ("products", 0, "name"),
        ("products", 0, "price"),
    ],
    "createCategory": [("name",)],
    "updateCategory": [("id",)],
    "deleteCategory": [("id",)],
    "revertCategory": [("id",), ("record",), ("reason",)],
}
NOT_NULL_IN_UPDATE: list[tuple[str, Path]] = [
    ("updateProduct", ("name",)),
    ("updateProduct", ("description",)),
    ("updateProduct", ("price",)),
    ("updateProduct", ("quantity",)),
    ("updateCategory", ("name",)),
    ("updateCategory", ("description",)),
]
WRONG_INPUTS: dict[str, Any] = {
    "input=null": {"input": None},
    "input=missing": {},
    "input=list": {"input": []},
    "input=string": {"input": "x"},
    "input=number": {"input": 5},
}


def mutation_cases() -> Iterator[Case]:
    for field_name, path, type_name, code in ID_FIELDS:
        op = OPERATIONS[field_name]
        for label, value in bad_ids(type_name):
            yield op.with_value(path, label, value, code)
        for label, value in WRONG_JSON_FOR_ID.items():
            yield op.with_value(path, f"wrong_json_{label}", value, FAIL)
    yield OPERATIONS["revertProduct"].with_value(
        ("record",),
        "version_of_another_product",
        Ref("other_product_first"),
        frozenset({"RECORD_MISMATCH"}),
    )
    yield OPERATIONS["revertProduct"].with_value(
        ("expectedLatest",), "older_version", Ref("product_first"), STALE
    )
    yield OPERATIONS["revertCategory"].with_value(
        ("expectedLatest",), "older_version", Ref("category_first"), STALE
    )
    yield OPERATIONS["revertProduct"].with_value(
        ("record",),
        "version_it_already_has",
        Ref("product_latest"),
        frozenset({"NOTHING_TO_REVERT"}),
    )

    for field_name, path, kind, full in TEXT_FIELDS:
        op = OPERATIONS[field_name]
        echo = kind in ECHOED_KINDS
        for label, text in ODD_TEXT.items():
            if not full and label not in SOME_ODD_TEXT:
                continue
            expect = text_expectation(kind, label)
            yield op.with_value(path, label, text, expect, echo=echo)
        for label, value in {"list": ["a"], "object": {"a": 1}, "number": 5}.items():
            yield op.with_value(path, f"wrong_json_{label}", value, FAIL)
        if kind == "reason":
            required = field_name in REQUIRED_REASON
            blank = REASON_REQUIRED if required else ANY
            yield op.with_value(path, "empty", "", blank)
            yield op.with_value(path, "spaces", "   ", blank)
            yield op.with_value(path, "tabs_and_newlines", "\t\n", blank)
            yield op.with_value(path, "ideographic_space", "\u3000", blank)
            yield op.with_value(path, "null", None, FAIL if required else ANY)
            if not required:  # a missing required field is in REQUIRED_FIELDS
                yield op.with_value(path, "missing", MISSING, ANY)
            yield op.with_value(path, "only_nul", "\x00", INVALID)
        if kind == "name":
            limit = 100 if "Category" in field_name else 200
            yield op.with_value(path, "empty", "", INVALID)
            yield op.with_value(path, "at_limit", "n" * limit, ANY, echo=True)
            yield op.with_value(path, "over_limit", "n" * (limit + 1), INVALID)

    for field_name, path in MONEY_FIELDS:
        op = OPERATIONS[field_name]
        for label, value in NOT_A_DECIMAL.items():
            yield op.with_value(path, label, value, FAIL)
        for label, value in INVALID_MONEY.items():
            yield op.with_value(path, label, value, INVALID)
        for label, value in NOT_A_PRICE.items():
            yield op.with_value(path, label, value, FAIL)
        for label, value in ODD_MONEY.items():
            yield op.with_value(path, label, value, ANY)
    adjust = OPERATIONS["adjustPrices"]
    for label, (value, expect) in ADJUSTMENTS.items():
        name, _ = label.split("=")
        base = (
            adjust.base
            if name == "percent"
            else put(adjust.base, ("percent",), MISSING)
        )
        yield adjust.case(label, {"input": {**base, name: value}}, expect)
    for label, value in NOT_A_DECIMAL.items():
        yield adjust.with_value(("percent",), label, value, FAIL)
    yield adjust.case(
        "percent_and_amount", {"input": {**adjust.base, "amount": "1"}}, INVALID
    )
    yield adjust.case(
        "neither_percent_nor_amount",
        {"input": put(adjust.base, ("percent",), MISSING)},
        INVALID,
    )
    yield adjust.with_value(("percent",), "null", None, INVALID)

    # The lamp costs 12.00: a price with three places that rounds to it is as
    # invalid as any other.
    yield OPERATIONS["updateProduct"].case(
        "price=three_places_rounding_to_the_current_price",
        {"input": {"id": Ref("product"), "price": "12.001"}},
        INVALID,
    )
    for field_name, path in INT_FIELDS:
        op = OPERATIONS[field_name]
        for label, (value, expect) in BAD_INTS.items():
            yield op.with_value(path, label, value, expect)

    for field_name in ("revertProduct", "revertCategory"):
        op = OPERATIONS[field_name]
        for label, value in {"string": "yes", "number": 1, "list": [True]}.items():
            yield op.with_value(("dryRun",), label, value, FAIL)
        yield op.with_value(("dryRun",), "null", None, ANY)

    for field_name, path, label, value, expect in LIST_CASES:
        yield OPERATIONS[field_name].with_value(path, label, value, expect)

    for field_name, path in NOT_NULL_IN_UPDATE:
        yield OPERATIONS[field_name].with_value(path, "null", None, INVALID)
    yield OPERATIONS["createProduct"].with_value(("name",), "null", None, FAIL)
    yield OPERATIONS["createProduct"].with_value(("price",), "null", None, FAIL)
    yield OPERATIONS["createProduct"].with_value(("quantity",), "null", None, FAIL)

    for field_name, op in OPERATIONS.items():
        for label, value in UNKNOWN_INPUT_FIELDS.items():
            yield op.case(
                f"unknown_field_{label}", {"input": {**op.base, label: value}}, FAIL
            )
        for path in REQUIRED_FIELDS[field_name]:
            yield op.with_value(path, "missing", MISSING, FAIL)
        for label, variables in WRONG_INPUTS.items():
            yield op.case(label, variables, FAIL)
        # A variable the document does not declare is ignored.
        yield op.case(
            "variables=undeclared", {"input": op.base, "extra": {"x": "\x00"}}, ANY
        )
        yield op.case("as_reader", {"input": op.base}, PERMISSION_DENIED, role="reader")
        yield op.case(
            "as_anonymous", {"input": op.base}, PERMISSION_DENIED, role="anonymous"
        )
    for field_name in ("createProduct", "updateProduct"):
        op = OPERATIONS[field_name]
        yield op.case(
            "supplier_cost_as_non_staff",
            {"input": op.base},
            PERMISSION_DENIED,
            role="editor",
        )


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


# Half the requests ask for the GraphQL-over-HTTP media type (a 4xx for a
# document that does not validate), half for plain JSON (a 200).
CASES = [
    replace(case, accept=GRAPHQL_RESPONSE) if n % 2 else case
    for n, case in enumerate([*mutation_cases(), *query_cases()])
]


def test_the_matrix_tries_hundreds_of_bad_inputs() -> None:
    ids = [case.id for case in CASES]
    print(f"bad-input matrix: {len(CASES)} bad inputs")
    assert len(set(ids)) == len(ids), "case ids must be unique"
    assert len(CASES) >= 600, len(CASES)


@pytest.mark.parametrize("op", OPERATIONS.values(), ids=list(OPERATIONS))
def test_every_base_input_succeeds(catalog: Catalog, op: Operation) -> None:
    """The matrix changes one value of these inputs at a time; each succeeds."""
    versions = history_rows()
    status, body = send(
        op.document,
        {"input": resolve(op.base, catalog.refs)},
        headers=catalog.headers("admin"),
    )

    result = verdict(status, body, op.field)
    assert result.succeeded, shown(body)
    assert history_rows() > versions


@pytest.mark.parametrize("q", ID_QUERIES, ids=[q.name for q in ID_QUERIES])
def test_every_base_query_answers(catalog: Catalog, q: Query) -> None:
    status, body = send(
        q.document, resolve(q.base, catalog.refs), headers=catalog.headers("admin")
    )

    assert verdict(status, body, q.field).succeeded, shown(body)
    assert body["data"][q.field], shown(body)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_gets_a_clear_answer_and_a_refusal_writes_nothing(
    catalog: Catalog, case: Case, caplog: pytest.LogCaptureFixture
) -> None:
    before = snapshot()
    versions = history_rows()
    variables = resolve(case.variables, catalog.refs)

    status, body = send(
        case.document, variables, headers=catalog.headers(case.role), accept=case.accept
    )

    with explained(caplog):
        check_answer(case, variables, status, body, before, versions)


def check_answer(
    case: Case,
    variables: Any,
    status: int,
    body: Any,
    before: Snapshot,
    versions: int,
) -> None:
    """The invariants of the matrix, for one answer."""
    result = verdict(status, body, case.field)
    if not result.succeeded or not case.mutation:
        assert_unchanged(before, f"{case.id} ({result.codes})")
    if case.expect is not None:
        assert not result.succeeded, f"{case.id} was accepted: {shown(body)}"
        if case.expect:
            assert set(result.codes) & case.expect, (
                f"{case.id}: expected {sorted(case.expect)}, got {result.codes}: "
                f"{shown(body)}"
            )
    if result.succeeded and case.mutation:
        dry_run = isinstance(variables.get("input"), dict) and variables["input"].get(
            "dryRun"
        )
        # A price change that rounds to nothing changes nothing.
        no_op = (
            case.id.startswith("adjustPrices")
            and (result.payload or {}).get("count") == 0
        )
        if not dry_run and not no_op:
            assert history_rows() > versions, f"{case.id} wrote no version"
        if no_op:
            assert_unchanged(before, f"{case.id} (no change)")
        if case.echo is not None:
            path, value = case.echo
            assert get(result.payload, path) == value, shown(body)


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
