"""Bearer tokens for scripts: created once, stored as a SHA-256 digest, revocable."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import ApiToken

TOKEN_PREFIX = "hist_"
LAST_USE_PRECISION = datetime.timedelta(minutes=1)


class InvalidToken(Exception):
    """The bearer token is unknown, revoked or expired."""


def token_digest(raw: str) -> str:
    """The SHA-256 digest under which a token is stored."""
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


@transaction.atomic
def api_token_create(
    *, user: Any, name: str = "", expires_at: datetime.datetime | None = None
) -> tuple[str, ApiToken]:
    """Create a token for `user`; returns the raw token (shown once) and its row."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=raw[: len(TOKEN_PREFIX) + 6],
        digest=token_digest(raw),
        expires_at=expires_at,
    )
    return raw, token


def api_token_revoke(*, token: ApiToken) -> None:
    """Revoke a token: it stops working at once."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])


def api_token_authenticate(raw: str) -> Any:
    """The active user a raw token belongs to.

    Raises:
        InvalidToken: the token is unknown, revoked, expired, or its user inactive.
    """
    digest = token_digest(raw)
    token = ApiToken.objects.select_related("user").filter(digest=digest).first()
    # The lookup is by digest, so timing reveals nothing of the token; compare
    # anyway in constant time so that the check never depends on the index alone.
    if token is None or not hmac.compare_digest(token.digest, digest):
        raise InvalidToken("Invalid bearer token.")
    if token.revoked_at is not None:
        raise InvalidToken("This bearer token has been revoked.")
    if token.expires_at is not None and token.expires_at <= timezone.now():
        raise InvalidToken("This bearer token has expired.")
    if not token.user.is_active:
        raise InvalidToken("The user of this bearer token is inactive.")
    api_token_mark_used(token=token)
    return token.user


def api_token_mark_used(*, token: ApiToken) -> None:
    """Record that `token` authenticated a request, at most once a minute: one
    UPDATE when the recorded use is older than `LAST_USE_PRECISION`, none
    otherwise. Concurrent requests race for that UPDATE; its condition lets
    one of them write."""
    now = timezone.now()
    stale = now - LAST_USE_PRECISION
    if token.last_used_at is not None and token.last_used_at > stale:
        return
    ApiToken.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=stale), pk=token.pk
    ).update(last_used_at=now)
    token.last_used_at = now
