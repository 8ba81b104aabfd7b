"""`manage.py create_api_token USERNAME`: print a new bearer token for a user."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.tokens import api_token_create


class Command(BaseCommand):
    help = "Create a bearer token for USERNAME and print it (it is shown only once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="What the token is for.")
        parser.add_argument(
            "--expires-in-days",
            type=int,
            default=None,
            help="Make the token expire after this many days (default: never).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        try:
            user = user_model._default_manager.get_by_natural_key(options["username"])
        except user_model.DoesNotExist as error:
            raise CommandError(f"No user named {options['username']!r}.") from error
        days = options["expires_in_days"]
        expires_at = None
        if days is not None:
            if days <= 0:
                raise CommandError("--expires-in-days must be positive.")
            expires_at = timezone.now() + datetime.timedelta(days=days)
        raw, _token = api_token_create(
            user=user, name=options["name"], expires_at=expires_at
        )
        self.stdout.write(raw)
