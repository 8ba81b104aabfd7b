"""Hostile-client checks of what serves every tracked model at once: the audit
log, `changeset`, `asOf`, `revert` and `revertChangeset`.

Each test states what a client must (not) learn or be able to do; they cover
permission leaks, bounded cost and correctness at the edges."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest

from products.models import Category, Product
from products.services import product_import
from tests.conftest import EDITOR_PERMISSIONS, GraphQL
from tests.factories import ProductFactory, UserFactory
from tests.helpers import bypass_guards, gid
from tests.tracked.models import Note

HistoricalProduct: Any = Product.history.model

CHANGESET = """
query ($id: ID!) {
  changeset(id: $id) {
    id historyDate historyChangeReason historyUser { username }
    versions { totalCount edges { node { __typename } } }
  }
}
"""
NODE_CHANGESET = """
query ($id: ID!) {
  node(id: $id) { __typename ... on Changeset { historyChangeReason historyDate } }
}
"""
REVERT_CHANGESET = """
mutation ($id: ID!, $dryRun: Boolean) {
  revertChangeset(input: {id: $id, reason: "undo", dryRun: $dryRun}) {
    __typename
    ... on RevertChangesetResult {
      changeset { id }
      versions { __typename historyId }
      changes { objectId changes { field oldValue newValue } }
    }
    ... on OperationInfo { messages { code field message } }
  }
}
"""
UPDATE_PRODUCT = """
mutation ($id: ID!, $name: String, $cost: Decimal) {
  updateProduct(input: {id: $id, name: $name, supplierCost: $cost, reason: "edit"}) {
    __typename
  }
}
"""
NEWEST_CHANGESET = """
query ($id: ID!) {
  auditLog(first: 1, filters: {object: $id}) {
    edges { node { historyId changeset { id } } }
  }
}
"""


@pytest.fixture
def note_reader(db: None) -> Any:
    """May read the history of notes only."""
    return UserFactory(username="note-reader", permissions=["view_historicalnote"])


def _newest_changeset(gql: GraphQL, user: Any, object_id: str) -> str:
    answer = gql(NEWEST_CHANGESET, {"id": object_id}, user=user)
    edges = answer["data"]["auditLog"]["edges"]
    assert edges, answer
    changeset_id: str = edges[0]["node"]["changeset"]["id"]
    return changeset_id


# Permission leaks ----------------------------------------------------------


def test_changeset_of_only_unreadable_versions_tells_nothing(
    gql: GraphQL, editor: Any, note_reader: Any
) -> None:
    """A viewer who may read notes' history only learns nothing of a changeset
    that wrote only product versions: not who, when or why."""
    product = ProductFactory.create()
    gql(UPDATE_PRODUCT, {"id": gid("Product", product.pk), "name": "x"}, user=editor)
    changeset_id = _newest_changeset(gql, editor, gid("Product", product.pk))

    answer = gql(CHANGESET, {"id": changeset_id}, user=note_reader)
    assert answer.get("data", {}).get("changeset") is None, answer
    answer = gql(NODE_CHANGESET, {"id": changeset_id}, user=note_reader)
    assert answer.get("data", {}).get("node") is None, answer


def test_changeset_of_only_staff_only_versions_is_hidden_from_non_staff(
    gql: GraphQL, editor: Any, staff: Any
) -> None:
    """A staff-only version (supplier cost only) leaks not even who, when or
    why to non-staff: nor does the changeset that holds only it."""
    product = ProductFactory.create()
    answer = gql(
        UPDATE_PRODUCT, {"id": gid("Product", product.pk), "cost": "3.00"}, user=staff
    )
    assert answer["data"]["updateProduct"]["__typename"] == "Product", answer
    changeset_id = _newest_changeset(gql, staff, gid("Product", product.pk))

    answer = gql(CHANGESET, {"id": changeset_id}, user=editor)
    assert answer.get("data", {}).get("changeset") is None, answer
    answer = gql(NODE_CHANGESET, {"id": changeset_id}, user=editor)
    assert answer.get("data", {}).get("node") is None, answer


def test_revert_changeset_ignores_staff_only_changes_for_non_staff(
    gql: GraphQL, editor: Any, staff: Any
) -> None:
    """A supplier-cost change by staff after the changeset is invisible to the
    editor: it must not make the editor's changeset revert STALE (which names
    the product as changed since), as it does not make `revertProduct` STALE."""
    product = ProductFactory.create(name="Lamp")
    product_id = gid("Product", product.pk)
    gql(UPDATE_PRODUCT, {"id": product_id, "name": "Big lamp"}, user=editor)
    changeset_id = _newest_changeset(gql, editor, product_id)
    gql(UPDATE_PRODUCT, {"id": product_id, "cost": "3.00"}, user=staff)

    answer = gql(REVERT_CHANGESET, {"id": changeset_id}, user=editor)
    result = answer["data"]["revertChangeset"]
    assert result["__typename"] == "RevertChangesetResult", result
    product.refresh_from_db()
    assert product.name == "Lamp"
    assert product.supplier_cost == Decimal("3.00")


def test_changeset_reason_is_not_that_of_a_version_the_viewer_may_not_read(
    gql: GraphQL, editor: Any
) -> None:
    """One request changes a category (reason "secret merge") and then a
    product: a viewer who may read products' history only must not read the
    category's reason through the product version's changeset."""
    category = Category.objects.create(name="Lamps")
    product = ProductFactory.create(name="Lamp")
    both = UserFactory(
        username="both",
        permissions=[*EDITOR_PERMISSIONS, "change_category", "view_historicalcategory"],
    )
    answer = gql(
        """mutation ($c: ID!, $p: ID!) {
             a: updateCategory(input: {id: $c, name: "Bulbs", reason: "secret merge"}) {
               __typename }
             b: updateProduct(input: {id: $p, name: "Bulb", reason: "rename"}) {
               __typename } }""",
        {"c": gid("Category", category.pk), "p": gid("Product", product.pk)},
        user=both,
    )
    assert answer["data"]["b"]["__typename"] == "Product", answer
    answer = gql(
        """query ($id: ID!) { auditLog(first: 1, filters: {object: $id}) {
             edges { node { historyChangeReason changeset {
               historyChangeReason versions { totalCount } } } } } }""",
        {"id": gid("Product", product.pk)},
        user=editor,
    )
    node = answer["data"]["auditLog"]["edges"][0]["node"]
    assert node["historyChangeReason"] == "rename"
    assert node["changeset"]["versions"] == {"totalCount": 1}
    assert node["changeset"]["historyChangeReason"] != "secret merge", node


def test_changeset_reason_is_not_that_of_a_staff_only_version(
    gql: GraphQL, editor: Any, staff: Any
) -> None:
    """Staff change one product's supplier cost only ("secret cost"), then
    rename another, in one request: non-staff see the rename, and must not
    read the staff-only version's reason through its changeset."""
    first = ProductFactory.create(name="One")
    second = ProductFactory.create(name="Two")
    answer = gql(
        """mutation ($a: ID!, $b: ID!) {
             a: updateProduct(input: {id: $a, supplierCost: "3.00",
                                      reason: "secret cost"}) { __typename }
             b: updateProduct(input: {id: $b, name: "Deux", reason: "rename"}) {
               __typename } }""",
        {"a": gid("Product", first.pk), "b": gid("Product", second.pk)},
        user=staff,
    )
    assert answer["data"]["b"]["__typename"] == "Product", answer
    answer = gql(
        """query ($id: ID!) { auditLog(first: 1, filters: {object: $id}) {
             edges { node { changeset { historyChangeReason
               versions { totalCount } } } } } }""",
        {"id": gid("Product", second.pk)},
        user=editor,
    )
    changeset = answer["data"]["auditLog"]["edges"][0]["node"]["changeset"]
    assert changeset["versions"] == {"totalCount": 1}
    assert changeset["historyChangeReason"] != "secret cost", changeset


# Bad ids -------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_id",
    [
        "not base64 at all",
        gid("Changeset", "not-a-uuid"),
        gid("Product", "1"),
        gid("HistoricalProduct", "1"),
        gid("Changeset", ""),
        "",
    ],
)
def test_revert_changeset_of_a_bad_id_touches_no_version_without_changeset(
    gql: GraphQL, editor: Any, bad_id: str
) -> None:
    """A version with no changeset (written before changesets existed, or by
    a path that sets none) is not what a malformed changeset id names."""
    product = ProductFactory.create(name="Lamp")
    with bypass_guards():
        HistoricalProduct.objects.filter(id=product.pk).update(history_changeset=None)
    versions_before = HistoricalProduct.objects.count()

    answer = gql(REVERT_CHANGESET, {"id": bad_id}, user=editor)
    result = answer["data"]["revertChangeset"]
    assert result["__typename"] == "OperationInfo", result
    assert result["messages"][0]["code"] == "NOT_FOUND", result
    assert Product.objects.filter(pk=product.pk).exists()
    assert HistoricalProduct.objects.count() == versions_before


# Reverting changesets at the edges ------------------------------------------

CREATE_AND_DELETE = """
mutation ($id: ID!) {
  a: updateProduct(input: {id: $id, name: "Renamed", reason: "rename"}) { __typename }
  b: deleteProduct(input: {id: $id, reason: "gone"}) { __typename }
}
"""


def _revert(gql: GraphQL, user: Any, changeset_id: str) -> dict[str, Any]:
    answer = gql(REVERT_CHANGESET, {"id": changeset_id}, user=user)
    assert "errors" not in answer, answer
    result: dict[str, Any] = answer["data"]["revertChangeset"]
    return result


def _changeset_of_result(gql: GraphQL, user: Any, result: dict[str, Any]) -> str:
    assert result["__typename"] == "RevertChangesetResult", result
    changeset_id: str = result["changeset"]["id"]
    return changeset_id


def test_undo_of_the_undo_and_revert_twice(gql: GraphQL, editor: Any) -> None:
    product = ProductFactory.create(name="Lamp")
    product_id = gid("Product", product.pk)
    gql(UPDATE_PRODUCT, {"id": product_id, "name": "Big lamp"}, user=editor)
    first = _newest_changeset(gql, editor, product_id)

    undo = _changeset_of_result(gql, editor, _revert(gql, editor, first))
    product.refresh_from_db()
    assert product.name == "Lamp"
    versions = HistoricalProduct.objects.count()
    again = _revert(gql, editor, first)
    assert again["__typename"] == "OperationInfo", again
    assert HistoricalProduct.objects.count() == versions

    _changeset_of_result(gql, editor, _revert(gql, editor, undo))
    product.refresh_from_db()
    assert product.name == "Big lamp"


def test_revert_of_an_update_then_delete_in_one_request(
    gql: GraphQL, editor: Any
) -> None:
    product = ProductFactory.create(name="Lamp")
    product_id = gid("Product", product.pk)
    answer = gql(CREATE_AND_DELETE, {"id": product_id}, user=editor)
    assert answer["data"]["b"]["__typename"] == "Product", answer
    changeset_id = _newest_changeset(gql, editor, product_id)
    result = _revert(gql, editor, changeset_id)
    assert result["__typename"] == "RevertChangesetResult", result
    restored = Product.objects.get(pk=product.pk)
    assert restored.name == "Lamp"


def test_revert_of_a_create_then_delete_in_one_request(
    gql: GraphQL, editor: Any
) -> None:
    """Nothing to undo: refused, nothing written, never a 500."""
    predicted = gid("Product", ProductFactory.create().pk + 1)
    answer = gql(
        """mutation ($id: ID!) {
             a: createProduct(input: {name: "Temp", price: "1.00", reason: "new"}) {
               __typename ... on Product { id } }
             b: deleteProduct(input: {id: $id, reason: "gone"}) { __typename } }""",
        {"id": predicted},
        user=editor,
    )
    assert answer["data"]["a"]["id"] == predicted, answer
    assert answer["data"]["b"]["__typename"] == "Product", answer
    versions = HistoricalProduct.objects.count()
    changeset_id = _newest_changeset(gql, editor, predicted)
    result = _revert(gql, editor, changeset_id)
    assert result["__typename"] == "OperationInfo", result
    assert result["messages"][0]["code"] == "NOTHING_TO_REVERT", result
    assert HistoricalProduct.objects.count() == versions


def test_revert_changeset_of_a_note_and_products_needs_both_permissions(
    gql: GraphQL, editor: Any
) -> None:
    note = Note.objects.create(title="n")
    versions = note.versions.count()
    gql(
        """mutation ($id: ID!) { updateNote(input: {id: $id, title: "m", reason: "r"}) {
             __typename } }""",
        {"id": gid("Note", note.pk)},
        user=UserFactory(
            username="n-editor", permissions=["change_note", "view_historicalnote"]
        ),
    )
    changeset_id = _newest_changeset(
        gql,
        UserFactory(username="n-reader", permissions=["view_historicalnote"]),
        gid("Note", note.pk),
    )
    answer = gql(REVERT_CHANGESET, {"id": changeset_id, "dryRun": True}, user=editor)
    result = answer["data"]["revertChangeset"]
    assert result["__typename"] == "OperationInfo", result
    assert result["messages"][0]["code"] == "PERMISSION_DENIED", result
    assert note.versions.count() == versions + 1


# Cost -----------------------------------------------------------------------


def test_revert_changeset_answers_no_more_than_its_declared_list_bound(
    gql: GraphQL, editor: Any
) -> None:
    """One request may adjust 1000 products per alias; the changeset it makes
    touches 1010 objects, more than `RevertChangesetResult.versions` declares it
    answers (1000): the revert must be refused (or its answer bounded), not
    answer a list longer than the cost walk priced."""
    from schema.changesets import MAX_CHANGESET_OBJECTS

    products = [
        product
        for start in (0, 505)
        for product in product_import(
            rows=[
                {"name": f"P{i}", "price": Decimal("10.00")}
                for i in range(start, start + 505)
            ],
            actor=None,
            reason="seed",
        )
    ]
    ids = [gid("Product", product.pk) for product in products]
    answer = gql(
        """mutation ($a: [ID!]!, $b: [ID!]!) {
             a: adjustPrices(input: {ids: $a, percent: "10", reason: "x"}) {
               __typename ... on ProductsResult { count } }
             b: adjustPrices(input: {ids: $b, percent: "10", reason: "x"}) {
               __typename ... on ProductsResult { count } } }""",
        {"a": ids[:505], "b": ids[505:]},
        user=editor,
    )
    assert answer["data"]["b"] == {"__typename": "ProductsResult", "count": 505}
    changeset_id = _newest_changeset(gql, editor, ids[0])
    answer = gql(REVERT_CHANGESET, {"id": changeset_id}, user=editor)
    assert "errors" not in answer, answer
    result = answer["data"]["revertChangeset"]
    if result["__typename"] == "RevertChangesetResult":
        assert len(result["versions"]) <= MAX_CHANGESET_OBJECTS
        assert len(result["changes"]) <= MAX_CHANGESET_OBJECTS


# Keyset paging of the audit log -----------------------------------------------

AUDIT_PAGE = """
query ($first: Int, $after: String, $last: Int, $before: String,
       $filters: AuditLogFilter) {
  auditLog(first: $first, after: $after, last: $last, before: $before,
           filters: $filters) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { __typename historyId } }
  }
}
"""
EVERY_READER = [
    "view_historicalproduct",
    "view_historicalcategory",
    "view_historicalnote",
]


@pytest.fixture
def auditor(db: None) -> Any:
    return UserFactory(username="auditor", permissions=EVERY_READER)


def _same_moment_versions() -> None:
    """Versions of three models, all at one moment (ties across tables)."""
    for i in range(3):
        ProductFactory.create(name=f"p{i}")
        Note.objects.create(title=f"n{i}")
    moment = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    with bypass_guards():
        HistoricalProduct.objects.update(history_date=moment)
        Note.history.update(history_date=moment)


def _walk(gql: GraphQL, user: Any, *, forwards: bool, size: int) -> list[Any]:
    seen: list[Any] = []
    cursor = None
    for _ in range(20):
        variables = (
            {"first": size, "after": cursor}
            if forwards
            else {"last": size, "before": cursor}
        )
        answer = gql(AUDIT_PAGE, variables, user=user)
        assert "errors" not in answer, answer
        page = answer["data"]["auditLog"]
        nodes = [
            (e["node"]["__typename"], e["node"]["historyId"]) for e in page["edges"]
        ]
        seen = seen + nodes if forwards else nodes + seen
        info = page["pageInfo"]
        more = info["hasNextPage"] if forwards else info["hasPreviousPage"]
        if not more:
            break
        cursor = info["endCursor"] if forwards else info["startCursor"]
    return seen


@pytest.mark.parametrize("size", [1, 2, 4])
def test_audit_log_pages_ties_across_models_alike_both_ways(
    gql: GraphQL, auditor: Any, size: int
) -> None:
    _same_moment_versions()
    whole = gql(AUDIT_PAGE, {"first": 100}, user=auditor)["data"]["auditLog"]
    everything = [
        (e["node"]["__typename"], e["node"]["historyId"]) for e in whole["edges"]
    ]
    assert whole["totalCount"] == len(everything) == 6
    assert _walk(gql, auditor, forwards=True, size=size) == everything
    assert _walk(gql, auditor, forwards=False, size=size) == everything


def test_cursor_of_one_feed_pages_the_other(gql: GraphQL, auditor: Any) -> None:
    """A productHistory cursor names a place in the audit log, and an audit log
    cursor of a product version a place in productHistory: either works, or
    is refused as BAD_USER_INPUT, never a 500."""
    _same_moment_versions()
    answer = gql(
        "{ productHistory(first: 1) { edges { cursor node { historyId } } } }",
        user=UserFactory(username="p", permissions=EDITOR_PERMISSIONS),
    )
    cursor = answer["data"]["productHistory"]["edges"][0]["cursor"]
    for variables in ({"first": 2, "after": cursor}, {"last": 2, "before": cursor}):
        answer = gql(AUDIT_PAGE, variables, user=auditor)
        assert "errors" not in answer, answer
    note_cursor = gql(
        AUDIT_PAGE,
        {"first": 1, "filters": {"model": ["NOTE"]}},
        user=auditor,
    )["data"]["auditLog"]["edges"][0]["cursor"]
    answer = gql(
        """query ($c: String) { productHistory(first: 1, after: $c) {
             edges { node { historyId } } } }""",
        {"c": note_cursor},
        user=auditor,
    )
    assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", answer


# Filters of the audit log ---------------------------------------------------


def test_audit_log_filters_combine_model_object_changeset_and_search(
    gql: GraphQL, auditor: Any
) -> None:
    product = ProductFactory.create(name="lamp")
    note = Note.objects.create(title="memo")
    Note.objects.create(title="other")
    pid, nid = gid("Product", product.pk), gid("Note", note.pk)

    def count(filters: dict[str, Any]) -> int:
        answer = gql(AUDIT_PAGE, {"first": 100, "filters": filters}, user=auditor)
        assert "errors" not in answer, (filters, answer)
        page = answer["data"]["auditLog"]
        assert page["totalCount"] == len(page["edges"]), (filters, page)
        total: int = page["totalCount"]
        return total

    assert count({}) == 3
    assert count({"NOT": {"model": ["PRODUCT"]}}) == 2
    assert count({"model": ["PRODUCT"], "OR": {"model": ["NOTE"]}}) == 3
    assert count({"object": pid, "OR": {"object": nid}}) == 2
    assert count({"NOT": {"object": pid}}) == 2
    assert count({"NOT": {"object": "garbage"}}) == 3
    assert count({"NOT": {"changeset": "garbage"}}) == 3
    assert count({"model": [], "OR": {"object": nid}}) == 1
    assert count({"AND": {"model": ["NOTE"]}, "NOT": {"object": nid}}) == 1
    assert count({"object": gid("HistoricalProduct", 1)}) == 0
    assert count({"object": pid, "NOT": {"historyType": "CREATED"}}) == 0


# revert(record:) and asOf with ids of every kind --------------------------------

REVERT = """
mutation ($record: ID!, $expected: ID, $fields: [String!]) {
  revert(input: {record: $record, reason: "back", expectedLatest: $expected,
                 fields: $fields}) {
    __typename
    ... on RevertResult { object { __typename id } record { __typename } }
    ... on OperationInfo { messages { code field message } }
  }
}
"""
NOTE_EDITOR = ["add_note", "change_note", "delete_note", "view_historicalnote"]


@pytest.mark.parametrize(
    "record",
    [
        "",
        "garbage",
        gid("HistoricalNote", "0"),
        gid("HistoricalNote", "-1"),
        gid("HistoricalNote", "99999999999999999999999"),
        gid("HistoricalNote", "1.5"),
        gid("HistoricalNote", "999999"),
        gid("Note", "1"),
        gid("Changeset", "1"),
        gid("Historicalnote", "1"),
    ],
)
def test_revert_of_any_bad_record_is_refused_and_writes_nothing(
    gql: GraphQL, record: str
) -> None:
    note = Note.objects.create(title="n")
    note.title = "changed"
    note.save()
    versions = Note.history.count()
    user = UserFactory(username="notes", permissions=NOTE_EDITOR)
    answer = gql(REVERT, {"record": record}, user=user)
    assert "errors" not in answer, answer
    result = answer["data"]["revert"]
    assert result["__typename"] == "OperationInfo", result
    assert result["messages"][0]["code"] == "NOT_FOUND", result
    assert Note.history.count() == versions


def test_revert_of_a_note_version_by_its_historical_id(gql: GraphQL) -> None:
    user = UserFactory(username="notes", permissions=NOTE_EDITOR)
    answer = gql(
        """mutation { createNote(input: {title: "one", reason: "new"}) {
             ... on Note { id } } }""",
        user=user,
    )
    note_id = answer["data"]["createNote"]["id"]
    gql(
        """mutation ($id: ID!) { updateNote(input: {id: $id, title: "two",
             reason: "r"}) { __typename } }""",
        {"id": note_id},
        user=user,
    )
    first = Note.history.order_by("history_id").first()
    assert first is not None
    for expected, code in (
        ("garbage", "STALE"),
        (gid("HistoricalProduct", first.history_id + 1), "STALE"),
    ):
        answer = gql(
            REVERT,
            {"record": gid("HistoricalNote", first.history_id), "expected": expected},
            user=user,
        )
        assert answer["data"]["revert"]["messages"][0]["code"] == code, answer
    answer = gql(
        REVERT,
        {"record": gid("HistoricalNote", first.history_id), "fields": ["nope"]},
        user=user,
    )
    assert answer["data"]["revert"]["__typename"] == "OperationInfo", answer
    answer = gql(REVERT, {"record": gid("HistoricalNote", first.history_id)}, user=user)
    result = answer["data"]["revert"]
    assert result["__typename"] == "RevertResult", result
    assert result["object"]["id"] == note_id
    assert result["record"] == {"__typename": "HistoricalNote"}
    assert Note.objects.get().title == "one"


@pytest.mark.parametrize(
    "object_id",
    [
        "",
        "garbage",
        gid("Note", "99999999999999999999999"),
        gid("Note", "abc"),
        gid("HistoricalNote", "1"),
        gid("Changeset", "1"),
        gid("User", "1"),
    ],
)
def test_as_of_any_bad_id_is_null(gql: GraphQL, auditor: Any, object_id: str) -> None:
    Note.objects.create(title="n")
    answer = gql(
        """query ($id: ID!) { asOf(id: $id, at: "2999-01-01T00:00:00Z") {
             historyId } }""",
        {"id": object_id},
        user=auditor,
    )
    assert answer == {"data": {"asOf": None}}
