"""Authentication: session login and logout with CSRF, bearer tokens, the command."""

from __future__ import annotations

import datetime
from decimal import Decimal
from io import StringIO
from typing import Any, cast
from unittest.mock import ANY

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from accounts.models import ApiToken
from accounts.tokens import api_token_create, api_token_revoke
from products import services
from products.models import Product
from tests.conftest import bearer
from tests.factories import UserFactory
from tests.helpers import gid, post, without_cost

HistoricalProduct = Product.history.model

PASSWORD = "secret-password"  # tests.factories.UserFactory's

LOGIN = """
mutation($username: String!, $password: String!) {
  login(username: $username, password: $password) { __typename id username }
}
"""
LOGOUT = "mutation { logout }"
ME = "{ me { __typename username } }"
CREATE = """
mutation($input: CreateProductInput!) {
  createProduct(input: $input) {
    __typename
    ... on Product { name price }
    ... on OperationInfo { messages { kind code } }
  }
}
"""
DESK = {"input": {"name": "Desk", "price": "120.00", "reason": "new"}}
DESK_CREATED = {
    "data": {
        "createProduct": {"__typename": "Product", "name": "Desk", "price": "120.00"}
    }
}


def csrf_token_from_graphiql(client: Client) -> str:
    """Load GraphiQL as a browser does and return the CSRF cookie it sets."""
    response = client.get("/graphql/", headers={"Accept": "text/html"})
    assert response.status_code == 200
    token: str = response.cookies[settings.CSRF_COOKIE_NAME].value
    assert token
    return token


def user_id(user: Any) -> str:
    return gid("User", user.pk)


# Session: login and logout


def test_login_starts_a_session(gql: Any, editor: Any) -> None:
    client = Client()

    answer = gql(LOGIN, {"username": "editor", "password": PASSWORD}, client=client)

    assert answer == {
        "data": {
            "login": {"__typename": "User", "id": user_id(editor), "username": "editor"}
        }
    }
    assert settings.SESSION_COOKIE_NAME in client.cookies
    assert gql(ME, client=client) == {
        "data": {"me": {"__typename": "User", "username": "editor"}}
    }
    assert gql(CREATE, DESK, client=client) == DESK_CREATED
    assert gql(ME) == {"data": {"me": None}}


@pytest.mark.parametrize(
    ("username", "password"),
    [("editor", "wrong-password"), ("nobody", PASSWORD)],
    ids=["wrong-password", "unknown-user"],
)
def test_login_with_bad_credentials_is_refused(
    gql: Any, editor: Any, username: str, password: str
) -> None:
    client = Client()

    answer = gql(LOGIN, {"username": username, "password": password}, client=client)

    assert answer == {
        "data": {"login": None},
        "errors": [
            {
                "message": ANY,
                "locations": ANY,
                "path": ["login"],
                "extensions": {"code": "INVALID_CREDENTIALS"},
            }
        ],
    }
    assert settings.SESSION_COOKIE_NAME not in client.cookies
    assert gql(ME, client=client) == {"data": {"me": None}}


def test_logout_ends_the_session(gql: Any, editor: Any) -> None:
    client = Client()
    gql(LOGIN, {"username": "editor", "password": PASSWORD}, client=client)

    assert gql(LOGOUT, client=client) == {"data": {"logout": True}}

    assert gql(ME, client=client) == {"data": {"me": None}}
    assert gql(CREATE, DESK, client=client) == {
        "data": {
            "createProduct": {
                "__typename": "OperationInfo",
                "messages": [{"kind": "PERMISSION", "code": "PERMISSION_DENIED"}],
            }
        }
    }
    assert not Product.objects.exists()


def test_logout_when_anonymous_is_false(gql: Any) -> None:
    assert gql(LOGOUT) == {"data": {"logout": False}}


# Session: CSRF


def test_session_mutation_without_csrf_token_is_refused(editor: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    csrf_token_from_graphiql(client)

    response = post(CREATE, DESK, client=client)

    assert response.status_code == 403
    assert without_cost(response) == {
        "errors": [
            {"message": ANY, "extensions": {"code": "CSRF_FAILED", "reason": ANY}}
        ]
    }
    assert not Product.objects.exists()
    assert not HistoricalProduct.objects.exists()


def test_session_mutation_with_a_wrong_csrf_token_is_refused(editor: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    csrf_token_from_graphiql(client)

    response = post(CREATE, DESK, headers={"X-CSRFToken": "x" * 32}, client=client)

    assert response.status_code == 403
    assert not Product.objects.exists()


def test_session_mutation_with_csrf_token_succeeds(editor: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    token = csrf_token_from_graphiql(client)

    response = post(CREATE, DESK, headers={"X-CSRFToken": token}, client=client)

    assert response.status_code == 200
    assert without_cost(response) == DESK_CREATED
    assert HistoricalProduct.objects.get().history_user == editor


def test_login_without_csrf_token_is_refused(editor: Any) -> None:
    """Login CSRF: a cross-site page must not log a browser in as someone else."""
    client = Client(enforce_csrf_checks=True)
    csrf_token_from_graphiql(client)

    # Browsers send Origin with every POST.
    response = post(
        LOGIN,
        {"username": "editor", "password": PASSWORD},
        headers={"Origin": "http://testserver"},
        client=client,
    )

    assert response.status_code == 403, response.content
    assert settings.SESSION_COOKIE_NAME not in client.cookies


def test_cross_site_login_without_cookies_is_refused(editor: Any) -> None:
    """A forged login from another site carries an Origin header, if no cookie."""
    client = Client(enforce_csrf_checks=True)

    response = post(
        LOGIN,
        {"username": "editor", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
        client=client,
    )

    assert response.status_code == 403, response.content
    assert settings.SESSION_COOKIE_NAME not in client.cookies


def test_login_with_csrf_token_rotates_it(editor: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    before_login = csrf_token_from_graphiql(client)
    credentials = {"username": "editor", "password": PASSWORD}

    response = post(
        LOGIN, credentials, headers={"X-CSRFToken": before_login}, client=client
    )
    assert response.status_code == 200
    assert response.json()["data"]["login"]["username"] == "editor"
    after_login = response.cookies[settings.CSRF_COOKIE_NAME].value
    assert after_login != before_login

    # The token from before the login no longer passes; the new one does.
    stale = post(CREATE, DESK, headers={"X-CSRFToken": before_login}, client=client)
    assert stale.status_code == 403
    assert not Product.objects.exists()
    fresh = post(CREATE, DESK, headers={"X-CSRFToken": after_login}, client=client)
    assert fresh.status_code == 200
    assert without_cost(fresh) == DESK_CREATED


def test_session_mutation_over_get_is_refused(editor: Any) -> None:
    """GET skips the CSRF check, so it must not run mutations."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)

    response = client.get(
        "/graphql/",
        {
            "query": 'mutation { createProduct(input: {name: "Desk", price: "1.00"})'
            " { __typename } }"
        },
        headers={"Accept": "application/json"},
    )

    assert 400 <= response.status_code < 500, response.content
    assert not Product.objects.exists()


def test_bearer_token_needs_no_csrf_token(editor: Any) -> None:
    client = Client(enforce_csrf_checks=True)

    response = post(CREATE, DESK, headers=bearer(editor), client=client)

    assert response.status_code == 200
    assert without_cost(response) == DESK_CREATED
    assert HistoricalProduct.objects.get().history_user == editor


# Bearer tokens: bad, revoked and expired ones are refused


def unknown_token(user: Any) -> str:
    return "hist_" + "A" * 43


def malformed_token(user: Any) -> str:
    return "not a token"


def revoked_token(user: Any) -> str:
    raw, token = api_token_create(user=user)
    api_token_revoke(token=token)
    return raw


def expired_token(user: Any) -> str:
    past = timezone.now() - datetime.timedelta(seconds=1)
    raw, _ = api_token_create(user=user, expires_at=past)
    return raw


def inactive_user_token(user: Any) -> str:
    raw, _ = api_token_create(user=user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    return raw


BAD_TOKENS = [
    unknown_token,
    malformed_token,
    revoked_token,
    expired_token,
    inactive_user_token,
]


def assert_unauthenticated(response: Any) -> None:
    assert response.status_code == 401, response.content
    assert without_cost(response) == {
        "errors": [{"message": ANY, "extensions": {"code": "UNAUTHENTICATED"}}]
    }
    assert response.json()["errors"][0]["message"].strip()
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("make_token", BAD_TOKENS)
def test_bad_token_is_refused_even_for_a_public_query(
    editor: Any, make_token: Any
) -> None:
    headers = {"Authorization": f"Bearer {make_token(editor)}"}

    response = post("{ products { totalCount } }", headers=headers, client=Client())

    assert_unauthenticated(response)


@pytest.mark.parametrize("make_token", BAD_TOKENS)
def test_bad_token_writes_nothing(gql: Any, editor: Any, make_token: Any) -> None:
    headers = {"Authorization": f"Bearer {make_token(editor)}"}

    answer = gql(CREATE, DESK, headers=headers, status=401)

    assert answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert not Product.objects.exists()
    assert not HistoricalProduct.objects.exists()


def test_empty_bearer_token_is_refused(editor: Any) -> None:
    response = post(ME, headers={"Authorization": "Bearer "}, client=Client())

    assert_unauthenticated(response)


def test_token_stops_working_once_revoked(gql: Any, editor: Any) -> None:
    raw, token = api_token_create(user=editor)
    headers = {"Authorization": f"Bearer {raw}"}
    assert gql(ME, headers=headers) == {
        "data": {"me": {"__typename": "User", "username": "editor"}}
    }

    api_token_revoke(token=token)

    assert_unauthenticated(post(ME, headers=headers, client=Client()))


def test_token_expiring_later_works(gql: Any, editor: Any) -> None:
    future = timezone.now() + datetime.timedelta(hours=1)
    raw, _ = api_token_create(user=editor, expires_at=future)

    answer = gql(ME, headers={"Authorization": f"Bearer {raw}"})

    assert answer == {"data": {"me": {"__typename": "User", "username": "editor"}}}


# manage.py create_api_token


def test_create_api_token_prints_a_working_token_stored_hashed(
    gql: Any, editor: Any
) -> None:
    out = StringIO()

    call_command("create_api_token", "editor", stdout=out)

    raw = out.getvalue().strip()
    assert raw
    assert "\n" not in raw
    answer = gql(ME, headers={"Authorization": f"Bearer {raw}"})
    assert answer == {"data": {"me": {"__typename": "User", "username": "editor"}}}
    [row] = ApiToken.objects.filter(user=editor).values()
    assert all(raw not in str(value) for value in row.values()), row
    assert gql(CREATE, DESK, headers={"Authorization": f"Bearer {raw}"}) == (
        DESK_CREATED
    )


def test_create_api_token_for_an_unknown_user_fails(db: None) -> None:
    out = StringIO()

    with pytest.raises(CommandError, match="nobody"):
        call_command("create_api_token", "nobody", stdout=out)

    assert out.getvalue() == ""
    assert not ApiToken.objects.exists()


# Every version records the request's user


def test_versions_record_the_token_user_and_none_outside_a_request(
    gql: Any, editor: Any, staff: Any
) -> None:
    created = gql(CREATE, DESK, user=editor)
    assert created == DESK_CREATED
    product = Product.objects.get()
    updated = gql(
        """
        mutation($input: UpdateProductInput!) {
          updateProduct(input: $input) { __typename ... on Product { price } }
        }
        """,
        {"input": {"id": gid("Product", product.pk), "price": "99.00"}},
        user=staff,
    )
    assert updated == {
        "data": {"updateProduct": {"__typename": "Product", "price": "99.00"}}
    }
    services.product_update(
        pk=product.pk, data={"quantity": 4}, actor=None, reason="stock count"
    )

    answer = gql(
        """
        query($id: ID!) {
          product(id: $id) { history { edges { node {
            historyType historyChangeReason
            historyUser { __typename id username }
          } } } }
        }
        """,
        {"id": gid("Product", product.pk)},
        user=editor,
    )

    assert answer == {
        "data": {
            "product": {
                "history": {
                    "edges": [
                        {
                            "node": {
                                "historyType": "UPDATED",
                                "historyChangeReason": "stock count",
                                "historyUser": None,
                            }
                        },
                        {
                            "node": {
                                "historyType": "UPDATED",
                                "historyChangeReason": None,
                                "historyUser": {
                                    "__typename": "User",
                                    "id": user_id(staff),
                                    "username": "staff",
                                },
                            }
                        },
                        {
                            "node": {
                                "historyType": "CREATED",
                                "historyChangeReason": "new",
                                "historyUser": {
                                    "__typename": "User",
                                    "id": user_id(editor),
                                    "username": "editor",
                                },
                            }
                        },
                    ]
                }
            }
        }
    }
    assert Product.objects.get().price == Decimal("99.00")


def test_session_versions_record_the_session_user(gql: Any, editor: Any) -> None:
    client = Client()
    clerk = cast(User, UserFactory(username="clerk", permissions=["add_product"]))
    client.force_login(clerk)

    assert gql(CREATE, DESK, client=client) == DESK_CREATED

    assert HistoricalProduct.objects.get().history_user.username == "clerk"


def test_scripts_keeping_cookies_read_without_csrf_token(db: None) -> None:
    """A script that keeps the cookies it is given, but has no session, is not
    asked for a CSRF token: it is not a browser."""
    client = Client(enforce_csrf_checks=True)
    query = "{ products { totalCount } }"

    first = post(query, client=client)
    csrf_token_from_graphiql(client)
    second = post(query, client=client)

    assert (first.status_code, second.status_code) == (200, 200)
    assert without_cost(second) == {"data": {"products": {"totalCount": 0}}}


def test_post_answers_do_not_set_the_csrf_cookie(db: None) -> None:
    response = post("{ products { totalCount } }", client=Client())

    assert settings.CSRF_COOKIE_NAME not in response.cookies
