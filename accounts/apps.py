from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Authentication: bearer tokens, session CSRF, throttled logins."""

    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from accounts.auth import forget_failures_of

        user_logged_in.connect(
            forget_failures_of, dispatch_uid="accounts.forget_failures_of"
        )
