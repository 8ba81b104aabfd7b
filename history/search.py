"""Full-text search over versions: PostgreSQL's text search with a GIN index,
a word-by-word containment fallback elsewhere.

Each version's `history_search` column holds its change reason and its changed
values, written with the version.
"""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection, migrations
from django.db.models import Q, QuerySet

SEARCH_CONFIG = "simple"


def _index_name(table: str) -> str:
    return f"{table[:50]}_search_gin"


def search_index(app_label: str, model_name: str) -> migrations.RunPython:
    """A migration operation adding the GIN index of a historical model on
    PostgreSQL (other databases search without one)."""

    def forwards(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        table = apps.get_model(app_label, model_name)._meta.db_table
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{_index_name(table)}" ON "{table}" '
            f"USING GIN (to_tsvector('{SEARCH_CONFIG}'::regconfig, "
            "COALESCE(\"history_search\", '')))"
        )

    def backwards(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        table = apps.get_model(app_label, model_name)._meta.db_table
        schema_editor.execute(f'DROP INDEX IF EXISTS "{_index_name(table)}"')

    return migrations.RunPython(forwards, backwards, elidable=False)


def search_versions(
    queryset: QuerySet[Any], text: str, *, prefix: str = ""
) -> tuple[QuerySet[Any], Q]:
    """Versions whose reason or changed values contain every word of `text`."""
    words = text.split()
    if not words:
        return queryset, Q()
    column = f"{prefix}history_search"
    if connection.vendor == "postgresql":
        # The expression matches the GIN index of `search_index`.
        alias = f"{prefix.replace('__', '_')}history_search_vector"
        queryset = queryset.alias(**{alias: SearchVector(column, config=SEARCH_CONFIG)})
        query = SearchQuery(" ".join(words), config=SEARCH_CONFIG, search_type="plain")
        return queryset, Q(**{alias: query})
    condition = Q()
    for word in words:
        condition &= Q(**{f"{column}__icontains": word})
    return queryset, condition
