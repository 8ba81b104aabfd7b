"""Each guarded table of categories and products (and the products' tags)
checks its versions with a function of its own, planned once per session
(PostgreSQL; see history.guards.CheckVersionsPerTable)."""

from django.db import migrations

from history.guards import CheckVersionsPerTable


class Migration(migrations.Migration):
    dependencies = [
        ("products", "0012_history_guards"),
    ]

    operations = [
        CheckVersionsPerTable("Category"),
        CheckVersionsPerTable("Product"),
    ]
