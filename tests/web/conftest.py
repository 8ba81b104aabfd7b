"""The browser tests' server: uvicorn on loopback, in production mode, on a
fresh SQLite database of its own prepared by `tests.web.seed`."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.uvicorn import ROOT, environment, serving


def server_environment(database: Path) -> dict[str, str]:
    """Production settings, except cookies that plain-HTTP loopback can carry."""
    return environment(
        DJANGO_SECRET_KEY="browser-tests-only",
        DJANGO_SECURE_COOKIES="0",
        DATABASE_URL=f"sqlite:///{database}",
        FORWARDED_ALLOW_IPS="",
    )


@pytest.fixture(scope="module")
def web_server() -> Iterator[str]:
    """The base URL of a freshly seeded server, stopped after the module."""
    with tempfile.TemporaryDirectory(prefix="web-e2e-") as directory:
        database = Path(directory) / "db.sqlite3"
        settings = server_environment(database)
        subprocess.run(
            [sys.executable, "-m", "tests.web.seed"],
            cwd=ROOT,
            env=settings,
            check=True,
        )
        with serving(settings, options=()) as server:
            yield server.url
