"""Versions' history_date loses its index of its own: the feed's index on
(history_date, history_id) leads with it."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tracked', '0004_version_object_index'),
    ]

    operations = [
        migrations.AlterField(
            model_name='historicalnote',
            name='history_date',
            field=models.DateTimeField(),
        ),
    ]
