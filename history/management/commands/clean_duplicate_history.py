"""simple-history's `clean_duplicate_history`, refusing on tracked models."""

from __future__ import annotations

from simple_history.management.commands import clean_duplicate_history

from history.management.cli import PRUNE_HINT, RefuseOnTrackedModels


class Command(RefuseOnTrackedModels, clean_duplicate_history.Command):
    help = (
        "Refuses on tracked models (their versions are an audit trail: a "
        "version equal to the one before it is still a fact, e.g. a DELETED "
        "one) and writes nothing; on other historical models, "
        "simple-history's: delete consecutive identical versions. " + PRUNE_HINT
    )
