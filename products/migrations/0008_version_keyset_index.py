# Keyset paging of history connections: (history_date, history_id) per table.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('products', '0007_backfill_changesets'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='historicalcategory',
            index=models.Index(fields=['history_date', 'history_id'], name='products_historicalcate_keyset'),
        ),
        migrations.AddIndex(
            model_name='historicalproduct',
            index=models.Index(fields=['history_date', 'history_id'], name='products_historicalprod_keyset'),
        ),
    ]
