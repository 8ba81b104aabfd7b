"""A tracked model of the tests: declared as any tracked model is."""

from __future__ import annotations

from django.db import models
from simple_history.models import HistoricalRecords

from history.managers import TrackedManager
from history.models import TrackedModel, VersionExtras


class Note(TrackedModel):
    """A note. Every change to it is recorded as a version."""

    title = models.CharField("title", max_length=200)
    body = models.TextField("body", blank=True, default="")
    priority = models.IntegerField("priority", default=0)

    objects = TrackedManager()
    history = HistoricalRecords(related_name="versions", bases=[VersionExtras])

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return self.title
