"""Store the word-level diffs of the versions written before they were stored.

New versions get `history_segments` when they are written (`fill_version_diff`);
this fills it for the existing ones, from their stored diff (`history_changes`),
chunk by chunk.

It imports the diff from `history.diff` rather than copying it: the bounded
algorithm is the delicate part, and the two functions used are pure (texts in,
lists out), so they do not depend on the state of any model. Only which fields
are text is read from the models as they are at this migration. Elidable: once
every database has run it, a squash may drop it.
"""

from django.db import migrations

from history.diff import segments_to_json, text_segments
from history.tracking import is_text

CHUNK_SIZE = 500


def backfill_segments(apps, schema_editor):
    """Compute `history_segments` of every version from its `history_changes`."""
    for name in ("HistoricalProduct", "HistoricalCategory"):
        versions = apps.get_model("products", name)
        text_fields = {
            field.name for field in versions._meta.concrete_fields if is_text(field)
        }
        pending = []
        rows = versions.objects.only(
            "history_id", "history_changes", "history_segments"
        ).order_by("history_id")
        for version in rows.iterator(chunk_size=CHUNK_SIZE):
            segments = {
                field: segments_to_json(text_segments(old or "", new or ""))
                for field, (old, new) in sorted((version.history_changes or {}).items())
                if field in text_fields
            }
            if segments == (version.history_segments or {}):
                continue
            version.history_segments = segments
            pending.append(version)
            if len(pending) >= CHUNK_SIZE:
                versions.objects.bulk_update(pending, ["history_segments"])
                pending.clear()
        if pending:
            versions.objects.bulk_update(pending, ["history_segments"])


class Migration(migrations.Migration):
    dependencies = [
        ("products", "0003_version_segments_user_snapshot"),
    ]

    operations = [
        migrations.RunPython(
            backfill_segments, migrations.RunPython.noop, elidable=True
        ),
    ]
