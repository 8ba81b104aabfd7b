"""What serves every tracked model at once: the audit log, time travel by any
id, changesets, and reverting a version or a whole changeset.

Built once the tracked models are registered (`build`): the `TrackedModel`
enum and the audit log's filter grow with them.
"""

import datetime
import enum
import uuid
from typing import Annotated, Any, Optional

import strawberry
import strawberry_django
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from graphql import GraphQLError
from strawberry import relay
from strawberry.types import Info

from history import selectors
from history.changesets import changeset_revert
from history.errors import HistoryErrorCode, operation_error
from history.models import Changeset, VersionExtras
from schema.connections import VersionConnection, versions_connection
from schema.context import viewer_of
from schema.filters import MATCH_NOTHING, VersionFilter, pk_filter
from schema.history import FieldChangeType, Version, field_changes
from schema.ids import changeset_key
from schema.limits import list_bound
from schema.permissions import (
    PERMISSION_DENIED,
    any_history_permission,
    can_view_history,
    readable_models,
)
from schema.registry import Tracked, entries, entry_for, entry_named, entry_of_version_type
from schema.users import UserType
from schema.writes import RevertOutcome, api_field_names, as_of, revert

AT_DESCRIPTION = "The moment; without an offset it is taken as UTC."


def _tracked_models() -> list[Any]:
    return [entry.model for entry in entries()]


def _readable_entries(info: Info[Any, Any]) -> list[Tracked]:
    allowed = set(readable_models(viewer_of(info), _tracked_models()))
    return [entry for entry in entries() if entry.model in allowed]


def _refused(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": PERMISSION_DENIED})


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
        from schema.history import snapshot_user_of

        return snapshot_user_of(self)  # type: ignore[return-value]

    @strawberry.field(
        description=(
            "The versions it wrote, newest first: those of the models the viewer "
            "may read."
        )
    )
    def versions(
        self,
        info: Info[Any, Any],
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> VersionConnection:
        querysets = [
            entry.history_model.objects.filter(history_changeset_id=self.pk)  # type: ignore[attr-defined]
            for entry in _readable_entries(info)
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
        from strawberry_django.resolvers import django_resolver

        keys = [changeset_key(node_id) for node_id in node_ids]

        def resolve() -> list[Any]:
            if not _readable_entries(info):
                return [None for _ in keys]
            found = {
                c.pk: c
                for c in Changeset.objects.filter(pk__in=[k for k in keys if k])
            }
            return [found.get(key) if key else None for key in keys]

        return django_resolver(resolve)()

    @classmethod
    def resolve_node(
        cls, node_id: Any, *, info: Info[Any, Any], required: bool = False
    ) -> Any:
        from strawberry_django.resolvers import django_resolver

        key = changeset_key(node_id)

        def resolve() -> Any:
            if key is None or not _readable_entries(info):
                return None
            return Changeset.objects.filter(pk=key).first()

        return django_resolver(resolve)()


@strawberry.type(name="RevertResult", description="What a revert did, or would do.")
class RevertResultType:
    object: relay.Node = strawberry.field(
        description="The object after the revert (as it would be, on a dry run)."
    )
    record: Version | None = strawberry.field(
        description=(
            "The version the revert wrote; null on a dry run, and for viewers who "
            "may not read the object's history."
        )
    )
    changes: list[FieldChangeType] = strawberry.field(
        description="What the revert changed, or would change.",
        metadata=list_bound(8),
    )


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
        metadata=list_bound(8),
    )


MAX_CHANGESET_OBJECTS = 1000


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


RevertPayload = Annotated[
    RevertResultType | strawberry_django.fields.types.OperationInfo,
    strawberry.union(
        "RevertPayload",
        description="What the revert did (or would do), or why it was refused.",
    ),
]
RevertChangesetPayload = Annotated[
    RevertChangesetResultType | strawberry_django.fields.types.OperationInfo,
    strawberry.union(
        "RevertChangesetPayload",
        description="What the changeset revert did (or would do), or why not.",
    ),
]


def _tracked_model_enum() -> Any:
    members = {entry.enum_name: entry.name for entry in entries()}
    python_enum = enum.Enum("TrackedModel", members)  # type: ignore[misc]
    return strawberry.enum(
        python_enum,
        name="TrackedModel",
        description="A tracked model; grows with every model tracked.",
    )


def _audit_filter(tracked_model: Any) -> Any:
    def model(
        self: Any, value: list[tracked_model], queryset: QuerySet[Any], prefix: str  # type: ignore[valid-type]
    ) -> tuple[QuerySet[Any], Q]:
        names = {member.value for member in value}
        own = entry_for(queryset.model.instance_type).name
        return queryset, (Q() if own in names else MATCH_NOTHING)

    def of_object(
        self: Any, value: strawberry.ID, queryset: QuerySet[Any], prefix: str
    ) -> tuple[QuerySet[Any], Q]:
        entry = entry_for(queryset.model.instance_type)
        pk_name = entry.model._meta.pk.attname
        return queryset, pk_filter(prefix, pk_name, value, entry.name)

    namespace: dict[str, Any] = {
        "model": strawberry_django.filter_field(
            model, description="Versions of these models only."
        ),
        "object": strawberry_django.filter_field(
            of_object,
            description="One object's versions, deleted objects included.",
        ),
    }
    annotations: dict[str, Any] = {}
    for key, text in (
        ("AND", "Also match this filter."),
        ("OR", "Or match this filter."),
        ("NOT", "Do not match this filter."),
    ):
        annotations[key] = Optional[  # noqa: UP045
            Annotated["AuditLogFilter", strawberry.lazy("schema.generated")]
        ]
        namespace[key] = strawberry_django.filter_field(description=text)
    namespace["__annotations__"] = annotations
    from schema.registry import publish

    cls = publish("AuditLogFilter", type("AuditLogFilter", (VersionFilter,), namespace))
    return strawberry_django.filter_type(
        VersionExtras,
        name="AuditLogFilter",
        description="Filters of the audit log; lookups as in the history feeds.",
    )(cls)


def build() -> tuple[type, type]:
    """The root query and mutation fields that serve every tracked model."""
    tracked_model = _tracked_model_enum()
    audit_filter = _audit_filter(tracked_model)
    history_reader = any_history_permission(_tracked_models)

    def audit_log(
        self: Any,
        info: Info[Any, Any],
        filters: Optional[audit_filter] = None,  # type: ignore[valid-type]  # noqa: UP045
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> VersionConnection:
        querysets = []
        for entry in _readable_entries(info):
            queryset = entry.history_model.objects.all()
            if filters is not None:
                queryset = strawberry_django.filters.apply(filters, queryset, info=info)
            querysets.append(queryset)
        return versions_connection(
            info, querysets, first=first, after=after, last=last, before=before
        )

    def at_moment(
        self: Any,
        info: Info[Any, Any],
        id: Annotated[
            strawberry.ID,
            strawberry.argument(description="Any tracked object, deleted or not."),
        ],
        at: Annotated[
            datetime.datetime, strawberry.argument(description=AT_DESCRIPTION)
        ],
    ) -> Version | None:
        try:
            global_id = relay.GlobalID.from_id(id)
        except (ValueError, TypeError):
            return None
        entry = entry_named(global_id.type_name)
        if entry is None:
            return None
        if not can_view_history(info, entry.model):
            raise _refused(
                f"You may not read the history of {entry.model._meta.verbose_name_plural}."
            )
        from schema.ids import int64_of

        pk = int64_of(global_id.node_id)
        return None if pk is None else as_of(entry.model, pk, at)

    def changeset(
        self: Any,
        info: Info[Any, Any],
        id: Annotated[strawberry.ID, strawberry.argument(description="The changeset.")],
    ) -> ChangesetType | None:
        key = changeset_key(id)
        if key is None:
            return None
        return Changeset.objects.filter(pk=key).first()  # type: ignore[return-value]

    query_namespace: dict[str, Any] = {
        "audit_log": strawberry.field(
            audit_log,
            permission_classes=[history_reader],
            description=(
                "Every version of every tracked model, newest first: those of the "
                "models the viewer may read."
            ),
        ),
        "as_of": strawberry_django.field(
            at_moment,
            permission_classes=[history_reader],
            description=(
                "The version of any tracked object that was in force at a moment; "
                "null if it did not exist then."
            ),
        ),
        "changeset": strawberry_django.field(
            changeset,
            permission_classes=[history_reader],
            description="Everything one request or service call wrote.",
        ),
    }
    query = strawberry.type(type("AuditQuery", (), query_namespace))

    def revert_version(
        self: Any,
        info: Info[Any, Any],
        input: Annotated[
            Any,
            strawberry.argument(description="The version to go back to, and why."),
        ],
    ) -> RevertPayload:
        entry = _entry_of_record(input.record)
        try:
            outcome: RevertOutcome = revert(
                info,
                entry,
                record=input.record,
                object_id=None,
                reason=input.reason,
                fields=input.fields,
                expected_latest=input.expected_latest,
                dry_run=bool(input.dry_run),
            )
        except ValidationError as error:
            raise _on_record(error) from error
        return RevertResultType(
            object=outcome.instance,
            record=outcome.record,
            changes=field_changes(outcome.changes),
        )

    def revert_whole_changeset(
        self: Any,
        info: Info[Any, Any],
        input: Annotated[
            Any,
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
            versions=list(result.versions),
            changes=[
                ObjectChangesType(
                    object=instance,
                    object_id=relay.GlobalID(entry_for(model).name, str(pk)),
                    changes=field_changes(changes),
                )
                for model, pk, instance, changes in result.changes
            ],
        )

    from schema.inputs import RevertChangesetInput, RevertInput

    revert_version.__annotations__["input"] = Annotated[
        RevertInput,
        strawberry.argument(description="The version to go back to, and why."),
    ]
    revert_whole_changeset.__annotations__["input"] = Annotated[
        RevertChangesetInput,
        strawberry.argument(description="The changeset to undo, and why."),
    ]
    mutation_namespace: dict[str, Any] = {
        "revert": strawberry_django.mutation(
            revert_version,
            description=(
                "Bring any tracked object back to one of its versions, found by the "
                "version's id, with a reason (needs the model's change permission, "
                "and its add permission to restore a deleted object)."
            ),
        ),
        "revert_changeset": strawberry_django.mutation(
            revert_whole_changeset,
            description=(
                "Undo everything a changeset wrote, in one transaction: each object "
                "back to its version before the changeset; STALE, writing nothing, "
                "if any of them changed since."
            ),
        ),
    }
    mutation = strawberry.type(type("AuditMutation", (), mutation_namespace))
    return query, mutation


def _entry_of_record(record: strawberry.ID) -> Tracked:
    try:
        type_name = relay.GlobalID.from_id(record).type_name
    except (ValueError, TypeError):
        type_name = ""
    entry = entry_of_version_type(type_name)
    if entry is None:
        raise operation_error(
            HistoryErrorCode.NOT_FOUND, "No such version.", field="record"
        )
    return entry


def _on_record(error: ValidationError) -> ValidationError:
    """The generic revert names only the version: what the per-model reverts
    say of `id` (no such object) is said of `record`."""
    if hasattr(error, "error_dict") and "id" in error.error_dict:
        fields = dict(error.error_dict)
        fields["record"] = fields.pop("id")
        return ValidationError(fields)
    return error


__all__ = ["ChangesetType", "build", "selectors", "uuid"]
