"""`manage.py seed_demo`: demo users and products with a few versions each."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.management.color import no_style
from django.db import connections, models, router, transaction
from django.db.models import Q

from accounts.tokens import api_token_create
from history.models import Changeset, Checkpoint, Pruning
from history.selectors import tracked_models
from history.tracking import history_model_for, m2m_fields, m2m_history_model
from products.models import Category, Product, Tag
from products.services import (
    category_create,
    category_update,
    product_create,
    product_delete,
    product_update,
)

DEMO_PASSWORD = "history-demo"
EDITOR_PERMISSIONS = (
    "add_product",
    "change_product",
    "delete_product",
    "view_product",
    "view_historicalproduct",
    "add_category",
    "change_category",
    "delete_category",
    "view_historicalcategory",
)

# (values, created by, [(changes, by, reason)], deleted by)
DEMO_PRODUCTS: list[
    tuple[dict[str, Any], str, list[tuple[dict[str, Any], str, str]], str | None]
] = [
    (
        {
            "name": "Desk lamp",
            "description": "A small desk lamp.",
            "price": Decimal("29.90"),
            "quantity": 40,
            "category": "Lamps",
            "tags": ["brass", "desk"],
        },
        "alice",
        [
            ({"price": Decimal("24.90")}, "bob", "Spring sale"),
            (
                {"description": "A small desk lamp with a warm LED.", "quantity": 35},
                "alice",
                "Supplier changed the bulb",
            ),
            ({"tags": ["brass", "desk", "led"]}, "bob", "Tagged for the LED range"),
        ],
        None,
    ),
    (
        {
            "name": "Laptop 14",
            "description": "A light laptop.",
            "price": Decimal("1199.00"),
            "quantity": 8,
            "category": "Computers",
            "tags": ["portable"],
        },
        "bob",
        [
            ({"price": Decimal("1099.00")}, "alice", "Price match"),
            ({"name": "Laptop 14 Pro"}, "bob", "Renamed by the vendor"),
        ],
        None,
    ),
    (
        {
            "name": "Mug",
            "description": "A white mug.",
            "price": Decimal("7.50"),
            "quantity": 120,
        },
        "alice",
        [({"quantity": 0}, "bob", "Sold out")],
        "alice",
    ),
]


RESET_HINT = 'make manage ARGS="seed_demo --reset"'


class Command(BaseCommand):
    help = (
        "Create the demo users (alice, staff, and bob; password "
        f"{DEMO_PASSWORD!r}) and, on an empty catalog, demo products and "
        "categories with versions by both; print a new bearer token for alice. "
        "On a catalog that is not empty it changes nothing and says so. --reset "
        "first deletes every product, category and tag with all their versions, "
        "changesets and the history's checkpoints (the one command that wipes "
        "history: development only, refused unless DJANGO_DEBUG is on or "
        "--force is given), then seeds again, so the README's tour answers as "
        "written."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the catalog and its whole history, then seed again.",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Allow --reset with DJANGO_DEBUG off. Never on a real database.",
        )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        if options["reset"]:
            if not (settings.DEBUG or options["force"]):
                raise CommandError(
                    "Refused: --reset deletes the catalog and its whole history. "
                    "It runs only with DJANGO_DEBUG=1 (development), or with "
                    "--force if you are sure this database is disposable."
                )
            _wipe_catalog()
        elif options["force"]:
            raise CommandError("--force goes with --reset only.")
        editors, _ = Group.objects.get_or_create(name="editors")
        editors.permissions.set(
            Permission.objects.filter(codename__in=EDITOR_PERMISSIONS)
        )
        alice = self._user("alice", staff=True, group=editors)
        bob = self._user("bob", staff=False, group=editors)
        products = Product.objects.count()
        versions = sum(
            history_model_for(model).objects.count() for model in _catalog_models()
        )
        if products or versions or Category.objects.exists():
            self.stdout.write(
                f"The catalog is not empty ({products} products, {versions} "
                "versions): the demo data is already there, or other data is; "
                "nothing was changed.\n"
                f"  To start again from the demo data: {RESET_HINT}\n"
                "  (it deletes every product, category and tag and their history)."
            )
        else:
            self._products(alice, bob)
            self.stdout.write("\nDemo data is ready.")
        raw, _ = api_token_create(user=alice, name="make run")
        self.stdout.write(
            "  GraphiQL: log in with the `login` mutation as alice or bob,\n"
            f"            password {DEMO_PASSWORD!r}\n"
            "            (alice is staff and sees request context), or at /admin/.\n"
            f"  Scripts:  Authorization: Bearer {raw}   (alice)\n"
            '            more tokens: make manage ARGS="create_api_token USERNAME"\n'
        )

    def _user(self, username: str, *, staff: bool, group: Group) -> User:
        user, created = User.objects.get_or_create(
            username=username, defaults={"is_staff": staff}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        user.groups.add(group)
        return user

    def _products(self, alice: User, bob: User) -> None:
        users = {"alice": alice, "bob": bob}
        categories = {
            name: category_create(
                data={"name": name}, actor=alice, reason="New section"
            ).pk
            for name in ("Lamps", "Computers")
        }
        for data, author, changes, deleted_by in DEMO_PRODUCTS:
            values = dict(data)
            if "category" in values:
                values["category"] = categories[values["category"]]
            product = product_create(
                data=values, actor=users[author], reason="New in the catalog"
            )
            for change, by, reason in changes:
                product_update(
                    pk=product.pk, data=change, actor=users[by], reason=reason
                )
            if deleted_by is not None:
                product_delete(
                    pk=product.pk, actor=users[deleted_by], reason="Discontinued"
                )
        # Versions written before the rename keep showing "Lamps".
        category_update(
            pk=categories["Lamps"],
            data={"name": "Lighting"},
            actor=bob,
            reason="Broader section name",
        )


def _catalog_models() -> list[type[models.Model]]:
    return [model for model in tracked_models() if model._meta.app_label == "products"]


def _wipe_catalog() -> None:
    """Delete every product, category and tag, all their versions (with the
    many-to-many rows they recorded), their changesets and prunings, and every
    checkpoint (they sign chains that are gone), and restart the tables' ids,
    so that seeding again gives the same ids."""
    catalog = _catalog_models()
    tables = {model._meta.db_table for model in (Product, Category, Tag, Checkpoint)}
    tables.add(cast(Any, Product.tags.through)._meta.db_table)
    touched = Q(pk__in=[])
    for model in catalog:
        history_model = history_model_for(model)
        tables.add(history_model._meta.db_table)
        tables.update(
            m2m_history_model(model, field)._meta.db_table
            for field in m2m_fields(model)
        )
        touched |= Q(pk__in=history_model.objects.values("history_changeset_id"))
    Changeset.objects.filter(touched).delete()
    Pruning.objects.filter(
        model__in=[model._meta.label_lower for model in catalog]
    ).delete()
    connection = connections[router.db_for_write(Product)]
    postgresql = connection.vendor == "postgresql"
    if postgresql:
        # PostgreSQL refuses to TRUNCATE a table with deferred foreign-key
        # checks pending in the transaction: run them now (Django declares
        # every foreign key deferrable, initially deferred, which is restored).
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    connection.ops.execute_sql_flush(
        connection.ops.sql_flush(no_style(), sorted(tables), reset_sequences=True)
    )
    if postgresql:
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
