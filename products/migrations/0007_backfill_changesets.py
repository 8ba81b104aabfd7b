"""Give every version written before changesets existed its changeset.

Versions that share a non-empty request id (one request) share one changeset;
every other version gets its own. A changeset takes the date, user, reason and
request context of its first version. Changesets of a request get an id derived
from the request id (`uuid5`), so the versions of one request find theirs
without a lookup table; the first version of each request is found in a first
pass. Elidable: once every database has run it, a squash may drop it.
"""

import uuid

from django.db import migrations

CHUNK_SIZE = 500
MODELS = ("HistoricalProduct", "HistoricalCategory")
# The namespace of changeset ids derived from request ids.
REQUEST_NAMESPACE = uuid.UUID("6f1f3a52-3c1e-4f55-9a55-2b7e3d8c0f21")
COLUMNS = (
    "history_date",
    "history_user_id",
    "history_user_pk",
    "history_username",
    "history_change_reason",
    "history_ip_address",
    "history_user_agent",
    "history_request_id",
)


def _pending(versions):
    return (
        versions.objects.filter(history_changeset__isnull=True)
        .exclude(history_request_id="")
        .values_list("history_id", *COLUMNS)
    )


def backfill_changesets(apps, schema_editor):
    """Create the changesets of versions that have none and link them."""
    changesets = apps.get_model("history", "Changeset")
    first_of_request: dict[str, dict] = {}
    for name in MODELS:
        versions = apps.get_model("products", name)
        for history_id, *values in _pending(versions).iterator(chunk_size=CHUNK_SIZE):
            row = dict(zip(COLUMNS, values, strict=True))
            request_id = row["history_request_id"]
            if not request_id:
                continue
            known = first_of_request.get(request_id)
            if known is None or row["history_date"] < known["history_date"]:
                first_of_request[request_id] = row
    rows = [
        changesets(id=uuid.uuid5(REQUEST_NAMESPACE, request_id), **row)
        for request_id, row in first_of_request.items()
    ]
    changesets.objects.bulk_create(
        rows, batch_size=CHUNK_SIZE, ignore_conflicts=True
    )
    for name in MODELS:
        versions = apps.get_model("products", name)
        # Keyset chunks: the rows read are the rows being written.
        last = 0
        while True:
            chunk = list(
                versions.objects.filter(
                    history_changeset__isnull=True, history_id__gt=last
                )
                .order_by("history_id")
                .values_list("history_id", *COLUMNS)[:CHUNK_SIZE]
            )
            if not chunk:
                break
            linked, created = [], []
            for history_id, *values in chunk:
                row = dict(zip(COLUMNS, values, strict=True))
                request_id = row["history_request_id"]
                if request_id:
                    changeset_id = uuid.uuid5(REQUEST_NAMESPACE, request_id)
                else:
                    changeset_id = uuid.uuid4()
                    created.append(changesets(id=changeset_id, **row))
                linked.append(
                    versions(history_id=history_id, history_changeset_id=changeset_id)
                )
            changesets.objects.bulk_create(created)
            versions.objects.bulk_update(linked, ["history_changeset"])
            last = chunk[-1][0]


class Migration(migrations.Migration):
    dependencies = [
        ("history", "0002_changeset"),
        ("products", "0006_version_changeset"),
    ]

    operations = [
        migrations.RunPython(
            backfill_changesets, migrations.RunPython.noop, elidable=True
        ),
    ]
