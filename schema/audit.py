"""What serves every tracked model at once: the audit log, time travel by any
id, changesets, and reverting a version or a whole changeset.

Built once the tracked models are registered (`build`): the `TrackedModel`
enum and the audit log's filter grow with them.
"""

import datetime
import enum
import functools
from typing import Annotated, Any, Optional

import strawberry
import strawberry_django
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from graphql import GraphQLError
from strawberry import relay
from strawberry.types import Info
from strawberry_django.optimizer import optimize

from history.errors import HistoryErrorCode, operation_error
from history.models import VersionExtras
from history.tracking import MAX_CHANGES
from schema import changesets
from schema.connections import VersionConnection, versions_connection
from schema.context import viewer_of
from schema.fields import ARGUMENT_DESCRIPTIONS, After, Before, First, Last
from schema.filters import MATCH_ALL, MATCH_NOTHING, VersionFilter, pk_filter
from schema.history import FieldChangeType, Version, field_changes
from schema.limits import list_bound
from schema.permissions import (
    PERMISSION_DENIED,
    any_history_permission,
    can_view_history,
    readable_versions,
)
from schema.registry import (
    Tracked,
    describe_fields,
    entries,
    entry_for,
    entry_named,
    entry_of_version_type,
    publish,
    registered_models,
)
from schema.writes import RevertOutcome, as_of, revert

AT_DESCRIPTION = "The moment; without an offset it is taken as UTC."


def _refused(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": PERMISSION_DENIED})


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
        metadata=list_bound(MAX_CHANGES),
    )


RevertPayload = Annotated[
    RevertResultType | strawberry_django.fields.types.OperationInfo,
    strawberry.union(
        "RevertPayload",
        description="What the revert did (or would do), or why it was refused.",
    ),
]


@functools.cache
def tracked_model_enum() -> Any:
    """The `TrackedModel` enum: one per schema, whatever field takes it."""
    members = {entry.enum_name: entry.name for entry in entries()}
    python_enum = enum.Enum("TrackedModel", members)  # type: ignore[misc]
    return strawberry.enum(
        python_enum,
        name="TrackedModel",
        description="A tracked model; grows with every model tracked.",
    )


def _audit_filter(tracked_model: Any) -> Any:
    def model(
        self: Any,
        value: list[tracked_model],
        queryset: QuerySet[Any],
        prefix: str,
    ) -> tuple[QuerySet[Any], Q]:
        names = {member.value for member in value}
        own = entry_for(queryset.model.instance_type).name
        # Not an empty Q(): combined by OR it would vanish instead of matching all.
        return queryset, (MATCH_ALL if own in names else MATCH_NOTHING)

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
    namespace["__annotations__"] = {}

    cls = publish("AuditLogFilter", type("AuditLogFilter", (VersionFilter,), namespace))
    audit_filter = strawberry_django.filter_type(
        VersionExtras,
        name="AuditLogFilter",
        description="Filters of the audit log; lookups as in the history feeds.",
    )(cls)
    # strawberry-django adds AND, OR and NOT; `describe_fields` describes them.
    describe_fields(audit_filter, VersionExtras)
    return audit_filter


def build() -> tuple[type, type]:
    """The root query and mutation fields that serve every tracked model."""
    tracked_model = tracked_model_enum()
    audit_filter = _audit_filter(tracked_model)
    history_reader = any_history_permission(registered_models)

    def audit_log(
        self: Any,
        info: Info[Any, Any],
        filters: Annotated[
            Optional[audit_filter],  # type: ignore[valid-type]  # noqa: UP045
            strawberry.argument(description=ARGUMENT_DESCRIPTIONS["filters"]),
        ] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> VersionConnection:
        querysets = []
        for queryset in readable_versions(info):
            if filters is not None:
                queryset = strawberry_django.filters.apply(filters, queryset, info=info)
            querysets.append(optimize(queryset, info))
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
            plural = entry.model._meta.verbose_name_plural
            raise _refused(f"You may not read the history of {plural}.")
        from schema.ids import int64_of

        pk = int64_of(global_id.node_id)
        return (
            None
            if pk is None
            else as_of(entry.model, pk, at, staff=viewer_of(info).is_staff)
        )

    query_namespace: dict[str, Any] = {
        "audit_log": strawberry_django.field(
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
    }
    query_namespace.update(changesets.query_fields(history_reader))
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

    from schema.inputs import RevertInput

    revert_version.__annotations__["input"] = Annotated[
        RevertInput,
        strawberry.argument(description="The version to go back to, and why."),
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
    }
    mutation_namespace.update(changesets.mutation_fields())
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
