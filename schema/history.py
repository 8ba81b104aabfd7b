"""GraphQL for versions of any tracked model: diffs, and the fields every
historical type shares (the `Version` interface)."""

from __future__ import annotations

import datetime
import functools
import inspect
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
import strawberry_django
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from graphql import GraphQLError
from strawberry import relay
from strawberry.types import Info
from strawberry.utils.str_converters import to_camel_case, to_snake_case
from strawberry_django.fields.field import StrawberryDjangoField

from history import diff
from history.errors import HistoryErrorCode
from history.selectors import visible_versions
from history.tracking import (
    MAX_CHANGES,
    MAX_M2M_ITEMS,
    MAX_TEXT_FIELDS,
    object_pk_of,
    tracked_model_for,
)
from schema.context import viewer_of
from schema.errors import RequestErrorCode
from schema.execution import ORDINARY, Read, Resolver, plain_when
from schema.ids import pk_of
from schema.limits import list_bound
from schema.permissions import can_view_history
from schema.users import UserType

# A model field's API name; there are only so many field names.
api_name = functools.cache(to_camel_case)

if TYPE_CHECKING:
    from schema.changesets import ChangesetType
    from schema.verification import VersionIntegrityType


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
    field: str = strawberry.field(description='API field name, e.g. "name".')
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
    change: strawberry.Private[diff.FieldChange]

    @strawberry.field(
        description="Text fields only: a word-level diff from oldValue to newValue.",
        metadata=list_bound(
            diff.MAX_SEGMENTS, per_list=MAX_TEXT_FIELDS * diff.MAX_SEGMENTS
        ),
    )
    async def segments(self, info: Info[Any, Any]) -> list[TextSegmentType] | None:
        change = self.change
        if not change.segments_known:
            # A diff between two arbitrary versions (`diff`, a revert's changes)
            # has no stored segments: bounded work, but CPU work, so not on the
            # event loop, only when selected, and word by word only for the
            # first few of the request.
            context = info.context
            word_level = context.word_diffs_left > 0
            context.word_diffs_left -= word_level
            change = await sync_to_async(
                functools.partial(
                    change.with_segments,
                    max_tokens=diff.READ_DIFF_TOKENS if word_level else 0,
                ),
                thread_sensitive=False,
            )()
        segments = change.segments
        if segments is None:
            return None
        return [
            TextSegmentType(op=DiffOpEnum(s.op.value), text=s.text) for s in segments
        ]

    added: list[str] | None = strawberry.field(
        description='Many-to-many fields only (e.g. "tags"): the items added.',
        metadata=list_bound(MAX_M2M_ITEMS),
    )
    removed: list[str] | None = strawberry.field(
        description='Many-to-many fields only (e.g. "tags"): the items removed.',
        metadata=list_bound(MAX_M2M_ITEMS),
    )

    @classmethod
    def from_change(cls, change: diff.FieldChange) -> FieldChangeType:
        """GraphQL form of a change; its segments are resolved when selected."""
        return cls(
            field=api_name(change.field),
            label=change.label,
            old_value=change.old_value,
            new_value=change.new_value,
            delta=change.delta,
            added=change.added,
            removed=change.removed,
            change=change,
        )


# What `changes` reads: the diff stored with a version and its text diffs.
STORED_DIFF_COLUMNS = frozenset({"history_changes", "history_segments"})
# The most names `changes(fields:)` takes: more than any model has fields.
MAX_CHANGES_FIELDS = 100


def stored_diff_loaded(record: Any) -> bool:
    """Whether a version's stored diff was loaded with it: `changes` then
    reads it without a query."""
    return STORED_DIFF_COLUMNS.issubset(vars(record))


def field_changes(changes: list[diff.FieldChange]) -> list[FieldChangeType]:
    """GraphQL form of a list of changes."""
    return [FieldChangeType.from_change(change) for change in changes]


def runs_no_query(resolver: Resolver) -> Resolver:
    """Mark a sync resolver of a strawberry-django field as one that runs no
    query, so it is called on the event loop rather than through
    `sync_to_async`: a thread hop per call. (It may return an awaitable to do
    its database work in a thread.) A list item whose field is async makes the
    whole item, and the list, resolve asynchronously: a task per item."""
    resolver.is_async_safe = True  # type: ignore[attr-defined]
    return resolver


def stored_changes(record: Any, wanted: set[str] | None) -> list[FieldChangeType]:
    """What `record` changed, as stored with it (of the fields `wanted`)."""
    stored = record.history_changes
    if not stored:
        return []
    if wanted is not None:
        stored = {name: value for name, value in stored.items() if name in wanted}
    model = tracked_model_for(type(record))
    # The text diffs were computed when the version was written: nothing is
    # diffed here.
    return field_changes(
        diff.changes_from_stored(model, stored, record.history_segments)
    )


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
    staff = viewer_of(info).is_staff
    record = await info.context.loaders.versions(model, staff=staff).load(history_id)
    return readable(info, record)


async def load_diff_pair(
    info: Info[Any, Any], record: Any, history_id: Any
) -> tuple[Any, Any | None]:
    """`record` with all its columns, and the readable version `history_id`
    names, to diff one against the other.

    Batched per request: a page of versions diffed against one version costs one
    query. The optimizer loads a page with only the columns its other fields
    need; a version so loaded is read again, in the same batch.
    """
    model = tracked_model_for(type(record))
    loader = info.context.loaders.versions(model, staff=viewer_of(info).is_staff)
    reload = bool(record.get_deferred_fields())
    keys = ([record.history_id] if reload else []) + (
        [] if history_id is None else [history_id]
    )
    loaded = list(await loader.load_many(keys))
    full = loaded.pop(0) if reload else record
    other = loaded.pop(0) if loaded else None
    return full, readable(info, other)


async def load_neighbour(info: Info[Any, Any], record: Any, *, newer: bool) -> Any:
    """The readable version just after (`newer`) or before `record`."""
    model = tracked_model_for(type(record))
    loader = info.context.loaders.neighbours(
        model, newer=newer, staff=viewer_of(info).is_staff
    )
    return readable(info, await loader.load(record.history_id))


async def load_live_object(info: Info[Any, Any], record: Any) -> Any:
    """The live object a version records; None once it has been deleted."""
    model = tracked_model_for(type(record))
    return await info.context.loaders.objects(model).load(object_pk_of(record))


def snapshot_user_of(record: Any) -> Any | None:
    """An unsaved user standing for who made a version, from the snapshot the
    version keeps (id and username as they were); None if no one made it."""
    if record.history_user_pk is None:
        return None
    user_model = get_user_model()
    return user_model(
        **{
            "pk": record.history_user_pk,
            user_model.USERNAME_FIELD: record.history_username,
        }
    )


class VersionUserField(StrawberryDjangoField):
    """`history_user`, read as any relation is (selected with the version by the
    optimizer, at no cost of its own), and once the user is deleted, the user as
    the version's snapshot keeps it."""

    def get_result(
        self,
        source: Any,
        info: Info[Any, Any] | None,
        args: list[Any],
        kwargs: dict[str, Any],
    ) -> Any:
        result = super().get_result(source, info, args, kwargs)
        if inspect.isawaitable(result):

            async def or_snapshot() -> Any:
                return await result or snapshot_user_of(source)

            return or_snapshot()
        return result or snapshot_user_of(source)

    def loaded_read(self, read: Read) -> Read:
        """What `get_result` makes of a user already loaded with the version,
        for the short path of `schema.execution`."""

        def read_user(source: Any) -> Any:
            user = read(source)
            if user is ORDINARY:
                return ORDINARY
            return user or snapshot_user_of(source)

        return read_user


@strawberry.interface(
    name="Version",
    description="What every version of every tracked model has.",
)
class Version(relay.Node):
    """The fields every historical type shares; each implements this interface.

    A historical type narrows `previous`, `next` and `revertedFrom` to its own
    type; clients can write one fragment on `Version` for any model.
    """

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

    history_user: UserType | None = strawberry_django.field(
        field_cls=VersionUserField,
        only=["history_user_pk", "history_username"],
        description=(
            "Who made the change; after the user was deleted, still their id and "
            "the username they had. Null for changes made outside a request."
        ),
    )

    @strawberry_django.field(
        only=sorted(STORED_DIFF_COLUMNS),
        description=(
            "What this version changed against the one before it; empty for CREATED."
        ),
        metadata=list_bound(MAX_CHANGES),
    )
    @runs_no_query
    @plain_when(stored_diff_loaded)
    def changes(
        self,
        fields: Annotated[
            list[str] | None,
            strawberry.argument(
                description="Only the changes of these fields (API names)."
            ),
            # No default in the schema: an argument left out is then not
            # converted for every version of a page, as a default null is.
        ] = strawberry.UNSET,
    ) -> list[FieldChangeType]:
        if fields is strawberry.UNSET:
            fields = None
        if fields is not None and len(fields) > MAX_CHANGES_FIELDS:
            raise GraphQLError(
                f"`fields` takes at most {MAX_CHANGES_FIELDS} names.",
                extensions={"code": RequestErrorCode.BAD_USER_INPUT.value},
            )
        wanted = None if fields is None else {to_snake_case(name) for name in fields}
        if stored_diff_loaded(self):
            return stored_changes(self, wanted)
        deferred = STORED_DIFF_COLUMNS.difference(vars(self))

        # Not loaded up front (e.g. `changes` selected twice with different
        # arguments): read them without blocking the event loop.
        async def reread() -> list[FieldChangeType]:
            await sync_to_async(self.refresh_from_db)(fields=sorted(deferred))  # type: ignore[attr-defined]
            return stored_changes(self, wanted)

        return reread()  # type: ignore[return-value]

    @strawberry_django.field(
        description=(
            "The difference from another version of the same object to this one."
        ),
        metadata=list_bound(MAX_CHANGES),
    )
    async def diff(
        self,
        info: Info[Any, Any],
        against: Annotated[
            strawberry.ID,
            strawberry.argument(description="The version to compare this one with."),
        ],
    ) -> list[FieldChangeType]:
        model = tracked_model_for(type(self))
        record, other = await load_diff_pair(
            info, self, pk_of(against, type(self).__name__)
        )
        try:
            changes = diff.history_diff_against(model=model, record=record, other=other)
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

    @strawberry_django.field(
        only=["id", "history_id"],
        description="The version of the same object just before this one.",
    )
    async def previous(self, info: Info[Any, Any]) -> Version | None:
        return await load_neighbour(info, self, newer=False)

    @strawberry_django.field(
        only=["id", "history_id"],
        description="The version of the same object just after this one.",
    )
    async def next(self, info: Info[Any, Any]) -> Version | None:
        return await load_neighbour(info, self, newer=True)

    @strawberry_django.field(
        only=["history_reverted_from_id"],
        description="Set when a revert made this version: the version it went back to.",
    )
    async def reverted_from(self, info: Info[Any, Any]) -> Version | None:
        return await load_version(
            info,
            tracked_model_for(type(self)),
            self.history_reverted_from_id,  # type: ignore[attr-defined]
        )

    @strawberry_django.field(
        only=["id"],
        description="Global id of the tracked object; valid after its deletion.",
    )
    def object_id(self) -> relay.GlobalID:
        return object_global_id(self)

    @strawberry_django.field(
        name="object",
        only=["id"],
        description="The live object; null once it has been deleted.",
    )
    async def live_object(self, info: Info[Any, Any]) -> relay.Node | None:
        return await load_live_object(info, self)

    @strawberry_django.field(
        only=["history_changeset_id"],
        description="The request (or service call) that wrote this version.",
    )
    async def changeset(
        self, info: Info[Any, Any]
    ) -> Annotated[ChangesetType, strawberry.lazy("schema.changesets")]:
        return await info.context.loaders.changesets().load(
            self.history_changeset_id  # type: ignore[attr-defined]
        )

    @strawberry_django.field(
        only=["id", "history_hash", "history_prev_hash"],
        description=(
            "Whether this version is the one that was written: its hash, and its "
            "object's hash chain verified; staff only (null for others)."
        ),
    )
    async def integrity(
        self, info: Info[Any, Any]
    ) -> Annotated[VersionIntegrityType, strawberry.lazy("schema.verification")] | None:
        from schema.verification import version_integrity

        return await version_integrity(info, self)

    @classmethod
    def get_queryset(cls, queryset: Any, info: Info[Any, Any], **kwargs: Any) -> Any:
        """Versions are visible only to viewers who may read the history, and
        those that changed only fields versions do not store only to staff."""
        if not can_view_history(info, tracked_model_for(queryset.model)):
            return queryset.none()
        return visible_versions(queryset, staff=viewer_of(info).is_staff)
