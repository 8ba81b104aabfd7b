"""The GraphQL declaration of the tests' tracked model (`Note`).

Listed in the tests' `HISTORY_GRAPHQL_MODULES`, so the GraphQL layer imports it
to declare the model's types. This is all a tracked model needs: its type, its
filter and ordering, its inputs and one registration.
"""

from __future__ import annotations

import strawberry
import strawberry_django
from strawberry import relay

from schema.filters import IntFilterLookup, StrFilterLookup
from schema.ids import IntegerKeyNode
from schema.registry import tracked
from tests.tracked.models import Note


@strawberry_django.filter_type(Note, name="NoteFilter", description="Filters of notes.")
class NoteFilter:
    title: StrFilterLookup | None = strawberry_django.filter_field(
        description="The title."
    )
    priority: IntFilterLookup | None = strawberry_django.filter_field(
        description="The priority."
    )


@strawberry_django.order_type(Note, name="NoteOrder", description="Orderings of notes.")
class NoteOrder:
    title: strawberry.auto = strawberry_django.order_field(description="Title.")


@strawberry.input(name="CreateNoteInput", description="A new note.")
class CreateNoteInput:
    title: str = strawberry.field(description="The title.")
    body: str = strawberry.field(default="", description="The text.")
    priority: int = strawberry.field(default=0, description="The priority.")
    reason: str | None = strawberry.field(default=None, description="Why.")


@strawberry.input(name="UpdateNoteInput", description="Changes to a note.")
class UpdateNoteInput:
    id: strawberry.ID = strawberry.field(description="The note.")
    title: str | None = strawberry.field(default=strawberry.UNSET, description="Title.")
    body: str | None = strawberry.field(default=strawberry.UNSET, description="Text.")
    priority: int | None = strawberry.field(
        default=strawberry.UNSET, description="Priority."
    )
    reason: str | None = strawberry.field(default=None, description="Why.")


@tracked(
    Note,
    filters=NoteFilter,
    order=NoteOrder,
    create_input=CreateNoteInput,
    update_input=UpdateNoteInput,
    description="A note of the tests' own tracked model.",
)
class NoteType(IntegerKeyNode, relay.Node):
    title: strawberry.auto
    body: strawberry.auto
    priority: strawberry.auto
