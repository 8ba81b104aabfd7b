"""On PostgreSQL, checkpoints are append-only: a trigger refuses to change or
delete one, so the line of signed checkpoints cannot be cut from the end or
rewritten through the application's connection. (TRUNCATE, which
`seed_demo --reset` uses, fires no row trigger.)"""

from django.db import migrations

INSTALL = """
CREATE OR REPLACE FUNCTION history_checkpoint_append_only() RETURNS trigger
LANGUAGE plpgsql AS $function$
BEGIN
    RAISE EXCEPTION '% on % refused: checkpoints are append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END;
$function$;
DROP TRIGGER IF EXISTS history_checkpoint_append_only ON history_checkpoint;
CREATE TRIGGER history_checkpoint_append_only
    BEFORE UPDATE OR DELETE ON history_checkpoint
    FOR EACH ROW EXECUTE FUNCTION history_checkpoint_append_only();
"""
REMOVE = """
DROP TRIGGER IF EXISTS history_checkpoint_append_only ON history_checkpoint;
DROP FUNCTION IF EXISTS history_checkpoint_append_only();
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INSTALL, params=None)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REMOVE, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("history", "0006_history_guard_functions"),
    ]

    operations = [migrations.RunPython(install, remove)]
