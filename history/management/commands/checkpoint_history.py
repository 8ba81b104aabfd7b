"""`manage.py checkpoint_history`: sign the head of every version chain and
print the statement, to be kept outside the database."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import router, transaction

from history.checkpoints import (
    SigningKeyMissing,
    TrailBroken,
    checkpoint_document,
    signing_key,
    write_checkpoint,
)
from history.models import Checkpoint


class Command(BaseCommand):
    help = (
        "Write a signed checkpoint of the history: a Merkle root over the head "
        "of every object's version chain, with the count of versions, signed "
        "with HISTORY_SIGNING_KEY. Prints one JSON line (statement_text, "
        "signature, public_key) to keep outside the database (a log, a ticket, "
        "write-once storage): a later rewrite of the chains no longer matches "
        "it. --output FILE also writes the whole checkpoint with its heads, "
        "which verify_history --checkpoint FILE reads. Quiet otherwise; meant "
        "to run from cron."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output",
            metavar="FILE",
            help="Also write the whole checkpoint, heads included, to FILE "
            "(JSON; replaced if it exists, only once the checkpoint is stored).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            signing_key()
        except SigningKeyMissing as error:
            raise CommandError(str(error)) from error
        path = options["output"]
        staging = None if path is None else _staging_file(Path(path))
        try:
            with transaction.atomic(using=router.db_for_write(Checkpoint)):
                try:
                    checkpoint = write_checkpoint()
                except TrailBroken as error:
                    raise CommandError(str(error)) from error
                document = checkpoint_document(checkpoint)
                if staging is not None:
                    with staging.open("w", encoding="utf-8") as file:
                        json.dump(document, file, ensure_ascii=False, sort_keys=True)
                        file.write("\n")
            if staging is not None:
                try:
                    os.replace(staging, path)
                except OSError as error:
                    raise CommandError(
                        f"Checkpoint {checkpoint.pk} is stored, but {path} could "
                        f"not be written: {error.strerror}."
                    ) from error
        finally:
            if staging is not None:
                staging.unlink(missing_ok=True)
        line = {
            "statement_text": document["statement_text"],
            "signature": document["signature"],
            "public_key": document["public_key"],
        }
        self.stdout.write(json.dumps(line, ensure_ascii=False, sort_keys=True))


def _staging_file(path: Path) -> Path:
    """An empty file beside `path`, moved over it once the checkpoint is
    stored: a path that cannot be written fails before anything is."""
    try:
        descriptor, name = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
    except OSError as error:
        raise CommandError(f"Cannot write {path}: {error.strerror}.") from error
    os.close(descriptor)
    return Path(name)
