"""A tracked model of the tests: declared as any tracked model is."""

from __future__ import annotations

from django.db import models

from history.managers import TrackedManager
from history.models import TrackedHistoricalRecords, TrackedModel, VersionExtras


class Note(TrackedModel):
    """A note. Every change to it is recorded as a version."""

    title = models.CharField("title", max_length=200)
    body = models.TextField("body", blank=True, default="")
    priority = models.IntegerField("priority", default=0)

    objects = TrackedManager()
    history = TrackedHistoricalRecords(related_name="versions", bases=[VersionExtras])

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return self.title
