"""Unit tests of history.diff: word-level text diffs, field changes, stored diffs."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest

from history.diff import (
    DiffOp,
    FieldChange,
    TextSegment,
    changes_from_stored,
    field_change,
    history_diff,
    text_segments,
)
from history.selectors import history_versions
from history.state import FieldState, state_diff, state_of
from products.models import Product
from products.services import product_create, product_update

EQUAL, INSERT, DELETE = DiffOp.EQUAL, DiffOp.INSERT, DiffOp.DELETE

HistoricalProduct = Product.history.model


def field(name: str) -> Any:
    return Product._meta.get_field(name)


# -- text_segments ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            "the cat",
            "the black cat",
            [
                TextSegment(EQUAL, "the "),
                TextSegment(INSERT, "black "),
                TextSegment(EQUAL, "cat"),
            ],
            id="insert",
        ),
        pytest.param(
            "the black cat",
            "the cat",
            [
                TextSegment(EQUAL, "the "),
                TextSegment(DELETE, "black "),
                TextSegment(EQUAL, "cat"),
            ],
            id="delete",
        ),
        pytest.param(
            "the cat sat",
            "the dog sat",
            [
                TextSegment(EQUAL, "the "),
                TextSegment(DELETE, "cat"),
                TextSegment(INSERT, "dog"),
                TextSegment(EQUAL, " sat"),
            ],
            id="replace",
        ),
        pytest.param(
            "the cat",
            "the category",
            [
                TextSegment(EQUAL, "the "),
                TextSegment(DELETE, "cat"),
                TextSegment(INSERT, "category"),
            ],
            id="whole-words-not-characters",
        ),
        pytest.param(
            "Hello, world!",
            "Hello, there world!",
            [
                TextSegment(EQUAL, "Hello, "),
                TextSegment(INSERT, "there "),
                TextSegment(EQUAL, "world!"),
            ],
            id="punctuation",
        ),
        pytest.param(
            "same text",
            "same text",
            [TextSegment(EQUAL, "same text")],
            id="identical",
        ),
        pytest.param("", "", [], id="both-empty"),
        pytest.param(
            "", "new words", [TextSegment(INSERT, "new words")], id="from-empty"
        ),
        pytest.param(
            "old words", "", [TextSegment(DELETE, "old words")], id="to-empty"
        ),
    ],
)
def test_text_segments(old, new, expected):
    assert text_segments(old, new) == expected


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("Solid oak table, 120 cm", "Solid walnut table, 140 cm wide"),
        ("a  b\tc\nd", "a b c d"),
        ("one two three four", "four three two one"),
        ("", "x"),
        ("Ünïcödé wörds", "Ünïcödé wörter"),
    ],
)
def test_text_segments_rebuild_both_texts(old, new):
    segments = text_segments(old, new)

    assert "".join(s.text for s in segments if s.op != INSERT) == old
    assert "".join(s.text for s in segments if s.op != DELETE) == new
    # Adjacent segments of the same op are merged, and none is empty.
    assert all(a.op != b.op for a, b in itertools.pairwise(segments))
    assert all(s.text for s in segments)


# -- FieldChange ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "delta"),
    [
        ("10.00", "7.50", "-2.50"),
        ("7.50", "10.00", "2.50"),
        ("0.10", "0.30", "0.20"),
        ("1499.99", "1499.99", "0.00"),
    ],
)
def test_delta_of_a_decimal_keeps_the_fields_places(old, new, delta):
    change = field_change(field("price"), old, new)

    assert change.delta == delta
    assert change.segments is None


@pytest.mark.parametrize(
    ("old", "new", "delta"),
    [("5", "12", "7"), ("12", "5", "-7"), ("0", "0", "0")],
)
def test_delta_of_an_integer(old, new, delta):
    assert field_change(field("quantity"), old, new).delta == delta


@pytest.mark.parametrize(("old", "new"), [(None, "5"), ("5", None), (None, None)])
def test_delta_is_none_without_both_values(old, new):
    assert field_change(field("quantity"), old, new).delta is None


def test_text_fields_have_segments_and_no_delta():
    change = field_change(field("name"), "Lamp", "Desk lamp")

    assert change == FieldChange(
        field="name",
        label="Name",
        old_value="Lamp",
        new_value="Desk lamp",
        numeric=False,
        decimal_places=None,
        text=True,
    )
    assert change.delta is None
    assert change.segments == [
        TextSegment(DELETE, "Lamp"),
        TextSegment(INSERT, "Desk lamp"),
    ]


def test_segments_of_a_text_set_from_nothing():
    change = field_change(field("description"), None, "New text")

    assert change.segments == [TextSegment(INSERT, "New text")]


def test_field_change_is_frozen():
    change = field_change(field("price"), "1.00", "2.00")

    with pytest.raises(AttributeError):
        change.new_value = "3.00"  # type: ignore[misc]


# -- stored diffs -----------------------------------------------------------------


def test_changes_from_stored_are_sorted_by_field_and_skip_unknown_fields():
    stored: dict[str, list[str | None]] = {
        "quantity": ["1", "4"],
        "price": ["10.00", "9.00"],
        "not_a_field": ["a", "b"],
        "description": ["", "Now described"],
        "name": ["Old", "New"],
    }

    changes = changes_from_stored(Product, stored)

    assert [(c.field, c.label, c.old_value, c.new_value) for c in changes] == [
        ("description", "Description", "", "Now described"),
        ("name", "Name", "Old", "New"),
        ("price", "Price", "10.00", "9.00"),
        ("quantity", "Quantity", "1", "4"),
    ]
    assert [c.delta for c in changes] == [None, None, "-1.00", "3"]


def test_state_diff_keeps_only_changed_fields_sorted():
    old = {n: FieldState(v, v) for n, v in {"name": "A", "price": "1.00"}.items()}
    new = {n: FieldState(v, v) for n, v in {"price": "1.00", "name": "B"}.items()}
    new["quantity"] = FieldState("3", "3")

    diff = state_diff(old, new)

    assert diff == {"name": ["A", "B"], "quantity": [None, "3"]}
    assert list(diff) == ["name", "quantity"]


def test_state_diff_compares_relations_by_id_and_stores_labels():
    old = {"category": FieldState(1, "Lamps"), "tags": FieldState((1, 2), ["a", "b"])}
    renamed = {
        "category": FieldState(1, "Lights"),
        "tags": FieldState((1, 2), ["a", "c"]),
    }
    moved = {"category": FieldState(2, "Desks"), "tags": FieldState((2,), ["b"])}

    assert state_diff(old, renamed) == {}
    assert state_diff(old, moved) == {
        "category": ["Lamps", "Desks"],
        "tags": [["a", "b"], ["b"]],
    }


@pytest.mark.django_db
def test_state_of_a_version_uses_canonical_text_and_its_snapshot(
    django_assert_num_queries,
):
    version = HistoricalProduct(
        id=1,
        name="Lamp",
        description="",
        price=Decimal("20.5"),
        quantity=3,
        category_id=7,
        history_snapshot={
            "category": {"id": 7, "label": "Lamps"},
            "tags": [{"id": 2, "label": "red"}, {"id": 1, "label": "brass"}],
        },
    )

    with django_assert_num_queries(0):
        state = state_of(Product, version)

    assert {name: value.display for name, value in state.items()} == {
        "name": "Lamp",
        "description": "",
        "price": "20.50",
        "quantity": "3",
        "category": "Lamps",
        "tags": ["brass", "red"],
    }


# -- history_diff on models, at 0 queries ------------------------------------------


@pytest.mark.django_db
def test_history_diff_of_instances(django_assert_num_queries):
    old = Product(name="Lamp", description="Brass", price=Decimal("20"), quantity=1)
    new = Product(name="Lamp", description="Brass", price=Decimal("17.5"), quantity=4)

    with django_assert_num_queries(0):
        changes = history_diff(model=Product, old=old, new=new)

    assert changes == [
        field_change(field("price"), "20.00", "17.50"),
        field_change(field("quantity"), "1", "4"),
    ]
    assert [c.delta for c in changes] == ["-2.50", "3"]


@pytest.mark.django_db
def test_history_diff_restricted_to_fields(django_assert_num_queries):
    old = Product(name="Lamp", description="Brass", price=Decimal("20"), quantity=1)
    new = Product(name="Lantern", description="Steel", price=Decimal("25"), quantity=1)

    with django_assert_num_queries(0):
        only_price = history_diff(model=Product, old=old, new=new, fields=["price"])
        unchanged = history_diff(model=Product, old=old, new=new, fields=["quantity"])
        texts = history_diff(
            model=Product, old=old, new=new, fields=["name", "description"]
        )

    assert only_price == [field_change(field("price"), "20.00", "25.00")]
    assert unchanged == []
    assert [(c.field, c.old_value, c.new_value) for c in texts] == [
        ("description", "Brass", "Steel"),
        ("name", "Lamp", "Lantern"),
    ]


@pytest.mark.django_db
def test_history_diff_of_stored_versions(editor, django_assert_num_queries):
    product = product_create(
        data={"name": "Lamp", "price": Decimal("20.00"), "quantity": 1},
        actor=editor,
    )
    updated = product_update(
        pk=product.pk,
        data={"name": "Desk lamp", "price": Decimal("35.00")},
        actor=editor,
    )
    newer, older = history_versions(model=Product, pk=product.pk)

    with django_assert_num_queries(0):
        forward = history_diff(model=Product, old=older, new=newer)
        backward = history_diff(model=Product, old=newer, new=older)
        stored = changes_from_stored(Product, newer.history_changes)
    # A live instance reads its relations (here: its tags) from the database.
    with django_assert_num_queries(1):
        against_live = history_diff(model=Product, old=older, new=updated)

    assert forward == [
        field_change(field("name"), "Lamp", "Desk lamp"),
        field_change(field("price"), "20.00", "35.00"),
    ]
    assert [c.delta for c in forward] == [None, "15.00"]
    assert [c.delta for c in backward] == [None, "-15.00"]
    assert against_live == forward
    # The diff stored when the version was written is the one computed now.
    assert stored == forward
