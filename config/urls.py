"""URL routes: the GraphQL endpoint, the admin and the version-history page."""

from django.contrib import admin
from django.urls import include, path

from schema.context import GraphQLView
from schema.graphiql import graphiql_asset
from schema.root import schema

# GraphiQL follows the GRAPHQL_IDE setting, read per request by the view.
graphql_view = GraphQLView.as_view(schema=schema)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("graphql/", graphql_view),
    # GraphiQL's vendored scripts and styles, served whatever DEBUG is.
    path("graphql/static/<str:name>", graphiql_asset, name="graphiql-asset"),
    # Without the slash too: a redirect would drop a POST's body.
    path("graphql", graphql_view),
    path("", include("web.urls")),
]

# Errors outside GraphQL are JSON too.
handler400 = "config.views.bad_request"
handler500 = "config.views.server_error"
