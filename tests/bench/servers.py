"""B5: requests per second of W at concurrency 8, two uvicorn workers against
one; B6: the workers' memory after 2,000 W requests against after 200
(PostgreSQL only: the servers share the bench's database)."""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.db import connection

from tests.bench.common import Row, median, progress, verdict
from tests.bench.reads import NESTED_QUERY
from tests.uvicorn import Server, environment, serving

PORTS = {1: 8611, 2: 8612}
CONCURRENCY = 8
SERVER_WARMUPS = 16
# Warm-up goes on, a batch of CONCURRENCY requests at a time, until every
# worker has spent this much CPU (about 10 W requests), at most WARMUP_BATCHES.
WARM_WORKER_SECONDS = 1.5
WARMUP_BATCHES = 20
LOAD_ROUNDS = 5
ROUND_REQUESTS = 48
MEMORY_EARLY = 200
MEMORY_LATE = 2_000
PROGRESS_EVERY = 200
B5_TARGET_RATIO = 1.8
B6_TARGET_RATIO = 1.1


@dataclass
class Workers:
    """A uvicorn serving the bench's database with `count` workers."""

    count: int
    server: Server
    served: int = 0
    rates: list[float] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def cpu_seconds(self) -> list[float]:
        """Each worker's CPU time so far (user and system), in seconds."""
        ticks = os.sysconf("SC_CLK_TCK")
        seconds = []
        for pid in worker_pids(self.server, self.count):
            stat = _read(f"/proc/{pid}/stat").decode(errors="replace")
            fields = stat.rpartition(")")[2].split()
            seconds.append((int(fields[11]) + int(fields[12])) / ticks)
        return seconds

    def rss_mb(self) -> list[float]:
        """Each worker's resident set (VmRSS), in MB."""
        sizes = []
        for pid in worker_pids(self.server, self.count):
            for line in _read(f"/proc/{pid}/status").decode().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
        return sizes


def worker_pids(server: Server, count: int) -> list[int]:
    """The processes that serve requests: uvicorn's spawned children when it
    supervises several workers, else itself."""
    supervisor = server.process.pid
    if count == 1:
        return [supervisor]
    return [
        pid
        for pid in _children(supervisor)
        if b"spawn_main" in _read(f"/proc/{pid}/cmdline")
    ]


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


def server_settings() -> dict[str, str]:
    """A production server on the bench's database, with the response cache
    off (B5 and B6 measure W computed, every time) and the bench's database
    budgets."""
    url = urlsplit(os.environ["DATABASE_URL"])
    database = urlunsplit(url._replace(path=f"/{connection.settings_dict['NAME']}"))
    return environment(
        DATABASE_URL=database,
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        GRAPHQL_RESPONSE_CACHE="0",
    )


def all_workers_up(server: Server, *, count: int) -> bool:
    return len(worker_pids(server, count)) == count


@contextmanager
def servers() -> Iterator[dict[int, Workers]]:
    """A one-worker and a two-worker uvicorn, stopped (with their workers)
    however the block ends."""
    settings = server_settings()
    with ExitStack() as stack:
        started: dict[int, Workers] = {}
        for count, port in PORTS.items():
            server = stack.enter_context(
                serving(
                    settings,
                    port=port,
                    workers=count,
                    ready=partial(all_workers_up, count=count),
                )
            )
            started[count] = Workers(count=count, server=server)
        yield started


async def _load(server: Workers, token: str, requests: int) -> float:
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
                        f"W at {server.url}: {response.status_code} "
                        f"{response.text[:500]!r}"
                    )

        start = time.perf_counter()
        await asyncio.gather(*(loop() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - start
    server.served += requests
    return elapsed


def warm_up(server: Workers, token: str) -> None:
    """W requests until every worker has served some: the kernel hands each
    keep-alive connection to whichever worker accepts it first, so a fixed
    number of requests may leave a worker cold (its first requests pay for
    imports and caches) for the first timed round."""
    start = server.cpu_seconds()
    load(server, token, SERVER_WARMUPS)
    for _ in range(WARMUP_BATCHES):
        used = [
            now - then for now, then in zip(server.cpu_seconds(), start, strict=True)
        ]
        if min(used) >= WARM_WORKER_SECONDS:
            break
        load(server, token, CONCURRENCY)


def load(server: Workers, token: str, requests: int) -> float:
    return asyncio.run(_load(server, token, requests))


def bench_servers(*, token: str) -> list[Row]:
    """B5 and B6 against real uvicorn processes."""
    progress("B5: starting uvicorn with 1 and with 2 workers")
    with servers() as running:
        for server in running.values():
            warm_up(server, token)
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
        # B6 on the two-worker server, counting the requests B5 sent it: both
        # workers have served by then (a fresh server's first 200 requests may
        # all go to one worker, whose connections the kernel handed it).
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
