import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def relabel_content_type(old_app, new_app):
    """A migration function giving ApiToken's content type (and so the
    permissions granted on it) the app label `new_app`, unless it has one."""

    def relabel(apps, schema_editor):
        content_types = apps.get_model("contenttypes", "ContentType").objects.using(
            schema_editor.connection.alias
        )
        if not content_types.filter(app_label=new_app, model="apitoken").exists():
            content_types.filter(app_label=old_app, model="apitoken").update(
                app_label=new_app
            )

    return relabel


class Migration(migrations.Migration):
    """ApiToken, moved here from the history app with its rows.

    In the state it is created anew; in the database the table
    `history_apitoken` that `history.0001_initial` created (on an upgraded
    database: with its tokens) is renamed, so no token is lost.
    """

    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("history", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ApiToken",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "name",
                            models.CharField(blank=True, default="", max_length=100),
                        ),
                        ("prefix", models.CharField(db_index=True, max_length=12)),
                        ("digest", models.CharField(max_length=64, unique=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("expires_at", models.DateTimeField(blank=True, null=True)),
                        ("revoked_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="api_tokens",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "ordering": ("-created_at",),
                        "db_table": "history_apitoken",
                    },
                ),
            ],
            database_operations=[],
        ),
        # Now a real operation: renames the table to accounts_apitoken.
        migrations.AlterModelTable(name="apitoken", table=None),
        migrations.RunPython(
            relabel_content_type("history", "accounts"),
            relabel_content_type("accounts", "history"),
        ),
    ]
