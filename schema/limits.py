"""Limits on what one GraphQL document may ask, checked before it runs.

- depth: how deeply fields nest (fragments are inlined);
- aliases: how many aliased fields the document has, fragments expanded;
- tokens: how long the document is (strawberry's `MaxTokensLimiter`, built by
  `token_limit`, has the parser enforce it; `QueryLimits` gives its error a code);
- nodes: the worst-case number of objects the answer could hold, computed as
  GitHub's GraphQL API does: every connection multiplies what is below it by
  its `first`/`last` (or by the maximum page size when neither is given), every
  list of objects by the bound its field declares (`list_bound`), and every
  other field that returns an object counts one object per parent, or as many
  as it declares (`node_cost`) when it does the work of more.
  Introspection counts like any other field (see `_SchemaShape`). The computed
  cost is reported in the answer's `extensions.cost`;
- inputs: how long a list in an argument may be, how deeply input objects nest
  and how many terms one filter has, in literals and variables alike;
- fields declared `once_per_operation()` (`login`: it hashes a password) may be
  selected once per operation.

Each limit is a setting (see `config/settings.py`); an operation over a limit
is refused with a GraphQL error carrying `extensions.code`, before it touches
the database.

The walk costs time linear in the document and its variables: each fragment is
measured once (per introspection context, a handful at most) and each spread
reuses the measure, since a fragment's node cost is linear in the number of
parents it is spread under.

strawberry's own limiters, measured against this walk (validation alone, best
of 3, on a document of 20 fragments each spreading the next twice: 40 spreads):

- `MaxTokensLimiter` is used as it is (`token_limit`); it only sets the
  parser's `max_tokens`, as this module did by hand.
- `MaxAliasesLimiter` re-walks a fragment at every spread, so the document took
  3850 ms where this walk takes 0.9 ms, and its error has no
  `extensions.code`, so clients would lose `TOO_MANY_ALIASES`.
- `QueryDepthLimiter` re-walks a fragment at every spread too (13,192 ms on that
  document), skips introspection fields (a `__schema { types { fields { type
  { ofType ... } } } }` chain is depth 0 to it), and its error has no
  `extensions.code` (`QUERY_TOO_DEEP` would be lost).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.conf import settings
from graphql import (
    BooleanValueNode,
    EnumValueNode,
    FieldNode,
    FloatValueNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SchemaMetaFieldDef,
    SelectionSetNode,
    StringValueNode,
    TypeMetaFieldDef,
    TypeNameMetaFieldDef,
    ValidationContext,
    ValidationRule,
    ValueNode,
    VariableNode,
    get_named_type,
    is_composite_type,
    is_list_type,
    value_from_ast_untyped,
)
from graphql.type.introspection import introspection_types
from strawberry.extensions import MaxTokensLimiter, SchemaExtension
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry_django.fields.types import OperationInfo

# Metadata keys read from a strawberry field definition.
LIST_BOUND = "limits.list_bound"
LIST_TOTAL = "limits.list_total"
NODE_COST = "limits.node_cost"
ONCE_PER_OPERATION = "limits.once_per_operation"

# The most messages an `OperationInfo` holds. The library type cannot carry a
# `list_bound`; its messages come from validating the request's own input (one
# per invalid value, bulk mutations take at most 1000 rows).
MAX_OPERATION_MESSAGES = 1000
# List fields of library types, by the type's Python class and field name.
LIBRARY_LIST_BOUNDS: dict[tuple[type, str], int] = {
    (OperationInfo, "messages"): MAX_OPERATION_MESSAGES,
}

BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF


def list_bound(most: int, *, per_list: int | None = None) -> dict[str, int]:
    """Field metadata declaring the longest list the field answers.

    Every list field declares one: the node cost multiplies what is selected
    below a list of objects by it (`strawberry.field(..., metadata=list_bound(50))`).
    `per_list` bounds the total over all the items of a list the parent is in,
    when that is less than `most` times the list's bound: only text fields have
    segments, so the changes of one version have at most (text fields) times
    `MAX_SEGMENTS` segments in all, not `MAX_CHANGES` times as many.
    """
    if per_list is None:
        return {LIST_BOUND: most}
    return {LIST_BOUND: most, LIST_TOTAL: per_list}


def node_cost(nodes: int | Callable[[], int]) -> dict[str, Any]:
    """Field metadata declaring how many nodes each object the field answers
    counts for: one by default; more for a field whose resolver does the work
    of many objects (verifying a chain reads and hashes every version of it).
    A callable is called when a document is measured, so a setting can give
    the cost. Combine with other metadata: `{**list_bound(...), **node_cost(...)}`.
    """
    return {NODE_COST: nodes}


def once_per_operation() -> dict[str, bool]:
    """Field metadata: the field may be selected once per operation (each
    response key runs it once); for fields too costly to repeat, like `login`."""
    return {ONCE_PER_OPERATION: True}


class LimitCode(StrEnum):
    """Why a document was refused before it ran."""

    QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
    TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
    TOO_MANY_NODES = "TOO_MANY_NODES"
    TOO_MANY_TOKENS = "TOO_MANY_TOKENS"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    REPEATED_FIELD = "REPEATED_FIELD"


@dataclass
class Limits:
    """The limits in force, read from settings when a request starts."""

    max_depth: int
    max_aliases: int
    max_nodes: int
    page_size: int
    max_list_input: int
    max_input_depth: int
    max_filter_terms: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            max_depth=settings.GRAPHQL_MAX_DEPTH,
            max_aliases=settings.GRAPHQL_MAX_ALIASES,
            max_nodes=settings.GRAPHQL_MAX_NODES,
            page_size=settings.GRAPHQL_MAX_PAGE_SIZE,
            max_list_input=settings.GRAPHQL_MAX_LIST_INPUT,
            max_input_depth=settings.GRAPHQL_MAX_INPUT_DEPTH,
            max_filter_terms=settings.GRAPHQL_MAX_FILTER_TERMS,
        )


@dataclass
class Measure:
    """What the walk over one operation found."""

    depth: int = 0
    aliases: int = 0
    nodes: int = 0
    deepest: FieldNode | None = None


# -- introspection ------------------------------------------------------------------

# Sets of introspection objects a selection can range over whole: the schema,
# every type of it, every field of every type, every directive.
SCHEMA, TYPES, FIELDS, DIRECTIVES = "schema", "types", "fields", "directives"
# The items of one list field of the parent.
LIST = "list"
# What one copy of a selection's parents is: one object (None), or a set of a
# kind above, with its size.
Scope = tuple[str, int] | None


@dataclass(frozen=True)
class _IntrospectionList:
    """How long an introspection list can be.

    `most` bounds it for any one parent. `whole` maps a set of parents to the
    total length over all of them and the set its items then form: all types'
    fields together are the schema's fields, far fewer than the number of types
    times the longest type.
    """

    most: int
    whole: Mapping[str, tuple[int, str | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class _SchemaShape:
    """Bounds of the introspection lists, counted in the schema itself.

    Nodes: a selection over `__schema { types }` ranges over every type once, so
    a list below it is bounded by its total over the schema (`fields` below
    `types` by the number of fields of all types, `args` below those by the
    number of all arguments); anywhere else (`type { fields }`, `__type`) a list
    is bounded by its longest instance. Both are sound; the first keeps
    GraphiQL's introspection query in the low thousands of nodes, where the
    product of longest lists would be over 40,000.

    Depth: `ofType` unwraps one list or non-null wrapper; after as many steps as
    the schema's most wrapped type has wrappers (`[T!]!` has 3), it is null for
    every type, and below a named type (from `types`, `interfaces`, `__type`,
    ...) it is null at once. So an `ofType` past that point counts as the null
    field it answers, and what it selects counts for nothing: GraphiQL's query
    nests `ofType` 9 deep for any schema; its answers here stop after `wrapping`
    (3 for this schema), and so does its measured depth.
    """

    lists: Mapping[tuple[str, str], _IntrospectionList]
    wrapping: int


def _wrappers(type_: Any) -> int:
    count = 0
    while isinstance(type_, GraphQLList | GraphQLNonNull):
        count += 1
        type_ = type_.of_type
    return count


@functools.cache
def _schema_shape(schema: GraphQLSchema) -> _SchemaShape:
    named = list(schema.type_map.values())
    with_fields = [
        t for t in named if isinstance(t, GraphQLObjectType | GraphQLInterfaceType)
    ]
    fields = [f for t in with_fields for f in t.fields.values()]
    inputs = [t for t in named if isinstance(t, GraphQLInputObjectType)]
    enums = [t for t in named if isinstance(t, GraphQLEnumType)]
    abstract = [
        t for t in named if isinstance(t, GraphQLInterfaceType | GraphQLUnionType)
    ]
    possible = [len(schema.get_possible_types(t)) for t in abstract]
    interfaces = [len(t.interfaces) for t in with_fields]
    directives = list(schema.directives)
    typed = [
        *(f.type for f in fields),
        *(a.type for f in fields for a in f.args.values()),
        *(f.type for t in inputs for f in t.fields.values()),
        *(a.type for d in directives for a in d.args.values()),
    ]

    def most(counts: list[int]) -> int:
        return max(counts, default=0)

    field_counts = [len(t.fields) for t in with_fields]
    arg_counts = [len(f.args) for f in fields]
    input_counts = [len(t.fields) for t in inputs]
    enum_counts = [len(t.values) for t in enums]
    directive_args = [len(d.args) for d in directives]
    location_count = len(introspection_types["__DirectiveLocation"].values)  # type: ignore[attr-defined]
    lists = {
        ("__Schema", "types"): _IntrospectionList(
            len(named), {SCHEMA: (len(named), TYPES)}
        ),
        ("__Schema", "directives"): _IntrospectionList(
            len(directives), {SCHEMA: (len(directives), DIRECTIVES)}
        ),
        ("__Type", "fields"): _IntrospectionList(
            most(field_counts), {TYPES: (sum(field_counts), FIELDS)}
        ),
        ("__Type", "interfaces"): _IntrospectionList(
            most(interfaces), {TYPES: (sum(interfaces), None)}
        ),
        ("__Type", "possibleTypes"): _IntrospectionList(
            most(possible), {TYPES: (sum(possible), None)}
        ),
        ("__Type", "enumValues"): _IntrospectionList(
            most(enum_counts), {TYPES: (sum(enum_counts), None)}
        ),
        ("__Type", "inputFields"): _IntrospectionList(
            most(input_counts), {TYPES: (sum(input_counts), None)}
        ),
        ("__Field", "args"): _IntrospectionList(
            most(arg_counts), {FIELDS: (sum(arg_counts), None)}
        ),
        ("__Directive", "args"): _IntrospectionList(
            most(directive_args), {DIRECTIVES: (sum(directive_args), None)}
        ),
        ("__Directive", "locations"): _IntrospectionList(location_count),
    }
    return _SchemaShape(
        lists=lists,
        wrapping=most([_wrappers(t) for t in typed]),
    )


# -- list bounds --------------------------------------------------------------------


def is_connection_plumbing(parent: GraphQLNamedType, name: str) -> bool:
    """Whether a field only leads to a connection's nodes (`edges`, `node`,
    `pageInfo`): the connection itself counts them."""
    return parent.name.endswith(("Connection", "Edge"))


def declared_list_bound(
    parent: GraphQLNamedType, name: str, definition: GraphQLField
) -> int | None:
    """The bound a list field declares: `list_bound` metadata on its strawberry
    field, or `LIBRARY_LIST_BOUNDS` for a library type; None if it declares none."""
    strawberry_field = definition.extensions.get(BACKREF)
    metadata = getattr(strawberry_field, "metadata", None) or {}
    if LIST_BOUND in metadata:
        return int(metadata[LIST_BOUND])
    origin = getattr(parent.extensions.get(BACKREF), "origin", None)
    python_name = getattr(strawberry_field, "python_name", name)
    return LIBRARY_LIST_BOUNDS.get((origin, python_name))  # type: ignore[arg-type]


# -- the walk -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Cost:
    """A selection set's measure, for one copy of the set of parents it is
    selected on (one object, or every type of the schema ...)."""

    depth: int = 0
    aliases: int = 0
    nodes: int = 0
    deepest: FieldNode | None = None


@dataclass(frozen=True)
class _Input:
    """What an argument's value holds."""

    depth: int = 0
    longest: int = 0
    longest_at: str = ""  # where the longest list is, from the value's root
    terms: int = 0
    # Items of every list in the value, a variable's counted at each use of it.
    items: int = 0
    # Where a year lookup compares with a year no date has, if one does.
    bad_year_at: str | None = None


# A place in an input value, as (the place it is in, then the step): built in
# constant time per value, rendered once.
_Path = tuple[Any, str] | None


# Lookups of a date's year: the database is asked for that year's bounds as
# dates, which exist only for these years.
YEAR_LOOKUPS = (".year", ".isoYear")
MIN_YEAR, MAX_YEAR = datetime.MINYEAR, datetime.MAXYEAR


def _is_bad_year(path: _Path, value: Any) -> bool:
    """Whether `value`, at `path`, is a year lookup's operand no date has
    (`{year: {gt: 99999}}`)."""
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and not MIN_YEAR <= value <= MAX_YEAR
        and path is not None
        and path[0] is not None
        and path[0][1] in YEAR_LOOKUPS
    )


def _render(path: _Path) -> str:
    steps: list[str] = []
    while path is not None:
        path, step = path
        steps.append(step)
    return "".join(reversed(steps))


@dataclass
class _Problem:
    node: Any
    message: str


class _Walker:
    def __init__(
        self, context: ValidationContext, variables: dict[str, Any], limits: Limits
    ) -> None:
        self.schema = context.schema
        self.shape = _schema_shape(context.schema)
        self.fragments: dict[str, FragmentDefinitionNode] = {
            d.name.value: d
            for d in context.document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }
        self.variables = variables
        self.limits = limits
        self.page_size = limits.page_size
        self.memo: dict[tuple[str, Scope, int], _Cost] = {}
        self.in_progress: set[tuple[str, Scope, int]] = set()
        self.variable_inputs: dict[str, _Input] = {}
        # Keyed by (field node, argument) so a fragment measured in several
        # contexts reports each problem once.
        self.too_large: dict[tuple[int, str], _Problem] = {}
        self.bad_cursors: dict[tuple[int, str], _Problem] = {}
        self.bad_inputs: dict[tuple[int, str], _Problem] = {}

    # -- arguments --

    def _given(self, value: ValueNode) -> Any:
        if isinstance(value, VariableNode):
            return self.variables.get(value.name.value)
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, StringValueNode):
            return value.value
        return None

    def _cursors(self, field: FieldNode) -> None:
        for argument in field.arguments or ():
            name = argument.name.value
            if name not in ("after", "before"):
                continue
            given = self._given(argument.value)
            if isinstance(given, str) and not _sane_cursor(given):
                self.bad_cursors[id(field), name] = _Problem(
                    field, f"Argument '{name}' is not a cursor this API gave out."
                )

    def _page(self, field: FieldNode) -> int:
        page = self.page_size
        for argument in field.arguments or ():
            name = argument.name.value
            if name not in ("first", "last"):
                continue
            given = self._given(argument.value)
            if isinstance(given, int) and not isinstance(given, bool):
                if given < 0:
                    self.too_large[id(field), name] = _Problem(
                        field, f"Argument '{name}' must be a non-negative integer."
                    )
                elif given > self.page_size:
                    self.too_large[id(field), name] = _Problem(
                        field,
                        f"Argument '{name}' cannot be higher than {self.page_size}.",
                    )
                page = max(min(given, page), 0)
        return page

    def _inputs(self, field: FieldNode, definition: GraphQLField) -> None:
        limits = self.limits
        for argument in field.arguments or ():
            name = argument.name.value
            if (id(field), name) in self.bad_inputs:
                continue
            measured = self._literal(argument.value)
            problem = None
            if measured.longest > limits.max_list_input:
                where = (
                    f" at {name}{measured.longest_at}" if measured.longest_at else ""
                )
                problem = (
                    f"Argument '{name}' has a list of {measured.longest} items{where};"
                    f" at most {limits.max_list_input} are allowed."
                )
            elif measured.items > limits.max_list_input:
                problem = (
                    f"Argument '{name}' has {measured.items} list items in all; at "
                    f"most {limits.max_list_input} are allowed."
                )
            elif measured.bad_year_at is not None and _is_filter(
                definition.args.get(name)
            ):
                problem = (
                    f"Argument '{name}' compares a year out of range at "
                    f"{name}{measured.bad_year_at}; years run from {MIN_YEAR} to "
                    f"{MAX_YEAR}."
                )
            elif measured.depth > limits.max_input_depth:
                problem = (
                    f"Argument '{name}' nests input objects {measured.depth} deep; at "
                    f"most {limits.max_input_depth} are allowed."
                )
            elif (
                _is_filter(definition.args.get(name))
                and measured.terms > limits.max_filter_terms
            ):
                problem = (
                    f"Argument '{name}' has {measured.terms} terms; at most "
                    f"{limits.max_filter_terms} are allowed."
                )
            if problem is not None:
                self.bad_inputs[id(field), name] = _Problem(field, problem)

    def _literal(self, value: ValueNode) -> _Input:
        """Measure a literal value, variables in it included (each measured once)."""
        depth = longest = terms = items = 0
        longest_at: _Path = None
        bad_year_at: str | None = None
        stack: list[tuple[ValueNode, int, _Path]] = [(value, 0, None)]
        while stack:
            node, level, path = stack.pop()
            if isinstance(node, VariableNode):
                inner = self._variable(node.name.value)
                depth = max(depth, level + inner.depth)
                if inner.longest > longest:
                    longest, longest_at = inner.longest, (path, inner.longest_at)
                terms += inner.terms
                items += inner.items
                if inner.bad_year_at is not None and bad_year_at is None:
                    bad_year_at = _render(path) + inner.bad_year_at
            elif isinstance(node, ObjectValueNode):
                depth = max(depth, level + 1)
                stack.extend(
                    (f.value, level + 1, (path, f".{f.name.value}"))
                    for f in node.fields
                )
            elif isinstance(node, ListValueNode):
                items += len(node.values)
                if len(node.values) > longest:
                    longest, longest_at = len(node.values), path
                scalars = False
                for index, item in enumerate(node.values):
                    if isinstance(item, ObjectValueNode | ListValueNode | VariableNode):
                        stack.append((item, level, (path, f"[{index}]")))
                    else:
                        scalars = scalars or not isinstance(item, NullValueNode)
                terms += scalars
            elif isinstance(
                node,
                IntValueNode
                | FloatValueNode
                | StringValueNode
                | BooleanValueNode
                | EnumValueNode,
            ):
                terms += 1
                if (
                    isinstance(node, IntValueNode)
                    and bad_year_at is None
                    and _is_bad_year(path, int(node.value))
                ):
                    bad_year_at = _render(path)
        return _Input(depth, longest, _render(longest_at), terms, items, bad_year_at)

    def _variable(self, name: str) -> _Input:
        measured = self.variable_inputs.get(name)
        if measured is None:
            measured = self.variable_inputs[name] = _measure_python(
                self.variables.get(name)
            )
        return measured

    # -- selections --

    def operation(self, node: OperationDefinitionNode) -> Measure:
        root = self.schema.get_root_type(node.operation)
        cost = self._selections(node.selection_set, root, None, 0)
        return Measure(cost.depth, cost.aliases, cost.nodes, cost.deepest)

    def _selections(
        self,
        selection_set: SelectionSetNode | None,
        parent: GraphQLNamedType | None,
        scope: Scope,
        unwraps: int,
    ) -> _Cost:
        """The measure of a selection set for one copy of its parents: `scope`
        names the set they form (None: a single object) and
        `unwraps` how many `ofType` of a `__Type` parent can be non-null."""
        depth = aliases = nodes = 0
        deepest: FieldNode | None = None
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                cost = self._field(selection, parent, scope, unwraps)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = (
                    self.schema.get_type(condition.name.value) if condition else parent
                )
                cost = self._selections(selection.selection_set, target, scope, unwraps)
            elif isinstance(selection, FragmentSpreadNode):
                cost = self._fragment(selection.name.value, scope, unwraps)
            else:  # pragma: no cover - the three kinds of selection
                continue
            aliases += cost.aliases
            nodes += cost.nodes
            if cost.depth > depth:
                depth, deepest = cost.depth, cost.deepest
        return _Cost(depth, aliases, nodes, deepest)

    def _fragment(self, name: str, scope: Scope, unwraps: int) -> _Cost:
        fragment = self.fragments.get(name)
        if fragment is None:
            return _Cost()  # unknown fragments are reported by the standard rules
        target = self.schema.get_type(fragment.type_condition.name.value)
        if target is None or target.name != "__Type":
            unwraps = 0
        key = (name, scope, unwraps)
        cost = self.memo.get(key)
        if cost is not None:
            return cost
        if key in self.in_progress:
            return _Cost()  # a cycle: reported by the standard rules
        self.in_progress.add(key)
        cost = self.memo[key] = self._selections(
            fragment.selection_set, target, scope, unwraps
        )
        self.in_progress.discard(key)
        return cost

    def _field(
        self,
        field_node: FieldNode,
        parent: GraphQLNamedType | None,
        scope: Scope,
        unwraps: int,
    ) -> _Cost:
        name = field_node.name.value
        aliases = 0 if field_node.alias is None else 1
        definition = _field_definition(self.schema, parent, name)
        if parent is None or definition is None:
            # Unknown fields are reported by the standard rules.
            return _Cost(1, aliases, 0, field_node)
        self._inputs(field_node, definition)
        named = get_named_type(definition.type)
        parents = scope[1] if scope else 1
        # How many objects the field answers for one copy of the parents, the
        # set they form, and whether they count as nodes.
        count, item_unwraps, counted = parents, 0, False
        item_scope: Scope = None
        if parent.name == "__Type" and name == "ofType":
            if unwraps == 0:
                # Null for every type of the schema: nothing below it runs.
                return _Cost(1, aliases, 0, field_node)
            item_unwraps, counted = unwraps - 1, True
        elif parent.name.startswith("__") or name in ("__schema", "__type"):
            introspection = self.shape.lists.get((parent.name, name))
            if introspection is not None:
                whole = introspection.whole.get(scope[0]) if scope else None
                if whole is not None:
                    count, kind = whole
                    item_scope = (kind, count) if kind else None
                else:
                    count = parents * introspection.most
            if name == "__schema":
                item_scope = (SCHEMA, 1)
            elif name == "type":  # of a field or an argument: a wrapped type
                item_unwraps = self.shape.wrapping
            counted = is_composite_type(named)
        elif named.name.endswith("Connection"):
            self._cursors(field_node)
            count, counted = parents * self._page(field_node), True
        elif is_connection_plumbing(parent, name):
            pass
        elif _is_list(definition.type):
            bound = declared_list_bound(parent, name, definition)
            bound = self.page_size if bound is None else bound
            total = _declared_list_total(definition)
            if total is not None and scope is not None and scope[0] == LIST:
                count = total
            else:
                count, item_scope = parents * bound, (LIST, bound)
            counted = is_composite_type(named)
        else:
            counted = is_composite_type(named)
        below = self._selections(
            field_node.selection_set, named, item_scope, item_unwraps
        )
        copies = (
            (count // item_scope[1] if item_scope[1] else 0) if item_scope else count
        )
        weight = _declared_node_cost(definition) if counted else 0
        return _Cost(
            below.depth + 1,
            aliases + below.aliases,
            count * weight + copies * below.nodes,
            below.deepest if below.depth else field_node,
        )


def _declared_list_total(definition: GraphQLField) -> int | None:
    metadata = getattr(definition.extensions.get(BACKREF), "metadata", None) or {}
    return metadata.get(LIST_TOTAL)


def _declared_node_cost(definition: GraphQLField) -> int:
    metadata = getattr(definition.extensions.get(BACKREF), "metadata", None) or {}
    cost = metadata.get(NODE_COST, 1)
    return int(cost() if callable(cost) else cost)


def _field_definition(
    schema: GraphQLSchema, parent: GraphQLNamedType | None, name: str
) -> GraphQLField | None:
    if name == "__typename":
        return TypeNameMetaFieldDef
    if parent is not None and parent is schema.query_type:
        if name == "__schema":
            return SchemaMetaFieldDef
        if name == "__type":
            return TypeMetaFieldDef
    fields = getattr(parent, "fields", None)
    return fields.get(name) if fields else None


def _is_list(type_: Any) -> bool:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return is_list_type(type_)


def _is_filter(argument: Any) -> bool:
    """Whether an argument takes a strawberry-django filter: its leaves are the
    terms of a SQL condition."""
    if argument is None:
        return False
    definition = get_named_type(argument.type).extensions.get(BACKREF)
    django = getattr(
        getattr(definition, "origin", None), "__strawberry_django_definition__", None
    )
    return bool(getattr(django, "is_filter", False))


def _measure_python(value: Any) -> _Input:
    """Measure a variable's value (decoded JSON) without recursion."""
    depth = longest = terms = items = 0
    longest_at: _Path = None
    bad_year_at: str | None = None
    stack: list[tuple[Any, int, _Path]] = [(value, 0, None)]
    while stack:
        item, level, path = stack.pop()
        if isinstance(item, Mapping):
            depth = max(depth, level + 1)
            stack.extend((v, level + 1, (path, f".{k}")) for k, v in item.items())
        elif isinstance(item, list | tuple):
            items += len(item)
            if len(item) > longest:
                longest, longest_at = len(item), path
            scalars = False
            for index, element in enumerate(item):
                if isinstance(element, Mapping | list | tuple):
                    stack.append((element, level, (path, f"[{index}]")))
                else:
                    scalars = scalars or element is not None
            terms += scalars
        elif item is not None:
            terms += 1
            if bad_year_at is None and _is_bad_year(path, item):
                bad_year_at = _render(path)
    return _Input(depth, longest, _render(longest_at), terms, items, bad_year_at)


def repeated_fields(
    context: ValidationContext, node: OperationDefinitionNode
) -> list[tuple[str, int]]:
    """The `once_per_operation` fields an operation selects at its root more than
    once, with how many response keys select each (fragments included)."""
    root = context.schema.get_root_type(node.operation)
    fragments = {
        d.name.value: d
        for d in context.document.definitions
        if isinstance(d, FragmentDefinitionNode)
    }
    keys: dict[str, set[str]] = {}
    seen: set[str] = set()
    stack = [node.selection_set]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FieldNode):
                definition = getattr(root, "fields", {}).get(selection.name.value)
                metadata = getattr(
                    definition and definition.extensions.get(BACKREF), "metadata", None
                )
                if (metadata or {}).get(ONCE_PER_OPERATION):
                    key = (selection.alias or selection.name).value
                    keys.setdefault(selection.name.value, set()).add(key)
            elif isinstance(selection, InlineFragmentNode):
                stack.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in seen:
                    seen.add(name)
                    stack.append(fragments[name].selection_set)
    return [(name, len(found)) for name, found in keys.items() if len(found) > 1]


MAX_OFFSET = 10**9


def _sane_cursor(cursor: str) -> bool:
    """Whether a connection cursor decodes to an offset the database can use, or
    to a version's place (which connection it fits is checked when it runs)."""
    from schema.connections import is_version_cursor

    if is_version_cursor(cursor):
        return True
    try:
        kind, offset = base64.b64decode(cursor, validate=True).decode().split(":")
        return kind == "arrayconnection" and 0 <= int(offset) <= MAX_OFFSET
    except (ValueError, UnicodeDecodeError, binascii.Error):
        return False


def _variables(node: OperationDefinitionNode, given: dict[str, Any]) -> dict[str, Any]:
    """The operation's variables: the given values, else their defaults."""
    variables = dict(given)
    for definition in node.variable_definitions or ():
        name = definition.variable.name.value
        if name not in variables and definition.default_value is not None:
            variables[name] = value_from_ast_untyped(definition.default_value)
    return variables


def token_limit() -> MaxTokensLimiter:
    """strawberry's token limit at `GRAPHQL_MAX_TOKENS`, read per request (the
    schema takes this factory, not an instance)."""
    return MaxTokensLimiter(max_token_count=settings.GRAPHQL_MAX_TOKENS)


class QueryLimits(SchemaExtension):
    """Refuse documents over the limits; report the computed cost."""

    def __init__(self) -> None:
        self.limits = Limits.from_settings()
        self.measure: Measure | None = None

    def on_operation(self) -> Iterator[None]:
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
        given = self.execution_context.variables or {}

        class LimitsRule(ValidationRule):
            def enter_operation_definition(
                self, node: OperationDefinitionNode, *args: Any
            ) -> None:
                walker = _Walker(self.context, _variables(node, given), limits)
                measure = walker.operation(node)
                extension.measure = measure
                at = [measure.deepest] if measure.deepest else [node]
                for problems in (
                    walker.bad_cursors,
                    walker.too_large,
                    walker.bad_inputs,
                ):
                    for problem in problems.values():
                        self._refuse(
                            problem.message, LimitCode.BAD_USER_INPUT, [problem.node]
                        )
                for name, times in repeated_fields(self.context, node):
                    self._refuse(
                        f"'{name}' may be selected once per operation; this one "
                        f"selects it {times} times.",
                        LimitCode.REPEATED_FIELD,
                        [node],
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
