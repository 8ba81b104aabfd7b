# An object's versions in keyset order, as products/0014 gives products.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tracked', '0003_version_checks_per_table'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='historicalnote',
            index=models.Index(fields=['id', 'history_date', 'history_id'], name='tracked_historicalnote_object'),
        ),
        migrations.AlterField(
            model_name='historicalnote',
            name='id',
            field=models.BigIntegerField(auto_created=True, blank=True, verbose_name='ID'),
        ),
    ]
