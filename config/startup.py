"""Start-up checks run before a management command touches the database.

A PostgreSQL database that does not exist would otherwise make the connection
pool retry for its whole timeout, log a warning per attempt and end in a long
traceback; `database_problem` finds out in one short connection attempt and
says, in one line, what is wrong and how to fix it.
"""

from __future__ import annotations

from typing import Any

# Seconds one connection attempt may take before the server counts as unreachable.
CONNECT_TIMEOUT_SECONDS = 3

# Commands that never open a database connection: they are not held up.
COMMANDS_WITHOUT_DATABASE = frozenset(
    {
        "help",
        "version",
        "--help",
        "-h",
        "--version",
        "check",
        "collectstatic",
        "compilemessages",
        "diffsettings",
        "export_schema",
        "findstatic",
        "makemessages",
        "makemigrations",
        "startapp",
        "startproject",
    }
)


# Options that make a command run with no database: `verify_history --export
# FILE` verifies an export on an auditor's machine, which has none.
OFFLINE_OPTIONS = {"verify_history": "--export"}


def needs_database(argv: list[str]) -> bool:
    """Whether the management command in `argv` (as `sys.argv`) is checked."""
    if len(argv) < 2 or argv[1] in COMMANDS_WITHOUT_DATABASE:
        return False
    offline = OFFLINE_OPTIONS.get(argv[1])
    return offline is None or not any(
        arg == offline or arg.startswith(f"{offline}=") for arg in argv[2:]
    )


def database_problem(*, alias: str = "default") -> str | None:
    """Why the database `alias` cannot be used, in one line; None if it can.

    Only PostgreSQL is checked (SQLite creates its file on first use). A
    database that does not exist names the `createdb` command that creates it;
    any other refusal (server down, bad password) is named with the server's
    own last line.
    """
    from django.conf import settings

    database: dict[str, Any] = settings.DATABASES[alias]
    if database["ENGINE"] != "django.db.backends.postgresql":
        return None
    import psycopg

    name = database.get("NAME") or ""
    host = database.get("HOST") or "localhost"
    port = database.get("PORT") or 5432
    user = database.get("USER") or ""
    params = {
        "dbname": name,
        "user": user,
        "password": database.get("PASSWORD") or "",
        "host": database.get("HOST") or "",
        "port": str(database.get("PORT") or ""),
    }
    try:
        conninfo = psycopg.conninfo.make_conninfo(
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            **{key: value for key, value in params.items() if value},
        )
        psycopg.connect(conninfo).close()
    except psycopg.OperationalError as error:
        reason = str(error).strip()
        if f'database "{name}" does not exist' in reason:
            create = ["createdb", "-h", host]
            if str(port) != "5432":
                create += ["-p", str(port)]
            if user:
                create += ["-U", user]
            create.append(name)
            return (
                f'The PostgreSQL database "{name}" does not exist on {host}:{port}: '
                f"create it with `{' '.join(create)}`, "
                "or unset DATABASE_URL to use SQLite."
            )
        last_line = reason.splitlines()[-1].strip() if reason else type(error).__name__
        return (
            f'Cannot connect to the PostgreSQL database "{name}" on {host}:{port} '
            f"(DATABASE_URL): {last_line}"
        )
    return None
