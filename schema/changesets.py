"""Changesets in the GraphQL API: what one request (or one service call
outside a request) wrote across models, and undoing it as a whole."""

import datetime
from typing import Annotated, Any

import strawberry
import strawberry_django
from django.core.exceptions import ValidationError
from strawberry import relay
from strawberry.types import Info
from strawberry_django.fields.types import OperationInfo
from strawberry_django.resolvers import django_resolver

from history.changeset_revert import MAX_CHANGESET_OBJECTS, changeset_revert
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


@strawberry_django.type(
    Changeset,
    name="Changeset",
    description=(
        "Everything one request (or one service call outside a request) wrote, "
        "across models."
    ),
)
class ChangesetType(relay.Node):
    history_date: datetime.datetime = strawberry_django.field(
        description="When it was written (its first version)."
    )
    history_change_reason: str | None = strawberry_django.field(
        description="Why: the reason its first write gave."
    )

    @strawberry_django.field(
        only=["history_user_pk", "history_username"],
        description=(
            "Who wrote it; after the user was deleted, still their id and the "
            "username they had. Null for changes made outside a request."
        ),
    )
    def history_user(self) -> UserType | None:
        return snapshot_user_of(self)

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
            queryset.filter(history_changeset_id=self.pk)  # type: ignore[attr-defined]
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
            if key is None or not readable_entries(info):
                return None
            return Changeset.objects.filter(pk=key).first()

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
    key = changeset_key(id)
    if key is None:
        return None
    return Changeset.objects.filter(pk=key).first()  # type: ignore[return-value]


def revert_whole_changeset(
    self: Any,
    info: Info[Any, Any],
    input: Annotated[
        RevertChangesetInput,
        strawberry.argument(description="The changeset to undo, and why."),
    ],
) -> RevertChangesetPayload:
    key = changeset_key(input.id)
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
