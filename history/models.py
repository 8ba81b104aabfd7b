"""Models of the history machinery.

`VersionExtras` is the abstract base that every tracked model's historical model
inherits (through simple-history's `bases=`): it adds the stored diff, the
revert marker and the request context to each version. `ApiToken` authenticates
the scripts whose changes the versions record.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class VersionExtras(models.Model):
    """Columns added to every historical model.

    Versions are immutable, so the diff against the previous version is computed
    once when the version is written and stored in `history_changes` as
    `{field_name: [old, new]}` in canonical text form.

    An UPDATED version that changed no stored field changed only excluded ones
    (a product's supplier cost, say): `history_staff_only` marks it so that
    only staff see it, and the trail still keeps it. It is a column set when
    the version is written, not derived on read from an empty
    `history_changes`: a plain boolean filters alike on every database (an
    equality test on JSON does not), and it keeps its meaning if the tracked
    fields change later.
    """

    history_changes = models.JSONField(
        default=dict,
        blank=True,
        help_text="Fields this version changed: {field: [old, new]} as text.",
    )
    history_reverted_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        help_text="The version a revert went back to, when a revert wrote this one.",
    )
    history_snapshot = models.JSONField(
        default=dict,
        blank=True,
        help_text=(
            "Related objects as they were: {fk: {id, label} or null, "
            "m2m: [{id, label}]}."
        ),
    )
    history_search = models.TextField(
        blank=True,
        default="",
        help_text="The reason and the changed values, for full-text search.",
    )
    history_segments = models.JSONField(
        default=dict,
        blank=True,
        help_text=(
            "Word-level diffs of the text fields this version changed: "
            "{field: [[op, text], ...]}, computed once when it was written."
        ),
    )
    history_username = models.CharField(
        max_length=150,
        blank=True,
        default="",
        help_text="The username of who made the change, as it was then.",
    )
    history_user_pk = models.BigIntegerField(
        null=True,
        blank=True,
        db_index=True,
        help_text="The id of who made the change; kept after the user is deleted.",
    )
    history_staff_only = models.BooleanField(
        default=False,
        help_text=(
            "Set when the version changed only fields versions do not store "
            "(sensitive or derived ones): only staff see it."
        ),
    )
    history_ip_address = models.GenericIPAddressField(null=True, blank=True)
    history_user_agent = models.TextField(blank=True, default="")
    history_request_id = models.CharField(max_length=128, blank=True, default="")

    class Meta:
        abstract = True


class ApiToken(models.Model):
    """A bearer token for a script or service acting as a user.

    Only the SHA-256 digest of the token is stored; the token itself is shown
    once, when it is created.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True, default="")
    prefix = models.CharField(max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"
