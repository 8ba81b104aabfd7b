"""`manage.py list_api_tokens`: prefix, owner, dates and status; never a secret."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from accounts.models import ApiToken
from accounts.tokens import api_token_create, api_token_revoke
from tests.factories import UserFactory
from tests.helpers import command_help

pytestmark = pytest.mark.django_db


def listing(**options: Any) -> list[list[str]]:
    out = io.StringIO()
    call_command("list_api_tokens", stdout=out, **options)
    return [line.split("  ") for line in out.getvalue().splitlines()]


def cells(**options: Any) -> list[list[str]]:
    """The listing's cells, blanks between columns dropped."""
    return [[c.strip() for c in row if c.strip()] for row in listing(**options)]


def tokens() -> dict[str, Any]:
    ann = UserFactory(username="ann")
    bob = UserFactory(username="bob")
    raw, active = api_token_create(user=ann, name="backup script")
    _, revoked = api_token_create(user=bob)
    api_token_revoke(token=revoked)
    _, expired = api_token_create(
        user=bob, expires_at=timezone.now() - datetime.timedelta(days=1)
    )
    return {"raw": raw, "active": active, "revoked": revoked, "expired": expired}


def when(moment: datetime.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "-"


def test_tokens_are_listed_newest_first_with_their_status() -> None:
    made = tokens()
    ApiToken.objects.filter(pk=made["active"].pk).update(
        created_at=timezone.now() - datetime.timedelta(days=2)
    )
    made["active"].refresh_from_db()

    rows = cells()

    assert rows[0] == [
        "prefix",
        "owner",
        "name",
        "created",
        "expires",
        "revoked",
        "last used",
        "status",
    ]
    assert rows[1:] == [
        [
            t.prefix,
            t.user.username,
            t.name or "-",
            when(t.created_at),
            when(t.expires_at),
            when(t.revoked_at),
            when(t.last_used_at),
            status,
        ]
        for t, status in (
            (made["expired"], "expired"),
            (made["revoked"], "revoked"),
            (made["active"], "active"),
        )
    ]
    assert made["raw"] not in str(rows)
    assert made["active"].digest not in str(rows)


def test_active_and_user_narrow_the_list() -> None:
    made = tokens()

    assert [row[0] for row in cells(active=True)[1:]] == [made["active"].prefix]
    assert [row[0] for row in cells(user="bob")[1:]] == [
        made["expired"].prefix,
        made["revoked"].prefix,
    ]
    assert cells(user="bob", active=True) == [["No tokens."]]


def test_an_unknown_user_is_refused() -> None:
    with pytest.raises(CommandError, match="No user named 'zed'"):
        listing(user="zed")


def test_no_tokens_says_so() -> None:
    assert cells() == [["No tokens."]]


def test_help_explains_the_command() -> None:
    text = command_help("list_api_tokens")

    assert "--user USERNAME" in text
    assert "--active" in text
    assert "stored hashed" in text
