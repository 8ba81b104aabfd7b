"""The version-history page's app configuration."""

from django.apps import AppConfig


class WebConfig(AppConfig):
    """The page at `/` and its three assets."""

    name = "web"
    verbose_name = "Version-history page"
