"""Only a `BadInput` reaches the client as it is; any other exception is masked
and logged with its traceback."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pytest

from history.errors import BadInput
from products.models import Product
from schema import registry

CREATE = """
mutation($input: CreateProductInput!) {
  createProduct(input: $input) { __typename ... on Product { name } }
}
"""
DESK = {"input": {"name": "Desk", "price": "120.00", "reason": "new"}}
SECRET = "secret detail: password=hunter2"


@pytest.fixture
def production(settings: Any) -> None:
    settings.DEBUG = False


def service_raising(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    def product_create(**kwargs: Any) -> Any:
        raise error

    entry = registry.entry_for(Product)
    monkeypatch.setattr(
        entry, "services", dataclasses.replace(entry.services, create=product_create)
    )


def logged_exceptions(caplog: pytest.LogCaptureFixture) -> list[type[BaseException]]:
    return [type(r.exc_info[1]) for r in caplog.records if r.exc_info and r.exc_info[1]]


@pytest.mark.parametrize(
    "error",
    [ValueError(SECRET), KeyError(SECRET), TypeError(SECRET)],
    ids=["ValueError", "KeyError", "TypeError"],
)
def test_any_other_exception_is_masked_and_logged_with_its_traceback(
    gql: Any,
    editor: Any,
    production: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    error: Exception,
) -> None:
    service_raising(monkeypatch, error)

    with caplog.at_level(logging.ERROR):
        answer = gql(CREATE, DESK, user=editor, headers={"X-Request-ID": "req-1"})

    assert answer == {
        "data": None,
        "errors": [
            {
                "message": "Unexpected error; quote request id req-1 when "
                "reporting it.",
                "locations": [{"line": 3, "column": 3}],
                "path": ["createProduct"],
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-1"},
            }
        ],
    }
    assert logged_exceptions(caplog) == [type(error)]
    assert SECRET in caplog.text
    assert "Traceback (most recent call last)" in caplog.text
    assert "in product_create" in caplog.text


def test_a_bad_input_is_shown_with_its_message_and_not_logged(
    gql: Any,
    editor: Any,
    production: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    service_raising(monkeypatch, BadInput("Desks need legs."))

    with caplog.at_level(logging.ERROR):
        answer = gql(CREATE, DESK, user=editor)

    assert answer == {
        "data": None,
        "errors": [
            {
                "message": "Desks need legs.",
                "locations": [{"line": 3, "column": 3}],
                "path": ["createProduct"],
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ],
    }
    assert logged_exceptions(caplog) == []
    assert not Product.objects.exists()


@pytest.mark.parametrize(
    ("document", "variables", "message"),
    [
        pytest.param(
            "mutation { createProduct(input: "
            '{name: "Desk", price: "NaN", reason: "r"}) { __typename } }',
            {},
            "Expected value of type 'Decimal', but encountered error "
            "''NaN' is not a finite decimal number.'; found: \"NaN\".",
            id="literal",
        ),
        pytest.param(
            CREATE,
            {"input": {"name": "Desk", "price": "1e99", "reason": "r"}},
            "Variable '$input' has invalid value at .price: Expected value of "
            "type 'Decimal', but encountered error ''1e99' is out of range.'; "
            "found: '1e99'.",
            id="variable",
        ),
    ],
)
def test_a_decimal_no_field_holds_is_a_clear_request_error(
    gql: Any,
    editor: Any,
    production: None,
    document: str,
    variables: dict[str, Any],
    message: str,
) -> None:
    answer = gql(document, variables, user=editor)

    assert [(e["message"], e["extensions"]) for e in answer["errors"]] == [
        (message, {"code": "GRAPHQL_VALIDATION_FAILED"})
    ]
    assert not Product.objects.exists()


@pytest.mark.parametrize(
    ("document", "variables", "at"),
    [
        pytest.param(
            "{ productHistory(filters: {historyDate: {year: {gt: 99999}}}) "
            "{ totalCount } }",
            {},
            "filters.historyDate.year.gt",
            id="literal",
        ),
        pytest.param(
            "query($f: HistoricalProductFilter) "
            "{ productHistory(filters: {AND: $f}) { totalCount } }",
            {"f": {"historyDate": {"isoYear": {"exact": 0}}}},
            "filters.AND.historyDate.isoYear.exact",
            id="variable",
        ),
    ],
)
def test_a_year_no_date_has_is_refused_as_bad_input(
    gql: Any,
    editor: Any,
    production: None,
    document: str,
    variables: dict[str, Any],
    at: str,
) -> None:
    answer = gql(document, variables, user=editor)

    assert answer["data"] is None
    assert [(e["message"], e["extensions"]) for e in answer["errors"]] == [
        (
            f"Argument 'filters' compares a year out of range at {at}; years run "
            "from 1 to 9999.",
            {"code": "BAD_USER_INPUT"},
        )
    ]
