"""factory_boy factories."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth.models import Permission, User

from products.models import Category, Product, Tag
from tests.tracked.models import Note


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


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag

    name = factory.Sequence(lambda n: f"tag{n}")


class NoteFactory(factory.django.DjangoModelFactory):
    """The tests' own tracked model (`tests.tracked.models.Note`)."""

    class Meta:
        model = Note

    title = factory.Sequence(lambda n: f"Note {n}")
