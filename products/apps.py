from django.apps import AppConfig


class ProductsConfig(AppConfig):
    """The product catalog: the tracked domain model and its services."""

    name = "products"
    default_auto_field = "django.db.models.BigAutoField"
