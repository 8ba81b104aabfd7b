"""Thin fixtures: users with the contract's permissions and a GraphQL client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import caches
from django.test import Client

from accounts.tokens import api_token_authenticate, api_token_create
from tests.factories import UserFactory
from tests.helpers import EDITOR_PERMISSIONS, post

__all__ = ["EDITOR_PERMISSIONS", "GraphQL", "bearer"]

GraphQL = Callable[..., dict[str, Any]]


@pytest.fixture
def editor(db: None) -> Any:
    """A user who may write products and read their history."""
    return UserFactory(username="editor", permissions=EDITOR_PERMISSIONS)


@pytest.fixture
def staff(db: None) -> Any:
    """A staff user with the editor's permissions: sees request context."""
    return UserFactory(username="staff", is_staff=True, permissions=EDITOR_PERMISSIONS)


@pytest.fixture
def reader(db: None) -> Any:
    """A user with no permissions: may read products, not history."""
    return UserFactory(username="reader")


def bearer(user: Any) -> dict[str, str]:
    """Headers authenticating as `user` with a new bearer token, used once
    already: a request with it costs the queries of a token in steady use, not
    the first use's UPDATE of `last_used_at` (once a minute at most; pinned in
    tests/accounts/test_token_admin.py)."""
    raw, _ = api_token_create(user=user)
    api_token_authenticate(raw)
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def gql(db: None) -> GraphQL:
    """POST a GraphQL document over HTTP (strawberry-django's `TestClient`) and
    return the decoded JSON answer.

    `user` authenticates with a bearer token; `client` and `headers` allow
    sessions and custom headers. The answer's `extensions` (the query cost) are
    left out unless `extensions` is true.
    """

    def ask(
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        user: Any = None,
        headers: dict[str, str] | None = None,
        client: Client | None = None,
        status: int = 200,
        extensions: bool = False,
    ) -> dict[str, Any]:
        all_headers = {**(bearer(user) if user is not None else {}), **(headers or {})}
        response = post(query, variables or {}, headers=all_headers, client=client)
        assert response.status_code == status, response.content
        answer: dict[str, Any] = response.json()
        if not extensions:
            # Every answer reports its cost; tests about it ask for it.
            answer.pop("extensions", None)
        return answer

    return ask


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Hash test passwords cheaply; the hasher is not what the tests are about."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def empty_response_cache() -> None:
    """Each test starts with an empty cache: answers cached in a test whose
    writes were rolled back must not meet a later test's identical stamp."""
    caches["default"].clear()
