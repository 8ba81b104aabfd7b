"""Notes check their versions per table as any tracked model does
(PostgreSQL; see history.guards.CheckVersionsPerTable)."""

from django.db import migrations

from history.guards import CheckVersionsPerTable


class Migration(migrations.Migration):
    dependencies = [
        ("tracked", "0002_history_guards"),
    ]

    operations = [
        CheckVersionsPerTable("Note"),
    ]
