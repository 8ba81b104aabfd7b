# One object's versions in keyset order: (id, history_date, history_id) and
# (history_relation, history_date, history_id) per table, which also serve
# every lookup by id or by history_relation, so their own indexes go.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('products', '0013_version_checks_per_table'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='historicalcategory',
            index=models.Index(fields=['id', 'history_date', 'history_id'], name='products_historicalcate_object'),
        ),
        migrations.AddIndex(
            model_name='historicalproduct',
            index=models.Index(fields=['id', 'history_date', 'history_id'], name='products_historicalprod_object'),
        ),
        migrations.AddIndex(
            model_name='historicalcategory',
            index=models.Index(fields=['history_relation', 'history_date', 'history_id'], name='products_historicalca_relation'),
        ),
        migrations.AddIndex(
            model_name='historicalproduct',
            index=models.Index(fields=['history_relation', 'history_date', 'history_id'], name='products_historicalpr_relation'),
        ),
        migrations.AlterField(
            model_name='historicalcategory',
            name='id',
            field=models.BigIntegerField(auto_created=True, blank=True, verbose_name='ID'),
        ),
        migrations.AlterField(
            model_name='historicalproduct',
            name='id',
            field=models.BigIntegerField(auto_created=True, blank=True, verbose_name='ID'),
        ),
        migrations.AlterField(
            model_name='historicalcategory',
            name='history_relation',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='versions', to='products.category'),
        ),
        migrations.AlterField(
            model_name='historicalproduct',
            name='history_relation',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='versions', to='products.product'),
        ),
    ]
