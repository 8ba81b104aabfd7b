"""Versions' history_date loses its index of its own: the feed's index on
(history_date, history_id) leads with it."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('products', '0014_version_object_index'),
    ]

    operations = [
        migrations.AlterField(
            model_name='historicalcategory',
            name='history_date',
            field=models.DateTimeField(),
        ),
        migrations.AlterField(
            model_name='historicalproduct',
            name='history_date',
            field=models.DateTimeField(),
        ),
    ]
