"""The root GraphQL schema."""

from __future__ import annotations

import strawberry
from django.conf import settings
from strawberry.schema.config import StrawberryConfig
from strawberry_django.optimizer import DjangoOptimizerExtension

from schema.extensions import RefuseDeniedOperations
from schema.mutations import Mutation
from schema.queries import Query

schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    config=StrawberryConfig(relay_max_results=settings.GRAPHQL_MAX_PAGE_SIZE),
    extensions=[DjangoOptimizerExtension, RefuseDeniedOperations],
)
