"""Mark the versions that changed only fields versions do not store.

New versions get `history_staff_only` when they are written
(`fill_version_diff`); this sets it on the existing ones: every UPDATED version
whose stored diff is empty (a staff-only change of a product's supplier cost,
say), chunk by chunk. Elidable: once every database has run it, a squash may
drop it.
"""

from django.db import migrations, models

CHUNK_SIZE = 500
UPDATED = "~"


def mark_staff_only(apps, schema_editor):
    """Set `history_staff_only` on every UPDATED version that changed nothing
    stored."""
    for name in ("HistoricalProduct", "HistoricalCategory"):
        versions = apps.get_model("products", name)
        # Read in Python: an equality test on an empty JSON object does not
        # behave alike on every database.
        rows = (
            versions.objects.filter(history_type=UPDATED, history_staff_only=False)
            .only("history_id", "history_changes")
            .order_by("history_id")
        )
        pending = []
        for version in rows.iterator(chunk_size=CHUNK_SIZE):
            if version.history_changes:
                continue
            pending.append(version.history_id)
            if len(pending) >= CHUNK_SIZE:
                versions.objects.filter(history_id__in=pending).update(
                    history_staff_only=True
                )
                pending.clear()
        if pending:
            versions.objects.filter(history_id__in=pending).update(
                history_staff_only=True
            )


class Migration(migrations.Migration):
    dependencies = [
        ("products", "0008_version_keyset_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalcategory",
            name="history_staff_only",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "Set when the version changed only fields versions do not "
                    "store (sensitive or derived ones): only staff see it."
                ),
            ),
        ),
        migrations.AddField(
            model_name="historicalproduct",
            name="history_staff_only",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "Set when the version changed only fields versions do not "
                    "store (sensitive or derived ones): only staff see it."
                ),
            ),
        ),
        migrations.RunPython(mark_staff_only, migrations.RunPython.noop, elidable=True),
    ]
