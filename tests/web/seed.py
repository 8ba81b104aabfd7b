"""Prepare the database of the browser tests: `python -m tests.web.seed`.

Run in a subprocess with `DATABASE_URL` naming a fresh database: it migrates,
loads the demo data (`seed_demo`), adds a reader without the history permission
and gives "Laptop 14 Pro" more versions than one page of its timeline shows.
"""

from __future__ import annotations

import os

import django

READER = "carol"
LAPTOP_UPDATES = 10


def seed() -> None:
    """Migrate and fill the database named by `DATABASE_URL`."""
    from django.contrib.auth.models import Permission, User
    from django.core.management import call_command

    from products.management.commands.seed_demo import DEMO_PASSWORD
    from products.models import Product
    from products.services import product_update

    call_command("migrate", verbosity=0, interactive=False)
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    reader = User.objects.create_user(username=READER, password=DEMO_PASSWORD)
    reader.user_permissions.set(Permission.objects.filter(codename="view_product"))
    bob = User.objects.get(username="bob")
    laptop = Product.objects.get(name="Laptop 14 Pro")
    for count in range(LAPTOP_UPDATES):
        product_update(
            pk=laptop.pk,
            data={"quantity": 20 + count},
            actor=bob,
            reason=f"Stock count {count + 1}",
        )


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    seed()
