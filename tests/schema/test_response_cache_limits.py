"""What the GraphQL response cache (schema/cache.py) costs and where its
answers come from: memory a client cannot make it keep, one answer per
document however it is spelled, a stamp it cannot read, another database, a
replica behind the primary, writes no query reads."""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

import pytest
from django.test import Client

from responsecache import stamps
from schema import budget as request_budget
from schema import cache as response_cache
from tests.conftest import bearer
from tests.helpers import post
from tests.schema.reads import create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("response_cache_on")]

PRODUCTS = "{ products(first: 10) { edges { node { name price } } } }"


def test_documents_a_client_sends_are_not_kept_after_their_request() -> None:
    """What the cache remembers of a document is its digest: 2 MB of distinct
    documents (comments do not count as tokens) leave nothing behind."""
    create(None, "Lamp")
    documents = [PRODUCTS + f"\n# {n} " + "x" * 200_000 for n in range(10)]
    post(PRODUCTS)  # what any first request loads
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for document in documents:
            assert post(document).status_code == 200
        del documents
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    kept = after - before
    assert kept < 500_000, f"{kept} bytes kept after 2 MB of documents were answered"


def test_a_comment_or_spacing_does_not_make_another_answer(executions) -> None:
    create(None, "Lamp")
    spellings = [
        PRODUCTS,
        PRODUCTS + " # again",
        PRODUCTS.replace(" ", "  "),
        PRODUCTS.replace(" ", ", "),
    ]

    answers = [post(document).json() for document in spellings]

    assert all(answer == answers[0] for answer in answers)
    assert len(executions) == 1


@pytest.fixture
def spent_after_one_statement(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A request budget that one statement spends: each takes 20 ms on the
    budget's clock, of 10."""
    settings.DATABASE_REQUEST_BUDGET_MS = 10
    ticks = iter(range(10**6))
    monkeypatch.setattr(request_budget, "perf_counter", lambda: next(ticks) * 0.02)


@pytest.mark.parametrize("cache", [False, True], ids=["cache-off", "cache-on"])
def test_a_budget_spent_before_the_stamp_is_read_is_a_timeout_error(
    cache: bool, editor: Any, settings: Any, spent_after_one_statement: None
) -> None:
    """The viewer's permissions spend the budget; the stamp would be the next
    statement. The query then runs uncached, and meets its TIMEOUT as it would
    without the cache."""
    settings.GRAPHQL_RESPONSE_CACHE = cache
    create(None, "Lamp")

    response = post(
        PRODUCTS, headers=bearer(editor), client=Client(raise_request_exception=False)
    )

    assert response.status_code == 200, response.content[:300]
    answer = response.json()
    assert answer["data"] is None
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["TIMEOUT"]


def test_answers_are_keyed_on_their_database(
    settings: Any, monkeypatch: pytest.MonkeyPatch, executions
) -> None:
    """Two deployments sharing one cache server never answer with each
    other's data, even under equal stamps."""
    production = response_cache.database_identity()
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(settings.DATABASES["default"], "HOST", "staging.example")
        staging = response_cache.database_identity()
    assert production != staging
    create(None, "Lamp")

    post(PRODUCTS)
    post(PRODUCTS)
    monkeypatch.setattr(response_cache, "database_identity", lambda: staging)
    post(PRODUCTS)

    assert len(executions) == 2


@pytest.fixture
def replica_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """History read from the `replica` alias (the tests' mirror of the
    primary), as the router sends them with DATABASE_REPLICA_URL."""
    monkeypatch.setattr(stamps, "stamp_aliases", lambda: ("default", "replica"))


@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
@pytest.mark.usefixtures("replica_reads")
def test_an_answer_is_not_stored_while_the_replica_is_behind(
    monkeypatch: pytest.MonkeyPatch, executions
) -> None:
    """With history reads on a replica whose stamp is not the primary's, the
    answer may be older than the stamp: it is sent, never stored."""
    create(None, "Lamp")
    statement = stamps.stamp_statement
    columns = len(statement("default", writers=False).split(", "))

    def behind(alias: str, *, writers: bool = True) -> str:
        if alias == "replica":  # no version, checkpoint or watched write yet
            return "SELECT " + ", ".join(["NULL"] * (columns - 1) + ["0"])
        return statement(alias, writers=writers)

    monkeypatch.setattr(stamps, "stamp_statement", behind)

    first = post(PRODUCTS).json()
    second = post(PRODUCTS).json()

    assert first == second
    assert len(executions) == 2


@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
@pytest.mark.usefixtures("replica_reads")
def test_an_answer_is_stored_once_the_replica_has_caught_up(executions) -> None:
    create(None, "Lamp")

    post(PRODUCTS)
    post(PRODUCTS)

    assert len(executions) == 1


def test_a_login_moves_no_stamp(editor: Any, executions) -> None:
    """A login saves the user's `last_login`, which no query reads."""
    create(None, "Lamp")
    post(PRODUCTS)
    stamp = stamps.read_stamp()

    Client().force_login(editor)
    editor.save(update_fields=["last_login"])

    assert stamps.read_stamp() == stamp
    post(PRODUCTS)
    assert len(executions) == 1


def test_a_rename_saved_with_update_fields_moves_the_stamp(editor: Any) -> None:
    stamp = stamps.read_stamp()

    editor.username = "chief"
    editor.save(update_fields=["username", "last_login"])

    assert stamps.read_stamp() != stamp
