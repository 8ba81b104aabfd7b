"""What every tracked model's GraphQL has, generated from its declaration.

See `schema.registry`. No postponed annotations here: resolvers and classes are
built at run time with real type objects.
"""

import datetime
import inspect
from typing import Annotated, Any, Optional

import strawberry
import strawberry_django
from django.db import models
from django.db.models import Q
from strawberry import relay
from strawberry.types import Info

from history.tracking import MAX_CHANGES, is_text, tracked_fields
from schema.connections import KeysetConnection
from schema.context import viewer_of
from schema.fields import DescribedField
from schema.filters import (
    DecimalFilterLookup,
    IntFilterLookup,
    StrFilterLookup,
    VersionFilter,
    pk_filter,
)
from schema.history import (
    FieldChangeType,
    Version,
    field_changes,
    load_live_object,
    load_neighbour,
    load_version,
    object_global_id,
)
from schema.ids import IntegerKeyNode, pk_of
from schema.limits import list_bound
from schema.permissions import history_permission
from schema.registry import Tracked, describe_fields, lazy, payload, publish
from schema.writes import RevertOutcome, as_of, live, object_data, revert

NO_ARGUMENT_DESCRIPTION = "The moment; without an offset it is taken as UTC."


def _lookup_for(field: "models.Field[Any, Any]") -> Any:
    if isinstance(field, models.DecimalField):
        return DecimalFilterLookup
    if isinstance(field, models.IntegerField):
        return IntFilterLookup
    if is_text(field):
        return StrFilterLookup
    return None


def _value_fields(model: type[models.Model]) -> "list[models.Field[Any, Any]]":
    """The tracked fields a version shows as its own values (not relations)."""
    return [field for field in tracked_fields(model) if not field.is_relation]


def history_types(entry: Tracked) -> None:
    """Generate the historical type and its filter."""
    entry.history_type = _history_type(entry)
    entry.history_filter = _history_filter(entry)


def _history_type(entry: Tracked) -> Any:
    type_name = f"Historical{entry.name}"
    python_name = f"{type_name}Type"
    own = lazy(python_name)
    object_type = entry.type
    noun = entry.model._meta.verbose_name
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {}
    for field in _value_fields(entry.model):
        annotations[field.name] = strawberry.auto

    def object_id(self: Any) -> relay.GlobalID:
        return object_global_id(self)

    async def live_object(self: Any, info: Info[Any, Any]) -> Any:
        return await load_live_object(info, self)

    async def previous(self: Any, info: Info[Any, Any]) -> Any:
        return await load_neighbour(info, self, newer=False)

    async def next_(self: Any, info: Info[Any, Any]) -> Any:
        return await load_neighbour(info, self, newer=True)

    async def reverted_from(self: Any, info: Info[Any, Any]) -> Any:
        return await load_version(info, entry.model, self.history_reverted_from_id)

    live_object.__annotations__["return"] = Optional[object_type]  # noqa: UP045
    for resolver in (previous, next_, reverted_from):
        resolver.__annotations__["return"] = Optional[own]  # noqa: UP045
    namespace[f"{entry.python_field}_id"] = strawberry_django.field(
        object_id,
        only=["id"],
        description=f"Global id of the {noun}; valid even after it was deleted.",
    )
    namespace[entry.python_field] = strawberry_django.field(
        live_object,
        only=["id"],
        description=f"The live {noun}; null once it has been deleted.",
    )
    namespace["previous"] = strawberry_django.field(
        previous,
        only=["id", "history_id"],
        description=f"The version of this {noun} just before this one.",
    )
    namespace["next"] = strawberry_django.field(
        next_,
        only=["id", "history_id"],
        description=f"The version of this {noun} just after this one.",
    )
    namespace["reverted_from"] = strawberry_django.field(
        reverted_from,
        only=["history_reverted_from_id"],
        description="Set when a revert made this version: the version it went back to.",
    )
    namespace["__annotations__"] = annotations
    bases = (
        *((entry.version_fields,) if entry.version_fields else ()),
        Version,
        IntegerKeyNode,
        relay.Node,
    )
    cls = publish(python_name, type(python_name, bases, namespace))
    history_type = strawberry_django.type(
        entry.history_model,
        name=type_name,
        description=(
            f"One immutable version of a {noun}: its values right after a change, "
            "and who/when/why."
        ),
    )(cls)
    describe_fields(history_type, entry.model)
    return history_type


def _history_filter(entry: Tracked) -> Any:
    type_name = f"Historical{entry.name}Filter"
    noun = entry.model._meta.verbose_name
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {}
    for field in _value_fields(entry.model):
        lookup = _lookup_for(field)
        if lookup is None:
            continue
        annotations[field.name] = Optional[lookup]  # noqa: UP045
        namespace[field.name] = strawberry_django.filter_field(
            description=f"The version's own {field.verbose_name}."
        )
    pk_name = entry.model._meta.pk.attname
    type_of_object = entry.name

    def of_object(self: Any, value: strawberry.ID, prefix: str) -> Q:
        return pk_filter(prefix, pk_name, value, type_of_object)

    namespace[entry.python_field] = strawberry_django.filter_field(
        of_object, description=f"Versions of one {noun}, deleted ones included."
    )
    namespace["__annotations__"] = annotations
    bases = (
        *((entry.version_filter,) if entry.version_filter else ()),
        VersionFilter,
    )
    cls = publish(type_name, type(type_name, bases, namespace))
    # strawberry-django adds AND, OR and NOT; `describe_fields` describes them.
    history_filter = strawberry_django.filter_type(
        entry.history_model,
        name=type_name,
        description=f"Filters of both {noun} history connections.",
    )(cls)
    describe_fields(history_filter, entry.history_model)
    return history_filter


def _versions_relation(entry: Tracked) -> str:
    """The reverse relation from an object to its versions."""
    relation = entry.history_model._meta.get_field("history_relation")
    return str(relation.remote_field.related_name)


def history_connection(entry: Tracked, cls: type) -> None:
    """Give the object type its `history` connection."""
    noun = entry.model._meta.verbose_name
    cls.__annotations__ = {
        **inspect.get_annotations(cls),
        "history": KeysetConnection[lazy(f"Historical{entry.name}Type")],  # type: ignore[misc]
    }
    cls.history = strawberry_django.connection(  # type: ignore[attr-defined]
        field_name=_versions_relation(entry),
        field_cls=DescribedField,
        filters=lazy(f"Historical{entry.name}Filter"),
        permission_classes=[history_permission(entry.model)],
        description=f"Every recorded version of this {noun}, newest first.",
    )


# Root fields ---------------------------------------------------------------


def query_type(entry: Tracked) -> type:
    """The root query fields of one tracked model."""
    model = entry.model
    noun = model._meta.verbose_name
    plural = model._meta.verbose_name_plural
    object_type = entry.type
    history_type = entry.history_type
    type_name = entry.name
    namespace: dict[str, Any] = {}
    annotations: dict[str, Any] = {}

    def one(
        self: Any,
        id: Annotated[strawberry.ID, strawberry.argument(description=f"The {noun}.")],
    ) -> Any:
        return live(model, pk_of(id, type_name))

    one.__annotations__["return"] = Optional[object_type]  # noqa: UP045
    namespace[entry.python_field] = strawberry_django.field(
        one,
        description=(
            f"A {noun} by its global id; null when it does not exist (or was deleted)."
        ),
    )
    annotations[entry.python_plural] = strawberry_django.relay.DjangoListConnection[
        object_type  # type: ignore[valid-type]
    ]
    namespace[entry.python_plural] = strawberry_django.connection(
        field_cls=DescribedField,
        filters=entry.filters,
        ordering=entry.order,
        description=f"The {plural} of the catalog.",
    )
    annotations[f"{entry.python_field}_history"] = KeysetConnection[
        history_type  # type: ignore[valid-type]
    ]
    namespace[f"{entry.python_field}_history"] = strawberry_django.connection(
        field_cls=DescribedField,
        filters=entry.history_filter,
        permission_classes=[history_permission(model)],
        description=(
            f"The audit feed of {plural}: every version of every {noun}, deleted "
            "ones included, newest first."
        ),
    )

    def at_moment(
        self: Any,
        info: Info[Any, Any],
        id: Annotated[
            strawberry.ID,
            strawberry.argument(description=f"The {noun}, deleted or not."),
        ],
        at: Annotated[
            datetime.datetime,
            strawberry.argument(description=NO_ARGUMENT_DESCRIPTION),
        ],
    ) -> Any:
        pk = pk_of(id, type_name)
        if pk is None:
            return None
        return as_of(model, pk, at, staff=viewer_of(info).is_staff)

    at_moment.__annotations__["return"] = Optional[history_type]  # noqa: UP045
    namespace[f"{entry.python_field}_as_of"] = strawberry_django.field(
        at_moment,
        permission_classes=[history_permission(model)],
        description=(
            f"The version of a {noun} that was in force at a moment; null if it did "
            "not exist then."
        ),
    )
    namespace["__annotations__"] = annotations
    name = f"{type_name}Query"
    return strawberry.type(type(name, (), namespace), name=name)


def _revert_result(entry: Tracked) -> Any:
    noun = entry.model._meta.verbose_name
    name = f"Revert{entry.name}Result"
    annotations = {
        entry.python_field: entry.type,
        "record": Optional[entry.history_type],  # noqa: UP045
        "changes": list[FieldChangeType],
    }
    namespace: dict[str, Any] = {
        "__annotations__": annotations,
        entry.python_field: strawberry.field(
            description=f"The {noun} after the revert (as it would be, on a dry run)."
        ),
        "record": strawberry.field(
            description=(
                "The version the revert wrote; null on a dry run, and for viewers "
                "who may not read history."
            )
        ),
        "changes": strawberry.field(
            description=(
                "What the revert changed, or would change; empty for viewers who "
                "may not read history (it shows the version's values)."
            ),
            metadata=list_bound(MAX_CHANGES),
        ),
    }
    cls = publish(name, type(name, (), namespace))
    return strawberry.type(
        cls, name=name, description="What a revert did, or would do."
    )


def _revert_input(entry: Tracked) -> Any:
    from schema.inputs import RevertFields

    noun = entry.model._meta.verbose_name
    name = f"Revert{entry.name}Input"
    namespace: dict[str, Any] = {
        "__annotations__": {"id": strawberry.ID, "record": strawberry.ID},
        "id": strawberry.field(
            description=f"The {noun}; a deleted {noun} is restored under the same id."
        ),
        "record": strawberry.field(
            description=(
                f"The Historical{entry.name} to go back to; it must belong to this "
                f"{noun}."
            )
        ),
    }
    cls = publish(name, type(name, (RevertFields,), namespace))
    return strawberry.input(
        cls, name=name, description=f"Bring a {noun} back to one of its versions."
    )


def mutation_type(entry: Tracked) -> type:
    """The create, update, delete and revert mutations of one tracked model."""
    model = entry.model
    noun = model._meta.verbose_name
    label = model._meta.app_label
    codename = model._meta.model_name
    object_type = entry.type
    type_name = entry.name
    result_type = _revert_result(entry)
    revert_input = _revert_input(entry)
    namespace: dict[str, Any] = {}

    def actor(info: Info[Any, Any]) -> Any:
        return viewer_of(info).user

    if entry.create_input is not None:

        def create(self: Any, info: Info[Any, Any], input: Any) -> Any:
            return entry.services.create(
                data=object_data(model, input), actor=actor(info), reason=input.reason
            )

        create.__annotations__["input"] = Annotated[
            entry.create_input,
            strawberry.argument(description=f"The new {noun} and why it is added."),
        ]
        create.__annotations__["return"] = payload(
            f"Create{type_name}Payload",
            object_type,
            f"The new {noun}, or why it was refused.",
        )
        namespace[f"create_{entry.python_field}"] = strawberry_django.mutation(
            create,
            description=entry.described(
                "create", f"Create a {noun} (needs {label}.add_{codename})."
            ),
        )

    if entry.update_input is not None:

        def update(self: Any, info: Info[Any, Any], input: Any) -> Any:
            return entry.services.update(
                pk=pk_of(input.id, type_name),
                data=object_data(model, input),
                actor=actor(info),
                reason=input.reason,
            )

        update.__annotations__["input"] = Annotated[
            entry.update_input,
            strawberry.argument(
                description=f"The {noun}, the fields to change and why."
            ),
        ]
        update.__annotations__["return"] = payload(
            f"Update{type_name}Payload",
            object_type,
            f"The changed {noun}, or why it was refused.",
        )
        namespace[f"update_{entry.python_field}"] = strawberry_django.mutation(
            update,
            description=entry.described(
                "update",
                f"Change a {noun} (needs {label}.change_{codename}); a change of no "
                "value writes no version.",
            ),
        )

    delete_input = _delete_input(entry)

    def delete(self: Any, info: Info[Any, Any], input: Any) -> Any:
        return entry.services.delete(
            pk=pk_of(input.id, type_name), actor=actor(info), reason=input.reason
        )

    delete.__annotations__["input"] = Annotated[
        delete_input,
        strawberry.argument(description=f"The {noun} and why it is deleted."),
    ]
    delete.__annotations__["return"] = payload(
        f"Delete{type_name}Payload",
        object_type,
        f"The deleted {noun}, or why it was refused.",
    )
    namespace[f"delete_{entry.python_field}"] = strawberry_django.mutation(
        delete,
        description=entry.described(
            "delete",
            f"Delete a {noun} (needs {label}.delete_{codename}); its history stays.",
        ),
    )

    def revert_object(self: Any, info: Info[Any, Any], input: Any) -> Any:
        outcome: RevertOutcome = revert(
            info,
            entry,
            record=input.record,
            object_id=input.id,
            reason=input.reason,
            fields=input.fields,
            expected_latest=input.expected_latest,
            dry_run=bool(input.dry_run),
        )
        return result_type(
            **{entry.python_field: outcome.instance},
            record=outcome.record,
            changes=field_changes(outcome.changes),
        )

    revert_object.__annotations__["input"] = Annotated[
        revert_input,
        strawberry.argument(
            description=f"The {noun}, the version to go back to, and why."
        ),
    ]
    revert_object.__annotations__["return"] = payload(
        f"Revert{type_name}Payload",
        result_type,
        "What the revert did (or would do), or why it was refused.",
    )
    namespace[f"revert_{entry.python_field}"] = strawberry_django.mutation(
        revert_object,
        description=entry.described(
            "revert",
            f"Bring a {noun} back to one of its versions, with a reason; restores a "
            f"deleted {noun} under its old id (needs {label}.change_{codename}, and "
            f"{label}.add_{codename} to restore).",
        ),
    )
    name = f"{type_name}Mutation"
    return strawberry.type(type(name, (), namespace), name=name)


def _delete_input(entry: Tracked) -> Any:
    noun = entry.model._meta.verbose_name
    name = f"Delete{entry.name}Input"
    namespace: dict[str, Any] = {
        "__annotations__": {"id": strawberry.ID, "reason": Optional[str]},  # noqa: UP045
        "id": strawberry.field(description=f"The {noun}."),
        "reason": strawberry.field(
            default=None,
            description="Why: stored as the DELETED version's change reason.",
        ),
    }
    cls = publish(name, type(name, (), namespace))
    return strawberry.input(cls, name=name, description=f"A {noun} to delete.")
