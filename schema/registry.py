"""Tracked models in the GraphQL API: one declaration each, the rest generated.

A tracked model's GraphQL is its object type, its filter and ordering, its
create and update inputs, and one registration::

    @tracked(Note, filters=NoteFilter, create_input=CreateNoteInput,
             update_input=UpdateNoteInput, description="A note.")
    class NoteType(IntegerKeyNode, relay.Node):
        title: strawberry.auto

From it come the historical type (`HistoricalNote`, implementing `Version`),
its filter, the object's `history` connection, the root fields (`note`,
`notes`, `noteHistory`, `noteAsOf`), the mutations (`createNote`, `updateNote`,
`deleteNote`, `revertNote`) with their payload unions, the `TrackedModel`
enum value, permissions and node costs; `auditLog`, `asOf`, `revert` and
changesets serve it with no further line.

Generated classes live in `schema.generated`, so lazy annotations can name
them. This module does not use postponed annotations: the generated resolvers
carry real type objects.
"""

import dataclasses
import functools
import importlib
from collections.abc import Callable
from typing import Annotated, Any, Union

import strawberry
import strawberry_django
from django.db import models
from strawberry import relay
from strawberry.utils.str_converters import to_camel_case

from history.tracking import history_model_for

GENERATED_MODULE = "schema.generated"


@dataclasses.dataclass(frozen=True)
class Services:
    """The domain services a tracked model's mutations call.

    Each takes keyword arguments only: `create(data, actor, reason)`,
    `update(pk, data, actor, reason)`, `delete(pk, actor, reason)` and
    `revert(pk, record_id, actor, reason, fields, expected_latest_id, dry_run)`.
    """

    create: Callable[..., Any]
    update: Callable[..., Any]
    delete: Callable[..., Any]
    revert: Callable[..., Any]

    @classmethod
    def generic(cls, model: type[models.Model]) -> "Services":
        """The history engine's own services for `model`: enough for a model
        whose writes need nothing of their own."""
        from history.revert import history_revert
        from history.writes import tracked_create, tracked_delete, tracked_update

        return cls(
            create=functools.partial(tracked_create, model=model),
            update=functools.partial(tracked_update, model=model),
            delete=functools.partial(tracked_delete, model=model),
            revert=functools.partial(history_revert, model=model),
        )


@dataclasses.dataclass
class Tracked:
    """One tracked model's declaration, and what was generated from it."""

    model: type[models.Model]
    type: Any
    services: Services
    filters: Any = None
    order: Any = None
    create_input: Any = None
    update_input: Any = None
    # A class whose fields the historical type also has (relations as they were).
    version_fields: Any = None
    # A filter class whose fields the historical filter also has.
    version_filter: Any = None
    # Sentences added to the description of a generated mutation, by verb
    # ("create", "update", "delete", "revert").
    notes: dict[str, str] = dataclasses.field(default_factory=dict)
    # Generated.
    history_type: Any = None
    history_filter: Any = None

    @property
    def name(self) -> str:
        """The GraphQL type name: the model's name, e.g. "Product"."""
        return self.model.__name__

    @property
    def field(self) -> str:
        """The object's field name, e.g. "product"."""
        return to_camel_case(self.model._meta.model_name or "")

    @property
    def python_field(self) -> str:
        return str(self.model._meta.model_name)

    @property
    def python_plural(self) -> str:
        return str(self.model._meta.verbose_name_plural).replace(" ", "_").lower()

    @property
    def history_model(self) -> Any:
        return history_model_for(self.model)

    def described(self, verb: str, description: str) -> str:
        """A generated mutation's description, with the declaration's note."""
        note = self.notes.get(verb)
        return f"{description} {note}" if note else description

    @property
    def enum_name(self) -> str:
        """Its `TrackedModel` value, e.g. "PRODUCT"."""
        return str(self.model._meta.model_name).upper()


_REGISTRY: dict[type[models.Model], Tracked] = {}


def tracked(
    model: type[models.Model],
    *,
    description: str,
    services: Services | None = None,
    filters: Any = None,
    order: Any = None,
    create_input: Any = None,
    update_input: Any = None,
    version_fields: Any = None,
    version_filter: Any = None,
    notes: dict[str, str] | None = None,
) -> Callable[[type], type]:
    """Declare a tracked model's object type; see the module docstring.

    The class is made a strawberry-django type of `model` named after it, with
    a `history` connection of its versions.
    """

    def register(cls: type) -> type:
        from schema import generate

        entry = Tracked(
            model=model,
            type=cls,
            services=services or Services.generic(model),
            filters=filters,
            order=order,
            create_input=create_input,
            update_input=update_input,
            version_fields=version_fields,
            version_filter=version_filter,
            notes=notes or {},
        )
        generate.history_types(entry)
        generate.history_connection(entry, cls)
        django_type = strawberry_django.type(
            model, name=entry.name, description=description
        )(cls)
        describe_fields(django_type, model)
        if filters is not None:
            describe_fields(filters, model)
        entry.type = django_type
        _REGISTRY[model] = entry
        return django_type

    return register


# What strawberry-django adds to every filter, described once for all.
FILTER_OPERATORS = {
    "AND": "Also match this filter.",
    "OR": "Or match this filter.",
    "NOT": "Do not match this filter.",
}


def describe_fields(cls: Any, model: type[models.Model]) -> None:
    """Describe the fields of a declared type that its declaration left
    undescribed: a model field by its help text, else its verbose name; a
    filter's operators by what they do."""
    for field in cls.__strawberry_definition__.fields:
        if field.description:
            continue
        if field.python_name in FILTER_OPERATORS:
            field.description = FILTER_OPERATORS[field.python_name]
            continue
        try:
            model_field = model._meta.get_field(field.python_name)
        except Exception:
            continue
        text = (
            str(getattr(model_field, "help_text", "") or "")
            or str(getattr(model_field, "verbose_name", "")).capitalize()
        )
        field.description = text or None


def declare_all() -> None:
    """Import the modules that declare tracked models (the
    `HISTORY_GRAPHQL_MODULES` setting); importing twice does nothing."""
    from django.conf import settings

    for module in settings.HISTORY_GRAPHQL_MODULES:
        importlib.import_module(module)


def entries() -> list[Tracked]:
    """Every registered tracked model, in registration order."""
    declare_all()
    return list(_REGISTRY.values())


def registered_models() -> list[type[models.Model]]:
    """The models of every registration, in registration order."""
    return [entry.model for entry in entries()]


def entry_for(model: type[models.Model]) -> Tracked:
    """The registration of a tracked model."""
    declare_all()
    return _REGISTRY[model]


def entry_named(type_name: str) -> Tracked | None:
    """The registration whose object type is called `type_name`."""
    for entry in _REGISTRY.values():
        if entry.name == type_name:
            return entry
    return None


def entry_of_version_type(type_name: str) -> Tracked | None:
    """The registration whose historical type is called `type_name`."""
    for entry in _REGISTRY.values():
        if f"Historical{entry.name}" == type_name:
            return entry
    return None


def payload(name: str, member: Any, description: str) -> Any:
    """`member | OperationInfo` as a named union."""
    from strawberry_django.fields.types import OperationInfo

    return Annotated[
        Union[member, OperationInfo],  # noqa: UP007 - built at run time
        strawberry.union(name, description=description),
    ]


@functools.cache
def generated_module() -> Any:
    """The module generated classes are put in."""
    return importlib.import_module(GENERATED_MODULE)


def publish(python_name: str, cls: Any) -> Any:
    """Put a generated class in `schema.generated` under `python_name`."""
    cls.__module__ = GENERATED_MODULE
    cls.__qualname__ = python_name
    setattr(generated_module(), python_name, cls)
    return cls


def lazy(python_name: str) -> Any:
    """A lazy annotation naming a generated class."""
    return Annotated[python_name, strawberry.lazy(GENERATED_MODULE)]


__all__ = [
    "Services",
    "Tracked",
    "entries",
    "entry_for",
    "entry_named",
    "entry_of_version_type",
    "lazy",
    "payload",
    "publish",
    "relay",
    "tracked",
]
