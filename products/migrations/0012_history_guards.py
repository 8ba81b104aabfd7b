"""Versions of categories and products are append-only, and their tables (and
the products' tags) are written only with a version (PostgreSQL; see
history.guards)."""

from django.db import migrations

from history.guards import InstallHistoryGuards


class Migration(migrations.Migration):
    dependencies = [
        ("history", "0006_history_guard_functions"),
        ("products", "0011_seal_version_chains"),
    ]

    operations = [
        InstallHistoryGuards("Category"),
        InstallHistoryGuards("Product"),
    ]
