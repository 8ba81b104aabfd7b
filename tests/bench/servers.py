"""B5: requests per second of W at concurrency 8, two uvicorn workers against
one; B6: the workers' memory after 2,000 W requests against after 200
(PostgreSQL only: the servers share the bench's database)."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.db import connection

from tests.bench.common import Row, median, progress, verdict
from tests.bench.reads import NESTED_QUERY

HOST = "127.0.0.1"
PORTS = {1: 8611, 2: 8612}
CONCURRENCY = 8
SERVER_WARMUPS = 16
LOAD_ROUNDS = 3
ROUND_REQUESTS = 48
MEMORY_EARLY = 200
MEMORY_LATE = 2_000
PROGRESS_EVERY = 200
START_TIMEOUT_SECONDS = 90
B5_TARGET_RATIO = 1.8
B6_TARGET_RATIO = 1.1
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Server:
    """A uvicorn serving `config.asgi:application` on the bench's database."""

    workers: int
    port: int
    process: subprocess.Popen[bytes]
    served: int = 0
    rates: list[float] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: uvicorn's spawned children when
        it supervises several workers, else itself."""
        if self.workers == 1:
            return [self.process.pid]
        return [
            pid
            for pid in _children(self.process.pid)
            if b"spawn_main" in _read(f"/proc/{pid}/cmdline")
        ]

    def rss_mb(self) -> list[float]:
        """Each worker's resident set (VmRSS), in MB."""
        sizes = []
        for pid in self.worker_pids():
            for line in _read(f"/proc/{pid}/status").decode().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
        return sizes


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError:
        return b""


def _children(parent: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _read(f"/proc/{entry.name}/stat").decode(errors="replace")
            # The fields after the command name (which may hold spaces).
            fields = stat.rpartition(")")[2].split()
            if len(fields) > 1 and int(fields[1]) == parent:
                pids.append(int(entry.name))
    return pids


def server_environment() -> dict[str, str]:
    """The environment of a production server on the bench's database, with
    the response cache off: B5 and B6 measure W computed, every time."""
    url = urlsplit(os.environ["DATABASE_URL"])
    database = urlunsplit(url._replace(path=f"/{connection.settings_dict['NAME']}"))
    return {
        **os.environ,
        "DATABASE_URL": database,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": HOST,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "GRAPHQL_RESPONSE_CACHE": "0",
        "PYTHONPATH": str(ROOT),
    }


@contextmanager
def servers() -> Iterator[dict[int, Server]]:
    """A one-worker and a two-worker uvicorn, stopped (with their workers)
    however the block ends."""
    started: dict[int, Server] = {}
    environment = server_environment()
    try:
        for workers, port in PORTS.items():
            process = subprocess.Popen(
                [
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
                    "--no-access-log",
                ],
                cwd=ROOT,
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            started[workers] = Server(workers=workers, port=port, process=process)
        for server in started.values():
            _wait_until_up(server)
        yield started
    finally:
        for server in started.values():
            _stop(server.process)


def _wait_until_up(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"uvicorn on port {server.port} exited ({server.process.returncode})"
            )
        try:
            response = httpx.post(
                f"{server.url}/graphql/", json={"query": "{ __typename }"}, timeout=5
            )
            if response.status_code == 200 and (
                server.workers == 1 or len(server.worker_pids()) == server.workers
            ):
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"uvicorn on port {server.port} did not start in time")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server this bench started, and its workers (its own session)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    with suppress(ProcessLookupError):  # a worker left behind by its supervisor
        os.killpg(process.pid, signal.SIGKILL)


async def _load(server: Server, token: str, requests: int) -> float:
    """Send `requests` W requests over CONCURRENCY connections; seconds taken."""
    headers = {"Authorization": f"Bearer {token}"}
    body = {"query": NESTED_QUERY, "variables": {}}
    remaining = requests
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(
        base_url=server.url, timeout=300, limits=limits
    ) as client:

        async def loop() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                response = await client.post("/graphql/", json=body, headers=headers)
                if response.status_code != 200 or b'"errors"' in response.content:
                    raise RuntimeError(
                        f"W on port {server.port}: {response.status_code} "
                        f"{response.text[:500]!r}"
                    )

        start = time.perf_counter()
        await asyncio.gather(*(loop() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - start
    server.served += requests
    return elapsed


def load(server: Server, token: str, requests: int) -> float:
    return asyncio.run(_load(server, token, requests))


def bench_servers(*, token: str) -> list[Row]:
    """B5 and B6 against real uvicorn processes."""
    progress("B5: starting uvicorn with 1 and with 2 workers")
    with servers() as running:
        for server in running.values():
            load(server, token, SERVER_WARMUPS)
        # Alternating rounds, each server first in turn.
        for round_ in range(LOAD_ROUNDS):
            order = (1, 2) if round_ % 2 == 0 else (2, 1)
            for workers in order:
                server = running[workers]
                seconds = load(server, token, ROUND_REQUESTS)
                server.rates.append(ROUND_REQUESTS / seconds)
            progress(
                f"B5 round {round_ + 1}: "
                + ", ".join(
                    f"{workers} worker(s) {running[workers].rates[-1]:.1f} req/s"
                    for workers in (1, 2)
                )
            )
        one, two = median(running[1].rates), median(running[2].rates)
        b5 = two / one
        # B6 on the two-worker server, counting the requests B5 sent it.
        server = running[2]
        load(server, token, max(MEMORY_EARLY - server.served, 0))
        early = server.rss_mb()
        early_served = server.served
        progress(
            f"B6: {early_served} requests served, workers at "
            f"{', '.join(f'{mb:.0f}' for mb in early)} MB; "
            f"{MEMORY_LATE - early_served} more to go"
        )
        while server.served < MEMORY_LATE:
            load(server, token, min(PROGRESS_EVERY, MEMORY_LATE - server.served))
            progress(f"B6: {server.served} of {MEMORY_LATE} requests served")
        late = server.rss_mb()
    b6 = sum(late) / sum(early)
    return [
        Row(
            "B5",
            f"W (response cache off) at concurrency {CONCURRENCY}: 2 workers "
            f"{two:.1f} req/s, 1 worker "
            f"{one:.1f} req/s; median of {LOAD_ROUNDS} rounds of {ROUND_REQUESTS}",
            b5,
            f">= {B5_TARGET_RATIO:.1f}x",
            verdict(b5 >= B5_TARGET_RATIO),
        ),
        Row(
            "B6",
            f"RSS of 2 workers after {server.served:,} W requests "
            f"{' + '.join(f'{mb:.0f}' for mb in late)} MB, after {early_served} "
            f"{' + '.join(f'{mb:.0f}' for mb in early)} MB",
            b6,
            f"<= {B6_TARGET_RATIO:.1f}x",
            verdict(b6 <= B6_TARGET_RATIO),
        ),
    ]
