from django.apps import AppConfig


class HistoryConfig(AppConfig):
    """Reusable history machinery: diffs, revert, time travel, request context."""

    name = "history"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from history import signals
        from history.auth import forget_failures_of

        signals.connect()
        user_logged_in.connect(
            forget_failures_of, dispatch_uid="history.forget_failures_of"
        )
