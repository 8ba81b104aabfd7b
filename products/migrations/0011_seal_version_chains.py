"""Seal the versions written before hash chains into their objects' chains.

New versions are sealed when they are written (`history.chains.extend_chain`);
this links every existing one, oldest first per object, with the same hash
function, so that the whole trail verifies from its first version.
"""

from django.db import migrations

from history.chains import seal_existing

TRACKED = {
    "HistoricalCategory": "products.category",
    "HistoricalProduct": "products.product",
}


def seal(apps, schema_editor):
    for name, label in TRACKED.items():
        seal_existing(apps.get_model("products", name), label)


class Migration(migrations.Migration):
    dependencies = [
        ("products", "0010_version_hash_chain"),
    ]

    operations = [
        migrations.RunPython(seal, migrations.RunPython.noop, elidable=True),
    ]
