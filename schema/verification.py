"""Verification of the history in the GraphQL API, for staff.

- `Version.integrity`: a version's hash and the hash it links to, whether its
  content still hashes to its hash, and its object's whole chain verified
  against the latest signed checkpoint (`history.verification`). A request
  verifies each object's chain once, however many of its versions it selects
  (`Loaders.chains`, a DataLoader keyed by model and object), and the field
  counts as many nodes as a page of versions (`node_cost`); reading one
  object's chain costs as much as its length.
- `verifyHistory`: one model's chains (or one object's), a page at a time in
  object-id order: each page checks whole chains until at least
  `HISTORY_VERIFY_PAGE_VERSIONS` versions were checked, so a request's work is
  that many versions plus the longest chain, whatever the size of the trail
  (a chain is not split across pages). Its resolver is synchronous, so it
  runs in a worker thread, off the event loop, within the request's database
  time budget (`schema.budget`).

Staff only, as the schema's other staff-only data: `integrity` is null for
others (as `supplierCost` and `ipAddress` are), and `verifyHistory` is refused
with PERMISSION_DENIED before the operation runs.
"""

from __future__ import annotations

import base64
import binascii
import enum
from typing import Annotated, Any, cast

import strawberry
import strawberry_django
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import models
from graphql import GraphQLError
from strawberry import relay
from strawberry.permission import BasePermission
from strawberry.types import Info

from history.chains import hashed_fields
from history.errors import HistoryErrorCode
from history.tracking import object_pk_of, tracked_model_for
from history.verification import (
    BreakKind,
    ChainBreak,
    ChainResult,
    Reference,
    Tally,
    UnknownObject,
    VerificationPage,
    object_chain,
    object_key,
    verification_page,
    version_row,
)
from schema.audit import tracked_model_enum
from schema.context import Viewer, viewer_of
from schema.errors import RequestErrorCode
from schema.history import Version, query_error
from schema.ids import pk_of
from schema.integrity import HistoryCheckpointType
from schema.limits import list_bound, node_cost
from schema.permissions import PERMISSION_DENIED, can_view_history
from schema.registry import Tracked, entry_for, entry_named

# The most broken chains one page of `verifyHistory` lists: a page ends at
# this many, and the next one goes on after them.
MAX_BREAKS = 100

TrackedModel = tracked_model_enum()


@strawberry.enum(name="ChainBreakKind", description="How a hash chain breaks.")
class ChainBreakKindEnum(enum.Enum):
    CHANGED = strawberry.enum_value(
        BreakKind.CHANGED.value,
        description=(
            "A version's content no longer matches its hash, or the chain no "
            "longer leads to the head the checkpoint signed (rewritten and "
            "rehashed)."
        ),
    )
    MISSING = strawberry.enum_value(
        BreakKind.MISSING.value,
        description="The version it links to is not stored: it was deleted.",
    )
    INSERTED = strawberry.enum_value(
        BreakKind.INSERTED.value,
        description="A version the chain skips over: it was inserted.",
    )
    REORDERED = strawberry.enum_value(
        BreakKind.REORDERED.value,
        description="A version links to one served after it: dates were changed.",
    )
    TRUNCATED = strawberry.enum_value(
        BreakKind.TRUNCATED.value,
        description=(
            "Versions the checkpoint signed were cut off the end of the chain, "
            "or the whole chain is gone."
        ),
    )


@strawberry.type(
    name="ChainBreak",
    description="The first place where one object's hash chain breaks, and how.",
)
class ChainBreakType:
    found: strawberry.Private[ChainBreak]
    entry: strawberry.Private[Tracked]

    @strawberry.field(description="How it breaks.")
    def kind(self) -> ChainBreakKindEnum:
        return ChainBreakKindEnum(self.found.kind.value)

    @strawberry.field(
        description=(
            "The first version found wrong (for TRUNCATED, the newest version "
            "left); null when no version of the object is left."
        )
    )
    async def version(self, info: Info[Any, Any]) -> Version | None:
        if self.found.history_id is None:
            return None
        loader = info.context.loaders.versions(self.entry.model, staff=True)
        version: Any = await loader.load(self.found.history_id)
        return version

    @strawberry.field(description="What was found, in a sentence.")
    def detail(self) -> str:
        return self.found.detail

    @strawberry.field(description="The tracked model of the object.")
    def model(self) -> TrackedModel:  # type: ignore[valid-type]
        return TrackedModel[self.entry.enum_name]

    @strawberry.field(description="Global id of the object; valid after deletion.")
    def object_id(self) -> strawberry.ID:
        return strawberry.ID(str(relay.GlobalID(self.entry.name, self.found.object_id)))


def chain_break(found: ChainBreak | None, model: type[models.Model]) -> Any:
    """The GraphQL form of a break; None for none."""
    if found is None:
        return None
    return ChainBreakType(found=found, entry=entry_for(model))


@strawberry.type(
    name="ChainVerification",
    description=(
        "An object's whole hash chain, verified against the latest signed checkpoint."
    ),
)
class ChainVerificationType:
    intact: bool = strawberry.field(
        description=(
            "Whether the chain verifies, against a checkpoint that verifies "
            "itself (or none, when none was written)."
        )
    )
    first_break: ChainBreakType | None = strawberry.field(
        description="Where the chain first breaks; null if it does not."
    )
    checkpoint_failure: str | None = strawberry.field(
        description=(
            "Why the latest checkpoint itself does not verify (bad signature, "
            "heads that do not give its root); null if it does or there is none."
        )
    )


@strawberry.type(
    name="VersionIntegrity",
    description="Whether a version is the one that was written.",
)
class VersionIntegrityType:
    record: strawberry.Private[Any]

    @strawberry.field(
        description=(
            "Its hash: SHA-256 over the previous version's hash and its content, "
            "in hex."
        )
    )
    async def hash(self, info: Info[Any, Any]) -> str:
        record = await _full(info, self.record)
        return str(record.history_hash)

    @strawberry.field(
        description=(
            "The hash of the version before it in its object's chain (64 zeros "
            "for the first)."
        )
    )
    async def previous_hash(self, info: Info[Any, Any]) -> str:
        record = await _full(info, self.record)
        return str(record.history_prev_hash)

    @strawberry.field(description="Whether its content still hashes to its hash.")
    async def content_intact(self, info: Info[Any, Any]) -> bool:
        record = await _full(info, self.record)
        history_model: Any = type(record)
        label = tracked_model_for(history_model)._meta.label_lower
        return version_row(label, hashed_fields(history_model), record).intact

    @strawberry.field(
        description=(
            "Its object's whole chain, verified against the latest checkpoint "
            "(once per request, however many of its versions are selected)."
        ),
        metadata=node_cost(lambda: settings.GRAPHQL_MAX_PAGE_SIZE),
    )
    async def chain(self, info: Info[Any, Any]) -> ChainVerificationType:
        model = tracked_model_for(type(self.record))
        loaders = info.context.loaders
        result: ChainResult | None = await loaders.chains(model).load(
            object_pk_of(self.record)
        )
        reference = await sync_to_async(loaders.reference)()
        broken = result.broken if result is not None else None
        return ChainVerificationType(
            intact=broken is None and reference.failure is None,
            first_break=chain_break(broken, model),
            checkpoint_failure=reference.failure,
        )


async def _full(info: Info[Any, Any], record: Any) -> Any:
    """`record` with every column its hash covers: as it is when it has
    them, else read again (batched per request)."""
    deferred = record.get_deferred_fields()
    if not deferred:
        return record
    model = tracked_model_for(type(record))
    loader = info.context.loaders.versions(model, staff=True)
    return await loader.load(record.history_id)


async def version_integrity(info: Info[Any, Any], record: Any) -> Any:
    """`Version.integrity`: for staff; null for others."""
    if not viewer_of(info).is_staff:
        return None
    return VersionIntegrityType(record=record)


# -- verifyHistory ----------------------------------------------------------------


@strawberry.type(
    name="HistoryVerification",
    description="A page of one model's hash chains, verified.",
)
class HistoryVerificationType:
    intact: bool = strawberry.field(
        description=(
            "Whether every chain of the page verifies, and the checkpoint too."
        )
    )
    breaks: list[ChainBreakType] = strawberry.field(
        description="Each broken chain of the page, where it first breaks.",
        metadata=list_bound(MAX_BREAKS),
    )
    chains_checked: int = strawberry.field(
        description="How many chains the page checked."
    )
    versions_checked: int = strawberry.field(
        description="How many versions the page checked."
    )
    checkpoint: HistoryCheckpointType | None = strawberry.field(
        description="The checkpoint the chains were verified against; null if none."
    )
    checkpoint_failure: str | None = strawberry.field(
        description="Why that checkpoint does not verify; null if it does."
    )
    end_cursor: str | None = strawberry.field(
        description="Give it as `after` for the next page; null if nothing was checked."
    )
    has_next_page: bool = strawberry.field(
        description="Whether chains come after this page."
    )


class IsStaff(BasePermission):
    """Refuses viewers who are not staff, before the operation runs."""

    message = "Only staff may verify the history."
    error_extensions = {"code": PERMISSION_DENIED}

    @staticmethod
    def allows(viewer: Viewer) -> bool:
        return viewer.is_staff

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        return self.allows(viewer_of(info))


CURSOR_PREFIX = "chain:"


def chain_cursor(label: str, object_id: str) -> str:
    """The cursor after one object's chain."""
    return base64.b64encode(f"{CURSOR_PREFIX}{label}:{object_id}".encode()).decode()


def _after(cursor: str | None, model: type[models.Model]) -> str | None:
    """The object id a cursor of `model`'s verification holds.

    Raises:
        GraphQLError: BAD_USER_INPUT, it is not a cursor of this model's pages.
    """
    if cursor is None:
        return None
    try:
        text = base64.b64decode(cursor, validate=True).decode()
    except (binascii.Error, ValueError):
        text = ""
    prefix = f"{CURSOR_PREFIX}{model._meta.label_lower}:"
    object_id = text.removeprefix(prefix)
    try:
        if not text.startswith(prefix):
            raise UnknownObject(object_id)
        object_key(model, object_id)
    except UnknownObject as error:
        raise GraphQLError(
            "`after` is not a cursor of this model's verification.",
            extensions={"code": RequestErrorCode.BAD_USER_INPUT.value},
        ) from error
    return object_id


def verify_history(
    self: Any,
    info: Info[Any, Any],
    model: Annotated[
        TrackedModel,  # type: ignore[valid-type]
        strawberry.argument(description="The model whose chains are verified."),
    ],
    object_id: Annotated[
        strawberry.ID | None,
        strawberry.argument(
            name="object", description="Only this object's chain (global id)."
        ),
    ] = None,
    after: Annotated[
        str | None,
        strawberry.argument(description="Go on after this page's `endCursor`."),
    ] = None,
) -> HistoryVerificationType | None:
    entry = entry_named(cast(Any, model).value)
    assert entry is not None
    if not can_view_history(info, entry.model):
        plural = entry.model._meta.verbose_name_plural
        raise GraphQLError(
            f"You may not read the history of {plural}.",
            extensions={"code": PERMISSION_DENIED},
        )
    reference = info.context.loaders.reference()
    if object_id is None:
        page = verification_page(
            entry.model,
            expected=reference.expected,
            after=_after(after, entry.model),
            versions=settings.HISTORY_VERIFY_PAGE_VERSIONS,
            max_breaks=MAX_BREAKS,
        )
    else:
        result = _object_chain(entry, object_id, reference)
        tally = Tally()
        tally.add(result)
        page = VerificationPage(tally, end_cursor=result.object_id, has_next=False)
    checkpoint = reference.checkpoint
    label = entry.model._meta.label_lower
    return HistoryVerificationType(
        intact=page.tally.intact and reference.failure is None,
        breaks=[chain_break(found, entry.model) for found in page.tally.breaks],
        chains_checked=page.tally.chains,
        versions_checked=page.tally.versions,
        checkpoint=None if checkpoint is None else HistoryCheckpointType.of(checkpoint),
        checkpoint_failure=reference.failure,
        end_cursor=None
        if page.end_cursor is None
        else chain_cursor(label, page.end_cursor),
        has_next_page=page.has_next,
    )


def _object_chain(entry: Tracked, object_id: str, reference: Reference) -> ChainResult:
    """The chain of the object a global id names.

    Raises:
        GraphQLError: NOT_FOUND, the id names no object of the model with a chain.
    """
    pk = pk_of(object_id, entry.name)
    try:
        if pk is None:
            raise UnknownObject(object_id)
        return object_chain(entry.model, str(pk), expected=reference.expected)
    except UnknownObject as error:
        raise query_error(
            HistoryErrorCode.NOT_FOUND,
            f"No chain of a {entry.model._meta.verbose_name} with that id.",
        ) from error


def build() -> type:
    """The root query field of verification."""
    namespace: dict[str, Any] = {
        "verify_history": strawberry_django.field(
            verify_history,
            permission_classes=[IsStaff],
            description=(
                "Verify one model's hash chains (or one object's) against the "
                "latest signed checkpoint, a page at a time in object-id order: "
                "whole chains until at least HISTORY_VERIFY_PAGE_VERSIONS "
                "versions (5000 by default) were checked, or "
                f"{MAX_BREAKS} broken ones found. Staff with the model's history "
                "permission only."
            ),
            metadata=node_cost(lambda: settings.HISTORY_VERIFY_PAGE_VERSIONS),
        )
    }
    return strawberry.type(type("VerificationQuery", (), namespace))
