from django.db import migrations

from history.search import search_index


class Migration(migrations.Migration):
    dependencies = [("products", "0001_initial")]

    operations = [
        search_index("products", "HistoricalProduct"),
        search_index("products", "HistoricalCategory"),
    ]
