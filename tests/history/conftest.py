"""Fixtures shared by this directory's tests."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client


@pytest.fixture
def root(db: None) -> Any:
    return User.objects.create_superuser("root", password="root-password")


@pytest.fixture
def admin_client(root: Any) -> Client:
    client = Client()
    client.force_login(root)
    return client
