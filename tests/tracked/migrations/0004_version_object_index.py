# One object's versions in keyset order, as products/0014 gives products.

import django.db.models.deletion
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
        migrations.AddIndex(
            model_name='historicalnote',
            index=models.Index(fields=['history_relation', 'history_date', 'history_id'], name='tracked_historicalnot_relation'),
        ),
        migrations.AlterField(
            model_name='historicalnote',
            name='id',
            field=models.BigIntegerField(auto_created=True, blank=True, verbose_name='ID'),
        ),
        migrations.AlterField(
            model_name='historicalnote',
            name='history_relation',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='versions', to='tracked.note'),
        ),
    ]
