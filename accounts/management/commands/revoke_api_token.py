"""`manage.py revoke_api_token TOKEN_OR_PREFIX`: revoke bearer tokens."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import ApiToken
from accounts.tokens import api_token_revoke, token_digest


class Command(BaseCommand):
    help = "Revoke a bearer token, given the token or the prefix shown in the admin."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "token", help="The token, or its prefix (e.g. hist_AbC123)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        given: str = options["token"]
        tokens = list(
            ApiToken.objects.filter(digest=token_digest(given))
            or ApiToken.objects.filter(prefix=given, revoked_at__isnull=True)
        )
        if not tokens:
            raise CommandError("No such token.")
        for token in tokens:
            api_token_revoke(token=token)
        self.stdout.write(f"Revoked {len(tokens)} token(s).")
