"""Writers racing on what products point to: new tags and categories being
deleted. Every outcome is a success or a coded refusal, and the database stays
consistent (PostgreSQL: real transactions, row and advisory locks, deferred
foreign keys checked at commit; SQLite runs one writing transaction at a time).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from simple_history.signals import pre_create_historical_record

from history.revert import history_revert
from products.models import Category, Product
from products.services import (
    category_create,
    category_delete,
    product_create,
    product_import,
    product_update,
)
from tests.helpers import run_together, slow_version_writes

HistoricalProduct = Product.history.model
ROUNDS = 12

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs concurrent connections to a server database",
    ),
]


def outcome(result: Any) -> str:
    """ "ok", the codes of a refusal, or the class of any other error."""
    if not isinstance(result, Exception):
        return "ok"
    if isinstance(result, ValidationError):
        errors = (
            [e for field in result.error_dict.values() for e in field]
            if hasattr(result, "error_dict")
            else result.error_list
        )
        return ",".join(sorted({str(e.code) for e in errors}))
    return type(result).__name__


@pytest.fixture
def slow_versions() -> Any:
    """Hold every writer's transaction open a little longer, so they overlap."""
    pre_create_historical_record.connect(slow_version_writes, dispatch_uid="slow")
    yield
    pre_create_historical_record.disconnect(dispatch_uid="slow")


def versions_of(product_pk: int) -> list[tuple[str, int | None]]:
    """(type, category) of each version of a product, oldest first."""
    return list(
        HistoricalProduct.objects.filter(id=product_pk)
        .order_by("history_id")
        .values_list("history_type", "category_id")
    )


def consistency(expected_state: bool) -> str:
    """Whether a round left what its outcomes imply, and no product pointing
    to a missing category."""
    dangling = (
        Product.objects.exclude(category=None)
        .exclude(category__in=Category.objects.all())
        .exists()
    )
    return "consistent" if expected_state and not dangling else "INCONSISTENT"


def test_writers_adding_the_same_new_tag_both_succeed() -> None:
    outcomes: Counter[str] = Counter()
    for round_ in range(ROUNDS):
        first, second = (
            product_create(
                data={"name": f"P{round_}{side}", "price": Decimal("1.00")},
                actor=None,
                reason="new",
            )
            for side in "ab"
        )
        tag = f"new-{round_}"

        def tag_it(product: Product, tag: str = tag) -> Callable[[], Any]:
            return lambda: product_update(
                pk=product.pk, data={"tags": [tag, "shared"]}, actor=None
            )

        results = run_together(tag_it(first), tag_it(second))
        outcomes.update(outcome(r) for r in results)
        tagged = all(
            sorted(product.tags.values_list("name", flat=True))
            == sorted([tag, "shared"])
            for product in (first, second)
        )
        outcomes["both tagged" if tagged else "a product lacks the tag"] += 1

    assert outcomes == {"ok": 2 * ROUNDS, "both tagged": ROUNDS}


def test_update_into_a_category_being_deleted_succeeds_or_is_not_found(
    slow_versions: None,
) -> None:
    outcomes: Counter[str] = Counter()
    for round_ in range(ROUNDS):
        category = category_create(data={"name": f"C{round_}"}, actor=None)
        product = product_create(
            data={"name": f"P{round_}", "price": Decimal("1.00")}, actor=None
        )

        update, delete = run_together(
            partial(
                product_update,
                pk=product.pk,
                data={"category": category.pk},
                actor=None,
            ),
            partial(category_delete, pk=category.pk, actor=None),
        )
        outcomes.update(["update " + outcome(update), "delete " + outcome(delete)])
        expected_versions = (
            # Moved in, then out again by the deletion: one version each.
            [("+", None), ("~", category.pk), ("~", None)]
            if outcome(update) == "ok"
            else [("+", None)]
        )
        outcomes[
            consistency(
                not Category.objects.filter(pk=category.pk).exists()
                and Product.objects.get(pk=product.pk).category_id is None
                and versions_of(product.pk) == expected_versions
            )
        ] += 1

    assert set(outcomes) <= {
        "update ok",
        "update NOT_FOUND",
        "delete ok",
        "consistent",
    }, dict(outcomes)


def test_revert_into_a_category_being_deleted_succeeds_or_is_refused(
    slow_versions: None,
) -> None:
    outcomes: Counter[str] = Counter()
    for round_ in range(ROUNDS):
        category = category_create(data={"name": f"C{round_}"}, actor=None)
        product = product_create(
            data={
                "name": f"P{round_}",
                "price": Decimal("1.00"),
                "category": category.pk,
            },
            actor=None,
        )
        in_category = HistoricalProduct.objects.get(id=product.pk)
        product_update(pk=product.pk, data={"category": None}, actor=None)

        revert, delete = run_together(
            partial(
                history_revert,
                model=Product,
                pk=product.pk,
                record_id=in_category.history_id,
                actor=None,
                reason="back",
            ),
            partial(category_delete, pk=category.pk, actor=None),
        )
        outcomes.update(["revert " + outcome(revert), "delete " + outcome(delete)])
        expected_versions = [("+", category.pk), ("~", None)] + (
            [("~", category.pk), ("~", None)] if outcome(revert) == "ok" else []
        )
        outcomes[
            consistency(
                Product.objects.get(pk=product.pk).category_id is None
                and versions_of(product.pk) == expected_versions
            )
        ] += 1

    assert set(outcomes) <= {
        "revert ok",
        "revert RELATED_DELETED",
        "delete ok",
        "consistent",
    }, dict(outcomes)


def test_import_into_a_category_being_deleted_succeeds_or_is_not_found(
    slow_versions: None,
) -> None:
    outcomes: Counter[str] = Counter()
    for round_ in range(ROUNDS):
        category = category_create(data={"name": f"C{round_}"}, actor=None)
        name = f"P{round_}"

        imported, delete = run_together(
            partial(
                product_import,
                rows=[{"name": name, "price": "1.00", "category": category.pk}],
                actor=None,
                reason="import",
            ),
            partial(category_delete, pk=category.pk, actor=None),
        )
        outcomes.update(["import " + outcome(imported), "delete " + outcome(delete)])
        products = list(Product.objects.filter(name=name))
        if outcome(imported) == "ok":
            # Created in the category, then moved out by its deletion.
            consistent = [p.category_id for p in products] == [None] and versions_of(
                products[0].pk
            ) == [("+", category.pk), ("~", None)]
        else:
            consistent = not products
        outcomes[consistency(consistent)] += 1

    assert set(outcomes) <= {
        "import ok",
        "import NOT_FOUND",
        "delete ok",
        "consistent",
    }, dict(outcomes)


def test_a_product_moving_out_of_a_category_being_deleted_keeps_its_move(
    slow_versions: None,
) -> None:
    """The deletion must not move out a product that has just left for another
    category: it would undo that change."""
    outcomes: Counter[str] = Counter()
    for round_ in range(ROUNDS):
        leaving, staying = (
            category_create(data={"name": f"{name}{round_}"}, actor=None)
            for name in ("Old", "New")
        )
        product = product_create(
            data={
                "name": f"P{round_}",
                "price": Decimal("1.00"),
                "category": leaving.pk,
            },
            actor=None,
        )

        update, delete = run_together(
            partial(
                product_update, pk=product.pk, data={"category": staying.pk}, actor=None
            ),
            partial(category_delete, pk=leaving.pk, actor=None),
        )
        outcomes.update(["update " + outcome(update), "delete " + outcome(delete)])
        outcomes[
            consistency(
                Product.objects.get(pk=product.pk).category_id == staying.pk
                # Moved first (then left alone by the deletion), or moved out
                # by the deletion first, then moved.
                and versions_of(product.pk)
                in (
                    [("+", leaving.pk), ("~", staying.pk)],
                    [("+", leaving.pk), ("~", None), ("~", staying.pk)],
                )
            )
        ] += 1

    assert outcomes == {"update ok": ROUNDS, "delete ok": ROUNDS, "consistent": ROUNDS}
