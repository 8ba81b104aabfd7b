"""The browser tests' server: uvicorn on loopback, in production mode, on a
fresh SQLite database of its own prepared by `tests.web.seed`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_live_server import wait_until_answering

HOST = "127.0.0.1"  # loopback only
PORTS = range(8501, 8510)  # the ports these tests may use
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """The first port of `PORTS` nobody listens on."""
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind((HOST, port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS}")


def server_environment(database: Path) -> dict[str, str]:
    """Production settings, except cookies that plain-HTTP loopback can carry."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_"))
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="browser-tests-only",
        DJANGO_ALLOWED_HOSTS=HOST,
        DJANGO_SECURE_COOKIES="0",
        DATABASE_URL=f"sqlite:///{database}",
        FORWARDED_ALLOW_IPS="",
    )
    return environment


@pytest.fixture(scope="module")
def web_server() -> Iterator[str]:
    """The base URL of a freshly seeded server, stopped after the module."""
    with tempfile.TemporaryDirectory(prefix="web-e2e-") as directory:
        database = Path(directory) / "db.sqlite3"
        environment = server_environment(database)
        subprocess.run(
            [sys.executable, "-m", "tests.web.seed"],
            cwd=ROOT,
            env=environment,
            check=True,
        )
        port = free_port()
        with tempfile.TemporaryFile("w+") as log:
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "config.asgi:application",
                    "--host",
                    HOST,
                    "--port",
                    str(port),
                    "--lifespan",
                    "off",
                ],
                cwd=ROOT,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            url = f"http://{HOST}:{port}"
            try:
                wait_until_answering(f"{url}/graphql/", server, log)
                yield url
            finally:
                server.terminate()
                server.wait(timeout=10)
