"""Routes of the version-history page."""

from django.urls import path

from web.views import web_asset, web_index

urlpatterns = [
    path("", web_index, name="web-index"),
    path("assets/<str:name>", web_asset, name="web-asset"),
]
