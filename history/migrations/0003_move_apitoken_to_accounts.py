from django.db import migrations


class Migration(migrations.Migration):
    """ApiToken moved to the accounts app: forget it here, in the state only.

    The table stays; `accounts.0001_initial` takes it over (and its rows).
    """

    dependencies = [
        ("history", "0002_changeset"),
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ApiToken")],
            database_operations=[],
        ),
    ]
