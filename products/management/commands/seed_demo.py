"""`manage.py seed_demo`: demo users and products with a few versions each."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import Group, Permission, User
from django.core.management.base import BaseCommand
from django.db import transaction

from history.tokens import api_token_create
from products.models import Product
from products.services import product_create, product_delete, product_update

DEMO_PASSWORD = "history-demo"
EDITOR_PERMISSIONS = (
    "add_product",
    "change_product",
    "delete_product",
    "view_product",
    "view_historicalproduct",
)


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
            "            more tokens: python manage.py create_api_token USERNAME\n"
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
        lamp = product_create(
            data={
                "name": "Desk lamp",
                "description": "A small desk lamp.",
                "price": Decimal("29.90"),
                "quantity": 40,
            },
            actor=alice,
            reason="New in the catalog",
        )
        product_update(
            pk=lamp.pk,
            data={"price": Decimal("24.90")},
            actor=bob,
            reason="Spring sale",
        )
        product_update(
            pk=lamp.pk,
            data={"description": "A small desk lamp with a warm LED.", "quantity": 35},
            actor=alice,
            reason="Supplier changed the bulb",
        )
        laptop = product_create(
            data={
                "name": "Laptop 14",
                "description": "A light laptop.",
                "price": Decimal("1199.00"),
                "quantity": 8,
            },
            actor=bob,
            reason="New in the catalog",
        )
        product_update(
            pk=laptop.pk,
            data={"price": Decimal("1099.00")},
            actor=alice,
            reason="Price match",
        )
        product_update(
            pk=laptop.pk,
            data={"name": "Laptop 14 Pro"},
            actor=bob,
            reason="Renamed by the vendor",
        )
        mug = product_create(
            data={
                "name": "Mug",
                "description": "A white mug.",
                "price": Decimal("7.50"),
                "quantity": 120,
            },
            actor=alice,
            reason="New in the catalog",
        )
        product_update(pk=mug.pk, data={"quantity": 0}, actor=bob, reason="Sold out")
        product_delete(pk=mug.pk, actor=alice, reason="Discontinued")
