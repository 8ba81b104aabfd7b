"""Fixtures shared by the history tests: a superuser and an admin session."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client


@pytest.fixture
def root(db: None) -> Any:
    """A superuser."""
    return User.objects.create_superuser("root", password="root-password")


@pytest.fixture
def admin_client(root: Any) -> Client:
    """A client logged in as `root` (in place of pytest-django's `admin_client`,
    so tests can name the user who made a change)."""
    client = Client()
    client.force_login(root)
    return client
