from django.apps import AppConfig


class SchemaConfig(AppConfig):
    """The GraphQL layer: installs the per-request database budget."""

    name = "schema"

    def ready(self) -> None:
        from schema import budget

        budget.install()
