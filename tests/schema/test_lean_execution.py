"""The short path for plain leaf fields (`schema.execution`) answers exactly as
graphql-core's ordinary execution does, values, order and errors alike, and
is taken only where it can be."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
import strawberry
import strawberry_django
from asgiref.sync import async_to_sync
from graphql import Undefined
from strawberry.extensions import SchemaExtension
from strawberry.schema import schema_converter
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry_django.fields.field import StrawberryDjangoField

from products.models import Category, Product
from products.services import product_create, product_delete, product_update
from schema.execution import LeanExecutionContext, plain_when
from schema.history import runs_no_query
from schema.root import schema
from tests.factories import UserFactory
from tests.helpers import gid

pytestmark = pytest.mark.django_db

ORDINARY = StrawberryGraphQLCoreExecutionContext

# Leaves of every kind (strings, decimals, moments, enums, nulls, lists of
# strings), behind aliases, fragments, __typename and @skip/@include.
EVERY_KIND = """
query($id: ID!, $yes: Boolean!) {
  product(id: $id) {
    __typename
    label: name
    price
    quantity @skip(if: $yes)
    createdAt @include(if: $yes)
    ...Money
    history(first: 10) {
      totalCount
      edges {
        cursor
        node {
          __typename
          historyId
          historyDate
          historyType
          historyChangeReason
          when: historyDate
          historyUser { __typename username }
          name price description
          changes { field label oldValue newValue delta added removed }
          priceOnly: changes(fields: ["price"]) { field delta }
          words: changes(fields: ["description"]) {
            field segments { op text }
          }
        }
      }
    }
  }
}
fragment Money on Product { price quantity }
"""

FEED = """
{
  productHistory(first: 20) {
    edges { node { historyType historyUser { username } name price
      changes { field oldValue newValue delta } } }
  }
}
"""


@pytest.fixture
def lamp(editor: Any) -> Product:
    product = product_create(
        data={
            "name": "Lamp",
            "price": Decimal("20.00"),
            "description": "Brass lamp",
            "tags": ["red"],
        },
        actor=editor,
    )
    product_update(
        pk=product.pk,
        data={"description": "Steel lamp", "price": Decimal("25.50")},
        actor=editor,
        reason="steel is cheaper",
    )
    product_update(
        pk=product.pk, data={"tags": ["blue", "green"], "quantity": 7}, actor=editor
    )
    return product


def both(
    gql: Any, monkeypatch: pytest.MonkeyPatch, query: str, **kwargs: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The answer with the short path, then with graphql-core's ordinary one."""
    lean = gql(query, **kwargs)
    with monkeypatch.context() as patch:
        patch.setattr(schema, "execution_context_class", ORDINARY)
        ordinary = gql(query, **kwargs)
    return lean, ordinary


def test_the_schema_executes_with_the_short_path():
    assert schema.execution_context_class is LeanExecutionContext


def test_every_kind_of_leaf_answers_as_ordinary_execution_does(
    gql, monkeypatch, staff, lamp
):
    for yes in (True, False):
        variables = {"id": gid("Product", lamp.pk), "yes": yes}
        lean, ordinary = both(
            gql, monkeypatch, EVERY_KIND, variables=variables, user=staff
        )

        assert "errors" not in lean
        assert lean["data"]["product"]["history"]["totalCount"] == 3
        # The same values, in the same order.
        assert json.dumps(lean) == json.dumps(ordinary)


def test_a_deleted_user_and_a_deleted_product_answer_alike(gql, monkeypatch, staff):
    writer: Any = UserFactory(
        username="gone", permissions=["change_product", "delete_product"]
    )
    product = product_create(data={"name": "Cup", "price": "3.00"}, actor=staff)
    product_update(pk=product.pk, data={"price": "3.50"}, actor=writer)
    product_delete(pk=product.pk, actor=writer)
    writer.delete()

    lean, ordinary = both(gql, monkeypatch, FEED, user=staff)

    assert "errors" not in lean
    assert json.dumps(lean) == json.dumps(ordinary)


def test_plain_leaves_build_no_resolve_info(gql, monkeypatch, editor, lamp):
    """The short path is taken: no graphql-core resolve info is built for a
    plain leaf, while fields with resolvers still get theirs."""
    built: Counter[str] = Counter()
    build = ORDINARY.build_resolve_info

    def counting(self: Any, field_def: Any, field_nodes: Any, *args: Any) -> Any:
        built[field_nodes[0].name.value] += 1
        return build(self, field_def, field_nodes, *args)

    monkeypatch.setattr(ORDINARY, "build_resolve_info", counting)
    query = (
        "{ products(first: 5) { edges { node { id name price history(first: 5) "
        "{ edges { node { historyDate changes { field oldValue } } } } } } } }"
    )

    lean, ordinary = both(gql, monkeypatch, query, user=editor)

    assert "errors" not in lean
    assert lean == ordinary
    leaves = ("name", "price", "historyDate", "field", "oldValue")
    # Both runs counted: the ordinary one built an info for every leaf.
    assert {name: built[name] for name in leaves} == {
        "name": 1,
        "price": 1,
        "historyDate": 3,
        "field": 4,
        "oldValue": 4,
    }
    assert built["id"] == 2
    assert built["changes"] == 6


def test_object_fields_skip_strawberrys_resolver_machinery(
    gql, monkeypatch, editor, lamp
):
    """`historyUser` (loaded with its version), `changes` without arguments,
    `edges` and `node` are read past strawberry's argument conversion and
    `Info`; fields given arguments (`products`, `history`) are not."""
    converted: Counter[str] = Counter()
    convert = schema_converter.get_arguments

    def counting(*, field: Any, **kwargs: Any) -> Any:
        converted[field.name] += 1
        return convert(field=field, **kwargs)

    monkeypatch.setattr(schema_converter, "get_arguments", counting)
    query = (
        "{ products(first: 5) { edges { node { history(first: 5) { edges { node "
        "{ historyUser { username } changes { field } } } } } } } }"
    )

    lean = gql(query, user=editor)
    lean_counts = dict(converted)
    converted.clear()
    with monkeypatch.context() as patch:
        patch.setattr(schema, "execution_context_class", ORDINARY)
        ordinary = gql(query, user=editor)

    assert "errors" not in lean
    assert lean == ordinary
    assert lean_counts == {"products": 1, "history": 1}
    assert converted["history_user"] == 3
    assert converted["changes"] == 3


# -- where the short path must step aside -----------------------------------------


@strawberry.type
class Thing:
    name: str
    size: int | None
    note: str | None = None


class Odd:
    """Values a plain field may hold that only the ordinary way can judge."""

    @property
    def broken(self) -> str:
        raise ValueError("no value")

    failure = ValueError("an exception as a value")
    undefined = Undefined


@strawberry.type
class OddType:
    broken: str | None
    failure: str | None
    undefined: str | None


@strawberry.type
class Query:
    @strawberry.field
    def things(self) -> list[Thing | None]:
        return [
            Thing(name="plain", size=1),
            Thing(name=None, size=2),  # type: ignore[arg-type]
            Thing(name="huge", size=2**40),
        ]

    @strawberry.field
    def odd(self) -> list[OddType]:
        return [Odd()]  # type: ignore[list-item]

    @strawberry.field
    def loaded(self) -> list[ProductType]:
        return list(Product.objects.order_by("pk").only("pk"))

    @strawberry.field
    def products(self) -> list[ProductType | None]:
        """The first product with its category loaded, the others without."""
        products = Product.objects.order_by("pk")
        first = list(products.select_related("category")[:1])
        return first + list(products[1:])

    @strawberry.field
    def pot(self) -> ProductType:
        """A product not in the database: an asynchronous execution of it
        runs no query."""
        return Product(name="Pot", price=Decimal("2.00"))  # type: ignore[return-value]


@strawberry.type
class Word:
    text: str


CALLS: list[str] = []


def always(_: Any) -> bool:
    return True


@strawberry_django.type(Category)
class CategoryType:
    name: str


@strawberry_django.type(Product)
class ProductType:
    name: str
    price: Decimal
    category: CategoryType | None

    @strawberry_django.field
    @runs_no_query
    @plain_when(always)
    def words(self) -> list[Word]:
        return [Word(text=word) for word in self.name.split()]

    @strawberry_django.field
    @runs_no_query
    @plain_when(always)
    def words_by_root(root: Product) -> list[Word | None]:
        return [None if word == "of" else Word(text=word) for word in root.name.split()]

    @strawberry_django.field
    @runs_no_query
    @plain_when(always)
    def broken(self) -> list[Word] | None:
        raise ValueError("no words")

    @strawberry_django.field
    @runs_no_query
    @plain_when(always)
    def missing(self) -> Word:
        return None  # type: ignore[return-value]

    @strawberry_django.field
    @runs_no_query
    def later(self) -> Word:
        """An awaitable, which strawberry-django awaits: not marked
        `plain_when`, so the ordinary way."""
        CALLS.append("later")

        async def word() -> Word:
            return Word(text="later")

        return word()  # type: ignore[return-value]

    @strawberry_django.field
    @runs_no_query
    def threaded(self) -> list[Word]:
        """Work in a thread, as `runs_no_query` allows."""

        def work() -> list[Word]:
            CALLS.append("threaded")
            return [Word(text="threaded")]

        return asyncio.get_running_loop().run_in_executor(None, work)  # type: ignore[return-value]

    @strawberry_django.field
    @runs_no_query
    @plain_when(always)
    def not_plain(self) -> list[ProductType]:
        """Breaks its mark: a query set."""
        return Product.objects.none()

    @classmethod
    def get_queryset(cls, queryset: Any, info: Any, **kwargs: Any) -> Any:
        return queryset.exclude(name__startswith="Hidden")

    @strawberry_django.field
    @runs_no_query
    def others(self) -> list[ProductType]:
        """A query set, which strawberry-django filters by `get_queryset`:
        not marked `plain_when`, so the ordinary way."""
        CALLS.append("others")
        return Product.objects.exclude(pk=self.pk).order_by("pk")  # type: ignore[attr-defined]

    @strawberry_django.field
    @runs_no_query
    @plain_when(always)
    def shorter(self, most: int | None = None) -> list[Word]:
        words = self.name.split()
        return [Word(text=word) for word in words[:most]]


class Shout(SchemaExtension):
    """Wraps every resolver: upper-cases what strings they return."""

    def resolve(
        self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any
    ) -> Any:
        value = _next(root, info, *args, **kwargs)
        return value.upper() if isinstance(value, str) else value


def run(
    query: str,
    query_type: type = Query,
    *,
    calls: list[list[str]] | None = None,
    **options: Any,
) -> tuple[Any, Any]:
    """(data, errors as (message, path)) with the short path and without; the
    resolvers' logged calls of each run go to `calls`."""
    answers = []
    for context in (LeanExecutionContext, ORDINARY):
        CALLS.clear()
        test_schema = strawberry.Schema(
            query=query_type, execution_context_class=context, **options
        )
        result = test_schema.execute_sync(query)
        errors = [(error.message, error.path) for error in result.errors or []]
        answers.append((result.data, errors))
        if calls is not None:
            calls.append(list(CALLS))
    return answers[0], answers[1]


def test_a_null_in_a_non_null_leaf_and_a_refused_value_are_ordinary_errors():
    lean, ordinary = run("{ things { name size note } }")

    assert lean == ordinary
    data, errors = lean
    assert data == {
        "things": [
            {"name": "plain", "size": 1, "note": None},
            None,
            {"name": "huge", "size": None, "note": None},
        ]
    }
    assert sorted(path for _, path in errors) == [
        ["things", 1, "name"],
        ["things", 2, "size"],
    ]


def test_a_read_that_raises_and_odd_values_are_judged_the_ordinary_way():
    lean, ordinary = run("{ odd { broken failure undefined } }")

    assert lean == ordinary
    data, errors = lean
    assert data == {"odd": [{"broken": None, "failure": None, "undefined": None}]}
    assert sorted(path for _, path in errors) == [
        ["odd", 0, "broken"],
        ["odd", 0, "failure"],
    ]


def test_a_column_not_loaded_is_read_the_ordinary_way(editor):
    for name in ("Lamp", "Cup"):
        product_create(data={"name": name, "price": "2.00"}, actor=editor)

    lean, ordinary = run("{ loaded { name price } }")

    assert lean == ordinary
    assert lean == (
        {
            "loaded": [
                {"name": "Lamp", "price": "2.00"},
                {"name": "Cup", "price": "2.00"},
            ]
        },
        [],
    )


def test_an_extension_that_wraps_every_resolver_still_sees_every_field():
    lean, ordinary = run("{ things { name } }", extensions=[Shout])

    assert lean == ordinary
    assert lean[0]["things"][0] == {"name": "PLAIN"}


def test_object_fields_read_past_strawberry_answer_as_ordinary_execution_does(
    editor,
):
    """Loaded and unloaded relations, resolvers called directly (by `self` and
    by `root`, with arguments and without, raising, returning null for a
    non-null type, returning an awaitable) answer alike, errors and their
    paths included."""
    kitchen = Category.objects.create(name="Kitchen")
    for name in ("Cup of tea", "Pot", "Hidden pan"):
        product_create(
            data={"name": name, "price": "2.00", "category": kitchen.pk}, actor=editor
        )
    query = """{ products {
        name category { name } words { text } wordsByRoot { text }
        broken { text } shorter { text } two: shorter(most: 2) { text }
        others { name }
    } }"""

    lean, ordinary = run(query)

    assert lean == ordinary
    data, errors = lean
    assert data["products"][0] == {
        "name": "Cup of tea",
        "category": {"name": "Kitchen"},
        "words": [{"text": "Cup"}, {"text": "of"}, {"text": "tea"}],
        "wordsByRoot": [{"text": "Cup"}, None, {"text": "tea"}],
        "broken": None,
        "shorter": [{"text": "Cup"}, {"text": "of"}, {"text": "tea"}],
        "two": [{"text": "Cup"}, {"text": "of"}],
        "others": [{"name": "Pot"}],
    }
    assert data["products"][1]["category"] == {"name": "Kitchen"}
    assert sorted((path, message) for message, path in errors) == [
        (["products", 0, "broken"], "no words"),
        (["products", 1, "broken"], "no words"),
        (["products", 2, "broken"], "no words"),
    ]

    # A null for a non-null type nulls the product, at the field's path.
    lean, ordinary = run("{ products { name missing { text } } }")

    assert lean == ordinary
    data, errors = lean
    assert data == {"products": [None, None, None]}
    message = "Cannot return null for non-nullable field ProductType.missing."
    assert sorted(errors) == [
        (message, ["products", 0, "missing"]),
        (message, ["products", 1, "missing"]),
        (message, ["products", 2, "missing"]),
    ]


def test_awaitables_from_resolvers_are_awaited_once_the_ordinary_way():
    """Resolvers not marked `plain_when` that return a coroutine, or a future
    of work in a thread, are called once and awaited by strawberry-django."""
    answers = []
    for context in (LeanExecutionContext, ORDINARY):
        CALLS.clear()
        test_schema = strawberry.Schema(query=Query, execution_context_class=context)
        result = async_to_sync(test_schema.execute)(
            "{ pot { name later { text } threaded { text } } }"
        )
        answers.append((result.data, result.errors, sorted(CALLS)))

    expected = {
        "pot": {
            "name": "Pot",
            "later": {"text": "later"},
            "threaded": [{"text": "threaded"}],
        }
    }
    assert answers[0] == answers[1] == (expected, None, ["later", "threaded"])


def test_a_query_set_from_a_resolver_is_filtered_once_the_ordinary_way(editor):
    for name in ("Cup", "Hidden pan"):
        product_create(data={"name": name, "price": "2.00"}, actor=editor)
    calls: list[list[str]] = []

    lean, ordinary = run("{ products { name others { name } } }", calls=calls)

    assert lean == ordinary
    assert lean[0]["products"][0] == {"name": "Cup", "others": []}
    assert calls == [["others", "others"]] * 2  # once per product, each way


def test_a_resolver_that_breaks_its_plain_when_mark_is_an_error_of_its_field(
    editor,
):
    product_create(data={"name": "Cup", "price": "2.00"}, actor=editor)

    lean, _ = run("{ products { name notPlain { name } } }")

    assert lean == (
        {"products": [None]},
        [
            (
                "not_plain is marked plain_when but returned TrackedQuerySet",
                ["products", 0, "notPlain"],
            )
        ],
    )


class TaggedField(StrawberryDjangoField):
    """Adds a word to what its resolver returns: strawberry-django's
    `get_result` calls `resolver`, which this overrides."""

    def resolver(self, source: Any, info: Any, args: Any, kwargs: Any) -> Any:
        return [*super().resolver(source, info, args, kwargs), Word(text="tagged")]


@strawberry_django.type(Product)
class TaggedProductType:
    @strawberry_django.field(field_cls=TaggedField)
    @runs_no_query
    @plain_when(always)
    def words(self) -> list[Word]:
        return [Word(text=word) for word in self.name.split()]  # type: ignore[attr-defined]


class Raising:
    """An attribute that raises when read from the class."""

    def __get__(self, instance: Any, owner: Any) -> Any:
        if instance is None:
            raise ValueError("not on the class")
        return [Word(text="x")]


class Box:
    words = Raising()
    name = "box"


@strawberry.type
class BoxType:
    name: str
    words: list[Word] | None = strawberry_django.field()


@strawberry.type
class OtherQuery:
    @strawberry.field
    def tagged(self) -> list[TaggedProductType]:
        return [Product(name="Cup")]  # type: ignore[list-item]

    @strawberry.field
    def boxes(self) -> list[BoxType | None]:
        return [Box()]  # type: ignore[list-item]


def test_a_field_class_with_a_resolver_of_its_own_goes_the_ordinary_way():
    lean, ordinary = run("{ tagged { words { text } } }", OtherQuery)

    assert lean == ordinary
    assert lean == ({"tagged": [{"words": [{"text": "Cup"}, {"text": "tagged"}]}]}, [])


def test_a_class_attribute_that_raises_when_planning_goes_the_ordinary_way():
    lean, ordinary = run("{ boxes { name words { text } } }", OtherQuery)

    assert lean == ordinary
    data, errors = lean
    # strawberry-django reads the attribute from the class too: its error,
    # at the field's path, with the sibling fields kept.
    assert data == {"boxes": [{"name": "box", "words": None}]}
    assert errors == [("not on the class", ["boxes", 0, "words"])]
