"""`manage.py generate_signing_key`: a new Ed25519 key pair for checkpoints."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from history.signing import new_private_key, private_key_text, public_key_text


class Command(BaseCommand):
    help = (
        "Print a new Ed25519 private key for signing history checkpoints and "
        "its public key, as two lines for .env or the environment: "
        "HISTORY_SIGNING_KEY=... (secret: keep it apart from the database, "
        "e.g. in the scheduler's secret store) and HISTORY_VERIFY_KEY=... (give "
        "it to whoever verifies checkpoints). Nothing is stored."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        key = new_private_key()
        self.stdout.write(f"HISTORY_SIGNING_KEY={private_key_text(key)}")
        self.stdout.write(f"HISTORY_VERIFY_KEY={public_key_text(key)}")
