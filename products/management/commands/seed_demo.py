"""`manage.py seed_demo`: demo users and products with a few versions each."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import Group, Permission, User
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.tokens import api_token_create
from products.models import Product
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


class Command(BaseCommand):
    help = "Create demo users (alice, bob) and products with versions, once."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        editors, _ = Group.objects.get_or_create(name="editors")
        editors.permissions.set(
            Permission.objects.filter(codename__in=EDITOR_PERMISSIONS)
        )
        alice = self._user("alice", staff=True, group=editors)
        bob = self._user("bob", staff=False, group=editors)
        if not Product.objects.exists() and not Product.history.exists():
            self._products(alice, bob)
        raw, _ = api_token_create(user=alice, name="make run")
        self.stdout.write(
            "\nDemo data is ready.\n"
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
