"""Login throttling (django-axes): per username and per client, on the GraphQL
`login` and on the admin's login; credentials no account can have."""

from __future__ import annotations

import datetime
import logging
from types import SimpleNamespace
from typing import Any
from unittest.mock import ANY

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client, RequestFactory
from django.utils import timezone

from accounts.auth import client_ip_address
from tests.factories import UserFactory
from tests.helpers import gid

PASSWORD = "secret-password"  # tests.factories.UserFactory's
LIMIT = 3
COOL_OFF = datetime.timedelta(minutes=15)

LOGIN = """
mutation($username: String!, $password: String!) {
  login(username: $username, password: $password) { __typename id username }
}
"""
ME = "{ me { username } }"


@pytest.fixture(autouse=True)
def throttle(settings: Any) -> None:
    """A small failure limit, so the tests do not depend on the default."""
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = COOL_OFF


def refused(code: str) -> dict[str, Any]:
    return {
        "data": {"login": None},
        "errors": [
            {
                "message": ANY,
                "locations": ANY,
                "path": ["login"],
                "extensions": {"code": code},
            }
        ],
    }


INVALID = refused("INVALID_CREDENTIALS")
LOCKED = refused("TOO_MANY_ATTEMPTS")


def logged_in(user: Any) -> dict[str, Any]:
    return {
        "data": {
            "login": {
                "__typename": "User",
                "id": gid("User", user.pk),
                "username": user.username,
            }
        }
    }


def client_at(address: str) -> Client:
    """A client whose requests come from `address`."""
    return Client(REMOTE_ADDR=address)


def login(gql: Any, username: str, password: str, *, client: Client) -> Any:
    return gql(LOGIN, {"username": username, "password": password}, client=client)


def test_failures_up_to_the_limit_lock_out_even_the_right_password(
    gql: Any, editor: Any
) -> None:
    client = client_at("10.0.0.1")
    answers = [
        login(gql, "editor", "wrong-password", client=client) for _ in range(LIMIT)
    ]

    # Below the limit a wrong password is just wrong; the failure that reaches
    # it is told about the lock, and so is the right password afterwards.
    assert answers == [INVALID] * (LIMIT - 1) + [LOCKED]
    assert login(gql, "editor", PASSWORD, client=client) == LOCKED
    assert settings.SESSION_COOKIE_NAME not in client.cookies
    assert gql(ME, client=client) == {"data": {"me": None}}


def test_the_lockout_message_names_the_limit_and_the_wait(
    gql: Any, editor: Any
) -> None:
    client = client_at("10.0.0.1")
    for _ in range(LIMIT):
        login(gql, "editor", "wrong-password", client=client)

    answer = login(gql, "editor", PASSWORD, client=client)

    assert answer["errors"][0]["message"] == (
        "Too many failed logins (limit 3): wait 15 minutes before trying again; "
        "an attempt meanwhile restarts the wait."
    )


def test_a_client_is_locked_out_across_usernames(gql: Any, editor: Any) -> None:
    attacker = client_at("10.0.0.66")
    for name in ["alice", "bob", "carol"][:LIMIT]:
        login(gql, name, "guess", client=attacker)

    assert login(gql, "editor", PASSWORD, client=attacker) == LOCKED
    # The user is not locked out: from elsewhere the right password works.
    assert login(gql, "editor", PASSWORD, client=client_at("10.0.0.2")) == (
        logged_in(editor)
    )


def test_a_username_is_locked_out_across_clients(gql: Any, editor: Any) -> None:
    for host in range(LIMIT):
        login(gql, "editor", "guess", client=client_at(f"10.0.1.{host}"))

    assert login(gql, "editor", PASSWORD, client=client_at("10.0.2.1")) == LOCKED
    # Other users of that last client are not locked out.
    other = UserFactory(username="other")
    assert login(gql, "other", PASSWORD, client=client_at("10.0.2.1")) == (
        logged_in(other)
    )


def test_a_successful_login_clears_the_failures(gql: Any, editor: Any) -> None:
    client = client_at("10.0.0.1")
    for _ in range(LIMIT - 1):
        login(gql, "editor", "wrong-password", client=client)

    assert login(gql, "editor", PASSWORD, client=client_at("10.0.0.1")) == (
        logged_in(editor)
    )

    answers = [
        login(gql, "editor", "wrong-password", client=client_at("10.0.0.1"))
        for _ in range(LIMIT - 1)
    ]
    assert answers == [INVALID] * (LIMIT - 1)
    assert not AccessAttempt.objects.filter(failures_since_start__gte=LIMIT).exists()


def test_logging_in_to_another_account_does_not_clear_a_users_failures(
    gql: Any, editor: Any
) -> None:
    """A guesser who logs in to their own account from the same client between
    guesses keeps the failures of the account they guess at."""
    UserFactory(username="guesser")
    for _ in range(LIMIT - 1):
        assert login(gql, "editor", "wrong", client=client_at("10.0.0.1")) == INVALID
    guesser = login(gql, "guesser", PASSWORD, client=client_at("10.0.0.1"))
    assert guesser["data"]["login"]["username"] == "guesser"

    # From a fresh address: only the username's count can lock it.
    assert login(gql, "editor", "wrong", client=client_at("10.0.0.9")) == LOCKED
    assert login(gql, "editor", PASSWORD, client=client_at("10.0.0.9")) == LOCKED


def test_the_lock_ends_after_the_cool_off(gql: Any, editor: Any) -> None:
    client = client_at("10.0.0.1")
    for _ in range(LIMIT):
        login(gql, "editor", "wrong-password", client=client)
    assert login(gql, "editor", PASSWORD, client=client) == LOCKED

    AccessAttempt.objects.update(
        attempt_time=timezone.now() - COOL_OFF - datetime.timedelta(seconds=1)
    )

    assert login(gql, "editor", PASSWORD, client=client) == logged_in(editor)


def test_a_throttled_login_is_not_logged_as_an_error(
    gql: Any, editor: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_at("10.0.0.1")
    with caplog.at_level(logging.WARNING):
        for _ in range(LIMIT + 1):
            login(gql, "editor", "wrong-password", client=client)

    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_the_admin_login_is_throttled(editor: Any) -> None:
    editor.is_staff = True
    editor.save()
    client = client_at("10.0.0.1")
    credentials = {"username": "editor", "next": "/admin/"}
    for _ in range(LIMIT):
        failed = client.post("/admin/login/", {**credentials, "password": "wrong"})
        assert failed.status_code == 200  # the form again, with its error

    response = client.post("/admin/login/", {**credentials, "password": PASSWORD})

    assert response.status_code == 200, "the right password must not log in"
    assert client.get("/admin/").status_code == 302  # still to the login page
    assert AccessAttempt.objects.get(username="editor").failures_since_start > LIMIT
    # Locked out through the admin, locked out through GraphQL too.
    assert client.post(
        "/graphql/",
        {"query": LOGIN, "variables": {"username": "editor", "password": PASSWORD}},
        content_type="application/json",
    ).json()["errors"][0]["extensions"] == {"code": "TOO_MANY_ATTEMPTS"}


@pytest.mark.parametrize(
    ("username", "password"),
    [("edi\x00tor", PASSWORD), ("editor", "secret\x00password"), ("\x00", "\x00")],
    ids=["username", "password", "both"],
)
def test_a_nul_in_the_credentials_is_invalid_without_a_query(
    gql: Any,
    editor: Any,
    username: str,
    password: str,
    django_assert_num_queries: Any,
) -> None:
    client = client_at("10.0.0.1")

    with django_assert_num_queries(0):
        answer = login(gql, username, password, client=client)

    assert answer == INVALID
    assert not AccessAttempt.objects.exists()


def test_failures_are_counted_by_the_recorded_client_address() -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1")
    assert client_ip_address(request) == "10.0.0.1"

    request.history_context = SimpleNamespace(ip_address="203.0.113.7")  # type: ignore[attr-defined]
    assert client_ip_address(request) == "203.0.113.7"
