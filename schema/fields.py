"""Connection fields whose arguments are described and shaped as the contract says."""

from __future__ import annotations

from typing import Annotated, Any, TypeAlias

import strawberry
from strawberry.annotation import StrawberryAnnotation
from strawberry.types.arguments import StrawberryArgument
from strawberry_django.fields.field import (
    StrawberryDjangoConnectionExtension,
    StrawberryDjangoField,
)

from schema.connections import is_keyset_connection, prefetch_versions

PAGE_ARGUMENTS = ("first", "after", "last", "before")

ARGUMENT_DESCRIPTIONS = {
    "filters": "Only the nodes matching these filters.",
    "ordering": "Sort by these keys, the first one first.",
    "first": "At most this many nodes from the start (at most 100).",
    "last": "At most this many nodes from the end (at most 100).",
    "after": "Only nodes after this cursor.",
    "before": "Only nodes before this cursor.",
}


# The paging arguments of a connection resolved by hand, described.
First: TypeAlias = Annotated[
    int | None, strawberry.argument(description=ARGUMENT_DESCRIPTIONS["first"])
]
After: TypeAlias = Annotated[
    str | None, strawberry.argument(description=ARGUMENT_DESCRIPTIONS["after"])
]
Last: TypeAlias = Annotated[
    int | None, strawberry.argument(description=ARGUMENT_DESCRIPTIONS["last"])
]
Before: TypeAlias = Annotated[
    str | None, strawberry.argument(description=ARGUMENT_DESCRIPTIONS["before"])
]


def _optional_ordering(argument: StrawberryArgument) -> StrawberryArgument:
    """`ordering: [Order!]` (nullable, no default) instead of `[Order!]! = []`."""
    annotation = argument.type_annotation
    assert annotation is not None
    return StrawberryArgument(
        python_name=argument.python_name,
        graphql_name=argument.graphql_name,
        type_annotation=StrawberryAnnotation(
            annotation.annotation | None,  # type: ignore[operator]
            namespace=annotation.namespace,
        ),
        default=None,
        description=ARGUMENT_DESCRIPTIONS["ordering"],
    )


class DescribedField(StrawberryDjangoField):
    """A strawberry-django field whose generated arguments carry descriptions."""

    @property
    def arguments(self) -> list[StrawberryArgument]:
        arguments: list[StrawberryArgument] = []
        for argument in super().arguments:
            if argument.python_name == "ordering":
                argument = _optional_ordering(argument)
            # Ours over strawberry's, which describes `last` as "the items in
            # the list that come after the specified cursor".
            if argument.python_name in ARGUMENT_DESCRIPTIONS:
                argument.description = ARGUMENT_DESCRIPTIONS[argument.python_name]
            arguments.append(argument)
        return arguments

    @arguments.setter
    def arguments(self, value: list[StrawberryArgument]) -> None:
        args_prop = super(DescribedField, self.__class__).arguments
        args_prop.fset(self, value)  # type: ignore[attr-defined]

    def get_queryset(self, queryset: Any, info: Any, **kwargs: Any) -> Any:
        if kwargs.get("ordering", []) is None:
            kwargs["ordering"] = []
        related_field_id = kwargs.get("_strawberry_related_field_id")
        connection = self._keyset_connection()
        if related_field_id is None or connection is None:
            return super().get_queryset(queryset, info, **kwargs)
        # The optimizer prefetching a nested version connection: it pages only
        # the connection types it knows, so ours pages its own prefetch.
        pages = {name: kwargs.pop(name, None) for name in PAGE_ARGUMENTS}
        queryset = super().get_queryset(queryset, info, **kwargs)
        return prefetch_versions(
            queryset,
            info=info,
            related_field_id=related_field_id,
            max_results=connection.max_results,
            **pages,
        )

    def _keyset_connection(self) -> StrawberryDjangoConnectionExtension | None:
        for extension in self.extensions:
            if isinstance(
                extension, StrawberryDjangoConnectionExtension
            ) and is_keyset_connection(extension.connection_type):
                return extension
        return None
