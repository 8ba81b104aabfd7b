"""The product catalog: categories, tags and products."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import (
    MaxLengthValidator,
    MinValueValidator,
    ProhibitNullCharactersValidator,
)
from django.db import models
from django.utils import timezone

from history.managers import TrackedManager
from history.models import TrackedHistoricalRecords, TrackedModel, VersionExtras

NO_NUL = ProhibitNullCharactersValidator()
# The longest description the catalog accepts, in characters: long enough for
# any product text, short enough that diffs, search and filters stay cheap.
MAX_DESCRIPTION_LENGTH = 10_000
DESCRIPTION_LIMIT = MaxLengthValidator(MAX_DESCRIPTION_LENGTH)
DESCRIPTION_HELP = (
    f"Free-text description, at most {MAX_DESCRIPTION_LENGTH} characters."
)
# The most tags one product may carry: every version snapshots them all.
MAX_TAGS = 20


class Category(TrackedModel):
    """A group of products. Every change to it is recorded as a version."""

    name = models.CharField(
        "name", max_length=100, validators=[NO_NUL], help_text="Display name."
    )
    description = models.TextField(
        "description",
        blank=True,
        default="",
        validators=[NO_NUL, DESCRIPTION_LIMIT],
        help_text=DESCRIPTION_HELP,
    )
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, help_text="When it was created."
    )
    updated_at = models.DateTimeField(
        auto_now=True, help_text="When it was last changed."
    )

    objects = TrackedManager()
    history = TrackedHistoricalRecords(
        related_name="versions",
        bases=[VersionExtras],
        excluded_fields=["updated_at"],
    )

    class Meta:
        ordering = ("id",)
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    """A label on products; which tags a product had is part of its history."""

    name = models.CharField(
        max_length=50, unique=True, validators=[NO_NUL], help_text="The tag."
    )

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class Product(TrackedModel):
    """A product in the catalog. Every change to it is recorded as a version.

    `supplier_cost` is sensitive: no version stores it, and only staff read it.
    """

    name = models.CharField(
        "name", max_length=200, validators=[NO_NUL], help_text="Display name."
    )
    description = models.TextField(
        "description",
        blank=True,
        default="",
        validators=[NO_NUL, DESCRIPTION_LIMIT],
        help_text=DESCRIPTION_HELP,
    )
    price = models.DecimalField(
        "price",
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Unit price, a decimal string with two places.",
    )
    quantity = models.IntegerField(
        "quantity",
        default=0,
        validators=[MinValueValidator(0)],
        help_text="Units in stock.",
    )
    category = models.ForeignKey(
        Category,
        verbose_name="category",
        null=True,
        blank=True,
        # Deleting a category moves its products out through the services,
        # recording a version of each; the database refuses anything else.
        on_delete=models.PROTECT,
        related_name="products",
        help_text="The category the product is in.",
    )
    tags = models.ManyToManyField(
        Tag, verbose_name="tags", blank=True, related_name="products"
    )
    supplier_cost = models.DecimalField(
        "supplier cost",
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="What the supplier charges; staff only, never in history.",
    )
    # Not auto_now_add: a restored product keeps the creation time its versions hold.
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, help_text="When the product was created."
    )
    updated_at = models.DateTimeField(
        auto_now=True, help_text="When the product was last changed."
    )

    objects = TrackedManager()
    history = TrackedHistoricalRecords(
        related_name="versions",
        bases=[VersionExtras],
        # Sensitive or derived: never stored in a version, never diffed.
        excluded_fields=["updated_at", "supplier_cost"],
        m2m_fields=[tags],
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
