"""`manage.py list_api_tokens`: the bearer tokens, never their secret."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.models import ApiToken


class Command(BaseCommand):
    help = (
        "List bearer tokens, newest first: prefix, owner, name, when created, "
        "when it expires, when it was revoked, when last used (to the minute), "
        "and whether it works now. Only the prefix is shown: tokens "
        "are stored hashed. Revoke one with revoke_api_token PREFIX."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--user", metavar="USERNAME", help="Only the tokens of this user."
        )
        parser.add_argument(
            "--active",
            action="store_true",
            help="Only tokens that work now (neither revoked nor expired).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tokens = ApiToken.objects.select_related("user").order_by("-created_at", "-pk")
        if options["user"] is not None:
            user_model = get_user_model()
            if not user_model._default_manager.filter(
                username=options["user"]
            ).exists():
                raise CommandError(f"No user named {options['user']!r}.")
            tokens = tokens.filter(user__username=options["user"])
        now = timezone.now()
        if options["active"]:
            tokens = tokens.filter(revoked_at__isnull=True).exclude(expires_at__lte=now)
        header = [
            "prefix",
            "owner",
            "name",
            "created",
            "expires",
            "revoked",
            "last used",
            "status",
        ]
        rows = [header]
        for token in tokens.iterator(chunk_size=500):
            row = [
                token.prefix,
                token.user.get_username(),
                token.name or "-",
                _when(token.created_at),
                _when(token.expires_at),
                _when(token.revoked_at),
                _when(token.last_used_at),
                _status(token, now),
            ]
            rows.append(row)
        if len(rows) == 1:
            self.stdout.write("No tokens.")
            return
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        for row in rows:
            self.stdout.write(
                "  ".join(
                    cell.ljust(width) for cell, width in zip(row, widths, strict=True)
                ).rstrip()
            )


def _when(moment: datetime.datetime | None) -> str:
    if moment is None:
        return "-"
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _status(token: ApiToken, now: datetime.datetime) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "active"
