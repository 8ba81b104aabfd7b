from django.apps import AppConfig


class HistoryConfig(AppConfig):
    """Reusable history machinery: diffs, revert, time travel, request context."""

    name = "history"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks

        from history import signals
        from history.checks import check_tracked_models_are_atomic

        signals.connect()
        checks.register(check_tracked_models_are_atomic)
