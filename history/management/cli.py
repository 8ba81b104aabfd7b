"""What the history commands share: naming a tracked model, reading a moment,
a progress bar, and refusing simple-history's destructive commands."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.core.management.base import CommandError, OutputWrapper
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from tqdm import tqdm

from history.selectors import tracked_models

T = TypeVar("T")

PRUNE_HINT = (
    "Use `manage.py prune_history --older-than-days N [--model NAME] [--dry-run]`: "
    "it keeps each live object's latest version and records what it pruned."
)


def tracked_model_named(name: str) -> type[models.Model]:
    """The tracked model named `app_label.model` (any case).

    Raises:
        CommandError: the name is malformed or names no tracked model; the
            message lists the tracked models.
    """
    by_label = {model._meta.label_lower: model for model in tracked_models()}
    model = by_label.get(name.strip().lower())
    if model is None:
        raise CommandError(
            f"No tracked model named {name!r}: give app_label.model, one of "
            f"{', '.join(sorted(by_label))}."
        )
    return model


def models_named(name: str | None) -> list[type[models.Model]]:
    """The tracked model `name` names, or every tracked model for None."""
    return tracked_models() if name is None else [tracked_model_named(name)]


def parse_moment(
    text: str, *, option: str, end_of_day: bool = False
) -> datetime.datetime:
    """An aware moment from an ISO date or date-time given on the command line.

    A date is midnight at its start in the current time zone, or (with
    `end_of_day`) midnight at the start of the next day, so that `--until
    2026-01-31` takes in the whole of that day. A date-time without an offset
    is in the current time zone.

    Raises:
        CommandError: the text is neither.
    """
    try:
        # The date first: `parse_datetime` takes a bare date as midnight.
        day = parse_date(text)
        moment = None if day is not None else parse_datetime(text)
    except ValueError:
        moment = day = None
    if moment is None and day is None:
        raise CommandError(
            f"{option}: {text!r} is not a date (YYYY-MM-DD) or an ISO date-time."
        )
    if moment is None:
        assert day is not None
        if end_of_day:
            day += datetime.timedelta(days=1)
        moment = datetime.datetime.combine(day, datetime.time())
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def progress(
    items: Iterable[T],
    *,
    total: Callable[[], int],
    stream: OutputWrapper,
    unit: str,
) -> Iterator[T]:
    """`items`, with a progress bar on `stream` (the command's stderr) when it
    is a terminal; nothing is drawn into a file or a pipe, and `total` (which
    may cost a query) is then not called."""
    with progress_bar(total=total, stream=stream, unit=unit) as advance:
        for item in items:
            yield item
            advance(1)


@contextmanager
def progress_bar(
    *,
    total: Callable[[], int],
    stream: OutputWrapper,
    unit: str,
    label: str | None = None,
) -> Iterator[Callable[[int], object]]:
    """A progress bar on `stream` when it is a terminal, advanced by the
    callable yielded; a no-op (and `total` uncalled) otherwise."""
    out: Any = stream._out
    if not out.isatty():
        yield lambda _done: None
        return
    with tqdm(
        total=total(), desc=label, unit=f" {unit}", file=out, dynamic_ncols=True
    ) as bar:
        yield bar.update


class RefuseOnTrackedModels:
    """Makes a simple-history cleaning command refuse, writing nothing, when it
    would delete versions of a tracked model; on other historical models it
    runs as simple-history wrote it.

    Mixed into a subclass of the simple-history command, which provides
    `_auto_models`, `_handle_model_list` and `handle`.
    """

    def handle(self, *args: Any, **options: Any) -> None:
        names = options.get("models") or args
        if names:
            pairs = list(self._handle_model_list(*names))  # type: ignore[attr-defined]
        elif options.get("auto"):
            pairs = list(self._auto_models())  # type: ignore[attr-defined]
        else:
            pairs = []
        tracked = {model._meta.label_lower for model in tracked_models()}
        refused = sorted(
            model._meta.label_lower
            for model, _history in pairs
            if model._meta.label_lower in tracked
        )
        if refused:
            raise CommandError(
                f"Refused: this would delete versions of {', '.join(refused)}, "
                "whose history is an audit trail; nothing was written. " + PRUNE_HINT
            )
        super().handle(*args, **options)  # type: ignore[misc]
