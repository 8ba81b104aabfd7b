"""A burst of concurrent updates and reverts against a live server loses nothing.

uvicorn serves the API with two worker processes on the test database; a thread
pool sends a bounded burst of mutations over loopback HTTP. Afterwards the
versions must account for every answer: one version per success, none per
refusal, each with its change, and replaying them rebuilds every product.
"""

from __future__ import annotations

import datetime
import itertools
import logging
import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from django.db import connection
from strawberry.relay import from_base64, to_base64

from accounts.tokens import api_token_create
from products.models import Product
from products.services import product_create, product_update
from tests.conftest import EDITOR_PERMISSIONS
from tests.factories import UserFactory
from tests.uvicorn import Server, environment, serving

HistoricalProduct = Product.history.model

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: a live server shares the test database",
    ),
]

PRODUCTS = 5
MUTATIONS = 300
CLIENT_THREADS = 16
REQUEST_SECONDS = 30
# Every update sets a quantity no product ever had (unique per request, above
# the starting ones), so every successful update must write a version.
BURST_QUANTITY = 1000
FIELDS = ("name", "description", "price", "quantity")

UPDATE = """mutation($input: UpdateProductInput!) { updateProduct(input: $input) {
  __typename
  ... on Product { id quantity }
  ... on OperationInfo { messages { kind code field message } } } }"""
REVERT = """mutation($input: RevertProductInput!) { revertProduct(input: $input) {
  __typename
  ... on RevertProductResult { record { id revertedFrom { id } } }
  ... on OperationInfo { messages { kind code field message } } } }"""
RECENT_VERSIONS = """query($id: ID!) { node(id: $id) {
  ... on Product { history(first: 10) { edges { node { id } } } } } }"""


@dataclass
class Outcome:
    """One mutation of the burst and the server's answer to it."""

    index: int
    kind: str  # "update" or "revert"
    product_pk: int
    reason: str
    requests: int = 1  # HTTP requests made, the read before a revert included
    price: str | None = None  # update: the price set, if any
    record_id: int | None = None  # revert: the version gone back to
    expected_latest: int | None = None  # revert: the newest version read before
    status: int = 0
    answer: dict[str, Any] = field(default_factory=dict)
    answered_at: datetime.datetime | None = None

    @property
    def request_id(self) -> str:
        return f"burst-{self.index}"

    @property
    def quantity(self) -> int:
        return BURST_QUANTITY + self.index

    @property
    def payload(self) -> dict[str, Any]:
        data = self.answer.get("data") or {}
        return data.get(f"{self.kind}Product") or {}

    @property
    def succeeded(self) -> bool:
        return self.payload.get("__typename") in {"Product", "RevertProductResult"}

    @property
    def codes(self) -> list[str | None]:
        return [message["code"] for message in self.payload.get("messages", [])]

    @property
    def error_codes(self) -> list[Any]:
        return [
            (error.get("extensions") or {}).get("code")
            for error in self.answer.get("errors", [])
        ]


def database_url() -> str:
    """The URL of the database pytest-django created, for the server to use."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "localhost"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{quote(db['NAME'], safe='')}"


@contextmanager
def live_server() -> Iterator[Server]:
    """uvicorn with two workers on the test database, in production mode."""
    settings = environment(DATABASE_URL=database_url(), DJANGO_LOG_LEVEL="WARNING")
    with serving(settings, workers=2) as server:
        yield server


def post(
    client: httpx.Client,
    url: str,
    token: str,
    query: str,
    variables: Any,
    *,
    request_id: str | None = None,
) -> httpx.Response:
    """POST a GraphQL document as a token's user, with a request id if given."""
    headers = {"Authorization": f"Bearer {token}"}
    if request_id is not None:
        headers["X-Request-ID"] = request_id
    return client.post(
        url, json={"query": query, "variables": variables}, headers=headers
    )


def burst(url: str, tokens: list[str], product_pks: list[int]) -> list[Outcome]:
    """Send MUTATIONS updates and reverts from CLIENT_THREADS threads and keep
    every answer, whatever it is. Half the reverts name the newest version
    they read a moment before as `expectedLatest`; racing writers make some of
    those stale."""

    def send(client: httpx.Client, token: str, outcome: Outcome, input: Any) -> Outcome:
        response = post(
            client,
            url,
            token,
            UPDATE if outcome.kind == "update" else REVERT,
            {"input": input},
            request_id=outcome.request_id,
        )
        outcome.answered_at = datetime.datetime.now(datetime.UTC)
        outcome.status = response.status_code
        try:
            outcome.answer = response.json()
        except ValueError:
            outcome.answer = {"body": response.text[:500]}
        return outcome

    def one(client: httpx.Client, index: int) -> Outcome:
        rng = random.Random(index)
        token = tokens[index % len(tokens)]
        pk = rng.choice(product_pks)
        product_id = to_base64("Product", pk)
        if rng.random() < 0.5:
            outcome = Outcome(index, "update", pk, f"burst update {index}")
            input: dict[str, Any] = {
                "id": product_id,
                "quantity": outcome.quantity,
                "reason": outcome.reason,
            }
            if rng.random() < 0.5:
                outcome.price = f"{Decimal(rng.randint(100, 99999)) / 100:.2f}"
                input["price"] = outcome.price
            return send(client, token, outcome, input)

        outcome = Outcome(index, "revert", pk, f"burst revert {index}", requests=2)
        recent = post(client, url, token, RECENT_VERSIONS, {"id": product_id})
        if recent.status_code != 200 or "errors" in recent.json():
            outcome.status = recent.status_code
            outcome.answer = {"read failed": recent.text[:500]}
            return outcome
        edges = recent.json()["data"]["node"]["history"]["edges"]
        version_ids = [int(from_base64(edge["node"]["id"])[1]) for edge in edges]
        outcome.record_id = rng.choice(version_ids[1:])
        input = {
            "id": product_id,
            "record": to_base64("HistoricalProduct", outcome.record_id),
            "reason": outcome.reason,
        }
        if rng.random() < 0.5:
            outcome.expected_latest = version_ids[0]
            input["expectedLatest"] = to_base64("HistoricalProduct", version_ids[0])
        return send(client, token, outcome, input)

    limits = httpx.Limits(max_connections=CLIENT_THREADS)
    with (
        httpx.Client(timeout=REQUEST_SECONDS, limits=limits) as client,
        ThreadPoolExecutor(max_workers=CLIENT_THREADS) as pool,
    ):
        return list(pool.map(lambda index: one(client, index), range(MUTATIONS)))


def values(obj: Any) -> dict[str, str]:
    """The tracked plain fields in the text form a version's diff stores."""
    return {
        "name": obj.name,
        "description": obj.description,
        "price": f"{obj.price:.2f}",
        "quantity": str(obj.quantity),
    }


def catalog() -> tuple[list[str], list[int]]:
    """Two editors with bearer tokens, and products with two versions each."""
    tokens = [
        api_token_create(
            user=UserFactory(username=f"editor{n}", permissions=EDITOR_PERMISSIONS)
        )[0]
        for n in range(2)
    ]
    product_pks = []
    for n in range(PRODUCTS):
        product = product_create(
            data={"name": f"Item {n}", "price": Decimal("10.00"), "quantity": n},
            actor=None,
            reason="stocked",
        )
        # A second version, so that every revert has an older one to go to.
        product_update(
            pk=product.pk, data={"price": Decimal("11.00")}, actor=None, reason="dearer"
        )
        product_pks.append(product.pk)
    return tokens, product_pks


def test_a_burst_of_concurrent_updates_and_reverts_loses_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="httpx")  # not a line per request
    tokens, product_pks = catalog()
    versions_before = HistoricalProduct.objects.count()

    with live_server() as server:
        outcomes = burst(f"{server.url}/graphql/", tokens, product_pks)

    successes = [o for o in outcomes if o.succeeded]
    refusals = Counter(
        code for o in outcomes if not o.succeeded for code in o.codes or ["(none)"]
    )
    print(
        f"\nlive burst: {sum(o.requests for o in outcomes)} requests "
        f"({MUTATIONS} mutations: "
        f"{sum(o.kind == 'update' for o in outcomes)} updates, "
        f"{sum(o.kind == 'revert' for o in outcomes)} reverts, "
        f"{sum(o.expected_latest is not None for o in outcomes)} with "
        f"expectedLatest), {len(successes)} successes, "
        f"{refusals.pop('STALE', 0)} STALE refusals, "
        f"other refusals {dict(refusals) or 0}"
    )

    # No request failed unexpectedly, and the server logged no error.
    broken = [
        (o.index, o.status, o.answer)
        for o in outcomes
        if o.status >= 500 or "INTERNAL_SERVER_ERROR" in o.error_codes
    ]
    assert broken == []
    assert [
        (o.index, o.status, o.answer)
        for o in outcomes
        if o.status != 200 or "errors" in o.answer or not o.payload
    ] == []
    assert "Traceback" not in server.log, server.log[-4000:]
    # Updates always change a value: none is refused. Reverts are refused only
    # as STALE (with expectedLatest) or because there was nothing to change.
    assert [o.index for o in outcomes if o.kind == "update" and not o.succeeded] == []
    assert {
        (o.expected_latest is not None, code)
        for o in outcomes
        if not o.succeeded
        for code in o.codes
    } <= {(True, "STALE"), (True, "NOTHING_TO_REVERT"), (False, "NOTHING_TO_REVERT")}

    # Every successful mutation wrote exactly one version, carrying its request
    # id and reason; no refused one wrote anything.
    versions = list(HistoricalProduct.objects.order_by("history_id"))
    assert len(versions) == versions_before + len(successes)
    by_request: defaultdict[str, list[Any]] = defaultdict(list)
    for version in versions:
        by_request[version.history_request_id].append(version)
    assert {
        o.index: [(v.id, v.history_change_reason) for v in by_request[o.request_id]]
        for o in outcomes
    } == {o.index: [(o.product_pk, o.reason)] if o.succeeded else [] for o in outcomes}
    assert len(by_request[""]) == versions_before

    # Each version holds its change: the first is the creation, each later one
    # stores exactly the difference from the one before; replaying the changes
    # rebuilds every version and ends at the live product.
    chains: defaultdict[int, list[Any]] = defaultdict(list)
    for version in versions:
        chains[version.id].append(version)
    for pk in product_pks:
        chain = chains[pk]
        assert [v.history_type for v in chain] == ["+"] + ["~"] * (len(chain) - 1)
        assert chain[0].history_changes == {}
        state = values(chain[0])
        for older, newer in itertools.pairwise(chain):
            expected = {
                name: [values(older)[name], values(newer)[name]]
                for name in FIELDS
                if values(older)[name] != values(newer)[name]
            }
            assert expected != {}, f"version {newer.history_id} changed nothing"
            assert newer.history_changes == expected, newer.history_id
            for name, (old, new) in newer.history_changes.items():
                assert state[name] == old
                state[name] = new
            assert state == values(newer)
        assert state == values(Product.objects.get(pk=pk))

    version_of = {o.request_id: by_request[o.request_id][0] for o in successes}
    previous_of = {
        newer.history_id: older.history_id
        for chain in chains.values()
        for older, newer in itertools.pairwise(chain)
    }
    by_id = {v.history_id: v for v in versions}
    for o in successes:
        version = version_of[o.request_id]
        if o.kind == "update":
            assert version.history_reverted_from_id is None
            assert version.quantity == o.quantity
            if o.price is not None:
                assert f"{version.price:.2f}" == o.price
            continue
        # A revert records what it went back to, and has its values.
        assert version.history_reverted_from_id == o.record_id
        assert values(version) == values(by_id[o.record_id])
        assert o.payload["record"] == {
            "id": to_base64("HistoricalProduct", version.history_id),
            "revertedFrom": {"id": to_base64("HistoricalProduct", o.record_id)},
        }
        if o.expected_latest is not None:
            # Accepted: nothing came between the version it expected and its own.
            assert previous_of[version.history_id] == o.expected_latest

    # Refused as STALE: another writer's version had already followed the one
    # it expected, and was committed before the refusal came back.
    for o in outcomes:
        if "STALE" in o.codes:
            assert o.expected_latest is not None
            assert o.answered_at is not None
            assert any(
                v.history_id > o.expected_latest and v.history_date <= o.answered_at
                for v in chains[o.product_pk]
            ), o.index
