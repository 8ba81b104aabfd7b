"""Unit tests of history.diff: word-level text diffs, field changes, stored diffs."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from history import diff as diff_module
from history.bulk import history_bulk_update
from history.diff import (
    MAX_DIFF_TOKENS,
    MAX_SEGMENTS,
    DiffOp,
    FieldChange,
    TextSegment,
    changes_from_stored,
    field_change,
    history_diff,
    segments_from_json,
    segments_to_json,
    stored_segments,
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


def assert_valid_diff(old: str, new: str, segments: list[TextSegment]) -> None:
    """What every text diff guarantees, however it was computed."""
    assert "".join(s.text for s in segments if s.op != INSERT) == old
    assert "".join(s.text for s in segments if s.op != DELETE) == new
    assert all(a.op != b.op for a, b in itertools.pairwise(segments))
    assert all(s.text for s in segments)
    assert len(segments) <= MAX_SEGMENTS


# Few distinct tokens, so that texts share many of them and the alignment has
# choices to make; runs of spaces and newlines, so that lines matter.
_PIECES = ["a", "b", "cat", "é", " ", "  ", "\n", ",", "-", "\t"]
small_texts = st.lists(st.sampled_from(_PIECES), max_size=40).map("".join)


@st.composite
def edited_texts(draw: st.DrawFn) -> tuple[str, str]:
    """A long text (up to about twice the token budget, so past it too) and
    an edit of it: words inserted, deleted, replaced, lines broken."""
    vocabulary = draw(
        st.sampled_from([["w"], ["a", "b"], [f"w{n}" for n in range(50)]])
    )
    count = draw(st.integers(0, MAX_DIFF_TOKENS))
    rng = draw(st.randoms(use_true_random=False))
    separators = [" ", " ", " ", "\n", ", "]
    old_words = [rng.choice(vocabulary) + rng.choice(separators) for _ in range(count)]
    new_words = list(old_words)
    for _ in range(draw(st.integers(0, 300))):
        at = rng.randint(0, len(new_words))
        action = rng.random()
        if action < 0.4:
            new_words.insert(at, rng.choice(vocabulary) + " ")
        elif action < 0.8:
            del new_words[at : at + rng.randint(1, 3)]
        else:
            new_words[at : at + 1] = [rng.choice(vocabulary) + "\n"]
    return "".join(old_words), "".join(new_words)


@settings(max_examples=300, deadline=None)
@given(old=small_texts, new=small_texts)
def test_text_segments_rebuild_both_texts_property(old, new):
    assert_valid_diff(old, new, text_segments(old, new))


@settings(max_examples=25, deadline=None)
@given(texts=edited_texts())
def test_text_segments_of_long_edited_texts_rebuild_both(texts):
    old, new = texts

    assert_valid_diff(old, new, text_segments(old, new))


@settings(max_examples=15, deadline=None)
@given(
    old=st.text(max_size=30_000).filter(lambda t: "\x00" not in t),
    new=st.text(max_size=30_000),
)
def test_text_segments_of_any_unicode_rebuild_both(old, new):
    assert_valid_diff(old, new, text_segments(old, new))


def spy_on_alignment(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Record the lengths of the sequences every alignment is given."""
    calls: list[tuple[int, int]] = []
    original = diff_module.lcs_alignment

    def spy(old: Any, new: Any) -> Any:
        calls.append((len(old), len(new)))
        return original(old, new)

    monkeypatch.setattr(diff_module, "lcs_alignment", spy)
    return calls


def _words(count: int, word: str = "w") -> str:
    return " ".join(f"{word}{n % 7}" for n in range(count))


def test_text_segments_within_the_budget_are_word_level(monkeypatch):
    # Both middles just fit: every other word changed, the alignment runs.
    half = MAX_DIFF_TOKENS // 4
    old = " ".join(["keep", "old"] * half)
    new = " ".join(["keep", "new"] * half)
    calls = spy_on_alignment(monkeypatch)

    segments = text_segments(old, new)

    assert calls == [(MAX_DIFF_TOKENS - 1 - 2, MAX_DIFF_TOKENS - 1 - 2)]
    assert_valid_diff(old, new, segments)
    assert len(segments) == MAX_SEGMENTS - 1
    assert segments[:4] == [
        TextSegment(EQUAL, "keep "),
        TextSegment(DELETE, "old"),
        TextSegment(INSERT, "new"),
        TextSegment(EQUAL, " keep "),
    ]


def test_text_segments_past_the_budget_fall_back_to_lines(monkeypatch):
    def line(name: str) -> str:
        return " ".join(f"{name}word{k}" for k in range(10))  # 19 tokens

    count = MAX_DIFF_TOKENS // 10
    old_lines = [line(f"line{n}") for n in range(count)]
    new_lines = list(old_lines)
    new_lines[3] = line("new3")
    new_lines[-2] = line("newer")
    old = "\n".join(old_lines) + "\nend"
    new = "\n".join(new_lines) + "\nend"
    calls = spy_on_alignment(monkeypatch)

    segments = text_segments(old, new)

    # Too many words between the two edits: lines 3 to count - 2 are aligned.
    assert calls == [(count - 4, count - 4)]
    assert segments == [
        TextSegment(EQUAL, "\n".join(old_lines[:3]) + "\n"),
        TextSegment(DELETE, old_lines[3] + "\n"),
        TextSegment(INSERT, new_lines[3] + "\n"),
        TextSegment(EQUAL, "\n".join(old_lines[4:-2]) + "\n"),
        TextSegment(DELETE, old_lines[-2]),
        TextSegment(INSERT, new_lines[-2]),
        TextSegment(EQUAL, "\n" + old_lines[-1] + "\nend"),
    ]


def test_text_segments_past_every_budget_are_one_replacement(monkeypatch):
    # One line of twice the budget in words, changed at both ends.
    body = _words(MAX_DIFF_TOKENS)
    old = f"Intro: first {body} last. Outro"
    new = f"Intro: premier {body} dernier. Outro"

    calls = spy_on_alignment(monkeypatch)

    segments = text_segments(old, new)

    # No word-level alignment: only the (single) lines were compared.
    assert calls == [(1, 1)]
    assert segments == [
        TextSegment(EQUAL, "Intro: "),
        TextSegment(DELETE, f"first {body} last"),
        TextSegment(INSERT, f"premier {body} dernier"),
        TextSegment(EQUAL, ". Outro"),
    ]


def test_text_segments_past_the_budget_are_still_exact_at_the_ends():
    # The common prefix and suffix cost no budget: one word changed in the
    # middle of a text far longer than the budget is found exactly.
    body = _words(3 * MAX_DIFF_TOKENS)
    old = f"{body} before {body}"
    new = f"{body} after {body}"

    assert text_segments(old, new) == [
        TextSegment(EQUAL, f"{body} "),
        TextSegment(DELETE, "before"),
        TextSegment(INSERT, "after"),
        TextSegment(EQUAL, f" {body}"),
    ]


def test_text_segments_are_capped_keeping_the_longest_unchanged_runs():
    # 100 changed words between unchanged words of growing length.
    old = "".join(f"{'s' * (n + 1)} old{n} " for n in range(100))
    new = "".join(f"{'s' * (n + 1)} new{n} " for n in range(100))

    segments = text_segments(old, new)

    assert_valid_diff(old, new, segments)
    kept = [s.text for s in segments if s.op == EQUAL]
    # The first and last unchanged runs are kept, and the 20 longest others;
    # the changes between them are merged.
    assert kept == ["s "] + [f" {'s' * (n + 1)} " for n in range(80, 100)] + [" "]
    assert segments[1:3] == [
        TextSegment(DELETE, old[2 : old.index(" " + "s" * 81)]),
        TextSegment(INSERT, new[2 : new.index(" " + "s" * 81)]),
    ]
    assert len(segments) == MAX_SEGMENTS


def test_segments_json_round_trip():
    segments = text_segments("the cat sat", "the dog sat")

    assert segments_to_json(segments) == [
        ["equal", "the "],
        ["delete", "cat"],
        ["insert", "dog"],
        ["equal", " sat"],
    ]
    assert list(segments_from_json(segments_to_json(segments))) == segments


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


# -- text diffs computed once, when a version is written ---------------------------


def refuse_to_diff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any text diff computed from now on fail the test."""

    def refuse(*args: Any) -> Any:
        raise AssertionError("a text diff was computed")

    monkeypatch.setattr(diff_module, "text_segments", refuse)
    monkeypatch.setattr(diff_module, "lcs_alignment", refuse)


@pytest.fixture
def lamp(editor: Any) -> Product:
    return product_create(
        data={
            "name": "Lamp",
            "description": "Brass desk lamp",
            "price": Decimal("10.00"),
            "quantity": 1,
        },
        actor=editor,
    )


LAMP_SEGMENTS = {
    "description": [["delete", "Brass"], ["insert", "Steel"], ["equal", " desk lamp"]],
    "name": [["delete", "Lamp"], ["insert", "Desk lamp"]],
}


@pytest.mark.django_db
def test_a_version_stores_the_word_level_diffs_of_its_text_fields(editor, lamp):
    product_update(
        pk=lamp.pk,
        data={
            "name": "Desk lamp",
            "description": "Steel desk lamp",
            "price": Decimal("12.00"),
        },
        actor=editor,
    )
    updated, created = history_versions(model=Product, pk=lamp.pk)

    assert created.history_segments == {}
    # Text fields only: the price has no segments.
    assert updated.history_segments == LAMP_SEGMENTS
    assert updated.history_segments == stored_segments(Product, updated.history_changes)


@pytest.mark.django_db
def test_bulk_versions_store_the_word_level_diffs_of_their_text_fields(editor, lamp):
    lamp.name = "Desk lamp"
    lamp.description = "Steel desk lamp"

    history_bulk_update(
        model=Product,
        instances=[lamp],
        fields=["name", "description"],
        actor=editor,
        reason="bulk",
    )

    newest = history_versions(model=Product, pk=lamp.pk)[0]
    assert newest.history_changes == {
        "description": ["Brass desk lamp", "Steel desk lamp"],
        "name": ["Lamp", "Desk lamp"],
    }
    assert newest.history_segments == LAMP_SEGMENTS


@pytest.mark.django_db
def test_changes_from_stored_use_the_stored_segments(
    editor, lamp, monkeypatch, django_assert_num_queries
):
    product_update(
        pk=lamp.pk,
        data={"name": "Desk lamp", "description": "Steel desk lamp"},
        actor=editor,
    )
    newest = history_versions(model=Product, pk=lamp.pk)[0]
    refuse_to_diff(monkeypatch)

    with django_assert_num_queries(0):
        changes = changes_from_stored(
            Product, newest.history_changes, newest.history_segments
        )
        segments = [change.segments for change in changes]

    assert all(change.segments_known for change in changes)
    assert segments == [
        list(segments_from_json(LAMP_SEGMENTS["description"])),
        list(segments_from_json(LAMP_SEGMENTS["name"])),
    ]
    # Stored segments are a cache of a function of the values: not compared.
    assert changes == changes_from_stored(Product, newest.history_changes)


def test_segments_of_a_change_are_computed_once_by_with_segments(monkeypatch):
    change = field_change(field("description"), "Brass lamp", "Steel lamp")
    numeric = field_change(field("price"), "1.00", "2.00")

    assert not change.segments_known
    assert numeric.segments_known
    assert numeric.with_segments() is numeric
    computed = change.with_segments()
    refuse_to_diff(monkeypatch)

    assert computed.segments_known
    assert computed.segments == [
        TextSegment(DELETE, "Brass"),
        TextSegment(INSERT, "Steel"),
        TextSegment(EQUAL, " lamp"),
    ]
    assert computed == change
