"""The one row of the data stamp."""

from __future__ import annotations

from django.db import models


class DataStamp(models.Model):
    """A counter moved, in the writing transaction, by every write that a
    GraphQL query can read and that records no version (a user renamed, a
    permission granted, a tag renamed): with the newest version and checkpoint
    ids it makes the data stamp of `responsecache.stamps`.

    One row, id 1, written only by `stamps.bump_stamp`.
    """

    id = models.PositiveSmallIntegerField(primary_key=True)
    value = models.BigIntegerField(
        help_text="Moves on every watched write; starts from the clock, so a "
        "row deleted and written anew never repeats an earlier value."
    )

    def __str__(self) -> str:
        return f"data stamp {self.value}"
