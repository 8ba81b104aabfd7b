"""factory_boy factories."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth.models import Permission, User

from products.models import Product


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "secret-password")

    @factory.post_generation
    def permissions(
        self: Any, create: bool, extracted: list[str] | None, **kwargs: object
    ) -> None:
        if create and extracted:
            self.user_permissions.set(Permission.objects.filter(codename__in=extracted))
        if create:
            self.save()


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    description = "A product."
    price = Decimal("10.00")
    quantity = 5
