"""Models of the history machinery.

`VersionExtras` is the abstract base that every tracked model's historical model
inherits (through simple-history's `bases=`): it adds the stored diff, the
revert marker and the request context to each version.
"""

from __future__ import annotations

from django.db import models


class VersionExtras(models.Model):
    """Columns added to every historical model.

    Versions are immutable, so the diff against the previous version is computed
    once when the version is written and stored in `history_changes` as
    `{field_name: [old, new]}` in canonical text form.
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
    history_ip_address = models.GenericIPAddressField(null=True, blank=True)
    history_user_agent = models.TextField(blank=True, default="")
    history_request_id = models.CharField(max_length=128, blank=True, default="")

    class Meta:
        abstract = True
