"""Connection fields whose arguments are described and shaped as the contract says."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.annotation import StrawberryAnnotation
from strawberry.types.arguments import StrawberryArgument
from strawberry_django.fields.field import StrawberryDjangoField

ARGUMENT_DESCRIPTIONS = {
    "filters": "Only the nodes matching these filters.",
    "ordering": "Sort by these keys, the first one first.",
    "first": "At most this many nodes from the start (at most 100).",
    "last": "At most this many nodes from the end (at most 100).",
    "after": "Only nodes after this cursor.",
    "before": "Only nodes before this cursor.",
}


def _page_argument(name: str, python_type: type) -> Any:
    """An optional paging argument, described."""
    return Annotated[
        python_type | None,
        strawberry.argument(description=ARGUMENT_DESCRIPTIONS[name]),
    ]


# The paging arguments of a connection resolved by hand.
First = _page_argument("first", int)
After = _page_argument("after", str)
Last = _page_argument("last", int)
Before = _page_argument("before", str)


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
            if argument.description is None:
                argument.description = ARGUMENT_DESCRIPTIONS.get(argument.python_name)
            arguments.append(argument)
        return arguments

    @arguments.setter
    def arguments(self, value: list[StrawberryArgument]) -> None:
        args_prop = super(DescribedField, self.__class__).arguments
        args_prop.fset(self, value)  # type: ignore[attr-defined]

    def get_queryset(self, queryset: Any, info: Any, **kwargs: Any) -> Any:
        if kwargs.get("ordering", []) is None:
            kwargs["ordering"] = []
        return super().get_queryset(queryset, info, **kwargs)
