"""The trigger functions of the PostgreSQL guards, and the trigger that keeps
checkpoints append-only (see history.guards); each tracked model's app installs
its triggers with `InstallHistoryGuards`."""

from django.db import migrations

from history.guards import InstallGuardFunctions


class Migration(migrations.Migration):
    dependencies = [
        ("history", "0005_checkpoint"),
    ]

    operations = [
        InstallGuardFunctions(),
    ]
