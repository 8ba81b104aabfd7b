"""GraphQL for versions of any tracked model: diffs, and the fields every
historical type shares (`VersionFields`)."""

from __future__ import annotations

import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
import strawberry_django
from asgiref.sync import sync_to_async
from django.core.exceptions import ValidationError
from graphql import GraphQLError
from strawberry import relay
from strawberry.types import Info
from strawberry.utils.str_converters import to_camel_case, to_snake_case

from history import diff, selectors
from history.errors import HistoryErrorCode
from history.tracking import object_pk_of, tracked_model_for
from schema.context import viewer_of
from schema.ids import pk_of
from schema.permissions import can_view_history


@strawberry.enum(name="HistoryType", description="What kind of change made a version.")
class HistoryTypeEnum(Enum):
    CREATED = "+"
    UPDATED = "~"
    DELETED = "-"


@strawberry.enum(name="DiffOp", description="What a text segment does in a diff.")
class DiffOpEnum(Enum):
    EQUAL = "equal"
    INSERT = "insert"
    DELETE = "delete"


@strawberry.type(
    name="TextSegment", description="A run of text kept, inserted or deleted."
)
class TextSegmentType:
    op: DiffOpEnum = strawberry.field(description="Kept, inserted or deleted.")
    text: str = strawberry.field(description="The text of the run.")


@strawberry.type(
    name="FieldChange", description="One field's change between two versions."
)
class FieldChangeType:
    field: str = strawberry.field(description='API field name, e.g. "price".')
    label: str = strawberry.field(description='Human label, e.g. "Price".')
    old_value: str | None = strawberry.field(
        description="Canonical text form of the old value; null where there was none."
    )
    new_value: str | None = strawberry.field(
        description="Canonical text form of the new value; null where there is none."
    )
    delta: str | None = strawberry.field(
        description='Numeric fields only: newValue - oldValue, e.g. "-50.00".'
    )
    segments: list[TextSegmentType] | None = strawberry.field(
        description="Text fields only: a word-level diff from oldValue to newValue."
    )
    added: list[str] | None = strawberry.field(
        description='Many-to-many fields only (e.g. "tags"): the items added.'
    )
    removed: list[str] | None = strawberry.field(
        description='Many-to-many fields only (e.g. "tags"): the items removed.'
    )

    @classmethod
    def from_change(cls, change: diff.FieldChange) -> FieldChangeType:
        segments = change.segments
        return cls(
            field=to_camel_case(change.field),
            label=change.label,
            old_value=change.old_value,
            new_value=change.new_value,
            delta=change.delta,
            added=change.added,
            removed=change.removed,
            segments=None
            if segments is None
            else [
                TextSegmentType(op=DiffOpEnum(s.op.value), text=s.text)
                for s in segments
            ],
        )


def field_changes(changes: list[diff.FieldChange]) -> list[FieldChangeType]:
    """GraphQL form of a list of changes."""
    return [FieldChangeType.from_change(change) for change in changes]


def query_error(code: HistoryErrorCode, message: str) -> GraphQLError:
    """A GraphQL error carrying a stable `extensions.code`."""
    return GraphQLError(message, extensions={"code": code.value})


def object_global_id(record: Any) -> relay.GlobalID:
    """The global id of the object a version records; valid after deletion."""
    model = tracked_model_for(type(record))
    return relay.GlobalID(model.__name__, str(object_pk_of(record)))


def readable(info: Info[Any, Any], record: Any) -> Any | None:
    """`record`, if the viewer may read the history it belongs to."""
    if record is None or not can_view_history(info, tracked_model_for(type(record))):
        return None
    return record


async def load_version(info: Info[Any, Any], model: Any, history_id: Any) -> Any:
    """A readable version of `model` by history id, batched per request."""
    if history_id is None:
        return None
    record = await info.context.loaders.versions(model).load(history_id)
    return readable(info, record)


async def load_neighbour(info: Info[Any, Any], record: Any, *, newer: bool) -> Any:
    """The readable version just after (`newer`) or before `record`."""
    model = tracked_model_for(type(record))
    loader = info.context.loaders.neighbours(model, newer=newer)
    return readable(info, await loader.load(record.history_id))


async def load_live_object(info: Info[Any, Any], record: Any) -> Any:
    """The live object a version records; None once it has been deleted."""
    model = tracked_model_for(type(record))
    return await info.context.loaders.objects(model).load(object_pk_of(record))


@strawberry.type
class VersionFields:
    """The fields every historical type shares."""

    history_id: int = strawberry_django.field(
        description="Sequential id of this version."
    )
    history_date: datetime.datetime = strawberry_django.field(
        description="When the change was made."
    )
    history_type: HistoryTypeEnum = strawberry_django.field(
        description="Whether the change created, updated or deleted the object."
    )
    history_change_reason: str | None = strawberry_django.field(
        description="Why the change was made."
    )

    @strawberry_django.field(
        only=["history_changes"],
        description=(
            "What this version changed against the one before it; empty for CREATED."
        ),
    )
    async def changes(
        self,
        fields: Annotated[
            list[str] | None,
            strawberry.argument(
                description='Only the changes of these fields, e.g. ["price"].'
            ),
        ] = None,
    ) -> list[FieldChangeType]:
        if "history_changes" in self.get_deferred_fields():  # type: ignore[attr-defined]
            # Not loaded up front (e.g. `changes` selected twice with different
            # arguments): read it without blocking the event loop.
            await sync_to_async(self.refresh_from_db)(fields=["history_changes"])  # type: ignore[attr-defined]
        stored = self.history_changes  # type: ignore[attr-defined]
        if not stored:
            return []
        if fields is not None:
            wanted = {to_snake_case(name) for name in fields}
            stored = {name: value for name, value in stored.items() if name in wanted}
        model = tracked_model_for(type(self))
        return field_changes(diff.changes_from_stored(model, stored))

    @strawberry_django.field(
        description=(
            "The difference from another version of the same object to this one."
        )
    )
    def diff(
        self,
        against: Annotated[
            strawberry.ID,
            strawberry.argument(description="The version to compare this one with."),
        ],
    ) -> list[FieldChangeType]:
        model = tracked_model_for(type(self))
        other = selectors.history_version(
            model=model, history_id=pk_of(against, type(self).__name__)
        )
        try:
            changes = diff.history_diff_against(model=model, record=self, other=other)
        except ValidationError as error:
            raise query_error(
                HistoryErrorCode(str(error.code)), str(error.message)
            ) from error
        return field_changes(changes)

    @strawberry_django.field(
        only=["history_ip_address"],
        description="Client IP address of the request that made it; staff only.",
    )
    async def ip_address(self, info: Info[Any, Any]) -> str | None:
        if not viewer_of(info).is_staff:
            return None
        return self.history_ip_address  # type: ignore[attr-defined]

    @strawberry_django.field(
        only=["history_user_agent"],
        description="User agent of the request that made it; staff only.",
    )
    async def user_agent(self, info: Info[Any, Any]) -> str | None:
        if not viewer_of(info).is_staff:
            return None
        return self.history_user_agent  # type: ignore[attr-defined]

    @strawberry_django.field(
        only=["history_request_id"],
        description="Id of the request that made it (X-Request-ID); staff only.",
    )
    async def request_id(self, info: Info[Any, Any]) -> str | None:
        if not viewer_of(info).is_staff:
            return None
        return self.history_request_id  # type: ignore[attr-defined]

    @classmethod
    def get_queryset(cls, queryset: Any, info: Info[Any, Any], **kwargs: Any) -> Any:
        """Versions are visible only to viewers who may read the history."""
        if not can_view_history(info, tracked_model_for(queryset.model)):
            return queryset.none()
        return queryset
