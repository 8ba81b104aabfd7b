from django.apps import AppConfig


class HistoryConfig(AppConfig):
    """Reusable history machinery: diffs, revert, time travel, request context."""

    name = "history"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from history import signals

        signals.connect()
