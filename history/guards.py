"""PostgreSQL guards: versions are append-only, and no write escapes history.

Three plpgsql trigger functions (installed by `InstallGuardFunctions`, in the
history app's migrations) and, per tracked model, the triggers that call them
(`InstallHistoryGuards`, in the tracked model's app's migrations):

- `history_append_only`, BEFORE UPDATE OR DELETE on every historical table and
  every many-to-many historical table, refuses to change or delete a version.
  It lets through a DELETE while the transaction-local setting
  `history.prune` is `on` (`sanctioned_prune`, used by
  `history.retention.history_prune` only); an UPDATE that only sets
  `history_user_id` to NULL (Django's SET_NULL when a user account is deleted:
  `history_user_pk` and `history_username` keep who it was); and an UPDATE of
  a version written by the same transaction (bulk writers complete the
  versions simple-history inserted: `history.bulk.record_bulk_versions`). Once
  its transaction commits, a version never changes.
- `history_require_version`, a deferred constraint trigger on every tracked
  table and on the through table of every tracked many-to-many field, refuses
  at commit a row written (inserted, updated or deleted) by a transaction that
  wrote no version of its object. Every historical table carries a column
  `history_txid` that is not a Django field: its default,
  `txid_current()`, is the id of the top-level transaction that inserted the
  version (savepoints included), which the check compares. The trigger on
  each table calls a function of that table's own
  (`history_require_version__<table>`) that names its tables in its query,
  so PostgreSQL plans the check once per session rather than once per
  written row; the shared `history_require_version(tables...)`, which builds
  the query from its arguments, is what guards were first installed with
  (`CheckVersionsPerTable` moves a model's guards from it).
- `history_checkpoint_append_only`, BEFORE UPDATE OR DELETE on the checkpoint
  table, refuses to change or delete a signed checkpoint.

The guards stop mistakes and application code, not someone set on forging:
inserting a version is not refused (a forged one breaks its chain), any
connection may set `history.prune`, TRUNCATE fires no row trigger (Django's
test flush and `seed_demo --reset` empty the tables with it), and a superuser
or the tables' owner can `SET session_replication_role = replica` or drop the
triggers. The hash chains and checkpoints anchored outside the database catch
what such a writer changes. SQLite has no guards.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.operations.base import Operation
from django.db.migrations.state import ProjectState, StateApps
from django.db.transaction import TransactionManagementError

PRUNE_SETTING = "history.prune"
TXID_COLUMN = "history_txid"
APPEND_ONLY = "history_append_only"
REQUIRE_VERSION = "history_require_version"
CHECKPOINT_APPEND_ONLY = "history_checkpoint_append_only"
CHECKPOINT_TABLE = "history_checkpoint"
APPEND_ONLY_MESSAGE = (
    "versions are append-only; prune old versions with manage.py prune_history"
)
UNVERSIONED_MESSAGE = (
    "was written without a version: write tracked models through their "
    "services, save() or delete() (which record a version), not raw SQL, "
    "QuerySet.update() or through-model writes"
)

FUNCTIONS_SQL = f"""
CREATE OR REPLACE FUNCTION {APPEND_ONLY}() RETURNS trigger
LANGUAGE plpgsql AS $function$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF current_setting('{PRUNE_SETTING}', true) = 'on' THEN
            RETURN OLD;
        END IF;
    ELSE
        -- A version is completed in the transaction that writes it; once
        -- committed it never changes. (to_jsonb: many-to-many historical
        -- tables have neither column, and are never let through here.)
        IF (to_jsonb(OLD) ->> '{TXID_COLUMN}')::bigint = txid_current() THEN
            RETURN NEW;
        END IF;
        -- A deleted user account: the link goes, who it was stays.
        IF (to_jsonb(NEW) -> 'history_user_id') = 'null'::jsonb
           AND to_jsonb(NEW) - 'history_user_id'
               = to_jsonb(OLD) - 'history_user_id' THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION '% on % refused: {APPEND_ONLY_MESSAGE}', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END;
$function$;

CREATE OR REPLACE FUNCTION {REQUIRE_VERSION}() RETURNS trigger
LANGUAGE plpgsql AS $function$
DECLARE
    -- The historical table, its column holding the object's id, the column
    -- of the written table pointing at the object, and the tracked table.
    history_table text := TG_ARGV[0];
    history_column text := TG_ARGV[1];
    object_column text := TG_ARGV[2];
    tracked_table text := TG_ARGV[3];
    written record;
    versioned boolean;
BEGIN
    FOR pass IN 1..2 LOOP
        IF pass = 1 AND TG_OP <> 'DELETE' THEN
            written := NEW;
        ELSIF pass = 2 AND TG_OP = 'DELETE' THEN
            written := OLD;
        ELSIF pass = 2 AND TG_OP = 'UPDATE'
              AND (to_jsonb(OLD) -> object_column)
                  IS DISTINCT FROM (to_jsonb(NEW) -> object_column) THEN
            written := OLD;
        ELSE
            CONTINUE;
        END IF;
        EXECUTE format(
            'SELECT EXISTS (SELECT 1 FROM %I WHERE %I = ($1).%I'
            ' AND {TXID_COLUMN} = txid_current())',
            history_table, history_column, object_column
        ) INTO versioned USING written;
        IF NOT versioned THEN
            RAISE EXCEPTION USING
                ERRCODE = 'integrity_constraint_violation',
                MESSAGE = format(
                    '%s row %s%s %s',
                    TG_TABLE_NAME,
                    CASE WHEN TG_TABLE_NAME = tracked_table THEN ''
                         ELSE 'for ' || tracked_table || ' ' END,
                    to_jsonb(written) ->> object_column,
                    '{UNVERSIONED_MESSAGE}'
                );
        END IF;
    END LOOP;
    RETURN NULL;
END;
$function$;

CREATE OR REPLACE FUNCTION {CHECKPOINT_APPEND_ONLY}() RETURNS trigger
LANGUAGE plpgsql AS $function$
BEGIN
    RAISE EXCEPTION '% on % refused: checkpoints are append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END;
$function$;

CREATE TRIGGER {CHECKPOINT_APPEND_ONLY} BEFORE UPDATE OR DELETE ON {CHECKPOINT_TABLE}
    FOR EACH ROW EXECUTE FUNCTION {CHECKPOINT_APPEND_ONLY}();
"""

DROP_FUNCTIONS_SQL = f"""
DROP TRIGGER IF EXISTS {CHECKPOINT_APPEND_ONLY} ON {CHECKPOINT_TABLE};
DROP FUNCTION IF EXISTS {CHECKPOINT_APPEND_ONLY}();
DROP FUNCTION IF EXISTS {REQUIRE_VERSION}();
DROP FUNCTION IF EXISTS {APPEND_ONLY}();
"""


def _is_postgresql(schema_editor: BaseDatabaseSchemaEditor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


@contextmanager
def sanctioned_prune(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Let the enclosed code delete versions; the caller holds a transaction.

    Writes made earlier in the transaction are checked first, against the
    versions that cover them before any is pruned. Then `history.prune` is
    set for the transaction (undone with it on a rollback) and cleared on
    leaving the block. Nothing on SQLite.
    """
    connection = connections[using]
    if not connection.in_atomic_block:
        raise TransactionManagementError(
            "sanctioned_prune() must run inside transaction.atomic(): its "
            "setting lasts for the transaction."
        )
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SET CONSTRAINTS {REQUIRE_VERSION} IMMEDIATE")
        cursor.execute(f"SET CONSTRAINTS {REQUIRE_VERSION} DEFERRED")
        cursor.execute("SELECT set_config(%s, 'on', true)", [PRUNE_SETTING])
    yield
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, 'off', true)", [PRUNE_SETTING])


class PostgreSQLOperation(Operation):
    """A reversible migration operation that runs SQL on PostgreSQL only and
    nothing elsewhere; subclasses say which statements each way."""

    reversible = True
    reduces_to_sql = True

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        pass

    def forwards_sql(
        self, app_label: str, state: ProjectState, quote: Any
    ) -> list[str]:
        """The statements that apply it, with `state` the state after it."""
        raise NotImplementedError

    def backwards_sql(
        self, app_label: str, state: ProjectState, quote: Any
    ) -> list[str]:
        """The statements that undo it, with `state` the state before it."""
        raise NotImplementedError

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        if _is_postgresql(schema_editor):
            for statement in self.forwards_sql(
                app_label, to_state, schema_editor.quote_name
            ):
                schema_editor.execute(statement, params=None)

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        if _is_postgresql(schema_editor):
            for statement in self.backwards_sql(
                app_label, from_state, schema_editor.quote_name
            ):
                schema_editor.execute(statement, params=None)


class InstallGuardFunctions(PostgreSQLOperation):
    """Install the guards' trigger functions, and the trigger that keeps
    checkpoints append-only (PostgreSQL only; nothing on other databases).
    Reversible."""

    def forwards_sql(
        self, app_label: str, state: ProjectState, quote: Any
    ) -> list[str]:
        return [FUNCTIONS_SQL]

    def backwards_sql(
        self, app_label: str, state: ProjectState, quote: Any
    ) -> list[str]:
        return [DROP_FUNCTIONS_SQL]

    def describe(self) -> str:
        return "Install the history guards' trigger functions (PostgreSQL)"

    @property
    def migration_name_fragment(self) -> str:
        return "history_guard_functions"


@dataclass(frozen=True)
class GuardedTables:
    """The tables of one tracked model that the guards cover.

    Attributes:
        tracked: The tracked model's table.
        tracked_pk: Its primary-key column.
        history: The historical table.
        history_pk: The historical table's column holding the object's id.
        m2m: For each tracked many-to-many field: its through table, the
            through table's column pointing at the object, and the
            historical table of its rows.
    """

    tracked: str
    tracked_pk: str
    history: str
    history_pk: str
    m2m: tuple[tuple[str, str, str], ...]


def guarded_tables(
    apps: StateApps | Any, app_label: str, model_name: str, history_model_name: str
) -> GuardedTables:
    """Read the tables of a tracked model from migration state (or the app
    registry).

    A many-to-many field is tracked when the app has simple-history's model
    of its through model's rows (`Historical<Through>`).
    """
    model = apps.get_model(app_label, model_name)
    history = apps.get_model(app_label, history_model_name)
    pk = model._meta.pk
    m2m = []
    for field in model._meta.local_many_to_many:
        through = field.remote_field.through
        try:
            rows = apps.get_model(app_label, f"{history_model_name}_{field.name}")
        except LookupError:
            continue
        m2m.append(
            (through._meta.db_table, field.m2m_column_name(), rows._meta.db_table)
        )
    return GuardedTables(
        tracked=model._meta.db_table,
        tracked_pk=pk.column,
        history=history._meta.db_table,
        history_pk=history._meta.get_field(pk.attname).column,
        m2m=tuple(m2m),
    )


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _index_name(table: str) -> str:
    # PostgreSQL identifiers hold 63 bytes; table names here are ASCII.
    return f"{table[:50]}_{TXID_COLUMN[-4:]}"


def install_statements(tables: GuardedTables, quote: Any) -> list[str]:
    """The SQL that guards one tracked model's tables."""
    history = quote(tables.history)
    statements = [
        f"ALTER TABLE {history} ADD COLUMN {TXID_COLUMN} bigint",
        # Set after the column exists: versions written before have none (no
        # rewrite of the table), every version written after has its own.
        f"ALTER TABLE {history} ALTER COLUMN {TXID_COLUMN} SET DEFAULT txid_current()",
        f"CREATE INDEX {quote(_index_name(tables.history))} ON {history} "
        f"({quote(tables.history_pk)}, {TXID_COLUMN})",
    ]
    for table in (tables.history, *(rows for _, _, rows in tables.m2m)):
        statements.append(
            f"CREATE TRIGGER {APPEND_ONLY} BEFORE UPDATE OR DELETE ON "
            f"{quote(table)} FOR EACH ROW EXECUTE FUNCTION {APPEND_ONLY}()"
        )
    return statements + _for_each_written(tables, quote, _table_check_statements)


def _for_each_written(
    tables: GuardedTables, quote: Any, statements_of: Callable[..., list[str]]
) -> list[str]:
    """`statements_of(tables, table, column, quote)` for each written table."""
    return [
        statement
        for table, column in _written(tables)
        for statement in statements_of(tables, table, column, quote)
    ]


def _written(tables: GuardedTables) -> list[tuple[str, str]]:
    """The tables whose writes need a version, with their column pointing at
    the object."""
    return [(tables.tracked, tables.tracked_pk)] + [
        (through, column) for through, column, _ in tables.m2m
    ]


def check_function_name(table: str) -> str:
    """The name of the version check of one written table: `history_require_
    version__<table>`, cut to PostgreSQL's 63 bytes with a digest of the
    table's name when it is longer."""
    name = f"{REQUIRE_VERSION}__{table}"
    if len(name.encode()) <= 63:
        return name
    digest = hashlib.sha256(table.encode()).hexdigest()[:8]
    return f"{name.encode()[:54].decode(errors='ignore')}_{digest}"


def _table_check_statements(
    tables: GuardedTables, table: str, column: str, quote: Any
) -> list[str]:
    """The version check of one written table: a function of its own, which
    names its tables in its query (so PostgreSQL plans it once per session,
    not once per row as the shared `history_require_version`'s dynamic query
    is), and the deferred constraint trigger that calls it. Refuses what the
    shared function refuses, with the same message."""
    function = quote(check_function_name(table))
    prefix = "" if table == tables.tracked else f"for {tables.tracked} "

    def check(row: str) -> str:
        return f"""IF NOT EXISTS (
        SELECT 1 FROM {quote(tables.history)}
        WHERE {quote(tables.history_pk)} = {row}.{quote(column)}
          AND {TXID_COLUMN} = txid_current()
    ) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'integrity_constraint_violation',
            MESSAGE = format(
                '%s row %s%s %s', TG_TABLE_NAME, {_literal(prefix)},
                {row}.{quote(column)}, {_literal(UNVERSIONED_MESSAGE)}
            );
    END IF;"""

    return [
        f"""CREATE OR REPLACE FUNCTION {function}() RETURNS trigger
LANGUAGE plpgsql AS $function$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        {check("NEW")}
    END IF;
    IF TG_OP = 'DELETE' THEN
        {check("OLD")}
    ELSIF TG_OP = 'UPDATE' THEN
        IF OLD.{quote(column)} IS DISTINCT FROM NEW.{quote(column)} THEN
            {check("OLD")}
        END IF;
    END IF;
    RETURN NULL;
END;
$function$""",
        f"DROP TRIGGER IF EXISTS {REQUIRE_VERSION} ON {quote(table)}",
        f"CREATE CONSTRAINT TRIGGER {REQUIRE_VERSION} "
        f"AFTER INSERT OR UPDATE OR DELETE ON {quote(table)} "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
        f"EXECUTE FUNCTION {function}()",
    ]


def _shared_check_statements(
    tables: GuardedTables, table: str, column: str, quote: Any
) -> list[str]:
    """The version check of one written table as guards were first installed:
    the shared `history_require_version`, given the tables as arguments."""
    arguments = ", ".join(
        _literal(argument)
        for argument in (tables.history, tables.history_pk, column, tables.tracked)
    )
    return [
        f"DROP TRIGGER IF EXISTS {REQUIRE_VERSION} ON {quote(table)}",
        f"CREATE CONSTRAINT TRIGGER {REQUIRE_VERSION} "
        f"AFTER INSERT OR UPDATE OR DELETE ON {quote(table)} "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
        f"EXECUTE FUNCTION {REQUIRE_VERSION}({arguments})",
        f"DROP FUNCTION IF EXISTS {quote(check_function_name(table))}()",
    ]


def uninstall_statements(tables: GuardedTables, quote: Any) -> list[str]:
    """The SQL that removes what `install_statements` installed."""
    statements = []
    for table, _ in _written(tables):
        statements += [
            f"DROP TRIGGER IF EXISTS {REQUIRE_VERSION} ON {quote(table)}",
            f"DROP FUNCTION IF EXISTS {quote(check_function_name(table))}()",
        ]
    statements += [
        f"DROP TRIGGER IF EXISTS {APPEND_ONLY} ON {quote(table)}"
        for table in (tables.history, *(rows for _, _, rows in tables.m2m))
    ]
    statements += [
        f"DROP INDEX IF EXISTS {quote(_index_name(tables.history))}",
        f"ALTER TABLE {quote(tables.history)} DROP COLUMN IF EXISTS {TXID_COLUMN}",
    ]
    return statements


class InstallHistoryGuards(PostgreSQLOperation):
    """Guard the tables of one tracked model (PostgreSQL only): its versions
    (and the many-to-many rows they record) append-only, and its table and
    its tracked fields' through tables writable only with a version.

    Use it in the tracked model's app, in a migration that depends on the
    history app's guard functions, after the model and its historical model
    exist. Reversible.

    Args:
        model_name: The tracked model, e.g. "Product".
        history_model_name: Its historical model; simple-history's default,
            "Historical<model_name>", when None.
    """

    def __init__(self, model_name: str, history_model_name: str | None = None):
        self.model_name = model_name
        self.history_model_name = history_model_name

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        kwargs = {}
        if self.history_model_name is not None:
            kwargs["history_model_name"] = self.history_model_name
        return (self.__class__.__qualname__, [self.model_name], kwargs)

    def _tables(self, app_label: str, state: ProjectState) -> GuardedTables:
        history_name = self.history_model_name or f"Historical{self.model_name}"
        return guarded_tables(state.apps, app_label, self.model_name, history_name)

    def forwards_sql(
        self, app_label: str, state: ProjectState, quote: Any
    ) -> list[str]:
        return install_statements(self._tables(app_label, state), quote)

    def backwards_sql(
        self, app_label: str, state: ProjectState, quote: Any
    ) -> list[str]:
        return uninstall_statements(self._tables(app_label, state), quote)

    def describe(self) -> str:
        return f"Guard the history of {self.model_name} (PostgreSQL)"

    @property
    def migration_name_fragment(self) -> str:
        return f"history_guards_{self.model_name.lower()}"


class CheckVersionsPerTable(InstallHistoryGuards):
    """Give each written table of one tracked model, guarded by an earlier
    `InstallHistoryGuards`, a version check of its own (what
    `InstallHistoryGuards` installs now) in place of the shared function's
    (PostgreSQL only). The check refuses the same writes; its query is planned
    once per session instead of once per written row. Reversible."""

    def forwards_sql(
        self, app_label: str, state: ProjectState, quote: Any
    ) -> list[str]:
        return _for_each_written(
            self._tables(app_label, state), quote, _table_check_statements
        )

    def backwards_sql(
        self, app_label: str, state: ProjectState, quote: Any
    ) -> list[str]:
        return _for_each_written(
            self._tables(app_label, state), quote, _shared_check_statements
        )

    def describe(self) -> str:
        return f"Check the versions of {self.model_name} per table (PostgreSQL)"

    @property
    def migration_name_fragment(self) -> str:
        return f"version_checks_{self.model_name.lower()}"
