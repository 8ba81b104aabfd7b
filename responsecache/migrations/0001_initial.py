from django.db import migrations, models


class Migration(migrations.Migration):
    """The data stamp's table; its row is written by the first bump."""

    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="DataStamp",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(primary_key=True, serialize=False),
                ),
                (
                    "value",
                    models.BigIntegerField(
                        help_text=(
                            "Moves on every watched write; starts from the clock, "
                            "so a row deleted and written anew never repeats an "
                            "earlier value."
                        )
                    ),
                ),
            ],
        ),
    ]
