"""`manage.py export_history`: every version of the tracked models as JSON lines
or CSV, streamed in constant memory."""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder

from history.export import (
    EXPORT_COLUMNS,
    JSON_COLUMNS,
    UnknownUser,
    history_export_count,
    history_export_querysets,
    history_export_rows,
)
from history.management.cli import models_named, parse_moment, progress


class Command(BaseCommand):
    help = (
        "Write every version of the tracked models, oldest first, one JSON "
        "object per line (jsonl, the default) or one CSV row per version, to "
        "standard output or --output FILE. Each carries the model "
        "(app_label.model), the object's id, the version's history id, type "
        "(CREATED, UPDATED, DELETED), date, user, reason, changeset, changes "
        "(the stored diff, {field: [old, new]}; a JSON text in CSV), and its "
        "hash chain: hash, prev_hash and content (exactly what the hash covers; "
        "a JSON text in CSV), so that `verify_history --export FILE "
        "--checkpoint FILE` can verify the export with no database. Verify an "
        "unfiltered export (--model is fine): one made with --since, --until "
        "or --user lacks versions of its chains and is reported as incomplete. "
        "Versions are read a page at a time, so memory stays flat however long "
        "the trail is."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--format",
            choices=("jsonl", "csv"),
            default="jsonl",
            help="jsonl (one JSON object per line, the default) or csv.",
        )
        parser.add_argument(
            "--model",
            metavar="NAME",
            help="Only this tracked model, as app_label.model (e.g. "
            "products.product), in any case. Default: every tracked model.",
        )
        parser.add_argument(
            "--since",
            metavar="DATE",
            help="Only versions written at or after this date (YYYY-MM-DD, "
            "midnight) or ISO date-time.",
        )
        parser.add_argument(
            "--until",
            metavar="DATE",
            help="Only versions written before this date-time, or up to the end "
            "of this date (YYYY-MM-DD).",
        )
        parser.add_argument(
            "--user",
            metavar="USERNAME",
            help="Only versions written by this user (as recorded at the time).",
        )
        parser.add_argument(
            "--output",
            metavar="FILE",
            help="Write to FILE (replaced if it exists) instead of standard output.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        models_ = models_named(options["model"])
        since = until = None
        if options["since"] is not None:
            since = parse_moment(options["since"], option="--since")
        if options["until"] is not None:
            until = parse_moment(options["until"], option="--until", end_of_day=True)
        if since is not None and until is not None and since >= until:
            raise CommandError("--since must be before --until.")
        try:
            querysets = history_export_querysets(
                models_=models_, since=since, until=until, username=options["user"]
            )
        except UnknownUser as error:
            raise CommandError(
                f"No user named {options['user']!r}, and no version records one."
            ) from error
        rows = progress(
            history_export_rows(querysets),
            total=lambda: history_export_count(querysets),
            stream=self.stderr,
            unit="versions",
        )
        with self._output(options["output"]) as out:
            if options["format"] == "csv":
                _write_csv(rows, out)
            else:
                _write_jsonl(rows, out)

    @contextmanager
    def _output(self, path: str | None) -> Iterator[TextIO]:
        if path is None:
            try:
                yield cast(TextIO, self.stdout._out)
            except BrokenPipeError:
                # The reader stopped (`| head`): stop quietly, and keep the
                # interpreter's final flush from failing on the closed pipe.
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            return
        try:
            file = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115
        except OSError as error:
            raise CommandError(f"Cannot write {path}: {error.strerror}.") from error
        with file:
            yield file


def _write_jsonl(rows: Iterator[dict[str, Any]], out: TextIO) -> None:
    for row in rows:
        out.write(json.dumps(row, cls=DjangoJSONEncoder, ensure_ascii=False))
        out.write("\n")


def _write_csv(rows: Iterator[dict[str, Any]], out: TextIO) -> None:
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    for row in rows:
        for column in JSON_COLUMNS:
            row[column] = json.dumps(
                row[column], cls=DjangoJSONEncoder, ensure_ascii=False
            )
        writer.writerow(row)
