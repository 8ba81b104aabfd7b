"""Fixtures shared by the GraphQL tests of several modules."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import UserFactory
from tests.helpers import CATALOG_PERMISSIONS


@pytest.fixture
def curator(db: None) -> Any:
    """A user who may write and read the history of products and categories."""
    return UserFactory(username="curator", permissions=CATALOG_PERMISSIONS)
