"""The root GraphQL schema."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import strawberry
from django.conf import settings
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from schema import audit, generate, integrity, registry, verification
from schema.errors import ErrorPolicy, is_expected
from schema.execution import LeanExecutionContext
from schema.extensions import FieldOptimizer, RefuseDeniedOperations
from schema.limits import QueryLimits, token_limit
from schema.mutations import Mutation
from schema.queries import Query
from schema.scalars import FiniteDecimal


def introspection_switch() -> SchemaExtension:
    """strawberry's `DisableIntrospection` while `GRAPHQL_INTROSPECTION` is off,
    else nothing; called per request, so the setting is read per request."""
    if settings.GRAPHQL_INTROSPECTION:
        return AddValidationRules([])
    return DisableIntrospection()


class CatalogConfig(StrawberryConfig):
    """strawberry's config, with the page size read from settings when a
    connection resolves (strawberry and strawberry-django read
    `info.schema.config.relay_max_results` then, not when the schema is
    built), so `GRAPHQL_MAX_PAGE_SIZE` can change without a new schema."""

    @property
    def relay_max_results(self) -> int:
        page_size: int = settings.GRAPHQL_MAX_PAGE_SIZE
        return page_size

    @relay_max_results.setter
    def relay_max_results(self, value: int) -> None:
        """The dataclass' `__init__` assigns the default; the setting wins."""


# Classes or factories: each request gets its own instances, built then (the
# factories read their settings then). ErrorPolicy first: it sees the errors
# last, with every other code set.
extensions: list[Any] = [
    ErrorPolicy,
    token_limit,
    QueryLimits,
    FieldOptimizer,
    RefuseDeniedOperations,
    introspection_switch,
]


class CatalogSchema(strawberry.Schema):
    """The schema, logging only the errors that point at a bug.

    A client's mistakes (a syntax error, an unknown field, a refused limit) are
    answered with a code and not logged as server errors; unexpected ones are
    logged with their traceback.
    """

    def process_errors(
        self,
        errors: list[GraphQLError],
        execution_context: ExecutionContext | None = None,
    ) -> None:
        unexpected = [error for error in errors if not is_expected(error)]
        if unexpected:
            super().process_errors(unexpected, execution_context)


def root_types() -> tuple[type, type]:
    """The root query and mutation: the fixed fields, those generated for each
    tracked model declared in the `HISTORY_GRAPHQL_MODULES` setting, and those
    that serve them all."""
    tracked = registry.entries()
    audit_query, audit_mutation = audit.build()
    query = merge_types(
        "Query",
        (
            Query,
            *(generate.query_type(entry) for entry in tracked),
            audit_query,
            integrity.build(),
            verification.build(),
        ),
    )
    mutation = merge_types(
        "Mutation",
        (
            *(generate.mutation_type(entry) for entry in tracked),
            Mutation,
            audit_mutation,
        ),
    )
    for merged, source in ((query, Query), (mutation, Mutation)):
        merged_definition: Any = getattr(merged, "__strawberry_definition__")  # noqa: B009
        source_definition: Any = getattr(source, "__strawberry_definition__")  # noqa: B009
        merged_definition.description = source_definition.description
    return query, mutation


query, mutation = root_types()
schema = CatalogSchema(
    query=query,
    mutation=mutation,
    config=CatalogConfig(),
    extensions=extensions,
    scalar_overrides={Decimal: FiniteDecimal},
    execution_context_class=LeanExecutionContext,
)
