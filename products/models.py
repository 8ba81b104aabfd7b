"""The product catalog."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator, ProhibitNullCharactersValidator
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from history.models import VersionExtras


class Product(models.Model):
    """A product in the catalog. Every change to it is recorded as a version."""

    name = models.CharField(
        "name",
        max_length=200,
        validators=[ProhibitNullCharactersValidator()],
        help_text="Display name.",
    )
    description = models.TextField(
        "description",
        blank=True,
        default="",
        validators=[ProhibitNullCharactersValidator()],
        help_text="Free-text description.",
    )
    price = models.DecimalField(
        "price",
        max_digits=12,
        decimal_places=2,
        help_text="Unit price, a decimal string with two places.",
        validators=[MinValueValidator(Decimal("0"))],
    )
    quantity = models.IntegerField(
        "quantity",
        default=0,
        validators=[MinValueValidator(0)],
        help_text="Units in stock.",
    )
    # Not auto_now_add: a restored product keeps the creation time its versions hold.
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, help_text="When the product was created."
    )
    updated_at = models.DateTimeField(
        auto_now=True, help_text="When the product was last changed."
    )

    history = HistoricalRecords(
        related_name="versions",
        bases=[VersionExtras],
        excluded_fields=["updated_at"],
    )

    class Meta:
        ordering = ("id",)
        constraints = [
            models.CheckConstraint(
                condition=models.Q(price__gte=0), name="product_price_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(quantity__gte=0),
                name="product_quantity_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name
