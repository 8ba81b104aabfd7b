"""Changesets in the GraphQL API: what one request (or one service call
outside a request) wrote across models, and undoing it as a whole."""

import datetime
import uuid
from typing import Annotated, Any

import strawberry
import strawberry_django
from django.core.exceptions import ValidationError
from strawberry import relay
from strawberry.types import Info
from strawberry_django.fields.types import OperationInfo
from strawberry_django.optimizer import optimize
from strawberry_django.resolvers import django_resolver

from history import selectors
from history.changeset_revert import MAX_CHANGESET_OBJECTS, changeset_revert
from history.errors import HistoryErrorCode, operation_error
from history.models import Changeset
from history.tracking import MAX_CHANGES, tracked_model_for
from schema.connections import VersionConnection, versions_connection
from schema.context import viewer_of
from schema.fields import After, Before, First, Last
from schema.history import FieldChangeType, Version, field_changes, snapshot_user_of
from schema.ids import changeset_key
from schema.inputs import RevertChangesetInput
from schema.limits import list_bound
from schema.permissions import can_view_history, readable_entries, readable_versions
from schema.registry import entry_for
from schema.users import UserType
from schema.writes import api_field_names


def readable_changesets(info: Info[Any, Any], keys: list[Any]) -> list[Any]:
    """The changesets `keys` name, each None unless the viewer may read one of
    its versions."""
    entries = readable_entries(info)
    wanted = [key for key in keys if key is not None]
    if not entries or not wanted:
        return [None for _ in keys]
    heads = selectors.changeset_heads(
        ids=wanted,
        models_=[entry.model for entry in entries],
        staff=viewer_of(info).is_staff,
    )
    found = {
        changeset.pk: changeset
        for changeset in Changeset.objects.filter(
            pk__in=[key for key, head in heads.items() if head is not None]
        )
    }
    return [found.get(key) for key in keys]


async def changeset_head(info: Info[Any, Any], changeset_id: Any) -> Any:
    """The first version of a changeset the viewer may read (batched per
    request)."""
    entries = readable_entries(info)
    loader = info.context.loaders.changeset_heads(
        tuple(entry.model for entry in entries), staff=viewer_of(info).is_staff
    )
    return await loader.load(changeset_id)


@strawberry_django.type(
    Changeset,
    name="Changeset",
    description=(
        "Everything one request (or one service call outside a request) wrote, "
        "across models."
    ),
)
class ChangesetType(relay.Node):
    """Who, when and why are those of its first version the viewer may read:
    a changeset tells nothing of versions the viewer may not see."""

    # Declared, so strawberry finds it once (see IntegerKeyNode).
    pk: relay.NodeID[uuid.UUID]

    @strawberry_django.field(
        only=["id"], description="When its first version was written."
    )
    async def history_date(self, info: Info[Any, Any]) -> datetime.datetime:
        head = await changeset_head(info, self.pk)
        return head.history_date

    @strawberry_django.field(
        only=["id"], description="Why: the reason its first version gave."
    )
    async def history_change_reason(self, info: Info[Any, Any]) -> str | None:
        head = await changeset_head(info, self.pk)
        return head.history_change_reason

    @strawberry_django.field(
        only=["id"],
        description=(
            "Who wrote it; after the user was deleted, still their id and the "
            "username they had. Null for changes made outside a request."
        ),
    )
    async def history_user(self, info: Info[Any, Any]) -> UserType | None:
        head = await changeset_head(info, self.pk)
        return snapshot_user_of(head)

    @strawberry_django.field(
        description=(
            "The versions it wrote, newest first: those of the models the viewer "
            "may read."
        )
    )
    def versions(
        self,
        info: Info[Any, Any],
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> VersionConnection:
        querysets = [
            optimize(queryset.filter(history_changeset_id=self.pk), info)
            for queryset in readable_versions(info)
        ]
        return versions_connection(
            info, querysets, first=first, after=after, last=last, before=before
        )

    @classmethod
    def resolve_nodes(
        cls,
        *,
        info: Info[Any, Any],
        node_ids: Any,
        required: bool = False,
    ) -> Any:
        keys = [changeset_key(node_id) for node_id in node_ids]

        def resolve() -> list[Any]:
            if not readable_entries(info):
                return [None for _ in keys]
            found = {
                c.pk: c for c in Changeset.objects.filter(pk__in=[k for k in keys if k])
            }
            return [found.get(key) if key else None for key in keys]

        return django_resolver(resolve)()

    @classmethod
    def resolve_node(
        cls, node_id: Any, *, info: Info[Any, Any], required: bool = False
    ) -> Any:
        key = changeset_key(node_id)

        def resolve() -> Any:
            return readable_changesets(info, [key])[0]

        return django_resolver(resolve)()


@strawberry.type(
    name="ObjectChanges", description="What a changeset revert did to one object."
)
class ObjectChangesType:
    object: relay.Node | None = strawberry.field(
        description="The object after the revert; null when the revert deleted it."
    )
    object_id: relay.GlobalID = strawberry.field(
        description="Global id of the object; valid after its deletion."
    )
    changes: list[FieldChangeType] = strawberry.field(
        description="What the revert changed, or would change, on it.",
        metadata=list_bound(MAX_CHANGES),
    )


@strawberry.type(
    name="RevertChangesetResult",
    description="What a changeset revert did, or would do.",
)
class RevertChangesetResultType:
    changeset: ChangesetType | None = strawberry.field(
        description="The changeset the revert wrote; null on a dry run."
    )
    versions: list[Version] = strawberry.field(
        description="The versions it wrote (on a dry run: none).",
        metadata=list_bound(MAX_CHANGESET_OBJECTS),
    )
    changes: list[ObjectChangesType] = strawberry.field(
        description="Per object, what it changed or would change.",
        metadata=list_bound(MAX_CHANGESET_OBJECTS),
    )


RevertChangesetPayload = Annotated[
    RevertChangesetResultType | OperationInfo,
    strawberry.union(
        "RevertChangesetPayload",
        description="What the changeset revert did (or would do), or why not.",
    ),
]


def changeset(
    self: Any,
    info: Info[Any, Any],
    id: Annotated[strawberry.ID, strawberry.argument(description="The changeset.")],
) -> ChangesetType | None:
    return readable_changesets(info, [changeset_key(id)])[0]


def revert_whole_changeset(
    self: Any,
    info: Info[Any, Any],
    input: Annotated[
        RevertChangesetInput,
        strawberry.argument(description="The changeset to undo, and why."),
    ],
) -> RevertChangesetPayload:
    key = changeset_key(input.id)
    if key is None:
        raise operation_error(
            HistoryErrorCode.NOT_FOUND, "No such changeset.", field="id"
        )
    try:
        result = changeset_revert(
            changeset_id=key,
            actor=viewer_of(info).user,
            reason=input.reason,
            dry_run=bool(input.dry_run),
        )
    except ValidationError as error:
        raise api_field_names(error) from error
    return RevertChangesetResultType(
        changeset=(
            None
            if result.changeset_id is None
            else Changeset.objects.get(pk=result.changeset_id)  # type: ignore[arg-type]
        ),
        # What the viewer may not read of a model's history stays unsaid.
        versions=[
            version
            for version in result.versions
            if can_view_history(info, tracked_model_for(type(version)))
        ],
        changes=[
            ObjectChangesType(
                object=instance,  # type: ignore[arg-type]
                object_id=relay.GlobalID(entry_for(model).name, str(pk)),
                changes=field_changes(changes) if can_view_history(info, model) else [],
            )
            for model, pk, instance, changes in result.changes
        ],
    )


def query_fields(history_reader: Any) -> dict[str, Any]:
    """The root query fields of changesets."""
    return {
        "changeset": strawberry_django.field(
            changeset,
            permission_classes=[history_reader],
            description="Everything one request or service call wrote.",
        ),
    }


def mutation_fields() -> dict[str, Any]:
    """The root mutation fields of changesets."""
    return {
        "revert_changeset": strawberry_django.mutation(
            revert_whole_changeset,
            description=(
                "Undo everything a changeset wrote, in one transaction: each object "
                "back to its version before the changeset; STALE, writing nothing, "
                "if any of them changed since."
            ),
        ),
    }
