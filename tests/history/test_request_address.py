"""The trail keeps where a change came from: a forged X-Forwarded-For is not
believed, in the test client and against the real server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.test import Client

from history.context import MAX_FORWARDED_HOPS
from tests.conftest import bearer
from tests.history.trail_checks import CREATE, HistoricalProduct
from tests.uvicorn import environment, serving

# -- where from ------------------------------------------------------------------


@pytest.fixture
def write_from(gql, staff):
    """Create a product with the given REMOTE_ADDR and X-Forwarded-For; return
    the recorded ipAddress (as staff sees it)."""

    def write(remote: str, forwarded: str | None = None) -> str | None:
        headers = bearer(staff)
        if forwarded is not None:
            headers["X-Forwarded-For"] = forwarded
        answer = gql(
            CREATE,
            {"input": {"name": "Lamp", "price": "1.00"}},
            headers=headers,
            client=Client(REMOTE_ADDR=remote),
        )
        assert answer["data"]["createProduct"]["__typename"] == "Product", answer
        version = HistoricalProduct.objects.order_by("-history_id").first()
        return version.history_ip_address

    return write


@pytest.mark.parametrize(
    ("remote", "forwarded", "recorded"),
    [
        # No proxy trusted: the header is ignored.
        ("127.0.0.1", "6.6.6.6", "127.0.0.1"),
        ("203.0.113.9", "6.6.6.6, 7.7.7.7", "203.0.113.9"),
        # uvicorn already put the forged address in REMOTE_ADDR: the real
        # peer was the loopback proxy uvicorn trusts.
        ("6.6.6.6", "6.6.6.6", "127.0.0.1"),
        ("7.7.7.7", "6.6.6.6, 7.7.7.7:4000", "127.0.0.1"),
        # Garbage never fails a write, and is never stored.
        ("127.0.0.1", "not-an-ip, ,,", "127.0.0.1"),
        ("not-an-ip", "not-an-ip", "127.0.0.1"),
        ("127.0.0.1", "1.2.3.4%eth0, \x7f, [zz]:80", "127.0.0.1"),
        ("203.0.113.9", None, "203.0.113.9"),
        ("::ffff:203.0.113.9", None, "203.0.113.9"),
    ],
)
def test_forwarded_for_is_not_believed_by_default(
    write_from, remote, forwarded, recorded
):
    assert write_from(remote, forwarded) == recorded


def test_a_forged_address_behind_many_loopback_hops_is_not_believed(write_from):
    """uvicorn walks the whole header past its trusted loopback hops: an
    address it took from far to the left is still spotted as taken from it."""
    hops = ", ".join(["127.0.0.1"] * (MAX_FORWARDED_HOPS + 8))

    assert write_from("6.6.6.6", f"6.6.6.6, {hops}") == "127.0.0.1"


def test_no_valid_peer_records_no_address(write_from):
    assert write_from("not-an-ip") is None


@pytest.mark.parametrize(
    ("remote", "forwarded", "recorded"),
    [
        # One trusted proxy: the address it appended.
        ("10.0.0.5", "203.0.113.9", "203.0.113.9"),
        # The client's own claims to the left are not believed.
        ("10.0.0.5", "6.6.6.6, 203.0.113.9", "203.0.113.9"),
        # A chain of trusted proxies (a network and a single address).
        ("10.0.0.5", "6.6.6.6, 203.0.113.9, 10.1.2.3, 192.0.2.1", "203.0.113.9"),
        ("10.0.0.5", "6.6.6.6, [2001:db8::7]:443, 10.1.2.3", "2001:db8::7"),
        # A malformed hop ends the walk: the last trusted hop is recorded.
        ("10.0.0.5", "6.6.6.6, garbage, 10.1.2.3", "10.1.2.3"),
        ("10.0.0.5", "not-an-ip, ,,", "10.0.0.5"),
        # Every hop trusted: the client was a proxy itself.
        ("10.0.0.5", "10.1.0.1, 10.1.0.2", "10.1.0.1"),
        # An untrusted peer's header is ignored.
        ("203.0.113.50", "6.6.6.6", "203.0.113.50"),
        # Behind a loopback proxy that uvicorn trusts too: uvicorn put the
        # client in REMOTE_ADDR; the walk finds the same client.
        ("203.0.113.9", "6.6.6.6, 203.0.113.9", "203.0.113.9"),
        # A client that connected directly, bypassing the proxy, and names
        # itself in the header to look rewritten keeps its own address.
        ("198.51.100.7", "198.51.100.7, 6.6.6.6", "198.51.100.7"),
        ("198.51.100.7", "6.6.6.6, 198.51.100.7", "198.51.100.7"),
    ],
)
def test_trusted_proxies_are_believed(
    settings, write_from, remote, forwarded, recorded
):
    settings.TRUSTED_PROXIES = [
        "10.0.0.5",
        "10.1.0.0/16",
        "192.0.2.1",
        "127.0.0.1",
        "not a network",
    ]

    assert write_from(remote, forwarded) == recorded


def test_a_long_chain_is_walked_only_so_far(settings, write_from):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    chain = ", ".join(["6.6.6.6"] + ["10.0.0.1"] * (MAX_FORWARDED_HOPS + 5))

    assert write_from("10.0.0.5", chain) == "10.0.0.1"


def test_a_server_that_does_not_rewrite_addresses(settings, write_from):
    settings.FORWARDED_ALLOW_IPS = []

    # A direct client that repeats its own address is recorded as itself.
    assert write_from("203.0.113.9", "203.0.113.9") == "203.0.113.9"


# -- where from, against the real server -------------------------------------------

COMMAND_SECONDS = 120


def manage(environment: dict[str, str], *args: str) -> str:
    """Run a management command of this project; its standard output."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=Path(settings.BASE_DIR),
        env=environment,
        capture_output=True,
        text=True,
        timeout=COMMAND_SECONDS,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout


def test_uvicorn_with_its_defaults_does_not_record_a_forged_address(tmp_path):
    """uvicorn as `make run` starts it (trusting loopback's X-Forwarded-For) on a
    SQLite file: a forged header is not recorded, a garbage one fails nothing."""
    live = environment(
        DJANGO_DEBUG="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        DJANGO_LOG_LEVEL="WARNING",
        DJANGO_SUPERUSER_PASSWORD="root-password",
    )
    live.pop("FORWARDED_ALLOW_IPS", None)
    manage(live, "migrate", "--noinput")
    manage(
        live,
        "createsuperuser",
        "--noinput",
        "--username",
        "root",
        "--email",
        "root@example.com",
    )
    token = manage(live, "create_api_token", "root").strip()
    headers = {"Authorization": f"Bearer {token}"}
    with serving(live) as server, httpx.Client(timeout=30) as client:
        url = f"{server.url}/graphql/"

        def create(forwarded: str) -> dict[str, Any]:
            response = client.post(
                url,
                json={
                    "query": CREATE,
                    "variables": {"input": {"name": "Lamp", "price": "1"}},
                },
                headers={**headers, "X-Forwarded-For": forwarded},
            )
            assert response.status_code == 200, response.text
            answer: dict[str, Any] = response.json()
            return answer

        forged = create("6.6.6.6")
        garbage = create("not-an-ip, ,,")
        # uvicorn puts this one in the client address itself.
        substituted = create("not-an-ip")
        # And this one, found past any number of loopback hops.
        far = create("6.6.6.6, " + ", ".join(["127.0.0.1"] * 40))
        recorded = client.post(
            url,
            json={"query": "{ productHistory { edges { node { ipAddress } } } }"},
            headers=headers,
        ).json()
    server_log = server.log
    recorded.pop("extensions", None)  # the query's cost
    assert forged["data"]["createProduct"]["__typename"] == "Product", server_log
    assert garbage["data"]["createProduct"]["__typename"] == "Product", server_log
    assert substituted["data"]["createProduct"]["__typename"] == "Product", server_log
    assert far["data"]["createProduct"]["__typename"] == "Product", server_log
    assert recorded == {
        "data": {
            "productHistory": {"edges": [{"node": {"ipAddress": "127.0.0.1"}}] * 4}
        }
    }, server_log
