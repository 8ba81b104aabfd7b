"""Limits on what one GraphQL document may ask, checked before it runs.

- depth: how deeply fields nest (fragments are inlined);
- aliases: how many aliased fields a document has;
- tokens: how long the document is (enforced by the parser);
- nodes: the worst-case number of objects the answer could hold, computed as
  GitHub's GraphQL API does: every connection multiplies what is below it by
  its `first`/`last` (or by the maximum page size when neither is given), and
  every field that fetches another object (`previous`, `next`, ...) counts one
  object per parent. The computed cost is reported in the answer's
  `extensions.cost`.

Each limit is a setting (see `config/settings.py`); an operation over a limit
is refused with a GraphQL error carrying `extensions.code`, before it touches
the database.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.conf import settings
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
)
from strawberry.extensions import SchemaExtension

# Fields that fetch another object for each parent, by the type they are on.
FETCHING_FIELDS = {"previous", "next", "revertedFrom", "product", "diff"}


class LimitCode(StrEnum):
    """Why a document was refused before it ran."""

    QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
    TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
    TOO_MANY_NODES = "TOO_MANY_NODES"
    TOO_MANY_TOKENS = "TOO_MANY_TOKENS"
    BAD_USER_INPUT = "BAD_USER_INPUT"


@dataclass
class Limits:
    """The limits in force, read from settings when a request starts."""

    max_depth: int
    max_aliases: int
    max_tokens: int
    max_nodes: int
    page_size: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            max_depth=settings.GRAPHQL_MAX_DEPTH,
            max_aliases=settings.GRAPHQL_MAX_ALIASES,
            max_tokens=settings.GRAPHQL_MAX_TOKENS,
            max_nodes=settings.GRAPHQL_MAX_NODES,
            page_size=settings.GRAPHQL_MAX_PAGE_SIZE,
        )


@dataclass
class Measure:
    """What the walk over one operation found."""

    depth: int = 0
    aliases: int = 0
    nodes: int = 0
    deepest: FieldNode | None = None


class _Walker:
    def __init__(
        self,
        context: ValidationContext,
        variables: dict[str, Any],
        page_size: int,
    ) -> None:
        self.schema = context.schema
        self.fragments: dict[str, FragmentDefinitionNode] = {
            d.name.value: d
            for d in context.document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }
        self.variables = variables
        self.page_size = page_size
        self.measure = Measure()
        self.too_large: list[tuple[FieldNode, str]] = []
        self.bad_cursors: list[tuple[FieldNode, str]] = []

    def _cursors(self, field: FieldNode) -> None:
        for argument in field.arguments or ():
            if argument.name.value not in ("after", "before"):
                continue
            value = argument.value
            given: Any = None
            if isinstance(value, StringValueNode):
                given = value.value
            elif isinstance(value, VariableNode):
                given = self.variables.get(value.name.value)
            if isinstance(given, str) and not _sane_cursor(given):
                self.bad_cursors.append((field, argument.name.value))

    def _page(self, field: FieldNode) -> int:
        page = self.page_size
        for argument in field.arguments or ():
            if argument.name.value not in ("first", "last"):
                continue
            value = argument.value
            given: Any = None
            if isinstance(value, IntValueNode):
                given = int(value.value)
            elif isinstance(value, VariableNode):
                given = self.variables.get(value.name.value)
            if isinstance(given, int) and not isinstance(given, bool):
                if given > self.page_size:
                    self.too_large.append((field, argument.name.value))
                page = max(min(given, page), 0)
        return page

    def walk(
        self,
        selection_set: SelectionSetNode | None,
        parent: GraphQLNamedType | None,
        multiplier: int,
        depth: int,
        visiting: frozenset[str] = frozenset(),
    ) -> None:
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                self._field(selection, parent, multiplier, depth, visiting)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = (
                    self.schema.get_type(condition.name.value) if condition else parent
                )
                self.walk(selection.selection_set, target, multiplier, depth, visiting)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in visiting:
                    continue
                target = self.schema.get_type(fragment.type_condition.name.value)
                self.walk(
                    fragment.selection_set, target, multiplier, depth, visiting | {name}
                )

    def _field(
        self,
        field: FieldNode,
        parent: GraphQLNamedType | None,
        multiplier: int,
        depth: int,
        visiting: frozenset[str],
    ) -> None:
        name = field.name.value
        if name.startswith("__"):
            return
        if field.alias is not None:
            self.measure.aliases += 1
        if depth + 1 > self.measure.depth:
            self.measure.depth = depth + 1
            self.measure.deepest = field
        definition = getattr(parent, "fields", {}).get(name)
        if definition is None:
            return  # unknown fields are reported by the standard rules
        named = get_named_type(definition.type)
        if named.name.endswith("Connection"):
            self._cursors(field)
            multiplier *= self._page(field)
            self.measure.nodes += multiplier
        elif name in FETCHING_FIELDS:
            self.measure.nodes += multiplier
        self.walk(field.selection_set, named, multiplier, depth + 1, visiting)


MAX_OFFSET = 10**9


def _sane_cursor(cursor: str) -> bool:
    """Whether a connection cursor decodes to an offset the database can use."""
    try:
        kind, offset = base64.b64decode(cursor, validate=True).decode().split(":")
        return kind == "arrayconnection" and 0 <= int(offset) <= MAX_OFFSET
    except (ValueError, UnicodeDecodeError, binascii.Error):
        return False


class QueryLimits(SchemaExtension):
    """Refuse documents over the limits; report the computed cost."""

    def __init__(self) -> None:
        self.limits = Limits.from_settings()
        self.measure: Measure | None = None

    def on_operation(self) -> Iterator[None]:
        self.execution_context.parse_options["max_tokens"] = self.limits.max_tokens
        yield
        for error in self.execution_context.pre_execution_errors or ():
            if "tokens" in error.message and not (error.extensions or {}).get("code"):
                error.extensions = {
                    **(error.extensions or {}),
                    "code": LimitCode.TOO_MANY_TOKENS.value,
                }

    def on_validate(self) -> Iterator[None]:
        extension = self
        limits = self.limits
        variables = self.execution_context.variables or {}

        class LimitsRule(ValidationRule):
            def enter_operation_definition(
                self, node: OperationDefinitionNode, *args: Any
            ) -> None:
                walker = _Walker(self.context, variables, limits.page_size)
                root = self.context.schema.get_root_type(node.operation)
                walker.walk(node.selection_set, root, 1, 0)
                measure = walker.measure
                extension.measure = measure
                at = [measure.deepest] if measure.deepest else [node]
                for field, argument in walker.bad_cursors:
                    self._refuse(
                        f"Argument '{argument}' is not a cursor this API gave out.",
                        LimitCode.BAD_USER_INPUT,
                        [field],
                    )
                for field, argument in walker.too_large:
                    self._refuse(
                        f"Argument '{argument}' cannot be higher than "
                        f"{limits.page_size}.",
                        LimitCode.BAD_USER_INPUT,
                        [field],
                    )
                if measure.depth > limits.max_depth:
                    self._refuse(
                        f"The query is {measure.depth} fields deep; at most "
                        f"{limits.max_depth} are allowed.",
                        LimitCode.QUERY_TOO_DEEP,
                        at,
                    )
                if measure.aliases > limits.max_aliases:
                    self._refuse(
                        f"The query has {measure.aliases} aliases; at most "
                        f"{limits.max_aliases} are allowed.",
                        LimitCode.TOO_MANY_ALIASES,
                        [node],
                    )
                if measure.nodes > limits.max_nodes:
                    self._refuse(
                        f"The query could return {measure.nodes} nodes; at most "
                        f"{limits.max_nodes} are allowed. Ask for smaller pages "
                        "(first/last) or fewer nested connections.",
                        LimitCode.TOO_MANY_NODES,
                        [node],
                    )

            def _refuse(self, message: str, code: LimitCode, nodes: list[Any]) -> None:
                self.report_error(
                    GraphQLError(message, nodes=nodes, extensions={"code": code.value})
                )

        context = self.execution_context
        context.validation_rules = (*context.validation_rules, LimitsRule)
        yield

    def get_results(self) -> dict[str, Any]:
        if self.measure is None:
            return {}
        return {
            "cost": {
                "nodes": self.measure.nodes,
                "maxNodes": self.limits.max_nodes,
                "depth": self.measure.depth,
                "maxDepth": self.limits.max_depth,
            }
        }
