"""Notes are guarded as any tracked model is (PostgreSQL; see history.guards)."""

from django.db import migrations

from history.guards import InstallHistoryGuards


class Migration(migrations.Migration):
    dependencies = [
        ("history", "0006_history_guard_functions"),
        ("tracked", "0001_initial"),
    ]

    operations = [
        InstallHistoryGuards("Note"),
    ]
