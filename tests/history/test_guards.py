"""The PostgreSQL guards (`history.guards`): committed versions are never
changed or deleted, but by a prune or a deleted user account; a write to a
tracked table, or to a tracked many-to-many field's through table, with no
version of its object in the same transaction is refused at commit.

PostgreSQL only (SQLite has no guards; its chains catch tampering), and on
committed data: the raw writes come from a second connection.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from history.guards import APPEND_ONLY_MESSAGE, UNVERSIONED_MESSAGE
from history.retention import history_prune
from history.tracking import m2m_history_model
from products.models import Category, Product, Tag
from products.services import category_create, product_create, product_update
from tests.factories import UserFactory
from tests.helpers import bypass_guards, second_connection
from tests.tracked.models import Note

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="PostgreSQL only: SQLite has no triggers guarding history",
    ),
]

HistoricalProduct = Product.history.model
HistoricalNote = Note.history.model
ProductTags: Any = Product.tags.through
HistoricalProductTags = m2m_history_model(Product, Product._meta.get_field("tags"))
# What `pytest.raises(match=)` looks for: the messages as they are.
APPEND_ONLY = re.escape(APPEND_ONLY_MESSAGE)
UNVERSIONED = re.escape(UNVERSIONED_MESSAGE)


def lamp(**extra: Any) -> Product:
    """A committed product with a tag, in a category: one CREATED version."""
    category = category_create(data={"name": "Lighting"}, actor=None)
    return product_create(
        data={
            "name": "Lamp",
            "price": Decimal("10.00"),
            "category": category.pk,
            "tags": ["brass"],
            **extra,
        },
        actor=None,
        reason="New",
    )


def versions(model: Any = HistoricalProduct) -> list[dict[str, Any]]:
    """Every version of `model`, all columns, as committed."""
    return list(model.objects.order_by("history_id").values())


def refused_append_only(operation: str, table: str) -> str:
    return f"{operation} on {table} refused: {APPEND_ONLY_MESSAGE}"


# Versions are append-only ---------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "operation"),
    [
        pytest.param(
            "UPDATE products_historicalproduct SET price = 1 WHERE id = %s",
            "UPDATE",
            id="edit-a-value",
        ),
        pytest.param(
            "UPDATE products_historicalproduct "
            "SET history_change_reason = 'forged' WHERE id = %s",
            "UPDATE",
            id="edit-a-reason",
        ),
        pytest.param(
            "UPDATE products_historicalproduct SET history_user_id = NULL, "
            "history_username = 'someone' WHERE id = %s",
            "UPDATE",
            id="clear-the-user-and-edit",
        ),
        pytest.param(
            "DELETE FROM products_historicalproduct WHERE id = %s",
            "DELETE",
            id="delete-a-version",
        ),
    ],
)
def test_raw_sql_cannot_change_or_delete_a_version(sql: str, operation: str) -> None:
    product = lamp()
    before = versions()
    with (
        second_connection() as other,
        pytest.raises(psycopg.errors.IntegrityError) as refusal,
    ):
        other.execute(sql, [product.pk])
    assert str(refusal.value).splitlines()[0] == refused_append_only(
        operation, "products_historicalproduct"
    )
    assert versions() == before


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE products_historicalproduct_tags SET tag_id = tag_id + 1",
        "DELETE FROM products_historicalproduct_tags",
    ],
    ids=["update", "delete"],
)
def test_the_many_to_many_rows_of_versions_are_append_only(sql: str) -> None:
    lamp()
    before = list(HistoricalProductTags.objects.values())
    with (
        second_connection() as other,
        pytest.raises(psycopg.errors.IntegrityError, match=APPEND_ONLY),
    ):
        other.execute(sql)
    assert list(HistoricalProductTags.objects.values()) == before
    assert len(before) == 1


def test_the_orm_cannot_change_or_delete_a_version() -> None:
    product = lamp()
    before = versions()
    table = HistoricalProduct._meta.db_table
    with pytest.raises(
        IntegrityError, match=re.escape(refused_append_only("UPDATE", table))
    ):
        HistoricalProduct.objects.filter(id=product.pk).update(
            history_change_reason="forged"
        )
    with pytest.raises(
        IntegrityError, match=re.escape(refused_append_only("DELETE", table))
    ):
        HistoricalProduct.objects.filter(id=product.pk).delete()
    assert versions() == before


def test_a_version_is_completed_in_its_own_transaction_and_frozen_after() -> None:
    """Bulk writers fill in the versions simple-history inserted, in the same
    transaction; once committed, the same UPDATE is refused."""
    with transaction.atomic():
        product = lamp()
        HistoricalProduct.objects.filter(id=product.pk).update(
            history_search="completed"
        )
    assert HistoricalProduct.objects.get(id=product.pk).history_search == "completed"
    with pytest.raises(IntegrityError, match=APPEND_ONLY):
        HistoricalProduct.objects.filter(id=product.pk).update(history_search="again")


def test_deleting_a_user_unlinks_their_versions_and_keeps_who_it_was() -> None:
    alice: Any = UserFactory(username="alice", permissions=["add_product"])
    product = product_create(
        data={"name": "Lamp", "price": Decimal("10.00")}, actor=alice, reason="New"
    )
    alice_pk = alice.pk
    alice.delete()
    version = HistoricalProduct.objects.get(id=product.pk)
    assert (
        version.history_user_id,
        version.history_user_pk,
        version.history_username,
    ) == (None, alice_pk, "alice")


def test_a_prune_deletes_versions_and_only_the_prune() -> None:
    product = lamp()
    product_update(pk=product.pk, data={"quantity": 3}, actor=None, reason="Count")
    with bypass_guards():
        HistoricalProduct.objects.update(
            history_date=timezone.now() - datetime.timedelta(days=40)
        )
    with transaction.atomic():
        result = history_prune(
            model=Product, cutoff=timezone.now() - datetime.timedelta(days=30)
        )
        # The prune's permission ends with it, even inside a longer transaction.
        with (
            pytest.raises(IntegrityError, match=APPEND_ONLY),
            transaction.atomic(),
        ):
            HistoricalProduct.objects.all().delete()
    assert result.count == 1
    kept = HistoricalProduct.objects.get()
    assert (kept.history_change_reason, kept.quantity) == ("Count", 3)
    assert list(HistoricalProductTags.objects.values_list("history_id", flat=True)) == [
        kept.history_id
    ]


def test_bypass_guards_lets_test_setup_through_and_nothing_after() -> None:
    product = lamp()
    with bypass_guards():
        HistoricalProduct.objects.update(history_change_reason="backdated")
        Product._base_manager.filter(pk=product.pk).update(quantity=9)
    assert HistoricalProduct.objects.get().history_change_reason == "backdated"
    assert Product.objects.get().quantity == 9
    with pytest.raises(IntegrityError, match=APPEND_ONLY):
        HistoricalProduct.objects.update(history_change_reason="again")
    with pytest.raises(IntegrityError, match=UNVERSIONED):
        Product._base_manager.filter(pk=product.pk).update(quantity=1)


# No write escapes history ---------------------------------------------------


def unversioned(row: str) -> str:
    """The whole message refusing a write of `row` ("<table> row <id>")."""
    return f"{row} {UNVERSIONED_MESSAGE}"


RAW_WRITES = [
    pytest.param(
        "UPDATE products_product SET price = 1 WHERE id = {product}",
        "products_product row {product}",
        id="update-product",
    ),
    pytest.param(
        "INSERT INTO products_product "
        "(name, description, price, quantity, created_at, updated_at) "
        "VALUES ('Forged', '', 1, 1, now(), now()) RETURNING id",
        "products_product row {new}",
        id="insert-product",
    ),
    pytest.param(
        "DELETE FROM products_product_tags WHERE product_id = {product}; "
        "DELETE FROM products_product WHERE id = {product}",
        "products_product_tags row for products_product {product}",
        id="delete-product",
    ),
    pytest.param(
        "UPDATE products_category SET name = 'Forged' WHERE id = {category}",
        "products_category row {category}",
        id="update-category",
    ),
    pytest.param(
        "INSERT INTO products_category (name, description, created_at, updated_at) "
        "VALUES ('Forged', '', now(), now()) RETURNING id",
        "products_category row {new}",
        id="insert-category",
    ),
    pytest.param(
        "UPDATE products_product SET category_id = NULL WHERE id = {product}; "
        "DELETE FROM products_category WHERE id = {category}",
        "products_product row {product}",
        id="delete-category",
    ),
    pytest.param(
        "INSERT INTO products_product_tags (product_id, tag_id) "
        "VALUES ({product}, {other_tag})",
        "products_product_tags row for products_product {product}",
        id="insert-tag-row",
    ),
    pytest.param(
        "DELETE FROM products_product_tags WHERE product_id = {product}",
        "products_product_tags row for products_product {product}",
        id="delete-tag-row",
    ),
    pytest.param(
        "UPDATE products_product_tags SET tag_id = {other_tag} "
        "WHERE product_id = {product}",
        "products_product_tags row for products_product {product}",
        id="update-tag-row",
    ),
]


def catalog_state() -> dict[str, Any]:
    """Every row of the tracked tables and of their versions, as committed."""
    return {
        "products": list(Product.objects.order_by("pk").values()),
        "categories": list(Category.objects.order_by("pk").values()),
        "tags": list(ProductTags.objects.order_by("pk").values()),
        "versions": versions(),
        "category versions": versions(Category.history.model),
    }


def write_in_one_transaction(sql: str, keys: dict[str, Any]) -> None:
    """Run `sql` ("; "-separated statements, formatted with `keys`) in one
    transaction on a second connection; a RETURNING statement's id goes into
    `keys["new"]`."""
    with second_connection() as other, other.transaction():
        for statement in sql.format(**keys).split("; "):
            cursor = other.execute(statement)
            if cursor.description is not None:
                keys["new"] = cursor.fetchone()[0]  # type: ignore[index]


@pytest.mark.parametrize(("sql", "row"), RAW_WRITES)
def test_a_raw_write_to_a_tracked_table_is_refused_with_the_tracked_way(
    sql: str, row: str
) -> None:
    product = lamp()
    other_tag = Tag.objects.create(name="steel")
    keys = {
        "product": product.pk,
        "category": product.category_id,
        "other_tag": other_tag.pk,
    }
    before = catalog_state()
    with pytest.raises(psycopg.errors.IntegrityError) as refusal:
        write_in_one_transaction(sql, keys)
    assert str(refusal.value).splitlines()[0] == unversioned(row.format(**keys))
    assert catalog_state() == before


def test_an_untracked_orm_update_is_refused() -> None:
    product = lamp()
    before = catalog_state()
    with pytest.raises(IntegrityError) as refusal:
        Product._base_manager.filter(pk=product.pk).update(price=Decimal("1.00"))
    assert str(refusal.value).splitlines()[0] == unversioned(
        f"products_product row {product.pk}"
    )
    assert catalog_state() == before


def test_a_through_model_write_is_refused() -> None:
    product = lamp()
    steel = Tag.objects.create(name="steel")
    before = catalog_state()
    with pytest.raises(IntegrityError, match=UNVERSIONED):
        ProductTags.objects.create(product=product, tag=steel)
    with pytest.raises(IntegrityError, match=UNVERSIONED):
        ProductTags.objects.filter(product=product).delete()
    assert catalog_state() == before


def test_deleting_a_tag_outside_its_service_is_refused() -> None:
    """Its products would lose it with no version saying so (`tag_delete`
    records one per product)."""
    product = lamp()
    before = catalog_state()
    with pytest.raises(
        IntegrityError,
        match=re.escape(
            f"products_product_tags row for products_product {product.pk} "
        ),
    ):
        Tag.objects.get(name="brass").delete()
    assert catalog_state() == before


def test_a_version_rolled_back_does_not_cover_its_write() -> None:
    """The version must commit with the row: one written in a savepoint that
    rolls back covers nothing."""
    product = lamp()
    before = catalog_state()

    def write() -> None:
        with transaction.atomic():
            Product._base_manager.filter(pk=product.pk).update(quantity=7)
            try:
                with transaction.atomic():
                    product_update(pk=product.pk, data={"name": "Lamp 2"}, actor=None)
                    raise RuntimeError("undo the version")
            except RuntimeError:
                pass

    with pytest.raises(IntegrityError, match=UNVERSIONED):
        write()
    assert catalog_state() == before


def test_a_version_of_another_object_does_not_cover_a_write() -> None:
    product = lamp()
    mug = product_create(data={"name": "Mug", "price": Decimal("2.00")}, actor=None)
    before = catalog_state()

    @transaction.atomic
    def write() -> None:
        product_update(pk=product.pk, data={"quantity": 1}, actor=None)
        Product._base_manager.filter(pk=mug.pk).update(quantity=1)

    with pytest.raises(
        IntegrityError, match=re.escape(unversioned(f"products_product row {mug.pk}"))
    ):
        write()
    assert catalog_state() == before


# Tracked writes in autocommit -----------------------------------------------


def committed_versions(table: str, pk: Any) -> list[tuple[Any, ...]]:
    """The committed versions of one object, read on a second connection."""
    with second_connection() as other:
        return other.execute(
            f"SELECT history_type, history_txid IS NOT NULL FROM {table} "
            "WHERE id = %s ORDER BY history_id",
            [pk],
        ).fetchall()


def test_a_save_and_a_delete_in_autocommit_record_their_versions() -> None:
    assert connection.get_autocommit()
    note = Note(title="Plain save")
    note.save()
    note.title = "Saved again"
    note.save()
    pk = note.pk
    note.delete()
    assert committed_versions(HistoricalNote._meta.db_table, pk) == [
        ("+", True),
        ("~", True),
        ("-", True),
    ]


def test_a_tag_added_in_autocommit_records_a_version() -> None:
    product = lamp()
    product.tags.add(Tag.objects.create(name="steel"))
    assert committed_versions(HistoricalProduct._meta.db_table, product.pk) == [
        ("+", True),
        ("~", True),
    ]
    assert sorted(product.tags.values_list("name", flat=True)) == ["brass", "steel"]
