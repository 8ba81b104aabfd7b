"""uvicorn serving `config.asgi:application` for the tests and the bench that
need a real server: a context manager that starts it on loopback, waits for
its first answer and stops it (with its workers) however the block ends,
keeping what it logged."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

HOST = "127.0.0.1"  # loopback only
ROOT = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 60
STOP_SECONDS = 20


class ServerDidNotStart(RuntimeError):
    """uvicorn exited, or did not answer in time; the message ends with its log."""


@dataclass
class Server:
    """A running uvicorn: its process, its base URL and, once stopped, its log."""

    process: subprocess.Popen[bytes]
    url: str
    log: str = ""


def free_port() -> int:
    """A port on loopback that nobody listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


# Limits the servers keep from this process (the tests' own are looser than
# production's on a busy machine; the bench measures without them).
KEPT_LIMITS = ("DATABASE_STATEMENT_TIMEOUT_MS", "DATABASE_REQUEST_BUDGET_MS")


def environment(**settings: str) -> dict[str, str]:
    """This process's environment without its Django and database settings
    (its database budgets aside), then production settings on loopback, then
    `settings`."""
    kept = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_")) or key in KEPT_LIMITS
    }
    python_path = os.pathsep.join(
        path for path in (str(ROOT), os.environ.get("PYTHONPATH")) if path
    )
    return {
        **kept,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "tests-only-" + "x" * 50,
        "DJANGO_ALLOWED_HOSTS": HOST,
        "PYTHONPATH": python_path,
        **settings,
    }


def _read(log: IO[str]) -> str:
    log.flush()
    log.seek(0)
    return log.read()


def _wait_until_answering(server: Server, log: IO[str]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerDidNotStart(
                f"uvicorn exited ({server.process.returncode}):\n{_read(log)[-4000:]}"
            )
        with suppress(httpx.TransportError):
            response = httpx.post(
                f"{server.url}/graphql/", json={"query": "{ __typename }"}, timeout=5
            )
            if response.status_code == 200:
                return
        time.sleep(0.2)
    raise ServerDidNotStart(
        f"no answer within {STARTUP_SECONDS} s:\n{_read(log)[-4000:]}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    with suppress(ProcessLookupError):  # a worker left behind by its supervisor
        os.killpg(process.pid, signal.SIGKILL)


@contextmanager
def serving(
    settings: dict[str, str],
    *,
    port: int | None = None,
    workers: int = 1,
    options: Sequence[str] = ("--no-access-log",),
) -> Iterator[Server]:
    """uvicorn with `workers` workers in the environment `settings`, on `port`
    (else a free one), answering a trivial query before the
    block runs. Its log is in `Server.log` after the block."""
    port = free_port() if port is None else port
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "config.asgi:application",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--lifespan",
        "off",
        *options,
    ]
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=settings,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its workers share its process group
        )
        server = Server(process=process, url=f"http://{HOST}:{port}")
        try:
            _wait_until_answering(server, log)
            yield server
        finally:
            _stop(process)
            server.log = _read(log)
