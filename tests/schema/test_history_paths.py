"""No path leaks a version to a viewer who may not read that history.

A product and a category each have an old version holding a secret value (a
name they no longer have). Every way the schema offers to reach a version is
tried by viewers without the history permission: `node(id:)`, the audit feeds,
time travel, `history` on live objects (reached directly, through `node`, a
fragment, or another object), `previous`/`next`/`revertedFrom`/`diff(against:)`
from any version they can get hold of, and the `record` a revert answers. Each is
either refused as a whole (`data: null`, `PERMISSION_DENIED`) or answers null
where the version would be; and the secret appears nowhere in the answer. The
same queries by a viewer with the permission do show it, so each one reaches it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from unittest.mock import ANY

import pytest

from history.selectors import history_versions
from products import services
from products.models import Category, Product
from tests.conftest import GraphQL
from tests.factories import UserFactory
from tests.helpers import NonBlank, gid

pytestmark = pytest.mark.django_db

HistoricalProduct = Product.history.model
HistoricalCategory = Category.history.model

SECRET_NAME = "SECRET-OLD-NAME"
SECRET_CATEGORY = "SECRET-OLD-CATEGORY"
SECRETS = (SECRET_NAME, SECRET_CATEGORY)

PRODUCT_HISTORY = "view_historicalproduct"
CATEGORY_HISTORY = "view_historicalcategory"
WRITE_PERMISSIONS = [
    f"{action}_{model}"
    for action in ("add", "change", "delete")
    for model in ("product", "category")
]


@dataclass(frozen=True)
class World:
    """Global ids of the objects and versions the queries ask about."""

    product: str
    category: str
    # Versions, oldest first; the first holds the secrets.
    product_versions: list[str]
    category_versions: list[str]
    # The moment the first versions were in force.
    product_secret_at: str
    category_secret_at: str


@pytest.fixture
def world(db: None) -> World:
    """A category first named SECRET_CATEGORY, then "Lamps", its description
    changed and reverted; a product first named SECRET_NAME in that category,
    then "Lamp", its price changed and reverted. Only the first versions hold
    the secrets: no live object does."""
    category = services.category_create(
        data={"name": SECRET_CATEGORY, "description": "Glow"}, actor=None, reason="new"
    )
    product = services.product_create(
        data={
            "name": SECRET_NAME,
            "price": Decimal("10.00"),
            "category": category.pk,
        },
        actor=None,
        reason="new",
    )
    services.category_update(
        pk=category.pk, data={"name": "Lamps"}, actor=None, reason="rename"
    )
    services.category_update(
        pk=category.pk, data={"description": "Bright"}, actor=None, reason="words"
    )
    services.product_update(
        pk=product.pk, data={"name": "Lamp"}, actor=None, reason="rename"
    )
    services.product_update(
        pk=product.pk, data={"price": Decimal("25.00")}, actor=None, reason="dearer"
    )
    category_versions = list(reversed(history_versions(model=Category, pk=category.pk)))
    product_versions = list(reversed(history_versions(model=Product, pk=product.pk)))
    services.category_revert(
        pk=category.pk,
        record_id=category_versions[1].history_id,
        actor=None,
        reason="undo words",
    )
    services.product_revert(
        pk=product.pk,
        record_id=product_versions[1].history_id,
        actor=None,
        reason="too dear",
    )
    category_versions = list(reversed(history_versions(model=Category, pk=category.pk)))
    product_versions = list(reversed(history_versions(model=Product, pk=product.pk)))
    assert [v.name for v in category_versions] == [SECRET_CATEGORY] + ["Lamps"] * 3
    assert [v.name for v in product_versions] == [SECRET_NAME] + ["Lamp"] * 3
    return World(
        product=gid("Product", product.pk),
        category=gid("Category", category.pk),
        product_versions=[
            gid("HistoricalProduct", v.history_id) for v in product_versions
        ],
        category_versions=[
            gid("HistoricalCategory", v.history_id) for v in category_versions
        ],
        product_secret_at=product_versions[0].history_date.isoformat(),
        category_secret_at=category_versions[0].history_date.isoformat(),
    )


# Viewers who may not read the history of the model a path leads to. "other"
# holds the history permission of the other model only.
VIEWERS = ["anonymous", "reader", "changer", "writer", "other"]


def make_viewer(kind: str, model: str, *, also: tuple[str, ...] = ()) -> Any:
    """A viewer of `kind` (None when anonymous) for paths to `model`'s history,
    with the permissions `also` besides."""
    permissions: dict[str, list[str]] = {
        "reader": [],
        "changer": ["change_product"],
        "writer": WRITE_PERMISSIONS,
        "other": [CATEGORY_HISTORY if model == "product" else PRODUCT_HISTORY],
        "auditor": [PRODUCT_HISTORY, CATEGORY_HISTORY],
    }
    if kind == "anonymous":
        return None
    return UserFactory(username=kind, permissions=[*permissions[kind], *also])


def text_of(answer: dict[str, Any]) -> str:
    return json.dumps(answer)


def assert_no_secret(answer: dict[str, Any]) -> None:
    for secret in SECRETS:
        assert secret not in text_of(answer), answer


DENIED = {
    "data": None,
    "errors": [
        {
            "message": NonBlank(),
            "locations": ANY,
            "extensions": {"code": "PERMISSION_DENIED"},
        }
    ],
}


@dataclass(frozen=True)
class Path:
    """A query reaching versions of `model`, and what it answers a viewer who
    may not read them: `hidden` is its `data` when it nulls the version out,
    None when the whole operation is refused."""

    model: str
    query: str
    variables: Callable[[World], dict[str, Any]]
    hidden: dict[str, Any] | None = None


VERSION = "query($id: ID!) { node(id: $id) { __typename ...V } }"
NODE_HIDDEN = {"node": None}


def product_node(index: int, selection: str) -> Path:
    return Path(
        "product",
        f"{VERSION} fragment V on HistoricalProduct {{ {selection} }}",
        lambda w: {"id": w.product_versions[index]},
        NODE_HIDDEN,
    )


def category_node(index: int, selection: str) -> Path:
    return Path(
        "category",
        f"{VERSION} fragment V on HistoricalCategory {{ {selection} }}",
        lambda w: {"id": w.category_versions[index]},
        NODE_HIDDEN,
    )


PRODUCT = lambda w: {"id": w.product}  # noqa: E731
CATEGORY = lambda w: {"id": w.category}  # noqa: E731
NOTHING: Callable[[World], dict[str, Any]] = lambda w: {}  # noqa: E731
EDGE_NAMES = "edges { node { name } }"

PATHS: dict[str, Path] = {
    # node(id:) on a version, and every field leading from it to another one.
    "product-version-node": product_node(0, "name price category { name }"),
    "product-previous": product_node(1, "previous { name category { name } }"),
    "product-next-previous": product_node(
        0, "next { name previous { name } } previous { name }"
    ),
    "product-reverted-from": product_node(3, "revertedFrom { name previous { name } }"),
    "product-diff": product_node(
        2, "name diff(against: $against) { field oldValue newValue }"
    ),
    "product-inline-fragment": Path(
        "product",
        "query($id: ID!) { node(id: $id) { ... on HistoricalProduct"
        " { name previous { name } } } }",
        lambda w: {"id": w.product_versions[1]},
        NODE_HIDDEN,
    ),
    # history on a live product, however the product is reached.
    "product-history": Path(
        "product",
        f"query($id: ID!) {{ product(id: $id) {{ history {{ {EDGE_NAMES} }} }} }}",
        PRODUCT,
    ),
    "products-history": Path(
        "product",
        "{ products { edges { node {"
        f" history(last: 10) {{ {EDGE_NAMES} }} }} }} }} }}",
        NOTHING,
    ),
    "node-product-history": Path(
        "product",
        "query($id: ID!) { node(id: $id) { ... on Product"
        f" {{ history {{ {EDGE_NAMES} }} }} }} }}",
        PRODUCT,
    ),
    "fragment-product-history": Path(
        "product",
        "query($id: ID!) { node(id: $id) { ...H } }"
        f" fragment H on Product {{ h: history(first: 5) {{ {EDGE_NAMES} }} }}",
        PRODUCT,
    ),
    # The audit feed and time travel.
    "productHistory": Path(
        "product", f"{{ productHistory {{ totalCount {EDGE_NAMES} }} }}", NOTHING
    ),
    "productHistory-search": Path(
        "product",
        '{ productHistory(filters: {search: "SECRET"}) { totalCount } }',
        NOTHING,
    ),
    "productAsOf": Path(
        "product",
        "query($id: ID!, $at: DateTime!) { productAsOf(id: $id, at: $at)"
        " { name next { name } } }",
        lambda w: {"id": w.product, "at": w.product_secret_at},
    ),
    # The same for categories.
    "category-version-node": category_node(0, "name description"),
    "category-previous": category_node(1, "previous { name }"),
    "category-next-previous": category_node(
        0, "next { name previous { name } } previous { name }"
    ),
    "category-reverted-from": category_node(
        3, "revertedFrom { name previous { name } }"
    ),
    "category-diff": category_node(
        2, "name diff(against: $against) { field oldValue newValue }"
    ),
    "category-history": Path(
        "category",
        f"query($id: ID!) {{ category(id: $id) {{ history {{ {EDGE_NAMES} }} }} }}",
        CATEGORY,
    ),
    "categories-history": Path(
        "category",
        f"{{ categories {{ edges {{ node {{ history {{ {EDGE_NAMES} }} }} }} }} }}",
        NOTHING,
    ),
    "node-category-history": Path(
        "category",
        "query($id: ID!) { node(id: $id) { ... on Category"
        f" {{ history {{ {EDGE_NAMES} }} }} }} }}",
        CATEGORY,
    ),
    "product-category-history": Path(
        "category",
        "query($id: ID!) { product(id: $id) { category"
        f" {{ history {{ {EDGE_NAMES} }} }} }} }}",
        PRODUCT,
    ),
    # From a product's version, through the category it was in, to that
    # category's history: the product history permission is not enough.
    "product-version-category-history": Path(
        "category",
        "{ productHistory(last: 1) { edges { node { category { category"
        f" {{ history {{ {EDGE_NAMES} }} }} }} }} }} }} }}",
        NOTHING,
    ),
    "categoryHistory": Path(
        "category", f"{{ categoryHistory {{ totalCount {EDGE_NAMES} }} }}", NOTHING
    ),
    "categoryAsOf": Path(
        "category",
        "query($id: ID!, $at: DateTime!) { categoryAsOf(id: $id, at: $at)"
        " { name next { name } } }",
        lambda w: {"id": w.category, "at": w.category_secret_at},
    ),
}


def document_of(path: Path) -> str:
    if "$against" not in path.query:
        return path.query
    return path.query.replace("query($id: ID!)", "query($id: ID!, $against: ID!)")


def variables_of(path: Path, world: World) -> dict[str, Any]:
    variables = path.variables(world)
    if "$against" not in path.query:
        return variables
    versions = (
        world.product_versions if path.model == "product" else world.category_versions
    )
    # diff against the first version: the one holding the secret.
    return {**variables, "against": versions[0]}


@pytest.mark.parametrize("kind", VIEWERS)
@pytest.mark.parametrize("name", list(PATHS))
def test_no_path_shows_a_version_without_the_history_permission(
    gql: GraphQL, world: World, name: str, kind: str
) -> None:
    path = PATHS[name]
    viewer = make_viewer(kind, path.model)

    answer = gql(document_of(path), variables_of(path, world), user=viewer)

    if path.hidden is None or "errors" in answer:
        # Refusing the whole operation keeps the version secret too.
        assert answer == DENIED
    else:
        assert answer == {"data": path.hidden}
    assert_no_secret(answer)


@pytest.mark.parametrize("name", list(PATHS))
def test_every_path_shows_the_old_version_to_a_viewer_with_the_permission(
    gql: GraphQL, world: World, name: str
) -> None:
    """The control: each path does reach a secret when it may."""
    path = PATHS[name]
    auditor = make_viewer("auditor", path.model)

    answer = gql(document_of(path), variables_of(path, world), user=auditor)

    assert "errors" not in answer, answer
    if name == "productHistory-search":
        assert answer == {"data": {"productHistory": {"totalCount": 1}}}
    else:
        assert any(secret in text_of(answer) for secret in SECRETS), answer


# -- revert answers the version it wrote: not to viewers without the permission ----

OPERATION_INFO = "... on OperationInfo { messages { kind field code } }"
RECORD_SELECTION = (
    "historyId name previous { name previous { name } }"
    " revertedFrom { name previous { name previous { name } } }"
    " diff(against: $against) { field oldValue newValue }"
)


def revert_document(model: str, result_selection: str) -> str:
    name = model.capitalize()
    against = ", $against: ID!" if "$against" in result_selection else ""
    return (
        f"mutation($input: Revert{name}Input!{against}) {{"
        f" revert{name}(input: $input) {{ __typename"
        f" ... on Revert{name}Result {{ {result_selection} }} {OPERATION_INFO} }} }}"
    )


def revert_variables(model: str, world: World, **input: Any) -> dict[str, Any]:
    """Revert to the third version (the price or the description changed), whose
    neighbours lead back to the secret."""
    versions = world.product_versions if model == "product" else world.category_versions
    return {
        "input": {
            "id": world.product if model == "product" else world.category,
            "record": versions[2],
            "reason": "back again",
            **input,
        },
        "against": versions[0],
    }


def history_rows() -> tuple[list[Any], list[Any]]:
    return (
        list(HistoricalProduct.objects.order_by("history_id").values()),
        list(HistoricalCategory.objects.order_by("history_id").values()),
    )


REVERT_VIEWERS = {
    # Who may revert without reading history, per model.
    "product": ["changer", "writer", "other"],
    "category": ["writer", "other"],
}


def may_revert(kind: str, model: str) -> bool:
    return kind in REVERT_VIEWERS[model]


@pytest.mark.parametrize("dry_run", [False, True])
@pytest.mark.parametrize("kind", VIEWERS)
@pytest.mark.parametrize("model", ["product", "category"])
def test_a_revert_answers_no_record_to_a_viewer_without_the_permission(
    gql: GraphQL, world: World, model: str, kind: str, dry_run: bool
) -> None:
    # "other" may revert `model` and read the other model's history only.
    also = (f"change_{model}",) if kind == "other" else ()
    viewer = make_viewer(kind, model, also=also)

    answer = gql(
        revert_document(model, f"record {{ {RECORD_SELECTION} }} changes {{ field }}"),
        revert_variables(model, world, dryRun=dry_run),
        user=viewer,
    )

    field = f"revert{model.capitalize()}"
    # A dry run writes nothing but shows a version's values: without the
    # history permission it is refused, so it cannot be used to read history;
    # a real revert's diff would show them too, so it is left empty.
    if may_revert(kind, model) and not dry_run:
        assert answer == {
            "data": {
                field: {
                    "__typename": f"Revert{model.capitalize()}Result",
                    "record": None,
                    "changes": [],
                }
            }
        }
    else:
        assert answer == {
            "data": {
                field: {
                    "__typename": "OperationInfo",
                    "messages": [
                        {
                            "kind": "PERMISSION",
                            "field": None,
                            "code": "PERMISSION_DENIED",
                        }
                    ],
                }
            }
        }
    assert_no_secret(answer)


@pytest.mark.parametrize("model", ["product", "category"])
def test_a_revert_answers_its_record_to_a_viewer_with_the_permission(
    gql: GraphQL, world: World, model: str
) -> None:
    """The control: the same selection does lead back to the secret."""
    user = UserFactory(
        username="keeper",
        permissions=[f"change_{model}", PRODUCT_HISTORY, CATEGORY_HISTORY],
    )

    answer = gql(
        revert_document(model, f"record {{ {RECORD_SELECTION} }}"),
        revert_variables(model, world),
        user=user,
    )

    record = answer["data"][f"revert{model.capitalize()}"]["record"]
    assert record["revertedFrom"]["previous"]["previous"]["name"] in SECRETS
    assert any(secret in text_of(record["diff"]) for secret in SECRETS)


@pytest.mark.parametrize("model", ["product", "category"])
def test_a_revert_selecting_history_on_its_result_is_refused_and_writes_nothing(
    gql: GraphQL, world: World, model: str
) -> None:
    writer = make_viewer("writer", model)
    before = history_rows()
    target = "product" if model == "product" else "category"

    variables = revert_variables(model, world)
    del variables["against"]

    answer = gql(
        revert_document(model, f"{target} {{ history {{ {EDGE_NAMES} }} }}"),
        variables,
        user=writer,
    )

    assert answer == DENIED
    assert history_rows() == before


# -- revert shows the values of the version it goes back to -------------------------


def test_a_dry_run_revert_does_not_show_a_version_to_a_viewer_without_the_permission(
    gql: GraphQL, world: World
) -> None:
    """A dry run writes nothing, and so leaves no trace: if it answered the
    values of the version it would go back to, any changer could read every old
    version, one dry run at a time, without the history permission."""
    changer = make_viewer("changer", "product")
    before = history_rows()

    answer = gql(
        "mutation($input: RevertProductInput!) { revertProduct(input: $input) {"
        " __typename ... on RevertProductResult { product { name category { name } }"
        " changes { field oldValue newValue } } ... on OperationInfo"
        " { messages { kind message code } } } }",
        {
            "input": {
                "id": world.product,
                "record": world.product_versions[0],
                "reason": "peek",
                "dryRun": True,
            }
        },
        user=changer,
    )

    assert history_rows() == before
    assert_no_secret(answer)


def test_a_refused_revert_does_not_name_a_version_value_to_a_viewer_without_it(
    gql: GraphQL, world: World
) -> None:
    """Reverting to a version whose category has since been deleted is refused;
    the refusal must not quote the category's name as that version recorded it."""
    category = HistoricalCategory.objects.latest("history_id").id
    services.category_delete(pk=category, actor=None, reason="gone")
    changer = make_viewer("changer", "product")

    answer = gql(
        "mutation($input: RevertProductInput!) { revertProduct(input: $input) {"
        " __typename ... on OperationInfo { messages { kind message field code } } } }",
        {
            "input": {
                "id": world.product,
                "record": world.product_versions[0],
                "reason": "peek",
                "dryRun": False,
            }
        },
        user=changer,
    )

    # Not even RELATED_DELETED: that would say what the version pointed to.
    messages = answer["data"]["revertProduct"]["messages"]
    assert [(m["code"], m["field"]) for m in messages] == [("NOT_FOUND", "record")]
    assert_no_secret(answer)
