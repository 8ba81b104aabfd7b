"""`manage.py prune_history`: delete old versions, keeping each live object's
latest one, and record the prune in the audit trail."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from history.checkpoints import SigningKeyMissing, TrailBroken, signing_key
from history.management.cli import models_named, progress_bar
from history.retention import history_prunable, history_prune


class Command(BaseCommand):
    help = (
        "Delete the versions of tracked models written more than N days ago, "
        "except each live object's latest version, so every live object keeps "
        "its current values on record; the versions kept stay exactly as "
        "stored. A real run records what it deleted in the audit trail (a "
        "changeset with the reason 'pruned N versions of MODEL older than "
        "DATE', a history.Pruning row and a signed checkpoint of kind prune, "
        "so what remains still verifies; it needs HISTORY_SIGNING_KEY); "
        "--dry-run only reports the counts per model. This is the only command "
        "that deletes versions: "
        "simple-history's clean_old_history and clean_duplicate_history refuse."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than-days",
            type=int,
            required=True,
            metavar="N",
            help="Prune versions written more than N days ago (N >= 1).",
        )
        parser.add_argument(
            "--model",
            metavar="NAME",
            help="Only this tracked model, as app_label.model (e.g. "
            "products.product), in any case. Default: every tracked model.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Report how many versions of each model would go; write nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["older_than_days"]
        if days < 1:
            raise CommandError("--older-than-days must be at least 1.")
        models_ = models_named(options["model"])
        cutoff = timezone.now() - datetime.timedelta(days=days)
        dry_run = options["dry_run"]
        if not dry_run:
            try:
                signing_key()
            except SigningKeyMissing as error:
                raise CommandError(f"Refused, nothing was pruned: {error}") from error
        verb = "would prune" if dry_run else "pruned"
        total = 0
        for model in models_:
            label = model._meta.label_lower
            if dry_run:
                result = history_prune(model=model, cutoff=cutoff, dry_run=True)
            else:
                with progress_bar(
                    total=history_prunable(model=model, cutoff=cutoff).count,
                    stream=self.stderr,
                    unit="versions",
                    label=label,
                ) as advance:
                    try:
                        result = history_prune(
                            model=model, cutoff=cutoff, on_chunk=advance
                        )
                    except TrailBroken as error:
                        raise CommandError(
                            f"Refused, nothing was pruned: {error}"
                        ) from error
            total += result.count
            signed = (
                ""
                if result.checkpoint is None
                else f" Signed checkpoint {result.checkpoint.pk} records it."
            )
            self.stdout.write(
                f"{label}: {verb} {result.count} versions older than "
                f"{cutoff:%Y-%m-%d %H:%M:%S %Z}.{signed}"
            )
        if dry_run:
            self.stdout.write(
                f"Dry run: {total} versions would go; nothing was written."
            )
        else:
            self.stdout.write(f"Pruned {total} versions in all.")
