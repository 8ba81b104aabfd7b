"""Checks of what clients give the services: texts, reasons and field names."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.db import models

from history.errors import HistoryErrorCode, operation_error
from history.tracking import canonical_text, tracked_field_names

# The longest change reason, in characters: a sentence or a paragraph, with a
# ticket reference; a document does not belong in the audit trail.
MAX_REASON_LENGTH = 1000


def text_problem(value: str) -> str | None:
    """Why a text cannot be stored (NUL characters, lone surrogates), or None."""
    if "\x00" in value:
        return "Null characters are not allowed."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "The text is not valid Unicode (it has a lone surrogate)."
    return None


def clean_reason(reason: str | None, *, required: bool) -> str | None:
    """Strip a change reason; refuse a missing or blank one when it is required,
    and one longer than `MAX_REASON_LENGTH` characters."""
    cleaned = reason.strip() if reason is not None else None
    problem = text_problem(cleaned) if cleaned else None
    if cleaned and len(cleaned) > MAX_REASON_LENGTH:
        problem = f"A reason is at most {MAX_REASON_LENGTH} characters."
    if problem:
        raise operation_error(HistoryErrorCode.INVALID, problem, field="reason")
    if required and not cleaned:
        raise operation_error(
            HistoryErrorCode.REASON_REQUIRED, "A reason is required.", field="reason"
        )
    return cleaned or None


def assign_fields(
    instance: models.Model, data: Mapping[str, Any], *, allowed: Iterable[str]
) -> bool:
    """Set fields of `instance` from `data`; whether any tracked value changed.

    Raises:
        ValidationError: UNKNOWN_FIELD for a name outside `allowed`, INVALID for
            a null given to a field that cannot be null or a text that cannot be
            stored.
    """
    allowed = set(allowed)
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise operation_error(
            HistoryErrorCode.UNKNOWN_FIELD, f"Unknown fields: {', '.join(unknown)}."
        )
    problems = {
        name: problem
        for name, value in data.items()
        if isinstance(value, str) and (problem := text_problem(value))
    }
    if problems:
        raise ValidationError(
            {
                name: ValidationError(problem, code=HistoryErrorCode.INVALID)
                for name, problem in problems.items()
            }
        )
    model = type(instance)
    nulls = [
        name
        for name, value in data.items()
        if value is None and not model._meta.get_field(name).null
    ]
    if nulls:
        raise ValidationError(
            {
                name: ValidationError(
                    "This field cannot be null.", code=HistoryErrorCode.INVALID
                )
                for name in nulls
            }
        )
    if instance.pk is None:
        for name, value in data.items():
            setattr(instance, name, value)
        return True
    fields = [
        cast("models.Field[Any, Any]", model._meta.get_field(name)) for name in data
    ]
    before = [canonical_text(f, getattr(instance, f.attname)) for f in fields]
    for name, value in data.items():
        setattr(instance, name, value)
    after = [canonical_text(f, getattr(instance, f.attname)) for f in fields]
    return before != after


def check_fields(model: type[models.Model], fields: Iterable[str] | None) -> list[str]:
    """The tracked fields named by `fields` (all of them for None), in order.

    Raises:
        ValidationError: UNKNOWN_FIELD on `fields` for an untracked name or an
            empty list.
    """
    names = tracked_field_names(model)
    if fields is None:
        return names
    wanted = list(dict.fromkeys(fields))
    unknown = [name for name in wanted if name not in names]
    if unknown or not wanted:
        raise operation_error(
            HistoryErrorCode.UNKNOWN_FIELD,
            f"Not tracked: {', '.join(unknown) or '(no fields given)'}. "
            f"Tracked fields: {', '.join(names)}.",
            field="fields",
        )
    return wanted
