"""A management command on a database it cannot use stops at once, in one line."""

from __future__ import annotations

import subprocess
import time

import pytest
from django.conf import settings
from django.db import connection

from config.startup import needs_database
from tests.helpers import manage_py


def manage(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    return manage_py(*args, env={"DATABASE_URL": database_url})


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs a PostgreSQL server"
)
def test_a_missing_database_is_named_with_the_command_that_creates_it() -> None:
    server = settings.DATABASES["default"]
    user = server["USER"] or "postgres"
    host = server["HOST"] or "localhost"
    port = server["PORT"] or 5432
    url = f"postgres://{user}@{host}:{port}/no_such_database_g"
    started = time.monotonic()

    result = manage("migrate", "--noinput", database_url=url)

    assert time.monotonic() - started < 8
    assert result.returncode == 1
    assert result.stdout == ""
    create = f"createdb -h {host}{'' if str(port) == '5432' else f' -p {port}'}"
    assert result.stderr == (
        f'The PostgreSQL database "no_such_database_g" does not exist on '
        f"{host}:{port}: create it with `{create} -U {user} no_such_database_g`, "
        "or unset DATABASE_URL to use SQLite.\n"
    )


def test_an_unreachable_server_is_one_line() -> None:
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    result = manage(
        "migrate", "--noinput", database_url="postgres://postgres@127.0.0.1:1/catalog"
    )

    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(
        'Cannot connect to the PostgreSQL database "catalog" on 127.0.0.1:1 '
        "(DATABASE_URL): "
    )
    assert "Traceback" not in result.stderr


def test_commands_without_a_database_are_not_held_up() -> None:
    result = manage("help", database_url="postgres://postgres@127.0.0.1:1/catalog")

    assert result.returncode == 0
    assert "migrate" in result.stdout


@pytest.mark.parametrize(
    ("argv", "checked"),
    [
        (["manage.py"], False),
        (["manage.py", "help"], False),
        (["manage.py", "export_schema", "config.schema"], False),
        (["manage.py", "migrate"], True),
        (["manage.py", "seed_demo"], True),
        (["manage.py", "create_api_token", "alice"], True),
    ],
)
def test_which_commands_are_checked(argv: list[str], checked: bool) -> None:
    assert needs_database(argv) is checked
