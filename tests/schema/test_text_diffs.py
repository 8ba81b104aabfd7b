"""Word-level text diffs over HTTP: stored with each version and read without
diffing; computed off the event loop, bounded and batched for `diff(against:)`."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal
from typing import Any

import pytest

from history import diff as diff_module
from history.diff import MAX_SEGMENTS, READ_DIFF_TOKENS
from history.selectors import history_versions
from products.models import MAX_DESCRIPTION_LENGTH, Product
from products.services import product_create, product_update
from schema import context as schema_context
from tests.helpers import gid

pytestmark = pytest.mark.django_db

_VOCABULARY = [a + b for a in "bcdfghlmnprst" for b in "aeiou"]


def long_text(seed: int, words: int = 3_000) -> str:
    """About 3,000 two-letter words: as many as a description may hold."""
    rng = random.Random(seed)
    text = " ".join(rng.choice(_VOCABULARY) for _ in range(words))
    assert len(text) <= MAX_DESCRIPTION_LENGTH
    return text


def edited(text: str, every: int) -> str:
    """`text` with one word in `every` replaced."""
    words = text.split(" ")
    return " ".join("xx" if n % every == 0 else w for n, w in enumerate(words))


def version_gid(version: Any) -> str:
    return gid("HistoricalProduct", version.history_id)


def rebuilt(segments: list[dict[str, str]], skip: str) -> str:
    return "".join(s["text"] for s in segments if s["op"] != skip)


@pytest.fixture
def essay(editor: Any) -> Product:
    """A product whose description was rewritten twice: once edited in many
    places, once replaced by an unrelated text of the same length."""
    product = product_create(
        data={"name": "Essay", "price": Decimal("1.00"), "description": long_text(1)},
        actor=editor,
    )
    product_update(
        pk=product.pk, data={"description": edited(long_text(1), 97)}, actor=editor
    )
    product_update(pk=product.pk, data={"description": long_text(2)}, actor=editor)
    return product


HISTORY = """
query($id: ID!) {
  product(id: $id) {
    history(first: 10) {
      edges { node { changes { field oldValue newValue segments { op text } } } }
    }
  }
}
"""


def test_reading_segments_of_long_texts_computes_no_diff(
    gql, editor, essay, monkeypatch
):
    def refuse(*args: Any) -> Any:
        raise AssertionError("a text diff was computed while reading")

    monkeypatch.setattr(diff_module, "text_segments", refuse)
    monkeypatch.setattr(diff_module, "lcs_alignment", refuse)

    answer = gql(HISTORY, {"id": gid("Product", essay.pk)}, user=editor)

    assert "errors" not in answer, answer["errors"]
    edges = answer["data"]["product"]["history"]["edges"]
    changes = [edge["node"]["changes"] for edge in edges]
    assert [[change["field"] for change in c] for c in changes] == [
        ["description"],
        ["description"],
        [],
    ]
    stored = [
        version.history_segments
        for version in history_versions(model=Product, pk=essay.pk)
    ]
    for (change,), segments in zip(changes[:2], stored, strict=False):
        assert change["segments"] == [
            {"op": op.upper(), "text": text} for op, text in segments["description"]
        ]
        assert rebuilt(change["segments"], "INSERT") == change["oldValue"]
        assert rebuilt(change["segments"], "DELETE") == change["newValue"]
        assert len(change["segments"]) <= MAX_SEGMENTS
    # Edited in 31 places: word by word (a replacement whole would be 2 to 4
    # segments), then capped.
    assert 40 < len(changes[1][0]["segments"]) <= MAX_SEGMENTS


DIFF_PAGE = """
query($id: ID!, $first: Int!, $against: ID!) {
  product(id: $id) {
    history(first: $first) {
      edges { node { historyId diff(against: $against) { field oldValue newValue } } }
    }
  }
}
"""


def test_diff_against_over_a_page_costs_the_same_queries_whatever_its_size(
    gql, editor, django_assert_num_queries
):
    product = product_create(
        data={"name": "Lamp", "price": Decimal("1.00")}, actor=editor
    )
    for n in range(11):
        product_update(pk=product.pk, data={"price": Decimal(n + 2)}, actor=editor)
    created = history_versions(model=Product, pk=product.pk).last()
    answers = {}
    for first in (2, 12):
        variables = {
            "id": gid("Product", product.pk),
            "first": first,
            "against": version_gid(created),
        }
        # The bearer token written for the request (3: savepoint, insert,
        # release) and used once (2: read, last use), the token and the
        # permissions read (2), the product and its page of versions (2), and
        # one batch of versions for every `diff` (1).
        with django_assert_num_queries(10):
            answers[first] = gql(DIFF_PAGE, variables, user=editor)

    edges = answers[12]["data"]["product"]["history"]["edges"]
    assert [edge["node"]["diff"] for edge in edges] == [
        [{"field": "price", "oldValue": "1.00", "newValue": f"{n}.00"}]
        for n in range(12, 1, -1)
    ] + [[]]


DIFF = """
query($id: ID!, $against: ID!) {
  node(id: $id) {
    ... on HistoricalProduct {
      diff(against: $against) { field oldValue newValue segments { op text } }
    }
  }
}
"""


def test_diff_against_computes_segments_off_the_event_loop_and_bounded(
    gql, editor, essay, monkeypatch
):
    newest, edit, _ = history_versions(model=Product, pk=essay.pk)
    original = diff_module.text_segments
    threads_without_loop = []

    def off_the_loop(old: str, new: str, **bounds: Any) -> Any:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            threads_without_loop.append(bounds)
            return original(old, new, **bounds)
        raise AssertionError("a text diff was computed on the event loop")

    monkeypatch.setattr(diff_module, "text_segments", off_the_loop)
    variables = {"id": version_gid(edit), "against": version_gid(newest)}

    answer = gql(DIFF, variables, user=editor)

    assert "errors" not in answer, answer["errors"]
    (change,) = answer["data"]["node"]["diff"]
    # Computed once, in a worker thread, with the bound of diffs made on read.
    assert threads_without_loop == [{"max_tokens": READ_DIFF_TOKENS}]
    assert (change["oldValue"], change["newValue"]) == (
        long_text(2),
        edited(long_text(1), 97),
    )
    assert rebuilt(change["segments"], "INSERT") == change["oldValue"]
    assert rebuilt(change["segments"], "DELETE") == change["newValue"]
    assert len(change["segments"]) <= MAX_SEGMENTS


def test_diff_against_without_segments_computes_no_text_diff(
    gql, editor, essay, monkeypatch
):
    def refuse(*args: Any) -> Any:
        raise AssertionError("a text diff was computed but not selected")

    monkeypatch.setattr(diff_module, "text_segments", refuse)
    newest, _, created = history_versions(model=Product, pk=essay.pk)
    query = DIFF.replace(" segments { op text }", "")

    answer = gql(
        query, {"id": version_gid(newest), "against": version_gid(created)}, user=editor
    )

    assert answer == {
        "data": {
            "node": {
                "diff": [
                    {
                        "field": "description",
                        "oldValue": long_text(1),
                        "newValue": long_text(2),
                    }
                ]
            }
        }
    }


CHANGES_OF = """
query($id: ID!, $fields: [String!]) {
  product(id: $id) { history(first: 1) { edges { node { changes(fields: $fields) {
    field
  } } } } }
}
"""


def test_changes_of_at_most_100_field_names(gql, editor, essay):
    names = ["description"] + [f"field{n}" for n in range(99)]
    variables = {"id": gid("Product", essay.pk)}

    accepted = gql(CHANGES_OF, {**variables, "fields": names}, user=editor)
    refused = gql(
        CHANGES_OF, {**variables, "fields": [*names, "one_more"]}, user=editor
    )

    assert accepted == {
        "data": {
            "product": {
                "history": {
                    "edges": [{"node": {"changes": [{"field": "description"}]}}]
                }
            }
        }
    }
    assert refused["data"] == {"product": None}
    assert [(e["message"], e["extensions"]["code"]) for e in refused["errors"]] == [
        ("`fields` takes at most 100 names.", "BAD_USER_INPUT")
    ]


def test_past_its_allowance_a_request_keeps_only_the_ends_of_texts(
    gql, editor, essay, monkeypatch
):
    """One request computes at most READ_WORD_DIFFS word-level diffs on read;
    the others show the common start and end around one replacement."""
    monkeypatch.setattr(schema_context, "READ_WORD_DIFFS", 1)
    newest, edit, created = history_versions(model=Product, pk=essay.pk)
    original = diff_module.text_segments
    bounds: list[int] = []

    def recording(old: str, new: str, *, max_tokens: int) -> Any:
        bounds.append(max_tokens)
        return original(old, new, max_tokens=max_tokens)

    monkeypatch.setattr(diff_module, "text_segments", recording)
    query = (
        "query($a: ID!, $b: ID!, $against: ID!) {"
        " a: node(id: $a) { ... on HistoricalProduct {"
        " diff(against: $against) { segments { op text } } } }"
        " b: node(id: $b) { ... on HistoricalProduct {"
        " diff(against: $against) { segments { op text } } } } }"
    )
    variables = {
        "a": version_gid(newest),
        "b": version_gid(edit),
        "against": version_gid(created),
    }

    answer = gql(query, variables, user=editor)

    assert "errors" not in answer, answer["errors"]
    assert sorted(bounds) == [0, READ_DIFF_TOKENS]
    for alias in ("a", "b"):
        (change,) = answer["data"][alias]["diff"]
        old, new = (
            long_text(1),
            (long_text(2) if alias == "a" else edited(long_text(1), 97)),
        )
        assert rebuilt(change["segments"], "INSERT") == old
        assert rebuilt(change["segments"], "DELETE") == new
