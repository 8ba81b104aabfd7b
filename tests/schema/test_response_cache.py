"""The GraphQL response cache over HTTP: a query asked again is answered from
the cache without running it, and no write, permission change, rename, prune,
checkpoint, revoked token or other viewer ever gets a stale or foreign answer."""

from __future__ import annotations

import dataclasses
import datetime
import io
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import ApiToken
from accounts.tokens import api_token_revoke
from history.checkpoints import write_checkpoint
from history.retention import history_prune
from products.models import Product, Tag
from products.services import product_update
from schema import cache as response_cache
from schema.root import schema
from tests.conftest import GraphQL, bearer
from tests.factories import UserFactory
from tests.helpers import EDITOR_PERMISSIONS, gid, post, second_connection
from tests.schema.reads import create, update

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("response_cache_on")]

HISTORY = """
query History($first: Int) {
  products(first: 10) { edges { node {
    id name price tags { name }
    history(first: $first) {
      totalCount
      edges { node { historyType historyUser { username } changes { field newValue } } }
    }
  } } }
}
"""
PRODUCTS = "{ products(first: 10) { edges { node { name price } } } }"
STAFF_ONLY = "{ products(first: 10) { edges { node { name supplierCost } } } }"
ME = "{ me { username } }"
CHECKPOINT = "{ historyCheckpoint { id kind versions } }"


@pytest.fixture
def ask(gql: GraphQL) -> Callable[..., dict[str, Any]]:
    """`gql` with the answer's `extensions` kept: a cached answer keeps them."""

    def run(query: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
        return gql(query, variables, extensions=True, **kw)

    return run


def versions_of(product: Product) -> Any:
    return Product.history.model.objects.filter(id=product.pk)


def lamp(actor: Any = None) -> Product:
    product = create(actor, "Lamp", "10.00", tags=["red"])
    update(product, actor, price="12.00")
    return product


def usernames(answer: dict[str, Any]) -> set[str | None]:
    return {
        (version["node"]["historyUser"] or {}).get("username")
        for product in answer["data"]["products"]["edges"]
        for version in product["node"]["history"]["edges"]
    }


# -- hits --------------------------------------------------------------------------


def test_a_query_asked_again_is_answered_from_the_cache_without_running(
    ask, editor, executions
):
    lamp(editor)
    headers = bearer(editor)

    first = ask(HISTORY, {"first": 5}, headers=headers)
    with CaptureQueriesContext(connection) as queries:
        second = ask(HISTORY, {"first": 5}, headers=headers)

    assert "errors" not in first
    assert second == first
    assert first["extensions"]["cost"]["nodes"] > 0
    assert executions == [HISTORY]
    # The token, the viewer's permissions and the data stamp: nothing else.
    assert len(queries) == 3, [q["sql"] for q in queries]


def test_an_anonymous_hit_costs_the_stamp_statement_alone(
    ask, django_assert_num_queries, executions
):
    lamp()
    first = ask(PRODUCTS)

    with django_assert_num_queries(1):
        second = ask(PRODUCTS)

    assert (
        second
        == first
        == {
            "data": {
                "products": {"edges": [{"node": {"name": "Lamp", "price": "12.00"}}]}
            },
            "extensions": first["extensions"],
        }
    )
    assert len(executions) == 1


def test_the_cached_answer_is_the_same_bytes_and_media_type(editor, executions):
    lamp(editor)
    headers = {**bearer(editor), "Accept": "application/graphql-response+json"}

    first = post(HISTORY, {"first": 3}, headers=headers)
    second = post(HISTORY, {"first": 3}, headers=headers)

    assert second.status_code == first.status_code == 200
    assert second.content == first.content
    assert second["Content-Type"] == first["Content-Type"]
    assert first["Content-Type"] == "application/graphql-response+json"
    assert len(executions) == 1


def test_different_variables_are_different_answers(ask, editor, executions):
    product = lamp(editor)
    update(product, editor, price="13.00")
    headers = bearer(editor)

    one = ask(HISTORY, {"first": 1}, headers=headers)
    two = ask(HISTORY, {"first": 2}, headers=headers)
    one_again = ask(HISTORY, {"first": 1}, headers=headers)

    edges = [a["data"]["products"]["edges"][0]["node"]["history"] for a in (one, two)]
    assert [len(h["edges"]) for h in edges] == [1, 2]
    assert one_again == one
    assert len(executions) == 2


def test_variables_in_another_order_are_the_same_answer(ask, executions):
    lamp()
    query = "query($a: Int, $b: Int) { x: products(first: $a) { totalCount } "
    query += "y: products(last: $b) { totalCount } }"

    first = ask(query, {"a": 1, "b": 2})
    second = ask(query, {"b": 2, "a": 1})

    assert first == second
    assert len(executions) == 1


def test_another_operation_of_the_same_document_is_another_answer(executions):
    lamp()
    document = "query A { products { totalCount } } query B { me { username } }"

    for name in ("A", "B", "A", "B"):
        body = {"query": document, "operationName": name}
        answer = post_json(body)
        assert answer["data"] == (
            {"products": {"totalCount": 1}} if name == "A" else {"me": None}
        )

    assert len(executions) == 2


def post_json(body: dict[str, Any], headers: dict[str, object] | None = None) -> Any:
    from strawberry_django.test.client import TestClient

    response = TestClient("/graphql/").request(body, headers=headers or {})
    assert response.status_code == 200, response.content
    return response.json()


# -- writes between two reads ---------------------------------------------------------


def test_a_mutation_between_two_reads_is_seen(ask, editor, executions):
    product = lamp(editor)
    headers = bearer(editor)
    before = ask(HISTORY, {"first": 5}, headers=headers)

    changed = ask(
        """mutation($input: UpdateProductInput!) {
          updateProduct(input: $input) { __typename }
        }""",
        {"input": {"id": gid("Product", product.pk), "price": "20.00"}},
        headers=headers,
    )
    after = ask(HISTORY, {"first": 5}, headers=headers)

    assert changed["data"] == {"updateProduct": {"__typename": "Product"}}
    node = after["data"]["products"]["edges"][0]["node"]
    assert node["price"] == "20.00"
    assert node["history"]["totalCount"] == 3
    assert before["data"]["products"]["edges"][0]["node"]["price"] == "12.00"


def test_a_mutation_is_never_answered_from_the_cache(ask, editor, executions):
    product = lamp(editor)
    headers = bearer(editor)
    mutation = """mutation($input: UpdateProductInput!) {
      updateProduct(input: $input) { ... on Product { price } }
    }"""
    variables = {"input": {"id": gid("Product", product.pk), "quantity": 1}}

    ask(mutation, variables, headers=headers)
    variables["input"]["quantity"] = 2
    ask(mutation, variables, headers=headers)

    product.refresh_from_db()
    assert product.quantity == 2
    assert len(executions) == 2


def test_a_service_write_between_two_reads_is_seen(ask, editor):
    product = lamp(editor)
    ask(PRODUCTS)

    product_update(pk=product.pk, data={"name": "Desk lamp"}, actor=None)

    assert ask(PRODUCTS)["data"]["products"]["edges"][0]["node"]["name"] == (
        "Desk lamp"
    )


def test_a_command_write_between_two_reads_is_seen(ask, tmp_path):
    lamp()
    ask(PRODUCTS)
    rows = tmp_path / "products.csv"
    rows.write_text("name,price\nDesk,5.00\n")

    call_command("import_products", str(rows), reason="catalog", stdout=io.StringIO())

    names = [e["node"]["name"] for e in ask(PRODUCTS)["data"]["products"]["edges"]]
    assert names == ["Lamp", "Desk"]


def test_a_tag_renamed_in_the_admin_is_seen(ask, admin_client):
    lamp()
    query = "{ products { edges { node { tags { name } } } } }"
    assert ask(query)["data"]["products"]["edges"][0]["node"]["tags"] == [
        {"name": "red"}
    ]
    red = Tag.objects.get(name="red")

    response = admin_client.post(
        f"/admin/products/tag/{red.pk}/change/", {"name": "crimson"}
    )

    assert response.status_code == 302, response.content
    assert ask(query)["data"]["products"]["edges"][0]["node"]["tags"] == [
        {"name": "crimson"}
    ]


def test_a_revert_between_two_reads_is_seen(ask, editor):
    product = lamp(editor)
    headers = bearer(editor)
    before = ask(HISTORY, {"first": 5}, headers=headers)
    created = versions_of(product).order_by("history_id").first()

    reverted = ask(
        """mutation($input: RevertProductInput!) {
          revertProduct(input: $input) { __typename }
        }""",
        {
            "input": {
                "id": gid("Product", product.pk),
                "record": gid("HistoricalProduct", created.history_id),
                "reason": "too dear",
            }
        },
        headers=headers,
    )
    after = ask(HISTORY, {"first": 5}, headers=headers)

    assert reverted["data"]["revertProduct"]["__typename"] == "RevertProductResult"
    assert before["data"]["products"]["edges"][0]["node"]["price"] == "12.00"
    node = after["data"]["products"]["edges"][0]["node"]
    assert node["price"] == "10.00"
    assert node["history"]["totalCount"] == 3


def test_a_prune_between_two_reads_is_seen(ask, editor):
    product = lamp(editor)
    headers = bearer(editor)
    newest = versions_of(product).order_by("-history_id").first().history_id
    before = ask(HISTORY, {"first": 5}, headers=headers)

    result = history_prune(
        model=Product, cutoff=timezone.now() + datetime.timedelta(seconds=1)
    )
    after = ask(HISTORY, {"first": 5}, headers=headers)

    assert result.count == 1
    # The newest version is left, so the newest version id did not move.
    assert versions_of(product).order_by("-history_id").first().history_id == newest
    counts = [
        a["data"]["products"]["edges"][0]["node"]["history"]["totalCount"]
        for a in (before, after)
    ]
    assert counts == [2, 1]


def test_a_checkpoint_written_between_two_reads_is_seen(ask, editor):
    lamp(editor)
    headers = bearer(editor)
    assert ask(CHECKPOINT, headers=headers)["data"] == {"historyCheckpoint": None}

    checkpoint = write_checkpoint()

    assert ask(CHECKPOINT, headers=headers)["data"] == {
        "historyCheckpoint": {"id": checkpoint.pk, "kind": "CHECKPOINT", "versions": 2}
    }


# -- users, permissions, tokens ----------------------------------------------------


def test_a_user_renamed_between_two_reads_is_seen(ask, editor):
    lamp(editor)
    headers = bearer(editor)
    assert usernames(ask(HISTORY, {"first": 5}, headers=headers)) == {"editor"}

    editor.username = "chief-editor"
    editor.save()

    assert usernames(ask(HISTORY, {"first": 5}, headers=headers)) == {"chief-editor"}


def test_a_permission_granted_and_revoked_is_seen(ask, editor):
    lamp(editor)
    viewer: Any = UserFactory(username="viewer")
    headers = bearer(viewer)
    denied = ask(HISTORY, {"first": 5}, headers=headers)
    permission = Permission.objects.get(codename="view_historicalproduct")

    viewer.user_permissions.add(permission)
    granted = ask(HISTORY, {"first": 5}, headers=headers)
    viewer.user_permissions.remove(permission)
    revoked = ask(HISTORY, {"first": 5}, headers=headers)

    assert denied["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    assert usernames(granted) == {"editor"}
    assert revoked["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    assert "data" not in revoked or revoked["data"] is None


def test_a_group_change_is_seen(ask, editor):
    lamp(editor)
    viewer: Any = UserFactory(username="viewer")
    headers = bearer(viewer)
    auditors = Group.objects.create(name="auditors")
    auditors.permissions.add(Permission.objects.get(codename="view_historicalproduct"))
    denied = ask(HISTORY, {"first": 5}, headers=headers)

    viewer.groups.add(auditors)
    granted = ask(HISTORY, {"first": 5}, headers=headers)
    auditors.permissions.clear()
    revoked = ask(HISTORY, {"first": 5}, headers=headers)

    assert denied["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    assert usernames(granted) == {"editor"}
    assert revoked["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


def assert_staff_and_editor_see_their_own(
    ask: Callable[..., dict[str, Any]],
    staff_headers: dict[str, str],
    editor_headers: dict[str, str],
) -> None:
    """Staff see the staff-only version and supplier cost of `lamp`'s product
    (its cost set to 4.00 by staff); the editor sees neither."""
    assert usernames(ask(HISTORY, {"first": 5}, headers=staff_headers)) == {
        "editor",
        "staff",
    }
    assert usernames(ask(HISTORY, {"first": 5}, headers=editor_headers)) == {"editor"}
    seen_by_staff = ask(STAFF_ONLY, headers=staff_headers)
    seen_by_editor = ask(STAFF_ONLY, headers=editor_headers)
    assert seen_by_staff["data"]["products"]["edges"][0]["node"] == {
        "name": "Lamp",
        "supplierCost": "4.00",
    }
    assert seen_by_editor["data"]["products"]["edges"][0]["node"] == {
        "name": "Lamp",
        "supplierCost": None,
    }


def test_staff_and_others_get_their_own_answers(ask, editor, staff, executions):
    product = lamp(editor)
    product_update(pk=product.pk, data={"supplier_cost": Decimal("4.00")}, actor=staff)
    staff_headers, editor_headers = bearer(staff), bearer(editor)

    for _ in range(2):
        assert_staff_and_editor_see_their_own(ask, staff_headers, editor_headers)

    assert len(executions) == 4


def test_staff_only_request_context_is_not_served_to_others(ask, editor, staff):
    lamp(editor)
    query = "{ productHistory(first: 5) { edges { node { requestId userAgent } } } }"
    staff_answer = ask(query, headers=bearer(staff))
    editor_answer = ask(query, headers=bearer(editor))

    assert "errors" not in staff_answer
    assert {
        e["node"]["userAgent"] for e in editor_answer["data"]["productHistory"]["edges"]
    } == {None}


def test_anonymous_and_authenticated_viewers_get_their_own_answers(ask, editor):
    lamp(editor)
    headers = bearer(editor)

    authenticated = ask(HISTORY, {"first": 5}, headers=headers)
    anonymous = ask(HISTORY, {"first": 5})
    authenticated_again = ask(HISTORY, {"first": 5}, headers=headers)

    assert usernames(authenticated) == {"editor"}
    assert anonymous["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    assert authenticated_again == authenticated


def test_two_viewers_with_different_permissions_get_their_own_answers(ask, editor):
    lamp(editor)
    reader = UserFactory(username="reader")
    editor_headers, reader_headers = bearer(editor), bearer(reader)

    for _ in range(2):
        assert usernames(ask(HISTORY, {"first": 5}, headers=editor_headers)) == {
            "editor"
        }
        refused = ask(HISTORY, {"first": 5}, headers=reader_headers)
        assert refused["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


def test_two_viewers_with_the_same_permissions_share_an_answer(ask, executions):
    lamp()
    one = UserFactory(username="one", permissions=EDITOR_PERMISSIONS)
    two = UserFactory(username="two", permissions=EDITOR_PERMISSIONS)
    one_headers, two_headers = bearer(one), bearer(two)

    assert ask(HISTORY, {"first": 5}, headers=one_headers) == ask(
        HISTORY, {"first": 5}, headers=two_headers
    )
    assert len(executions) == 1


def test_me_is_answered_per_user(ask, executions):
    one = UserFactory(username="one", permissions=EDITOR_PERMISSIONS)
    two = UserFactory(username="two", permissions=EDITOR_PERMISSIONS)
    one_headers, two_headers = bearer(one), bearer(two)

    for _ in range(2):
        assert ask(ME, headers=one_headers)["data"] == {"me": {"username": "one"}}
        assert ask(ME, headers=two_headers)["data"] == {"me": {"username": "two"}}
        assert ask(ME)["data"] == {"me": None}

    assert len(executions) == 3


def test_a_user_looked_up_by_node_is_answered_per_user(ask):
    one: Any = UserFactory(username="one")
    two: Any = UserFactory(username="two")
    query = "query($id: ID!) { node(id: $id) { ... on User { username } } }"
    variables = {"id": gid("User", one.pk)}

    assert ask(query, variables, headers=bearer(one))["data"] == {
        "node": {"username": "one"}
    }
    assert ask(query, variables, headers=bearer(two))["data"] == {"node": None}


def test_a_revoked_token_gets_the_auth_error_not_a_cached_answer(ask, editor):
    lamp(editor)
    headers = bearer(editor)
    assert usernames(ask(HISTORY, {"first": 5}, headers=headers)) == {"editor"}

    api_token_revoke(token=ApiToken.objects.get(user=editor))
    refused = ask(HISTORY, {"first": 5}, headers=headers, status=401)

    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "data" not in refused


# -- what is not cached ---------------------------------------------------------------


def test_a_partial_answer_with_errors_is_not_cached(ask, executions):
    lamp()
    query = "query($id: ID!) { products { totalCount } node(id: $id) { id } }"

    for _ in range(2):
        answer = ask(query, {"id": "garbage"})
        assert answer["data"] == {"products": {"totalCount": 1}, "node": None}
        assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

    assert len(executions) == 2


def test_a_refused_query_is_not_cached(ask, executions):
    lamp()

    for _ in range(2):
        refused = ask(HISTORY, {"first": 5})
        assert refused["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"

    assert len(executions) == 2


def test_verification_is_never_cached(ask, staff, executions):
    lamp(staff)
    query = "{ verifyHistory(model: PRODUCT) { intact versionsChecked } }"
    headers = bearer(staff)

    for _ in range(2):
        ask(query, headers=headers)

    assert len(executions) == 2


def test_an_answer_over_the_size_limit_is_not_stored(ask, settings, executions):
    lamp()
    settings.GRAPHQL_RESPONSE_CACHE_MAX_BYTES = 20

    assert ask(PRODUCTS) == ask(PRODUCTS)
    assert len(executions) == 2


def test_the_cache_can_be_switched_off(ask, settings, executions):
    lamp()
    settings.GRAPHQL_RESPONSE_CACHE = False

    ask(PRODUCTS)
    ask(PRODUCTS)

    assert len(executions) == 2


def test_a_changed_setting_is_another_answer(ask, executions):
    lamp()
    query = "{ products { edges { node { name } } } }"
    ask(query)

    with override_settings(GRAPHQL_MAX_PAGE_SIZE=1):
        ask(query)

    assert len(executions) == 2


@pytest.mark.parametrize(
    ("document", "name"),
    [
        ("mutation { logout }", None),
        ("{ products { totalCount } } { me { username } }", None),
        ("query A { me { username } }", "B"),
        ("{ products { totalCount ", None),
        ("{ verifyHistory(model: PRODUCT) { intact } }", None),
        (
            "query { ...F } "
            "fragment F on Query { v: verifyHistory(model: PRODUCT) { intact } }",
            None,
        ),
        ("{ products @defer { totalCount } }", None),
        ("subscription { x }", None),
    ],
)
def test_documents_that_are_never_cached(document: str, name: str | None) -> None:
    assert not response_cache.analyse(schema._schema, document, name, 5000).cacheable


@pytest.mark.parametrize(
    "document",
    [
        "{ me { username } }",
        '{ ...F } fragment F on Query { n: node(id: "x") { id } }',
        "{ ... on Query { me { id } } }",
    ],
)
def test_documents_cached_per_user(document: str) -> None:
    analysed = response_cache.analyse(schema._schema, document, None, 5000)
    assert analysed.cacheable
    assert analysed.per_user


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has one writer at a time"
)
def test_no_answer_is_stored_while_another_transaction_is_writing(ask, executions):
    lamp()
    with second_connection() as other:
        other.execute("BEGIN")
        other.execute("SELECT pg_current_xact_id()")  # it now holds an xid
        ask(PRODUCTS)
        ask(PRODUCTS)
        other.execute("ROLLBACK")
    ask(PRODUCTS)
    ask(PRODUCTS)

    assert len(executions) == 3


def test_introspection_alone_is_cached_without_reading_the_database(
    ask, django_assert_num_queries, executions
):
    query = "{ __typename __schema { queryType { name } } }"
    first = ask(query)

    with django_assert_num_queries(0):
        second = ask(query)

    assert first == second
    assert first["data"]["__schema"] == {"queryType": {"name": "Query"}}
    assert len(executions) == 1


@pytest.mark.parametrize(
    ("document", "reads_data"),
    [
        ("{ __typename }", False),
        ('{ __schema { types { name } } __type(name: "Product") { name } }', False),
        ("{ __typename products { totalCount } }", True),
        ("{ ...F } fragment F on Query { historyPublicKey }", True),
        ("{ me { __typename } }", True),
    ],
)
def test_documents_that_read_data(document: str, reads_data: bool) -> None:
    analysed = response_cache.analyse(schema._schema, document, None, 5000)
    assert dataclasses.replace(analysed, normal="") == (
        response_cache.Document(
            cacheable=True, per_user=document.startswith("{ me"), reads_data=reads_data
        )
    )


def test_a_connection_s_node_is_not_the_root_node() -> None:
    analysed = response_cache.analyse(schema._schema, HISTORY, "History", 5000)
    assert analysed.cacheable
    assert not analysed.per_user


def test_every_model_a_query_reads_moves_the_stamp() -> None:
    """A model the schema exposes is tracked (its versions move the stamp), a
    historical model, a changeset (written with its versions) or watched
    (`RESPONSE_CACHE_WATCHED_MODELS`): none can change unseen."""
    from django.db import models
    from strawberry_django.utils.typing import get_django_definition

    from history.models import Changeset
    from history.selectors import tracked_models
    from history.tracking import history_model_for
    from responsecache.stamps import watched_models

    exposed: set[type[models.Model]] = set()
    for converted in schema.schema_converter.type_map.values():
        origin = getattr(converted.definition, "origin", None)
        definition = get_django_definition(origin) if origin else None
        if definition is not None and not definition.model._meta.abstract:
            exposed.add(definition.model)
    tracked = set(tracked_models())
    covered = {
        *tracked,
        *(history_model_for(model) for model in tracked),
        Changeset,
        *watched_models(),
    }

    assert exposed
    assert exposed - covered == set()


# -- shared by workers: Redis ---------------------------------------------------------

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def redis_cache(settings: Any) -> Iterator[Any]:
    """The response cache in Redis (database 15), as `CACHE_URL` sets it."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis server answers at {REDIS_URL}")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
    caches["default"].clear()
    yield client
    caches["default"].clear()


@pytest.mark.usefixtures("redis_cache")
class TestInRedis:
    def test_answers_are_stored_in_redis_and_served_from_it(
        self, ask, editor, executions, redis_cache
    ):
        lamp(editor)
        headers = bearer(editor)

        first = ask(HISTORY, {"first": 5}, headers=headers)
        second = ask(HISTORY, {"first": 5}, headers=headers)

        assert second == first
        assert len(executions) == 1
        assert len(redis_cache.keys("*graphql-answer:*")) == 1

    def test_a_write_between_two_reads_is_seen(self, ask, editor):
        product = lamp(editor)
        ask(PRODUCTS)

        product_update(pk=product.pk, data={"name": "Desk lamp"}, actor=editor)

        assert ask(PRODUCTS)["data"]["products"]["edges"][0]["node"]["name"] == (
            "Desk lamp"
        )

    def test_a_user_renamed_between_two_reads_is_seen(self, ask, editor):
        lamp(editor)
        headers = bearer(editor)
        assert usernames(ask(HISTORY, {"first": 5}, headers=headers)) == {"editor"}

        editor.username = "chief-editor"
        editor.save()

        assert usernames(ask(HISTORY, {"first": 5}, headers=headers)) == {
            "chief-editor"
        }

    def test_other_viewers_get_their_own_answers(self, ask, editor, staff):
        product = lamp(editor)
        product_update(
            pk=product.pk, data={"supplier_cost": Decimal("4.00")}, actor=staff
        )
        staff_headers, editor_headers = bearer(staff), bearer(editor)

        for _ in range(2):
            assert ask(HISTORY, {"first": 5})["errors"][0]["extensions"] == {
                "code": "PERMISSION_DENIED"
            }
            assert_staff_and_editor_see_their_own(ask, staff_headers, editor_headers)
