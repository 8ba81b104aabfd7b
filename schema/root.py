"""The root GraphQL schema."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import strawberry
from django.conf import settings
from strawberry.extensions import DisableIntrospection
from strawberry.schema.config import StrawberryConfig
from strawberry_django.optimizer import DjangoOptimizerExtension

from schema.errors import ErrorPolicy
from schema.extensions import RefuseDeniedOperations
from schema.limits import QueryLimits
from schema.mutations import Mutation
from schema.queries import Query
from schema.scalars import FiniteDecimal

# ErrorPolicy first: it sees the errors last, with every other code set.
extensions: list[Any] = [
    ErrorPolicy,
    QueryLimits,
    DjangoOptimizerExtension,
    RefuseDeniedOperations,
]
if not settings.GRAPHQL_INTROSPECTION:
    extensions.append(DisableIntrospection)

schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    config=StrawberryConfig(relay_max_results=settings.GRAPHQL_MAX_PAGE_SIZE),
    extensions=extensions,
    scalar_overrides={Decimal: FiniteDecimal},
)
