"""Fixtures shared by the GraphQL tests of several modules."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import caches
from django.db import transaction

from products import services
from products.models import Product
from schema import cache as response_cache
from schema.root import schema
from tests.conftest import bearer
from tests.factories import UserFactory
from tests.helpers import CATALOG_PERMISSIONS
from tests.schema.bad_input import Catalog, build_catalog


@pytest.fixture
def curator(db: None) -> Any:
    """A user who may write and read the history of products and categories."""
    return UserFactory(username="curator", permissions=CATALOG_PERMISSIONS)


@pytest.fixture(scope="module")
def module_catalog(django_db_setup: None, django_db_blocker: Any) -> Iterator[Catalog]:
    """The catalog, written once for the whole module in a transaction that is
    rolled back when the module ends. Each test runs in a savepoint of it
    (pytest-django's `db`), so each starts from this state."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_catalog()
        transaction.set_rollback(True)


@pytest.fixture
def catalog(db: None, module_catalog: Catalog) -> Catalog:
    return module_catalog


@pytest.fixture
def lamp(editor: Any) -> Product:
    """A product with two versions: created at 20.00, then 25.00."""
    product = services.product_create(
        data={"name": "Lamp", "price": Decimal("20.00"), "quantity": 3},
        actor=editor,
        reason="new",
    )
    return services.product_update(
        pk=product.pk, data={"price": Decimal("25.00")}, actor=editor, reason="dearer"
    )


@pytest.fixture
def as_editor(editor: Any) -> dict[str, str]:
    """Headers authenticating as the editor (made before any query is counted)."""
    return bearer(editor)


@pytest.fixture
def response_cache_on(settings: Any) -> Iterator[None]:
    """The GraphQL response cache on, in memory, empty, remembering no
    document."""
    settings.GRAPHQL_RESPONSE_CACHE = True
    caches["default"].clear()
    response_cache.forget_documents()
    yield
    caches["default"].clear()
    response_cache.forget_documents()


@pytest.fixture
def executions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The documents the schema ran, in order (answers from the cache run none)."""
    ran: list[str] = []
    execute = schema.execute

    async def counted(query: str | None, *args: Any, **kwargs: Any) -> Any:
        ran.append(query or "")
        return await execute(query, *args, **kwargs)

    monkeypatch.setattr(schema, "execute", counted)
    return ran
