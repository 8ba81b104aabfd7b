# An object's versions in keyset order: (id, history_date, history_id) per
# table, which also serves every lookup by id, so `id`'s own index goes.

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
    ]
