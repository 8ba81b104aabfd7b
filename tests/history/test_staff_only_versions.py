"""A change only staff may make, of a field no version stores, stays among staff.

Staff setting a product's supplier cost writes an UPDATED version that changed
no stored field. Readers of the history who are not staff learn nothing of it:
not the version, not who made it, when or why, in no connection, count, filter,
neighbour, diff, time travel or revert. Staff see it, and it is in the trail.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from history.selectors import visible_versions
from products import services
from products.models import Product
from tests.conftest import GraphQL
from tests.factories import UserFactory
from tests.helpers import gid

pytestmark = pytest.mark.django_db

HistoricalProduct = Product.history.model

SECRET = "Supplier renegotiated quietly"

HISTORY = """
query($id: ID!) {
  product(id: $id) {
    history(first: 10) {
      totalCount
      edges { node {
        historyChangeReason
        changes { field oldValue newValue }
        previous { historyChangeReason }
        next { historyChangeReason }
      } }
    }
  }
  productHistory(first: 10) { totalCount edges { node { historyChangeReason } } }
}
"""
FEED = """
query($filters: HistoricalProductFilter) {
  productHistory(filters: $filters, first: 10) {
    totalCount
    edges { node { historyChangeReason } }
  }
}
"""
NODE = """
query($id: ID!) {
  node(id: $id) { __typename ... on HistoricalProduct { historyChangeReason } }
}
"""
DIFF = """
query($id: ID!, $against: ID!) {
  product(id: $id) { history(first: 1) { edges { node {
    diff(against: $against) { field oldValue newValue }
  } } } }
}
"""
AS_OF = """
query($id: ID!, $at: DateTime!) {
  productAsOf(id: $id, at: $at) { historyChangeReason price }
}
"""
REVERTED_FROM = """
query($id: ID!) {
  product(id: $id) { history(first: 1) { edges { node {
    historyChangeReason revertedFrom { historyChangeReason }
  } } } }
}
"""
REVERT = """
mutation($input: RevertProductInput!) {
  revertProduct(input: $input) {
    __typename
    ... on RevertProductResult { product { price } }
    ... on OperationInfo { messages { code field } }
  }
}
"""


@pytest.fixture
def auditor(db: None) -> Any:
    """Reads product history; not staff."""
    return UserFactory(username="auditor", permissions=["view_historicalproduct"])


@pytest.fixture
def lamp(staff: Any, editor: Any) -> Product:
    """Created, repriced, its supplier cost set by staff, then repriced again."""
    lamp = services.product_create(
        data={"name": "Lamp", "price": Decimal("10.00")}, actor=editor, reason="New"
    )
    services.product_update(
        pk=lamp.pk, data={"price": Decimal("12.00")}, actor=editor, reason="Up"
    )
    services.product_update(
        pk=lamp.pk,
        data={"supplier_cost": Decimal("4.00")},
        actor=staff,
        reason=SECRET,
    )
    services.product_update(
        pk=lamp.pk, data={"price": Decimal("15.00")}, actor=editor, reason="Sale"
    )
    return lamp


def secret_version() -> Any:
    return HistoricalProduct.objects.get(history_change_reason=SECRET)


def test_the_version_is_recorded_and_marked_staff_only(lamp: Product) -> None:
    rows = HistoricalProduct.objects.order_by("history_id").values_list(
        "history_change_reason", "history_type", "history_changes", "history_staff_only"
    )

    assert list(rows) == [
        ("New", "+", {}, False),
        ("Up", "~", {"price": ["10.00", "12.00"]}, False),
        (SECRET, "~", {}, True),
        ("Sale", "~", {"price": ["12.00", "15.00"]}, False),
    ]


def test_visible_versions_hides_it_from_non_staff_only(lamp: Product) -> None:
    versions = HistoricalProduct.objects.order_by("history_id")

    def reasons(staff: bool) -> list[str]:
        return [
            v.history_change_reason for v in visible_versions(versions, staff=staff)
        ]

    assert reasons(staff=True) == ["New", "Up", SECRET, "Sale"]
    assert reasons(staff=False) == ["New", "Up", "Sale"]


def test_non_staff_see_neither_the_version_nor_its_reason(
    gql: GraphQL, auditor: Any, lamp: Product
) -> None:
    answer = gql(HISTORY, {"id": gid("Product", lamp.pk)}, user=auditor)

    assert answer == {
        "data": {
            "product": {
                "history": {
                    "totalCount": 3,
                    "edges": [
                        {
                            "node": {
                                "historyChangeReason": "Sale",
                                # Against the hidden version, which holds the
                                # same stored values as the one before it.
                                "changes": [
                                    {
                                        "field": "price",
                                        "oldValue": "12.00",
                                        "newValue": "15.00",
                                    }
                                ],
                                "previous": {"historyChangeReason": "Up"},
                                "next": None,
                            }
                        },
                        {
                            "node": {
                                "historyChangeReason": "Up",
                                "changes": [
                                    {
                                        "field": "price",
                                        "oldValue": "10.00",
                                        "newValue": "12.00",
                                    }
                                ],
                                "previous": {"historyChangeReason": "New"},
                                "next": {"historyChangeReason": "Sale"},
                            }
                        },
                        {
                            "node": {
                                "historyChangeReason": "New",
                                "changes": [],
                                "previous": None,
                                "next": {"historyChangeReason": "Up"},
                            }
                        },
                    ],
                }
            },
            "productHistory": {
                "totalCount": 3,
                "edges": [
                    {"node": {"historyChangeReason": "Sale"}},
                    {"node": {"historyChangeReason": "Up"}},
                    {"node": {"historyChangeReason": "New"}},
                ],
            },
        }
    }


def test_staff_see_the_version_and_its_neighbours_point_at_it(
    gql: GraphQL, staff: Any, lamp: Product
) -> None:
    answer = gql(HISTORY, {"id": gid("Product", lamp.pk)}, user=staff)

    history = answer["data"]["product"]["history"]
    assert history["totalCount"] == 4
    assert [edge["node"] for edge in history["edges"]][1:3] == [
        {
            "historyChangeReason": SECRET,
            "changes": [],
            "previous": {"historyChangeReason": "Up"},
            "next": {"historyChangeReason": "Sale"},
        },
        {
            "historyChangeReason": "Up",
            "changes": [{"field": "price", "oldValue": "10.00", "newValue": "12.00"}],
            "previous": {"historyChangeReason": "New"},
            "next": {"historyChangeReason": SECRET},
        },
    ]
    assert answer["data"]["productHistory"]["totalCount"] == 4


@pytest.mark.parametrize(
    ("kind", "for_auditor", "for_staff"),
    [
        pytest.param("search", [], [SECRET], id="search-by-its-reason"),
        pytest.param("author", [], [SECRET], id="by-its-author"),
        pytest.param("price", ["Up"], [SECRET, "Up"], id="by-its-own-values"),
    ],
)
def test_filters_find_it_for_staff_only(
    gql: GraphQL,
    auditor: Any,
    staff: Any,
    lamp: Product,
    kind: str,
    for_auditor: list[str],
    for_staff: list[str],
) -> None:
    filters = {
        "search": {"search": "renegotiated"},
        "author": {"historyUser": gid("User", staff.pk)},
        "price": {"historyType": "UPDATED", "price": {"exact": "12.00"}},
    }[kind]

    def reasons(user: Any) -> list[str]:
        feed = gql(FEED, {"filters": filters}, user=user)["data"]["productHistory"]
        assert feed["totalCount"] == len(feed["edges"])
        return [edge["node"]["historyChangeReason"] for edge in feed["edges"]]

    assert reasons(auditor) == for_auditor
    assert reasons(staff) == for_staff


def test_non_staff_cannot_read_it_by_its_id(
    gql: GraphQL, auditor: Any, staff: Any, lamp: Product
) -> None:
    variables = {"id": gid("HistoricalProduct", secret_version().history_id)}

    assert gql(NODE, variables, user=auditor) == {"data": {"node": None}}
    assert gql(NODE, variables, user=staff) == {
        "data": {
            "node": {"__typename": "HistoricalProduct", "historyChangeReason": SECRET}
        }
    }


def test_non_staff_cannot_diff_against_it(
    gql: GraphQL, auditor: Any, staff: Any, lamp: Product
) -> None:
    variables = {
        "id": gid("Product", lamp.pk),
        "against": gid("HistoricalProduct", secret_version().history_id),
    }

    refused = gql(DIFF, variables, user=auditor)
    shown = gql(DIFF, variables, user=staff)

    assert refused["data"] == {"product": None}
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["NOT_FOUND"]
    assert shown["data"]["product"]["history"]["edges"] == [
        {
            "node": {
                "diff": [{"field": "price", "oldValue": "12.00", "newValue": "15.00"}]
            }
        }
    ]


def test_as_of_its_time_non_staff_get_the_version_before_it(
    gql: GraphQL, auditor: Any, staff: Any, lamp: Product
) -> None:
    variables = {
        "id": gid("Product", lamp.pk),
        "at": secret_version().history_date.isoformat(),
    }

    assert gql(AS_OF, variables, user=auditor) == {
        "data": {"productAsOf": {"historyChangeReason": "Up", "price": "12.00"}}
    }
    assert gql(AS_OF, variables, user=staff) == {
        "data": {"productAsOf": {"historyChangeReason": SECRET, "price": "12.00"}}
    }


def revert_input(lamp: Product, record: Any, **extra: Any) -> dict[str, Any]:
    return {
        "input": {
            "id": gid("Product", lamp.pk),
            "record": gid("HistoricalProduct", record.history_id),
            "reason": "Back",
            **extra,
        }
    }


def test_non_staff_cannot_revert_to_it(
    gql: GraphQL, editor: Any, lamp: Product
) -> None:
    answer = gql(REVERT, revert_input(lamp, secret_version()), user=editor)

    assert answer == {
        "data": {
            "revertProduct": {
                "__typename": "OperationInfo",
                "messages": [{"code": "NOT_FOUND", "field": "record"}],
            }
        }
    }


def test_a_newer_staff_only_version_does_not_make_non_staff_stale(
    gql: GraphQL, editor: Any, staff: Any, lamp: Product
) -> None:
    services.product_update(
        pk=lamp.pk, data={"supplier_cost": Decimal("5.00")}, actor=staff, reason="x"
    )
    versions = HistoricalProduct.objects.filter(id=lamp.pk).order_by("history_id")
    created, sale = (
        versions.get(history_change_reason="New"),
        versions.get(history_change_reason="Sale"),
    )

    answer = gql(
        REVERT,
        revert_input(
            lamp, created, expectedLatest=gid("HistoricalProduct", sale.history_id)
        ),
        user=editor,
    )

    assert answer == {
        "data": {
            "revertProduct": {
                "__typename": "RevertProductResult",
                "product": {"price": "10.00"},
            }
        }
    }


def test_a_revert_it_made_shows_no_reverted_from_to_non_staff(
    gql: GraphQL, auditor: Any, staff: Any, lamp: Product
) -> None:
    """Only staff can revert to it; others see the revert, not where it went."""
    services.product_update(
        pk=lamp.pk, data={"price": Decimal("1.00")}, actor=staff, reason="Oops"
    )
    services.product_revert(
        pk=lamp.pk, record_id=secret_version().history_id, actor=staff, reason="Fix"
    )
    variables = {"id": gid("Product", lamp.pk)}

    def newest(user: Any) -> Any:
        answer = gql(REVERTED_FROM, variables, user=user)
        return answer["data"]["product"]["history"]["edges"][0]["node"]

    assert newest(auditor) == {"historyChangeReason": "Fix", "revertedFrom": None}
    assert newest(staff) == {
        "historyChangeReason": "Fix",
        "revertedFrom": {"historyChangeReason": SECRET},
    }
