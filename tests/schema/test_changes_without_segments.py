"""`changes` without `segments` selected leaves the stored word-level diffs
as they are stored: they are turned into segments only when read."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from history import diff as diff_module
from products.services import product_create, product_update
from tests.helpers import gid

pytestmark = pytest.mark.django_db

HISTORY = """
query($id: ID!) {
  product(id: $id) {
    history(first: 10) {
      edges { node { changes { field oldValue newValue delta%s } } }
    }
  }
}
"""


@pytest.fixture
def lamp(editor: Any) -> Any:
    product = product_create(
        data={"name": "Lamp", "price": Decimal("20.00"), "description": "Brass lamp"},
        actor=editor,
    )
    product_update(
        pk=product.pk,
        data={"description": "Steel lamp", "price": Decimal("25.00")},
        actor=editor,
    )
    return product


def refuse(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("segments were built or diffed though not selected")


def test_changes_without_segments_build_no_segments(gql, editor, lamp, monkeypatch):
    for name in ("segments_from_json", "text_segments", "lcs_alignment"):
        monkeypatch.setattr(diff_module, name, refuse)

    answer = gql(HISTORY % "", {"id": gid("Product", lamp.pk)}, user=editor)

    assert answer == {
        "data": {
            "product": {
                "history": {
                    "edges": [
                        {
                            "node": {
                                "changes": [
                                    {
                                        "field": "description",
                                        "oldValue": "Brass lamp",
                                        "newValue": "Steel lamp",
                                        "delta": None,
                                    },
                                    {
                                        "field": "price",
                                        "oldValue": "20.00",
                                        "newValue": "25.00",
                                        "delta": "5.00",
                                    },
                                ]
                            }
                        },
                        {"node": {"changes": []}},
                    ]
                }
            }
        }
    }


def test_selected_segments_are_the_stored_ones_without_a_diff(
    gql, editor, lamp, monkeypatch
):
    for name in ("text_segments", "lcs_alignment"):
        monkeypatch.setattr(diff_module, name, refuse)

    answer = gql(
        HISTORY % " segments { op text }", {"id": gid("Product", lamp.pk)}, user=editor
    )

    newest = answer["data"]["product"]["history"]["edges"][0]["node"]["changes"]
    assert [change["segments"] for change in newest] == [
        [
            {"op": "DELETE", "text": "Brass"},
            {"op": "INSERT", "text": "Steel"},
            {"op": "EQUAL", "text": " lamp"},
        ],
        None,
    ]
