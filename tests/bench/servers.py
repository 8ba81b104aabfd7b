"""B5: requests per second of W at concurrency 8, two uvicorn workers against
one; B6: the workers' memory after 2,000 W requests against after 200
(PostgreSQL only: the servers share the bench's database).

Two workers run as two uvicorn processes, each on its own port, and the load
generator spreads its connections over them in turn, as a load balancer in
front of workers does. (With `uvicorn --workers 2` on one port the kernel
hands each new connection to whichever worker accepts first, and a worker
woken by a burst of connections accepts them all: what B5 then measures is
how evenly the kernel happened to spread 8 connections.)"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack, ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.db import connection

from tests.bench.common import Row, median, progress, verdict
from tests.bench.reads import NESTED_QUERY
from tests.uvicorn import Server, environment, serving

PORTS = (8611, 8612, 8613)
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
    """Workers serving the bench's database: one-worker uvicorn processes,
    each on its own port."""

    servers: list[Server]
    served: int = 0
    rates: list[float] = field(default_factory=list)

    @property
    def urls(self) -> list[str]:
        return [server.url for server in self.servers]

    def pids(self) -> list[int]:
        return [server.process.pid for server in self.servers]

    def cpu_seconds(self) -> list[float]:
        """Each worker's CPU time so far (user and system), in seconds."""
        ticks = os.sysconf("SC_CLK_TCK")
        seconds = []
        for pid in self.pids():
            stat = _read(f"/proc/{pid}/stat").decode(errors="replace")
            fields = stat.rpartition(")")[2].split()
            seconds.append((int(fields[11]) + int(fields[12])) / ticks)
        return seconds

    def rss_mb(self) -> list[float]:
        """Each worker's resident set (VmRSS), in MB."""
        sizes = []
        for pid in self.pids():
            for line in _read(f"/proc/{pid}/status").decode().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
        return sizes


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError:
        return b""


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


@contextmanager
def servers() -> Iterator[dict[str, Workers]]:
    """One worker, and two, by name; stopped however the block ends."""
    settings = server_settings()
    ports = iter(PORTS)
    with ExitStack() as stack:

        def start() -> Server:
            return stack.enter_context(serving(settings, port=next(ports)))

        yield {"1 worker": Workers([start()]), "2 workers": Workers([start(), start()])}


async def _load(workers: Workers, token: str, requests: int) -> float:
    """Send `requests` W requests over CONCURRENCY connections, spread over the
    servers in turn; seconds taken."""
    headers = {"Authorization": f"Bearer {token}"}
    body = {"query": NESTED_QUERY, "variables": {}}
    remaining = requests
    urls = workers.urls
    limits = httpx.Limits(max_connections=CONCURRENCY // len(urls))
    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=url, timeout=300, limits=limits)
            )
            for url in urls
        ]

        async def loop(client: httpx.AsyncClient) -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                response = await client.post("/graphql/", json=body, headers=headers)
                if response.status_code != 200 or b'"errors"' in response.content:
                    raise RuntimeError(
                        f"W at {client.base_url}: {response.status_code} "
                        f"{response.text[:500]!r}"
                    )

        start = time.perf_counter()
        await asyncio.gather(
            *(loop(clients[index % len(clients)]) for index in range(CONCURRENCY))
        )
        elapsed = time.perf_counter() - start
    workers.served += requests
    return elapsed


def warm_up(server: Workers, token: str) -> None:
    """W requests until every worker has spent some CPU on them, so that no
    timed round pays for a worker's first requests (imports, caches)."""
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
    progress("B5: starting uvicorn: 1 worker; 2 one-worker processes")
    with servers() as topologies:
        for workers in topologies.values():
            warm_up(workers, token)
        # Rounds in turn, each topology first in its turn.
        names = list(topologies)
        for round_ in range(LOAD_ROUNDS):
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                workers = topologies[name]
                seconds = load(workers, token, ROUND_REQUESTS)
                workers.rates.append(ROUND_REQUESTS / seconds)
            progress(
                f"B5 round {round_ + 1}: "
                + ", ".join(
                    f"{name} {workers.rates[-1]:.1f} req/s"
                    for name, workers in topologies.items()
                )
            )
        one = median(topologies["1 worker"].rates)
        two = median(topologies["2 workers"].rates)
        b5 = two / one
        # B6 on the two workers, counting the requests B5 sent them.
        workers = topologies["2 workers"]
        load(workers, token, max(MEMORY_EARLY - workers.served, 0))
        early = workers.rss_mb()
        early_served = workers.served
        progress(
            f"B6: {early_served} requests served, workers at "
            f"{', '.join(f'{mb:.0f}' for mb in early)} MB; "
            f"{MEMORY_LATE - early_served} more to go"
        )
        while workers.served < MEMORY_LATE:
            load(workers, token, min(PROGRESS_EVERY, MEMORY_LATE - workers.served))
            progress(f"B6: {workers.served} of {MEMORY_LATE} requests served")
        late = workers.rss_mb()
    b6 = sum(late) / sum(early)
    rounds = f"median of {LOAD_ROUNDS} rounds of {ROUND_REQUESTS}"
    return [
        Row(
            "B5",
            f"W (response cache off) at concurrency {CONCURRENCY}: 2 workers "
            f"(one-worker uvicorns, connections spread in turn) {two:.1f} req/s, "
            f"1 worker {one:.1f} req/s; {rounds}",
            b5,
            f">= {B5_TARGET_RATIO:.1f}x",
            verdict(b5 >= B5_TARGET_RATIO),
        ),
        Row(
            "B6",
            f"RSS of 2 workers after {workers.served:,} W requests "
            f"{' + '.join(f'{mb:.0f}' for mb in late)} MB, after {early_served} "
            f"{' + '.join(f'{mb:.0f}' for mb in early)} MB",
            b6,
            f"<= {B6_TARGET_RATIO:.1f}x",
            verdict(b6 <= B6_TARGET_RATIO),
        ),
    ]
