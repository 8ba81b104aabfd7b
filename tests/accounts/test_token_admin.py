"""Bearer tokens in the admin (listed, revoked by staff with the permission,
never their digest) and the record of each token's last use."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import ApiToken
from accounts.tokens import LAST_USE_PRECISION, api_token_authenticate, api_token_create
from tests.factories import UserFactory

TOKENS = "/admin/accounts/apitoken/"


def staff_client(*permissions: str) -> Client:
    user: Any = UserFactory(
        username="clerk", is_staff=True, permissions=list(permissions)
    )
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_the_token_list_shows_what_a_token_is_but_never_its_digest() -> None:
    owner = UserFactory(username="script-owner")
    raw, token = api_token_create(user=owner, name="nightly import")
    api_token_authenticate(raw)
    client = staff_client("view_apitoken")

    listing = client.get(TOKENS).content.decode()
    page = client.get(f"{TOKENS}{token.pk}/change/").content.decode()

    for text in (token.prefix, "script-owner", "nightly import", "Last used at"):
        assert text in listing
    for content in (listing, page):
        assert token.digest not in content
        assert raw not in content
    assert token.prefix in page


@pytest.mark.django_db
def test_the_token_admin_has_no_add_form_and_no_editable_field() -> None:
    client = staff_client("view_apitoken", "add_apitoken", "change_apitoken")
    _, token = api_token_create(user=UserFactory(username="owner"), name="ci")
    url = f"{TOKENS}{token.pk}/change/"

    page = client.get(url).content.decode()
    response = client.post(url, {"name": "renamed", "revoked_at": ""})

    assert client.get(f"{TOKENS}add/").status_code == 403
    assert 'name="name"' not in page
    assert response.status_code == 403
    token.refresh_from_db()
    assert token.name == "ci"


@pytest.mark.django_db
def test_staff_with_the_permission_revoke_tokens_with_the_admin_action() -> None:
    owner = UserFactory(username="owner")
    raw, token = api_token_create(user=owner)
    _, other = api_token_create(user=owner)
    client = staff_client("view_apitoken", "change_apitoken")

    response = client.post(
        TOKENS,
        {"action": "revoke_tokens", "_selected_action": [token.pk]},
        follow=True,
    )

    assert "1 token(s) revoked." in response.content.decode()
    token.refresh_from_db()
    other.refresh_from_db()
    assert token.revoked_at is not None
    assert other.revoked_at is None
    with pytest.raises(Exception, match="revoked"):
        api_token_authenticate(raw)


@pytest.mark.django_db
def test_staff_without_the_change_permission_cannot_revoke() -> None:
    _, token = api_token_create(user=UserFactory(username="owner"))
    client = staff_client("view_apitoken")

    listing = client.get(TOKENS).content.decode()
    response = client.post(
        TOKENS, {"action": "revoke_tokens", "_selected_action": [token.pk]}
    )

    assert "revoke_tokens" not in listing
    assert response.status_code == 200, response  # the list again
    token.refresh_from_db()
    assert token.revoked_at is None


@pytest.mark.django_db
def test_authenticating_records_the_last_use_once_a_minute() -> None:
    raw, token = api_token_create(user=UserFactory(username="owner"))
    assert token.last_used_at is None

    with CaptureQueriesContext(connection) as first:
        api_token_authenticate(raw)
    token.refresh_from_db()
    recorded = token.last_used_at
    with CaptureQueriesContext(connection) as again:
        api_token_authenticate(raw)
    token.refresh_from_db()

    assert recorded is not None
    assert abs(timezone.now() - recorded) < datetime.timedelta(seconds=30)
    assert [q["sql"].split()[0] for q in first.captured_queries] == [
        "SELECT",
        "UPDATE",
    ]
    assert [q["sql"].split()[0] for q in again.captured_queries] == ["SELECT"]
    assert token.last_used_at == recorded


@pytest.mark.django_db
def test_a_use_after_a_minute_updates_the_last_use() -> None:
    raw, token = api_token_create(user=UserFactory(username="owner"))
    earlier = timezone.now() - LAST_USE_PRECISION - datetime.timedelta(seconds=1)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=earlier)

    api_token_authenticate(raw)

    token.refresh_from_db()
    assert token.last_used_at is not None
    assert token.last_used_at > earlier + LAST_USE_PRECISION


@pytest.mark.django_db
def test_a_bearer_request_records_the_tokens_last_use(client: Client) -> None:
    raw, token = api_token_create(user=UserFactory(username="owner"))

    response = client.post(
        "/graphql/",
        {"query": "{ me { username } }"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )

    assert response.json()["data"] == {"me": {"username": "owner"}}
    token.refresh_from_db()
    assert token.last_used_at is not None
