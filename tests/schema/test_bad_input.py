"""Bad input over HTTP gets a clear answer, and a refused mutation writes nothing.

Every answer must be a success, or a failure that says why: `OperationInfo`
messages that each carry a `code`, or GraphQL errors that each carry an
`extensions.code` (never `INTERNAL_SERVER_ERROR`). The status is 200 or 4xx,
never 5xx. When a mutation fails, every row of the catalog (products,
categories, tags, product-tag links) and of its history (product and category
versions, the versions' tag rows) is exactly as it was.

The matrix sends one bad value at a time, through JSON variables, in an input
that succeeds as it is (`test_every_base_input_succeeds`), so each case tests
the one value it changes. The property-based tests (test_generated_writes.py)
generate whole inputs that mix valid and invalid values.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from tests.schema.bad_input import (
    GRAPHQL_RESPONSE,
    Case,
    Catalog,
    Snapshot,
    assert_unchanged,
    explained,
    get,
    history_rows,
    resolve,
    send,
    shown,
    snapshot,
    verdict,
)
from tests.schema.bad_input_mutations import OPERATIONS, Operation, mutation_cases
from tests.schema.bad_input_queries import ID_QUERIES, Query, query_cases

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
