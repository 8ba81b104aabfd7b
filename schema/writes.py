"""What the generated resolvers of every tracked model share: reading one
object, time travel, unpacking inputs and reverting."""

from __future__ import annotations

import dataclasses
import datetime
from typing import TYPE_CHECKING, Any

import strawberry
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from strawberry.types import Info
from strawberry.utils.str_converters import to_camel_case

from history import selectors
from history.diff import FieldChange
from history.errors import HistoryErrorCode, operation_error
from history.tracking import object_pk_of, tracked_field_names
from schema.context import viewer_of
from schema.ids import pk_of
from schema.permissions import can_view_history

if TYPE_CHECKING:
    from schema.registry import Tracked

NOT_DATA = frozenset({"id", "reason"})


def live(model: type[models.Model], pk: int | None) -> Any:
    """The live object of `model` with primary key `pk`, or None."""
    if pk is None:
        return None
    return selectors.objects_by_pk(model=model, pks=[pk]).get(pk)


def as_of(
    model: type[models.Model], pk: int, at: datetime.datetime, *, staff: bool
) -> Any:
    """The version of an object in force at `at` (naive: UTC), as a viewer who
    is `staff` or not sees the history."""
    if timezone.is_naive(at):
        at = at.replace(tzinfo=datetime.UTC)
    try:
        at = at.astimezone(datetime.UTC)
    except OverflowError:
        # Beyond the calendar in UTC: before anything existed, or after now.
        at = datetime.datetime.min if at.year == 1 else datetime.datetime.max
        at = at.replace(tzinfo=datetime.UTC)
    return selectors.history_as_of(model=model, pk=pk, at=at, staff=staff)


def reference(value: Any, type_name: str) -> int | None:
    """The pk a given id names; -1 (names nothing) for a malformed one."""
    if value is None:
        return None
    pk = pk_of(value, type_name)
    return -1 if pk is None else pk


def object_data(model: type[models.Model], input: Any) -> dict[str, Any]:
    """The model fields an input sets: every given field but `id` and `reason`,
    with the global ids of foreign keys turned into primary keys."""
    data: dict[str, Any] = {}
    for item in dataclasses.fields(input):
        value = getattr(input, item.name)
        if item.name in NOT_DATA or value is strawberry.UNSET:
            continue
        try:
            field = model._meta.get_field(item.name)
        except Exception:
            field = None
        if isinstance(field, models.ForeignKey):
            value = reference(value, field.related_model.__name__)
        elif isinstance(field, models.ManyToManyField) and value is None:
            value = []
        data[item.name] = value
    return data


def model_field_names(
    model: type[models.Model], api_names: list[str] | None
) -> list[str] | None:
    """Map API field names ("supplierCost") to model field names; unknown ones
    pass through as given, for the service to refuse."""
    if api_names is None:
        return None
    names = {to_camel_case(name): name for name in tracked_field_names(model)}
    return [names.get(api_name, api_name) for api_name in api_names]


def api_field_names(error: ValidationError) -> ValidationError:
    """The same error with the services' field names ("expected_latest") as
    the input names clients sent ("expectedLatest")."""
    if not hasattr(error, "error_dict"):
        return error
    return ValidationError(
        {to_camel_case(name): errors for name, errors in error.error_dict.items()}
    )


@dataclasses.dataclass(frozen=True)
class RevertOutcome:
    """What a revert did, as the viewer may see it."""

    instance: Any
    record: Any | None
    changes: list[FieldChange]


def revert(
    info: Info[Any, Any],
    entry: Tracked,
    *,
    record: strawberry.ID,
    object_id: strawberry.ID | None,
    reason: str | None,
    fields: list[str] | None,
    expected_latest: strawberry.ID | None,
    dry_run: bool,
) -> RevertOutcome:
    """Revert an object of `entry`'s model to the version `record` names.

    `object_id` is the object the client named (`revertProduct`'s `id`); the
    generic `revert` names only the version, and the object is the one it
    records.
    """
    model = entry.model
    version_type = f"Historical{entry.name}"
    record_id = pk_of(record, version_type)
    if object_id is not None:
        pk = pk_of(object_id, entry.name)
    else:
        version = selectors.history_version(model=model, history_id=record_id)
        pk = None if version is None else object_pk_of(version)
    try:
        result = entry.services.revert(
            pk=pk,
            record_id=record_id,
            actor=viewer_of(info).user,
            reason=reason,
            fields=model_field_names(model, fields),
            # A malformed id can never be the newest version: it is STALE.
            expected_latest_id=(
                None
                if expected_latest is None
                else pk_of(expected_latest, version_type) or -1
            ),
            dry_run=dry_run,
        )
    except ValidationError as error:
        raise api_field_names(error) from error
    if not can_view_history(info, model):
        # The diff shows the version's values: none of it for such viewers.
        return RevertOutcome(instance=result.instance, record=None, changes=[])
    return RevertOutcome(
        instance=result.instance, record=result.record, changes=result.changes
    )


def no_such_version() -> ValidationError:
    """The refusal of a revert whose `record` names no version of any model."""
    return operation_error(
        HistoryErrorCode.NOT_FOUND, "No such version.", field="record"
    )
