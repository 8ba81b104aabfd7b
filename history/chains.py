"""Hash chains: every version seals its content and the version before it.

Each tracked object's versions form a chain in the order the API serves them
(oldest first by `history.tracking.KEYSET` order: date, then history id). A
version stores

- `history_prev_hash`: the hash of the object's version before it, or
  `GENESIS` for its first version;
- `history_hash`: SHA-256 over that previous hash and the version's canonical
  content (`canonical_content`).

The content is every stored column of the version but a few (`UNHASHED`): the
model, the object's id, the type, date, who (id and username as they were),
the reason, the changeset, the version a revert went back to, the request
context, the tracked values, the related objects as they were (the
snapshot) and the stored diff. Changing any of them, or deleting, inserting or
reordering versions, breaks the chain where it happened; `history.verification`
finds where and how, and signed checkpoints (`history.checkpoints`) catch a
chain rewritten from some version to its end.

Values are hashed in a canonical text form that does not depend on the
database or on whether the version was just built or read back: decimals at
their field's places, moments in UTC, JSON with sorted keys. A column that is
null is left out, so adding a nullable column to a tracked model keeps every
existing version's hash.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

from django.db import models

from history.tracking import canonical_text

# The previous hash of an object's first version.
GENESIS = "0" * 64
HASH_LENGTH = 64
# Columns that are not part of a version's content: its own row id (assigned
# by the database after the hash is computed), the chain columns themselves,
# the link to the user's account (cleared when the account is deleted; the
# user's id and username as they were are hashed instead), and the search
# text (derived from the reason and the diff, both hashed, and cut to fit).
UNHASHED = frozenset(
    {
        "history_id",
        "history_hash",
        "history_prev_hash",
        "history_user_id",
        "history_search",
    }
)


@functools.cache
def hashed_fields(history_model: Any) -> tuple[models.Field[Any, Any], ...]:
    """The columns of a historical model that a version's hash covers, by
    column name."""
    return tuple(
        sorted(
            (
                field
                for field in history_model._meta.concrete_fields
                if field.attname not in UNHASHED
            ),
            key=lambda field: field.attname,
        )
    )


def canonical_value(field: models.Field[Any, Any], value: Any) -> Any:
    """A column's value as hashed: JSON-ready, and the same whether it was just
    assigned or read back from either database."""
    if value is None:
        return None
    return canonicalizer(field)(value)


@functools.cache
def canonicalizer(field: models.Field[Any, Any]) -> Callable[[Any], Any]:
    """`canonical_value` of one field, for a value that is not None: the
    field's kind is looked at once, not for every value."""
    if isinstance(field, models.ForeignKey):
        return canonicalizer(field.target_field)
    if isinstance(field, models.JSONField):
        return _same
    if isinstance(field, models.BooleanField):
        return bool
    if isinstance(field, models.DecimalField):
        return functools.partial(canonical_text, field)
    if isinstance(field, models.FloatField):
        return float
    if isinstance(field, models.IntegerField | models.AutoField):
        return int
    if isinstance(field, models.DateTimeField):
        return _moment
    if isinstance(field, models.DateField | models.TimeField):
        return _iso
    if isinstance(field, models.UUIDField):
        return _uuid
    if isinstance(field, models.GenericIPAddressField):
        return lambda value: str(field.get_prep_value(value))
    return str


def _same(value: Any) -> Any:
    return value


def _moment(value: Any) -> str:
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC)
    return cast(str, value.isoformat(timespec="microseconds"))


def _iso(value: Any) -> str:
    return value if isinstance(value, str) else cast(str, value.isoformat())


def _uuid(value: Any) -> str:
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))


# The converters of each tuple of fields given, by the tuple's id; the tuple
# is kept with them, so its id is not reused while they are.
_CONVERTERS: dict[int, tuple[Any, list[tuple[str, Callable[[Any], Any]]]]] = {}


def _converters(
    fields: tuple[models.Field[Any, Any], ...],
) -> list[tuple[str, Callable[[Any], Any]]]:
    entry = _CONVERTERS.get(id(fields))
    if entry is None or entry[0] is not fields:
        if len(_CONVERTERS) >= 64:
            _CONVERTERS.clear()
        entry = (fields, [(field.attname, canonicalizer(field)) for field in fields])
        _CONVERTERS[id(fields)] = entry
    return entry[1]


def canonical_content(
    label: str, fields: Iterable[models.Field[Any, Any]], version: Any
) -> dict[str, Any]:
    """What a version's hash covers: the tracked model's label and every hashed
    column that is not null, by column name."""
    converters = (
        _converters(fields)
        if isinstance(fields, tuple)
        else [(field.attname, canonicalizer(field)) for field in fields]
    )
    content: dict[str, Any] = {"model": label}
    for attname, convert in converters:
        value = getattr(version, attname)
        if value is not None:
            value = convert(value)
            if value is not None:
                content[attname] = value
    return content


def content_hash(prev_hash: str, content: Mapping[str, Any]) -> str:
    """The hash of a version: SHA-256 over the previous version's hash, a new
    line and the content as compact JSON with sorted keys, in hex."""
    text = json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(f"{prev_hash}\n{text}".encode()).hexdigest()


def version_hash(
    label: str, fields: Iterable[models.Field[Any, Any]], version: Any, prev_hash: str
) -> str:
    """The hash `version` should carry after `prev_hash`."""
    return content_hash(prev_hash, canonical_content(label, fields, version))


def extend_chain(model: type[models.Model], version: Any, previous: Any | None) -> None:
    """Seal a new, unsaved version onto its object's chain, after `previous`
    (the object's newest version, read under the object's lock, or None).

    Call it last, once every other column of the version is set.
    """
    history_model: Any = type(version)
    version.history_prev_hash = (
        previous.history_hash if previous is not None else GENESIS
    )
    version.history_hash = version_hash(
        model._meta.label_lower,
        hashed_fields(history_model),
        version,
        version.history_prev_hash,
    )


def seal_existing(
    history_model: Any, label: str, *, object_pk: str = "id", batch_size: int = 1000
) -> int:
    """Seal the versions of one historical model that carry no hash yet into
    their chains, oldest first per object; returns how many were sealed.

    For data migrations that add chains to versions written before them:
    `history_model` may be a migration's historical model, `label` is the
    tracked model's (app_label.model) and `object_pk` the column holding the
    object's id. Versions already sealed are linked onto, never changed.
    """
    fields = hashed_fields(history_model)
    pk_name = object_pk
    heads: dict[Any, str] = {}
    pending: list[Any] = []
    sealed = 0
    versions = history_model._base_manager.order_by(
        pk_name, "history_date", "history_id"
    )
    for version in versions.iterator(chunk_size=batch_size):
        object_pk = getattr(version, pk_name)
        prev_hash = heads.get(object_pk, GENESIS)
        if not version.history_hash:
            version.history_prev_hash = prev_hash
            version.history_hash = version_hash(label, fields, version, prev_hash)
            pending.append(version)
        heads[object_pk] = version.history_hash
        if len(pending) >= batch_size:
            sealed += _save_seals(history_model, pending)
    return sealed + _save_seals(history_model, pending)


def _save_seals(history_model: Any, versions: list[Any]) -> int:
    count = len(versions)
    if versions:
        history_model._base_manager.bulk_update(
            versions, ["history_prev_hash", "history_hash"]
        )
        versions.clear()
    return count
