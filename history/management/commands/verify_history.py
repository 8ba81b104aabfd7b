"""`manage.py verify_history`: are the versions the ones that were written?

In the database, every chain of the tracked models (or of one model, or one
object) is verified against the latest signed checkpoint. With `--export FILE
--checkpoint FILE`, an export of `export_history` is verified against a
checkpoint document with no database at all, so an auditor can check the trail
on a machine of their own.
"""

from __future__ import annotations

import datetime
import itertools
import json
import sys
from collections.abc import Iterable, Iterator
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models

from history.checkpoints import CheckpointInvalid, verify_document
from history.export import ExportInvalid, read_export
from history.management.cli import models_named, progress, progress_bar
from history.selectors import tracked_models
from history.tracking import history_model_for
from history.verification import (
    BreakKind,
    ChainBreak,
    ChainResult,
    Tally,
    UnknownObject,
    expectations,
    latest_reference,
    object_chain,
    stored_chains,
    verify_export,
)

# Breaks that say versions are absent, as they are from a filtered export.
ABSENT = (BreakKind.MISSING, BreakKind.TRUNCATED)


class Command(BaseCommand):
    help = (
        "Verify the hash chains of the history: every tracked model's, one "
        "model's (--model) or one object's (--model and --object), against the "
        "latest signed checkpoint (its signature checked with HISTORY_VERIFY_KEY; "
        "a checkpoint that does not verify is a failure). Prints each broken "
        "chain on one line (model, object id, the first broken version's "
        "history id, how it broke: CHANGED, MISSING, INSERTED, REORDERED or "
        "TRUNCATED, and what was found), then a summary; exits with status 1 "
        "if anything is broken, 0 if everything verifies. With --export FILE "
        "--checkpoint FILE it verifies an export of export_history (jsonl or "
        "CSV) against a checkpoint document (checkpoint_history --output FILE) "
        "with no database at all: every hash is recomputed from the exported "
        "content. Give it an unfiltered export: one made with --since, --until "
        "or --user lacks versions of its chains and is reported as incomplete "
        "(exit status 1); with --model, only that model's chains are checked "
        "against its heads."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--model",
            metavar="NAME",
            help="Only this tracked model, as app_label.model (e.g. "
            "products.product), in any case. Default: every tracked model.",
        )
        parser.add_argument(
            "--object",
            metavar="ID",
            help="Only this object's chain, by its id (needs --model).",
        )
        parser.add_argument(
            "--quiet",
            action="store_true",
            help="No progress bar and no summary: only the broken chains and a "
            "failing checkpoint are printed (the exit status says the rest).",
        )
        parser.add_argument(
            "--export",
            metavar="FILE",
            help="Verify this export of export_history (jsonl or CSV) instead of "
            "the database; needs --checkpoint. No database is used.",
        )
        parser.add_argument(
            "--checkpoint",
            metavar="FILE",
            help="The checkpoint document to verify the export against (from "
            "checkpoint_history --output FILE).",
        )
        parser.add_argument(
            "--public-key",
            metavar="KEY",
            help="The public key (base64) the checkpoint's signature must verify "
            "with. Default: HISTORY_VERIFY_KEY; the document's own key is never "
            "trusted alone.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["object"] is not None and options["model"] is None:
            raise CommandError("--object needs --model: ids are per model.")
        offline = options["export"] is not None or options["checkpoint"] is not None
        if offline and (options["export"] is None or options["checkpoint"] is None):
            raise CommandError("--export and --checkpoint go together.")
        if options["public_key"] is not None and not offline:
            raise CommandError(
                "--public-key is for --export: the database's checkpoint is "
                "verified with HISTORY_VERIFY_KEY."
            )
        self.quiet = options["quiet"]
        models_ = models_named(options["model"])
        if offline:
            intact = self._verify_export(models_, options)
        else:
            intact = self._verify_database(models_, options["object"])
        if not intact:
            sys.exit(1)

    # -- the database --

    def _verify_database(
        self, models_: list[type[models.Model]], object_id: str | None
    ) -> bool:
        reference = latest_reference()
        if object_id is not None:
            try:
                results: Iterable[ChainResult] = [
                    object_chain(models_[0], object_id, expected=reference.expected)
                ]
            except UnknownObject as error:
                raise CommandError(str(error)) from error
        else:
            results = itertools.chain.from_iterable(
                stored_chains(model, expected=reference.expected) for model in models_
            )
        tally = self._tally(results, total=lambda: _stored_versions(models_))
        checkpoint = reference.checkpoint
        if checkpoint is None:
            against = "with no checkpoint"
        else:
            made = _moment(checkpoint.created_at)
            against = f"against checkpoint {checkpoint.pk} of {made}"
        failure = None
        if checkpoint is not None and reference.failure is not None:
            failure = f"Checkpoint {checkpoint.pk} does not verify: {reference.failure}"
        self._report(
            tally,
            scope=", ".join(model._meta.label_lower for model in models_),
            against=against,
            failure=failure,
        )
        return tally.intact and reference.failure is None

    # -- an export --

    def _verify_export(
        self, models_: list[type[models.Model]], options: dict[str, Any]
    ) -> bool:
        path, checkpoint_path = options["export"], options["checkpoint"]
        document = _read_json(checkpoint_path)
        try:
            heads = verify_document(document, public_key=options["public_key"])
        except CheckpointInvalid as error:
            self.stdout.write(
                f"The checkpoint {checkpoint_path} does not verify: {error}"
            )
            return False
        created_at = datetime.datetime.fromisoformat(
            document["statement"]["created_at"]
        )
        only = models_[0]._meta.label_lower if options["model"] is not None else None
        try:
            file = open(path, encoding="utf-8", newline="")  # noqa: SIM115
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}.") from error
        with file:
            rows: Iterator[dict[str, Any]] = read_export(file)
            if not self.quiet:
                rows = progress(
                    rows, total=lambda: _lines(path), stream=self.stderr, unit="rows"
                )
            try:
                tally = self._tally(
                    verify_export(
                        rows,
                        expected=expectations(heads, at=created_at),
                        models_=tracked_models(),
                        only=only,
                        object_id=options["object"],
                    ),
                    total=None,
                )
            except (ExportInvalid, UnicodeDecodeError) as error:
                raise CommandError(f"{path}: {error}") from error
        self._report(
            tally,
            scope=f"the export {path}",
            against=f"against the checkpoint {checkpoint_path} of "
            f"{_moment(created_at)}",
            failure=None,
        )
        if tally.breaks and any(found.kind in ABSENT for found in tally.breaks):
            self._say(
                "The export lacks versions the checkpoint signed: an export made "
                "with --since, --until or --user is incomplete and cannot verify; "
                "export without them (--model is fine)."
            )
        return tally.intact

    # -- output --

    def _tally(self, results: Iterable[ChainResult], *, total: Any) -> Tally:
        tally = Tally()
        if total is None or self.quiet:
            for result in results:
                tally.add(result)
        else:
            with progress_bar(
                total=total, stream=self.stderr, unit="versions"
            ) as advance:
                for result in results:
                    tally.add(result)
                    advance(result.versions)
        return tally

    def _report(
        self, tally: Tally, *, scope: str, against: str, failure: str | None
    ) -> None:
        if failure is not None:
            self.stdout.write(failure)
        for found in tally.breaks:
            self.stdout.write(break_line(found))
        chains = _count(tally.chains, "chain")
        self._say(
            f"Checked {chains}, {_count(tally.versions, 'version')} of {scope} "
            f"{against}."
        )
        if tally.breaks:
            self._say(f"{len(tally.breaks)} of {tally.chains} chains are broken.")
        elif failure is None:
            self._say("Every chain verifies.")

    def _say(self, line: str) -> None:
        if not self.quiet:
            self.stdout.write(line)


def break_line(found: ChainBreak) -> str:
    """One broken chain as a line: model, object id, the first broken
    version's history id ("-" when no version is left), kind and detail."""
    version = "-" if found.history_id is None else str(found.history_id)
    return (
        f"{found.model} {found.object_id} version={version} "
        f"{found.kind.value}: {found.detail}"
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _stored_versions(models_: list[type[models.Model]]) -> int:
    return sum(history_model_for(model)._base_manager.count() for model in models_)


def _moment(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).isoformat(timespec="seconds")


def _read_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except OSError as error:
        raise CommandError(f"Cannot read {path}: {error.strerror}.") from error
    except ValueError as error:
        raise CommandError(f"{path} is not a JSON checkpoint document.") from error


def _lines(path: str) -> int:
    with open(path, "rb") as file:
        return sum(1 for _line in file)
