"""What every version records besides its field values, filled in one place.

Single saves (simple-history's signal, `history.signals.fill_version`) and bulk
writes (`history.bulk.record_bulk_versions`) both complete their versions with
`complete_version` before inserting them, so the two paths record the same
facts and no version is changed once written.
"""

from __future__ import annotations

import datetime
import functools
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast

from django.conf import settings
from django.db import models
from django.utils import timezone

from history.chains import extend_chain
from history.changesets import changeset_for_version
from history.context import RequestContext
from history.diff import fill_version_diff
from history.models import VersionExtras

USERNAME_LENGTH = cast(
    int, VersionExtras._meta.get_field("history_username").max_length
)
# The most characters of a version's search text. PostgreSQL refuses a tsvector
# over 1 MB ("string is too long for tsvector"), and the GIN index computes one
# on every insert: 64 Ki characters are at most 256 KB of UTF-8, far inside
# the limit whatever the words, and far more than anyone searches by.
MAX_SEARCH_TEXT = 65_536


def user_snapshot(user: Any | None) -> dict[str, Any]:
    """The columns that record who made a version and outlive the user.

    simple-history's `history_user` foreign key is set to null when the user is
    deleted; `history_user_pk` and `history_username` (the username as it was
    then) keep the fact. No user, or an anonymous one, leaves them empty.
    """
    if user is None or not user.is_authenticated or user.pk is None:
        return {"history_user_pk": None, "history_username": ""}
    return {
        "history_user_pk": user.pk,
        "history_username": user.get_username()[:USERNAME_LENGTH],
    }


def fair_shares(lengths: list[int], budget: int) -> list[int]:
    """How many characters each of some texts keeps so that together they fit
    in `budget`: every text keeps an equal share, and what short texts leave
    of theirs goes to the longer ones."""
    shares = [0] * len(lengths)
    pending = sorted(range(len(lengths)), key=lambda index: lengths[index])
    while pending:
        share = budget // len(pending)
        index = pending.pop(0)
        shares[index] = min(lengths[index], share)
        budget -= shares[index]
    return shares


def search_text(version: Any) -> str:
    """What full-text search looks at: the reason, then the changed values.

    At most `MAX_SEARCH_TEXT` characters: when they do not fit, each part is
    cut to a fair share, so a huge value cannot push out the reason or the
    other values.
    """
    words = [version.history_change_reason or ""]
    for old, new in (version.history_changes or {}).values():
        for value in (old, new):
            if isinstance(value, list):
                words.extend(str(item) for item in value)
            elif value is not None:
                words.append(str(value))
    words = [word for word in words if word]
    separators = max(len(words) - 1, 0)
    if sum(map(len, words)) + separators > MAX_SEARCH_TEXT:
        shares = fair_shares([len(w) for w in words], MAX_SEARCH_TEXT - separators)
        words = [
            word[:share] for word, share in zip(words, shares, strict=True) if share
        ]
    return " ".join(words)


def as_stored(version: Any) -> None:
    """Give a new version's values the form the database will store them in,
    so that its hash, computed before the INSERT, is the hash of the row read
    back.

    A plain `save()` may hold values the database converts: a decimal with
    more places than its field's (`Decimal("10.5000")`, or `"10.555"`) is
    rounded to them, half away from zero as PostgreSQL rounds (SQLite keeps
    decimals as floating point, so its row may round a tie the other way; the
    version keeps this rounding on either database); a naive moment (or its
    text) is taken in the default time zone, as Django saves it. Validated
    values (the services') are unchanged.
    """
    for field in _converted_fields(cast(Any, type(version))):
        value = getattr(version, field.attname)
        if value is None:
            continue
        if isinstance(field, models.DecimalField):
            number = field.to_python(value)
            if isinstance(number, Decimal) and number.is_finite():
                places = Decimal(1).scaleb(-field.decimal_places)
                setattr(
                    version,
                    field.attname,
                    number.quantize(places, rounding=ROUND_HALF_UP),
                )
        elif type(value) is datetime.datetime and value.tzinfo is not None:
            continue  # stored as it is
        else:
            moment = field.to_python(value)
            if (
                isinstance(moment, datetime.datetime)
                and settings.USE_TZ
                and timezone.is_naive(moment)
            ):
                moment = timezone.make_aware(moment, timezone.get_default_timezone())
            setattr(version, field.attname, moment)


@functools.cache
def _converted_fields(
    model: type[models.Model],
) -> tuple[models.Field[Any, Any], ...]:
    """The columns of `model` whose values `as_stored` converts."""
    return tuple(
        field
        for field in model._meta.concrete_fields
        if isinstance(field, models.DecimalField | models.DateTimeField)
    )


def complete_version(
    *,
    model: type[models.Model],
    version: Any,
    previous: Any | None,
    snapshot: dict[str, Any],
    context: RequestContext | None,
    reverted_from: Any | None = None,
) -> None:
    """Fill the extra columns of a new, unsaved version, give it its changeset
    (see `history.changesets`) and seal it onto its object's hash chain (see
    `history.chains`).

    Args:
        model: The tracked model the version records.
        version: The historical instance; its `history_user` must be loaded.
        previous: The object's newest version before this one, or None.
        snapshot: The related objects as they are in this version.
        context: The request being served, or None outside a request.
        reverted_from: The version a revert went back to, when a revert
            writes this one.
    """
    as_stored(version)
    version.history_snapshot = snapshot
    fill_version_diff(model=model, version=version, previous=previous)
    version.history_search = search_text(version)
    for name, value in user_snapshot(version.history_user).items():
        setattr(version, name, value)
    if context is not None:
        version.history_ip_address = context.ip_address
        version.history_user_agent = context.user_agent
        version.history_request_id = context.request_id
    version.history_changeset_id = changeset_for_version(
        version=version, context=context
    )
    version.history_reverted_from = reverted_from
    extend_chain(model, version, previous)
