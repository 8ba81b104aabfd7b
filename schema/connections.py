"""Relay connections of versions, paged by opaque keyset cursors.

`KeysetConnection[T]` is the connection of every history field
(`Product.history`, `productHistory`, ...), declared as
`history: KeysetConnection[HistoricalProductType] = strawberry_django.connection(
field_cls=DescribedField, ...)`. Its resolver takes a queryset of one historical
model, or a list of querysets of several (the cross-model audit log: declare
`VersionConnection(KeysetConnection[Version])` and return the querysets from
the field's resolver). The paging itself is `history.paging`.

Why not strawberry-django's `DjangoCursorConnection` (0.93.0)? Checked with
EXPLAIN ANALYZE on PostgreSQL 15, 3,000 versions of one product, the page of 5
after the version 2,900 deep:

- Its after-cursor filter is the expanded `history_date < d OR (history_date = d
  AND history_id < i)`. PostgreSQL cannot bound an index scan by it: the plan
  read the date index from the newest version, "Filter: ... Rows Removed by
  Filter: 2901", 0.44 ms. That is the OFFSET scan again, without the word. Our
  `(history_date, history_id) < (d, i)` became "Index Cond: history_date <= d",
  1 row removed, 0.05 ms; with the (history_date, history_id) index it is the
  whole index condition (`tests/schema/test_keyset_paging.py`).
- The optimizer pages a nested connection only when `connection_type is
  DjangoCursorConnection` (identity, `strawberry_django/optimizer.py`), so a
  subclass, which the SDL names need (`HistoricalProductConnection`, not
  `HistoricalProductCursorConnection`), would not be paged in the prefetch.
- Its cursor holds the ordering values only: a cursor of `categoryHistory`
  would page `productHistory` silently. Ours name the model and are refused
  elsewhere.
- It pages one queryset; the audit log pages several tables as one feed.

Cursor errors (malformed, of another connection, of a model the feed does not
hold) are GraphQL errors with code `BAD_USER_INPUT`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Self

import strawberry
from asgiref.sync import sync_to_async
from django.db.models import QuerySet
from graphql import GraphQLError
from strawberry import relay
from strawberry.relay import NodeType, PageInfo
from strawberry.relay.utils import (
    from_base64,
    should_resolve_list_connection_edges,
    to_base64,
)
from strawberry.types import Info
from strawberry.utils.inspect import in_async_context
from strawberry_django.optimizer import (
    is_optimized_by_prefetching,
    mark_optimized_by_prefetching,
)

from history import paging
from schema.errors import RequestErrorCode
from schema.history import Version

CURSOR_PREFIX = "version"


def cursor_of(version: Any) -> str:
    """The opaque cursor of a loaded version."""
    return to_base64(CURSOR_PREFIX, paging.encode_key_of(version))


def key_of_cursor(cursor: str) -> paging.Key:
    """The key a version cursor names.

    Raises:
        paging.BadKey: not a cursor of a version connection.
    """
    try:
        prefix, text = from_base64(cursor)
    except ValueError as error:
        raise paging.BadKey("the cursor is malformed.") from error
    if prefix != CURSOR_PREFIX:
        raise paging.BadKey("the cursor belongs to another connection.")
    return paging.decode_key(text)


def is_version_cursor(cursor: str) -> bool:
    """Whether a string is a well-formed version cursor (of any model)."""
    try:
        key_of_cursor(cursor)
    except paging.BadKey:
        return False
    return True


def _bad_input(message: str) -> GraphQLError:
    return GraphQLError(
        message, extensions={"code": RequestErrorCode.BAD_USER_INPUT.value}
    )


def page_bounds(
    *,
    info: Info[Any, Any],
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    max_results: int | None = None,
) -> paging.Bounds:
    """The slice Relay's arguments ask for, checked against the page size bound
    (`max_results`, else the schema's `relay_max_results`).

    Raises:
        GraphQLError: code BAD_USER_INPUT, for a page too large or a bad cursor.
    """
    bound = (
        max_results if max_results is not None else info.schema.config.relay_max_results
    )
    for name, size in (("first", first), ("last", last)):
        if size is not None and size > bound:
            raise _bad_input(f"Argument '{name}' cannot be higher than {bound}.")
    if first is None and last is None:
        first = bound
    keys: dict[str, paging.Key | None] = {}
    for name, cursor in (("after", after), ("before", before)):
        try:
            keys[name] = None if cursor is None else key_of_cursor(cursor)
        except paging.BadKey as error:
            raise _bad_input(f"Argument '{name}': {error}") from error
    try:
        return paging.Bounds(
            first=first, after=keys["after"], last=last, before=keys["before"]
        )
    except paging.BadKey as error:
        raise _bad_input(str(error)) from error


@strawberry.type(name="Edge", description="An edge in a connection.")
class KeysetEdge(relay.Edge[NodeType]):
    cursor: str = strawberry.field(
        description="An opaque keyset cursor; it stays valid while others write."
    )


@strawberry.type(
    name="Connection",
    description="A connection to versions, newest first, paged by keyset cursors.",
)
class KeysetConnection(relay.Connection[NodeType]):
    edges: list[KeysetEdge[NodeType]] = strawberry.field(  # type: ignore[assignment]
        description="Contains the nodes in this connection"
    )
    total: strawberry.Private[int | None] = None
    count: strawberry.Private[Callable[[], int] | None] = None

    @strawberry.field(description="Total quantity of existing nodes.")
    def total_count(self) -> int | None:
        if self.total is not None or self.count is None:
            # Known (a prefetched page has it): no need to leave the event loop.
            return self.total
        count = self.count

        async def counted() -> int:
            self.total = await sync_to_async(count)()
            return self.total

        return counted()  # type: ignore[return-value]

    @classmethod
    def resolve_connection(
        cls,
        nodes: Any,
        *,
        info: Info[Any, Any],
        before: str | None = None,
        after: str | None = None,
        first: int | None = None,
        last: int | None = None,
        max_results: int | None = None,
        **kwargs: Any,
    ) -> Any:
        """A page of `nodes`: a queryset of one historical model, or a list of
        querysets of several (each already filtered and permission-scoped)."""
        bounds = page_bounds(
            info=info,
            first=first,
            after=after,
            last=last,
            before=before,
            max_results=max_results,
        )
        if isinstance(nodes, QuerySet):
            querysets: Sequence[QuerySet[Any]] = [nodes]
        else:
            querysets = list(nodes)
        if not should_resolve_list_connection_edges(info):
            return cls._from_page(paging.Page([]), info=info, querysets=querysets)

        def read() -> paging.Page:
            try:
                if len(querysets) != 1:
                    return paging.feed_page(querysets, bounds=bounds)
                queryset = querysets[0]
                if is_prefetched(queryset):
                    return paging.windowed_page(list(queryset), bounds=bounds)
                return paging.versions_page(queryset, bounds=bounds)
            except paging.BadKey as error:
                raise _bad_input(str(error)) from error

        def finish(page: paging.Page) -> KeysetConnection[Any]:
            return cls._from_page(page, info=info, querysets=querysets, **kwargs)

        if len(querysets) == 1 and is_prefetched(querysets[0]):
            return finish(read())  # in memory: no thread needed
        if in_async_context():

            async def resolve() -> KeysetConnection[Any]:
                return finish(await sync_to_async(read)())

            return resolve()
        return finish(read())

    @classmethod
    def _from_page(
        cls,
        page: paging.Page,
        *,
        info: Info[Any, Any],
        querysets: Sequence[QuerySet[Any]],
        **kwargs: Any,
    ) -> Self:
        edge_class: Any = KeysetEdge
        built = [
            edge_class(
                cursor=cursor_of(version),
                node=cls.resolve_node(version, info=info, **kwargs),
            )
            for version in page.versions
        ]
        return cls(
            edges=built,
            page_info=PageInfo(
                start_cursor=built[0].cursor if built else None,
                end_cursor=built[-1].cursor if built else None,
                has_previous_page=page.has_previous,
                has_next_page=page.has_next,
            ),
            total=page.total,
            count=(lambda: paging.feed_total(querysets)),
        )


def is_prefetched(queryset: QuerySet[Any]) -> bool:
    """Whether a queryset holds one parent's page, loaded by a prefetch that
    `prefetch_versions` built."""
    cached = queryset._result_cache
    return cached is not None and is_optimized_by_prefetching(queryset)


def is_keyset_connection(connection_type: Any) -> bool:
    """Whether a field's connection type pages versions by keyset."""
    return isinstance(connection_type, type) and issubclass(
        connection_type, KeysetConnection
    )


def prefetch_versions(
    queryset: QuerySet[Any],
    *,
    info: Info[Any, Any],
    related_field_id: str,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    max_results: int | None = None,
) -> QuerySet[Any]:
    """The queryset the optimizer prefetches for a nested version connection:
    each parent's page and its counts, for every parent in one query."""
    bounds = page_bounds(
        info=info,
        first=first,
        after=after,
        last=last,
        before=before,
        max_results=max_results,
    )
    try:
        windowed = paging.windowed_versions(
            queryset, parent_field=related_field_id, bounds=bounds
        )
    except paging.BadKey as error:
        raise _bad_input(str(error)) from error
    return mark_optimized_by_prefetching(windowed)


@strawberry.type(
    name="VersionConnection",
    description="Versions of any tracked models, newest first, by keyset cursors.",
)
class VersionConnection(KeysetConnection[Version]):
    pass


def versions_connection(
    info: Info[Any, Any],
    querysets: Sequence[QuerySet[Any]],
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> VersionConnection:
    """A page of the versions of several historical models, as one feed."""
    connection: VersionConnection = VersionConnection.resolve_connection(
        list(querysets), info=info, first=first, after=after, last=last, before=before
    )
    return connection
