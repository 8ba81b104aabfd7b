"""What every bench shares: progress lines, timing, statement counts, the table."""

from __future__ import annotations

import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

import httpx
from django.core.cache import caches
from django.db import connection

from config.asgi import application

T = TypeVar("T")

TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
STARTED = time.perf_counter()
PASS = "pass"
SHORT = "short"
SKIPPED = "skipped (PostgreSQL only)"


def progress(message: str) -> None:
    """A line on stderr, so one sees the bench is alive."""
    print(
        f"[bench {time.perf_counter() - STARTED:6.1f} s] {message}",
        file=sys.stderr,
        flush=True,
    )


def ms(nanoseconds: float) -> float:
    return nanoseconds / 1e6


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def timed(call: Callable[[], object]) -> int:
    """Nanoseconds one call takes, the garbage collector's share included."""
    start = time.perf_counter_ns()
    call()
    return time.perf_counter_ns() - start


def is_control(sql: str) -> bool:
    """BEGIN/COMMIT/SAVEPOINT and friends: transaction control, not data."""
    return sql.lstrip().upper().startswith(TRANSACTION_CONTROL)


def data_statements(queries: Sequence[dict[str, Any]]) -> int:
    """Statements of a `CaptureQueriesContext` other than transaction control."""
    return sum(1 for query in queries if not is_control(str(query["sql"])))


class Statements:
    """Counts the statements run on a connection, as an execute wrapper.

    Cheap enough to stay on while timing (no SQL is kept), unlike
    `CaptureQueriesContext`. It sees what goes through a cursor, SAVEPOINTs
    included; BEGIN and COMMIT go through the driver and are not seen.
    `reads` counts the SELECTs: a response cache that answers saves some of
    them, while bookkeeping writes (a token's last use) come and go.
    """

    def __init__(self) -> None:
        self.all = 0
        self.data = 0
        self.reads = 0

    def __call__(
        self,
        execute: Callable[..., Any],
        sql: str,
        params: Any,
        many: bool,
        context: Any,
    ) -> Any:
        self.all += 1
        if not is_control(sql):
            self.data += 1
        if sql.lstrip(" \n(").upper().startswith(("SELECT", "WITH")):
            self.reads += 1
        return execute(sql, params, many, context)

    def reset(self) -> None:
        self.all = 0
        self.data = 0
        self.reads = 0


class Api:
    """`config.asgi:application` over httpx's ASGI transport, as a token's user:
    every request goes through the whole ASGI stack, no socket in between."""

    def __init__(self, token: str) -> None:
        self.headers = {"Authorization": f"Bearer {token}"}
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application),
            base_url="http://testserver",
        )

    async def __aenter__(self) -> Api:
        await self.http.__aenter__()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.http.__aexit__(kind, error, traceback)

    async def post(
        self, url: str, document: str, variables: dict[str, Any] | None = None
    ) -> str:
        """The answer's text; an answer other than 200 stops the bench."""
        response = await self.http.post(
            url,
            json={"query": document, "variables": variables or {}},
            headers=self.headers,
        )
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code} {response.text!r}")
        return response.text


class Samples:
    """The timed requests of each variant: nanoseconds, data statements and
    SELECTs, counted by `counter` on the connection it watches."""

    def __init__(self, counter: Statements) -> None:
        self.counter = counter
        self.times: defaultdict[str, list[int]] = defaultdict(list)
        self.data: defaultdict[str, list[int]] = defaultdict(list)
        self.reads: defaultdict[str, list[int]] = defaultdict(list)

    async def take(self, name: str, request: Callable[[], Awaitable[T]]) -> T:
        self.counter.reset()
        start = time.perf_counter_ns()
        result = await request()
        self.times[name].append(time.perf_counter_ns() - start)
        self.data[name].append(self.counter.data)
        self.reads[name].append(self.counter.reads)
        return result


def clear_caches() -> None:
    """Empty every cache Django knows of, so no answer is served from one."""
    from django.conf import settings

    for alias in settings.CACHES:
        caches[alias].clear()


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


@dataclass(frozen=True)
class Row:
    """One line of the result table.

    Attributes:
        name: The bench, e.g. "B1 cold"; rows of what a user would otherwise
            write are named after it.
        figures: What was measured, in words and units.
        ratio: The ratio the target is about, or None.
        target: The target, e.g. "<= 5.0x"; empty for reference rows.
        result: pass, short, skipped (why), or empty for reference rows.
    """

    name: str
    figures: str
    ratio: float | None = None
    target: str = ""
    result: str = ""


def verdict(ok: bool) -> str:
    return PASS if ok else SHORT


def print_table(rows: Sequence[Row]) -> None:
    headers = ("bench", "figures", "ratio", "target", "result")
    cells = [
        (
            row.name,
            row.figures,
            "" if row.ratio is None else f"{row.ratio:.2f}x",
            row.target,
            row.result,
        )
        for row in rows
    ]
    widths = [
        max(len(headers[column]), *(len(line[column]) for line in cells))
        for column in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        return (
            "| "
            + " | ".join(
                value.rjust(width) if column == 2 else value.ljust(width)
                for column, (value, width) in enumerate(
                    zip(values, widths, strict=True)
                )
            )
            + " |"
        )

    print(line(headers))
    print("| " + " | ".join("-" * width for width in widths) + " |")
    for values in cells:
        print(line(values))
