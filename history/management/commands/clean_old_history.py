"""simple-history's `clean_old_history`, refusing on tracked models."""

from __future__ import annotations

from simple_history.management.commands import clean_old_history

from history.management.cli import PRUNE_HINT, RefuseOnTrackedModels


class Command(RefuseOnTrackedModels, clean_old_history.Command):
    help = (
        "Refuses on tracked models (it would delete every old version, the "
        "CREATED ones of live objects included) and writes nothing; on other "
        "historical models, simple-history's: delete versions older than "
        "--days. " + PRUNE_HINT
    )
