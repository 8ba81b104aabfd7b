"""Connections of versions."""

from __future__ import annotations

import heapq
from typing import Any

import strawberry
from django.db.models import QuerySet
from strawberry import relay
from strawberry.types import Info
from strawberry_django.relay import DjangoListConnection

from history.tracking import NEWEST_FIRST
from schema.history import Version

HistoryConnection = DjangoListConnection


@strawberry.type(name="VersionConnection", description="A page of versions.")
class VersionConnection(relay.ListConnection[Version]):
    total_count: int = strawberry.field(default=0, description="How many versions match.")


def versions_connection(
    info: Info[Any, Any],
    querysets: list[QuerySet[Any]],
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> VersionConnection:
    """Versions of several models, newest first."""
    limit = 1000
    rows = heapq.merge(
        *[list(qs.order_by(*NEWEST_FIRST)[:limit]) for qs in querysets],
        key=lambda v: (v.history_date, v.history_id),
        reverse=True,
    )
    connection = VersionConnection.resolve_connection(
        list(rows), info=info, first=first, after=after, last=last, before=before
    )
    connection.total_count = sum(qs.count() for qs in querysets)
    return connection
