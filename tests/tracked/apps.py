from django.apps import AppConfig


class TrackedConfig(AppConfig):
    """A tracked model that exists only in the tests, so the history engine is
    tested on a model it knows nothing about."""

    name = "tests.tracked"
    label = "tracked"
    default_auto_field = "django.db.models.BigAutoField"
