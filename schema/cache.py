"""The GraphQL response cache: a query asked again, by a viewer with the same
permissions, before anything it can read has changed, is answered with the
bytes of the first answer, without running it.

An answer is stored under a key of:

- the document (its exact text) and the operation name;
- the variables and the request's `extensions`, as canonical JSON;
- the viewer's permission set: authenticated or not, active, staff, superuser
  and the sorted permissions (every permission check of the schema reads only
  these), and the user's id as well when the document selects a field whose
  answer depends on who the viewer is (`IDENTITY_FIELDS`: `me`, and `node`,
  which finds a user only for staff or the user themselves);
- the data stamp (`responsecache.stamps`), read in one statement per request;
- the schema (its SDL, once per process) and the settings the schema reads per
  request (`GRAPHQL_*`, `HISTORY_*`, the time zone).

Only queries are cached: never mutations, subscriptions, `@defer`/`@stream`,
batches, a document that does not parse or whose operation is ambiguous, nor
an answer with any error (validation, permission, limits or a resolver's), nor
one larger than `GRAPHQL_RESPONSE_CACHE_MAX_BYTES`. Documents selecting
`LIVE_FIELDS` (`verifyHistory`, `integrity`) are never cached: they verify the
database as it is now, against changes made outside the application that no
stamp can see. Authentication runs before the cache: a bad or revoked token is
refused by its middleware whatever is cached.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import caches
from django.db import DEFAULT_DB_ALIAS, DatabaseError
from graphql import (
    DirectiveNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    parse,
    print_ast,
    visit,
)
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from responsecache.stamps import Stamp, read_stamp

logger = logging.getLogger(__name__)

# Root query fields whose answer depends on who the viewer is, not only on
# their permissions: a document selecting one is cached per user.
IDENTITY_FIELDS = frozenset({"me", "node", "nodes"})
# Fields that verify the stored history itself: never cached.
LIVE_FIELDS = frozenset({"verifyHistory", "integrity"})
# Directives that split an answer into several parts: never cached.
INCREMENTAL_DIRECTIVES = frozenset({"defer", "stream"})
# Settings read per request that change answers, besides the `GRAPHQL_` and
# `HISTORY_` ones.
KEYED_SETTINGS = ("TIME_ZONE", "USE_TZ", "DEBUG")
KEY_PREFIX = "graphql-answer:"
# The stamp of answers that read no data.
SCHEMA_ONLY = Stamp(value="schema", settled=True)
ANALYSED_DOCUMENTS = 512


@dataclass(frozen=True)
class Document:
    """What the cache needs to know of a document and operation name."""

    cacheable: bool
    per_user: bool = False
    # A digest of the document as graphql-core prints it back: every spelling
    # of one document (spaces, commas, comments) is one answer.
    normal: str = ""
    # Whether it selects any root field but introspection (`__schema`,
    # `__type`, `__typename`): an answer of introspection alone depends on the
    # schema only, and needs no data stamp.
    reads_data: bool = True


NOT_CACHEABLE = Document(cacheable=False)


class _Selected(Visitor):
    """Collects the fields and directives of a whole document: every field's
    name, and the names of the root query's fields."""

    def __init__(self, schema: GraphQLSchema, types: TypeInfo) -> None:
        super().__init__()
        self.query_type = schema.query_type
        self.types = types
        self.fields: set[str] = set()
        self.root_fields: set[str] = set()
        self.directives: set[str] = set()

    def enter_field(self, node: FieldNode, *args: Any) -> None:
        self.fields.add(node.name.value)
        parent = self.types.get_parent_type()
        if parent is not None and parent is self.query_type:
            self.root_fields.add(node.name.value)

    def enter_directive(self, node: DirectiveNode, *args: Any) -> None:
        self.directives.add(node.name.value)


_analysed: OrderedDict[tuple[Any, ...], Document] = OrderedDict()


def analyse(
    schema: GraphQLSchema, query: str, operation_name: str | None, max_tokens: int
) -> Document:
    """What the cache makes of the operation `operation_name` of `query`, for
    the last `ANALYSED_DOCUMENTS` documents: remembered by the document's
    digest, so that no document outlives its request."""
    memo: tuple[Any, ...] = (schema, hashlib.sha256(query.encode()).digest())
    memo += (operation_name, max_tokens)
    document = _analysed.get(memo)
    if document is None:
        document = _analyse(schema, query, operation_name, max_tokens)
        _analysed[memo] = document
        while len(_analysed) > ANALYSED_DOCUMENTS:
            _analysed.popitem(last=False)
    else:
        _analysed.move_to_end(memo)
    return document


def _analyse(
    schema: GraphQLSchema, query: str, operation_name: str | None, max_tokens: int
) -> Document:
    """Whether the operation `operation_name` of `query` may be cached, and
    whether per user.

    Every field of the document counts, in every operation and fragment, so
    that no spread or alias can hide one.
    """
    try:
        document = parse(query, no_location=True, max_tokens=max_tokens)
    except GraphQLError:
        return NOT_CACHEABLE
    operations = [
        definition
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
    ]
    if operation_name is None:
        chosen = operations if len(operations) == 1 else []
    else:
        chosen = [
            op for op in operations if op.name and op.name.value == operation_name
        ]
    if len(chosen) != 1 or chosen[0].operation is not OperationType.QUERY:
        return NOT_CACHEABLE
    types = TypeInfo(schema)
    selected = _Selected(schema, types)
    visit(document, TypeInfoVisitor(types, selected))
    if selected.fields & LIVE_FIELDS or selected.directives & INCREMENTAL_DIRECTIVES:
        return NOT_CACHEABLE
    return Document(
        cacheable=True,
        per_user=bool(selected.root_fields & IDENTITY_FIELDS),
        reads_data=any(not name.startswith("__") for name in selected.root_fields),
        normal=hashlib.sha256(print_ast(document).encode()).hexdigest(),
    )


@functools.cache
def schema_digest(schema: Any) -> str:
    """A digest of the schema's SDL, so that a deploy that changes the schema
    never serves an answer cached before it."""
    return hashlib.sha256(str(schema).encode()).hexdigest()


@functools.cache
def keyed_setting_names() -> tuple[str, ...]:
    """The names of the settings that change answers (listing the settings
    takes longer than a cached answer: once per process)."""
    return tuple(
        sorted(
            name
            for name in dir(settings)
            if name.startswith(("GRAPHQL_", "HISTORY_")) or name in KEYED_SETTINGS
        )
    )


def settings_values() -> list[Any]:
    """The values of the settings that change answers."""
    return [repr(getattr(settings, name)) for name in keyed_setting_names()]


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=repr)


def viewer_values(viewer: Any, *, per_user: bool) -> list[Any]:
    """What of the viewer an answer may depend on."""
    user = viewer.user
    if not user.is_authenticated:
        return ["anonymous"]
    values = [
        bool(user.is_active),
        bool(user.is_staff),
        bool(user.is_superuser),
        sorted(viewer.permissions),
    ]
    if per_user:
        values.append(str(user.pk))
    return values


@dataclass
class Entry:
    """An answer looked up: its key, the stamp it was keyed on, and its bytes
    if it was cached."""

    key: str
    stamp: Stamp
    body: bytes | None


class CachedResult(ExecutionResult):
    """The result of an operation answered from the cache."""

    def __init__(self, body: bytes) -> None:
        super().__init__(data=None, errors=None)
        self.body = body


class EncodedAnswer(dict[str, Any]):
    """An answer with its JSON bytes, which the view sends as they are."""

    def __init__(self, answer: dict[str, Any], body: bytes) -> None:
        super().__init__(answer)
        self.body = body


def cache_enabled() -> bool:
    return bool(settings.GRAPHQL_RESPONSE_CACHE)


async def lookup(*, schema: Any, data: GraphQLRequestData, viewer: Any) -> Entry | None:
    """The cache entry of a request, with its answer if one is cached; None if
    the request is not to be cached."""
    if not cache_enabled() or data.protocol != "http":
        return None
    query, name = data.query, data.operation_name
    if not isinstance(query, str) or not isinstance(name, str | None):
        return None
    document = analyse(schema._schema, query, name, settings.GRAPHQL_MAX_TOKENS)
    if not document.cacheable:
        return None
    parts = [
        schema_digest(schema),
        settings_values(),
        database_identity(),
        document.normal,
        name,
        canonical_json(data.variables or {}),
        canonical_json(data.extensions or {}),
        viewer_values(viewer, per_user=document.per_user),
    ]
    return await sync_to_async(_lookup)(canonical_json(parts), document.reads_data)


def database_identity() -> list[Any]:
    """Which database answers come from, so that two deployments sharing one
    cache server (production and a staging copy of its data) never answer
    with each other's data under equal stamps."""
    database = settings.DATABASES[DEFAULT_DB_ALIAS]
    return [database.get(name) for name in ("ENGINE", "NAME", "HOST")] + [
        str(database.get("PORT"))
    ]


def _lookup(request_key: str, reads_data: bool) -> Entry | None:
    try:
        stamp = read_stamp() if reads_data else SCHEMA_ONLY
    except DatabaseError:
        # The request's database budget is spent, or the stamp cannot be read:
        # the query runs uncached, and meets the same limit as it would have.
        return None
    digest = hashlib.sha256(f"{request_key}|{stamp.value}".encode()).hexdigest()
    key = KEY_PREFIX + digest
    body: bytes | None
    try:
        body = caches["default"].get(key)
    except Exception:  # the cache server is down: answer without it
        logger.exception("The response cache could not be read.")
        body = None
    return Entry(key=key, stamp=stamp, body=body)


def storable(result: ExecutionResult, sub_response: Any) -> bool:
    """Whether an executed result may be stored: complete, with no error, and
    a plain answer (no status or cookie set by a resolver)."""
    return (
        not result.errors
        and result.data is not None
        and getattr(sub_response, "status_code", None) in (None, 200)
        and not getattr(sub_response, "cookies", None)
    )


async def store(entry: Entry, body: bytes) -> None:
    """Store an answer's bytes under its entry's key, unless the stamp was read
    while another transaction was writing, or the answer is too large."""
    if not entry.stamp.settled or len(body) > settings.GRAPHQL_RESPONSE_CACHE_MAX_BYTES:
        return
    try:
        await caches["default"].aset(
            entry.key, body, timeout=settings.GRAPHQL_RESPONSE_CACHE_TTL
        )
    except Exception:  # the cache server is down: the answer is sent anyway
        logger.exception("The response cache could not be written.")


def forget_documents() -> None:
    """Forget what `analyse` remembers of documents (tests)."""
    _analysed.clear()
