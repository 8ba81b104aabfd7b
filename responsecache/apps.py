from django.apps import AppConfig


class ResponseCacheConfig(AppConfig):
    """The data stamp of the GraphQL response cache: a counter that moves with
    every write a query can read that records no version."""

    name = "responsecache"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from responsecache import stamps

        stamps.watch_models()
