"""The tests' own check of hash chains, independent of any verifier the code
may have: walk each object's versions in chain order, (history_date,
history_id) ascending; each previous hash must be the hash of the version
before (`GENESIS` for the first) and each hash must be `version_hash`
recomputed from the row as read back from the database."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models

from history.chains import GENESIS, hashed_fields, version_hash
from history.selectors import tracked_models
from history.tracking import history_model_for

ChainKey = tuple[str, str]


def chain_order(versions: Iterable[Any]) -> list[Any]:
    """Versions in chain order: by date, then history id."""
    return sorted(versions, key=lambda v: (v.history_date, v.history_id))


def walk(model: type[models.Model], versions: Iterable[Any]) -> list[str]:
    """What is wrong with the chain of the versions of one object of `model`,
    given in chain order; empty when it holds."""
    history_model = history_model_for(model)
    label = model._meta.label_lower
    fields = hashed_fields(history_model)
    problems = []
    expected_prev = GENESIS
    for version in versions:
        where = f"{label} version {version.history_id}"
        if version.history_prev_hash != expected_prev:
            problems.append(
                f"{where}: prev hash {version.history_prev_hash!r}, "
                f"expected {expected_prev!r}"
            )
        recomputed = version_hash(label, fields, version, version.history_prev_hash)
        if version.history_hash != recomputed:
            problems.append(
                f"{where}: hash {version.history_hash!r}, recomputed {recomputed!r}"
            )
        expected_prev = version.history_hash
    return problems


def chains(
    models_: Iterable[type[models.Model]] | None = None,
) -> dict[ChainKey, list[Any]]:
    """Every object's versions as read back now, in chain order, by (model
    label, object id)."""
    found: dict[ChainKey, list[Any]] = {}
    for model in tracked_models() if models_ is None else models_:
        pk_name = model._meta.pk.attname
        label = model._meta.label_lower
        versions = history_model_for(model).objects.order_by(
            pk_name, "history_date", "history_id"
        )
        for version in versions:
            found.setdefault((label, str(getattr(version, pk_name))), []).append(
                version
            )
    return found


def chain_problems(models_: Iterable[type[models.Model]] | None = None) -> list[str]:
    """What is wrong with any chain in the database; empty when all hold."""
    by_label = {m._meta.label_lower: m for m in tracked_models()}
    problems = []
    for (label, _), versions in sorted(chains(models_).items()):
        problems.extend(walk(by_label[label], versions))
    return problems


def chain_types(
    models_: Iterable[type[models.Model]] | None = None,
) -> dict[ChainKey, str]:
    """Each object's version types in chain order ("+~~-+"), once every chain
    is checked to hold."""
    problems = chain_problems(models_)
    assert not problems, "\n".join(problems)
    return {
        key: "".join(v.history_type for v in versions)
        for key, versions in chains(models_).items()
    }
