"""The demo seed and the admin's history pages."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from products.models import Category, Product

HistoricalProduct = Product.history.model


@pytest.mark.django_db
def test_seed_demo_creates_versions_by_two_users_once() -> None:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=StringIO())

    assert Product.objects.count() == 2
    assert HistoricalProduct.objects.count() == 10
    assert Category.history.count() == 3  # two created, one renamed
    assert set(
        HistoricalProduct.objects.values_list("history_user__username", flat=True)
    ) == {"alice", "bob"}
    assert not HistoricalProduct.objects.filter(history_change_reason=None).exists()
    assert "Authorization: Bearer hist_" in out.getvalue()


@pytest.mark.django_db
def test_admin_shows_a_products_history() -> None:
    call_command("seed_demo", stdout=StringIO())
    admin = User.objects.create_superuser("root", password="root-password")
    client = Client()
    client.force_login(admin)
    lamp = Product.objects.get(name="Desk lamp")

    response = client.get(f"/admin/products/product/{lamp.pk}/history/")

    assert response.status_code == 200
    assert b"Supplier changed the bulb" in response.content
    assert b"Spring sale" in response.content


@pytest.mark.django_db
def test_admin_shows_a_categorys_history() -> None:
    call_command("seed_demo", stdout=StringIO())
    admin = User.objects.create_superuser("root", password="root-password")
    client = Client()
    client.force_login(admin)
    lighting = Category.objects.get(name="Lighting")

    response = client.get(f"/admin/products/category/{lighting.pk}/history/")

    assert response.status_code == 200
    assert b"Broader section name" in response.content
