"""The bad-input matrix of the mutations: each mutation's base input, and one
case per bad value of each of its fields."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tests.schema.bad_input import (
    ANY,
    ERRORS,
    FAIL,
    HUGE,
    INVALID,
    MISSING,
    NOT_FOUND,
    PERMISSION_DENIED,
    PRODUCT,
    REASON_REQUIRED,
    STALE,
    UNKNOWN_FIELD,
    Case,
    Path,
    Ref,
    put,
)


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
