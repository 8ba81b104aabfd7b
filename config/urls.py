"""URL routes: the GraphQL endpoint and the admin."""

from django.conf import settings
from django.contrib import admin
from django.urls import path
from django.views.decorators.csrf import ensure_csrf_cookie

from schema.context import GraphQLView
from schema.root import schema

urlpatterns = [
    path("admin/", admin.site.urls),
    path(
        "graphql/",
        ensure_csrf_cookie(
            GraphQLView.as_view(
                schema=schema, graphql_ide="graphiql" if settings.GRAPHQL_IDE else None
            )
        ),
    ),
]
