"""The request context recorded on every version: user, IP, user agent, request id.

The middleware in `history.middleware` captures it once per request; simple-history's
`HistoryRequestMiddleware` keeps the request in an `asgiref.local.Local` that
follows the request into `sync_to_async` threads, so the version writer can read
it at save time without any resolver passing it around.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from simple_history.models import HistoricalRecords

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
MAX_USER_AGENT_LENGTH = 512
# Hops of X-Forwarded-For looked at, from the right: far more than any real
# chain of proxies, and a bound on the work a long header costs.
MAX_FORWARDED_HOPS = 32

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RequestContext:
    """What a version records about the request that made it."""

    ip_address: str | None
    user_agent: str
    request_id: str


def request_id_from(request: HttpRequest) -> str:
    """The client's `X-Request-ID` when it is well-formed, else a new UUID."""
    given = request.headers.get(REQUEST_ID_HEADER, "")
    if _REQUEST_ID_RE.match(given):
        return given
    return uuid.uuid4().hex


def parse_ip(value: str | None) -> IPAddress | None:
    """The IP address in `value` (a bare address, `1.2.3.4:80` or `[::1]:80`),
    IPv4-mapped IPv6 addresses as IPv4; None for anything else, scoped IPv6
    addresses (`fe80::1%eth0`) included, which no address column stores."""
    text = (value or "").strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return None
        return address.ipv4_mapped or address
    return address


@functools.lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...], setting: str) -> tuple[IPNetwork, ...]:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            logger.warning(
                "%s: ignoring %r, not an IP address or network.", setting, entry
            )
    return tuple(networks)


def _trusted_proxies() -> tuple[IPNetwork, ...]:
    return _networks(tuple(settings.TRUSTED_PROXIES), "TRUSTED_PROXIES")


def _is_in(address: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    return any(address in network for network in networks)


def _server_trusted_peer() -> IPAddress | None:
    """The peer the server believes about X-Forwarded-For: the first address in
    its own list (`FORWARDED_ALLOW_IPS`, uvicorn's loopback by default)."""
    for entry in settings.FORWARDED_ALLOW_IPS:
        address = parse_ip(entry)
        if address is not None:
            return address
    return None


def client_address(request: HttpRequest) -> str | None:
    """The client address a version records: always a valid IP, or None.

    The rule, in order:

    1. The peer. uvicorn (like most ASGI servers) replaces the socket's address
       with one taken from `X-Forwarded-For` before Django sees the request
       when the socket's peer is in its `FORWARDED_ALLOW_IPS` (loopback by
       default, read before the app loads, so the app cannot turn it off). When
       the request has `X-Forwarded-For` and `REMOTE_ADDR` is one of its entries
       or is not a valid IP, the server may have done that, and the header is
       not walked again: if the first address of `settings.FORWARDED_ALLOW_IPS`
       (the same environment variable; 127.0.0.1 by default) is itself in
       `settings.TRUSTED_PROXIES`, `REMOTE_ADDR` is the client (the server
       walked the header with the trust we share, and a client that connected
       directly kept its own address); otherwise that first address, the proxy
       the server believed, is recorded. Otherwise the peer is `REMOTE_ADDR`.
    2. No valid peer: None.
    3. No `X-Forwarded-For`, or a peer outside `settings.TRUSTED_PROXIES`
       (none by default): the peer. A header from anyone else is not believed.
    4. A trusted peer: walk `X-Forwarded-For` from the right (each proxy
       appends the address it was connected from), skipping trusted proxies;
       the first valid address that is not a trusted proxy is the client. A
       malformed entry ends the walk, since nothing to its left can be vouched
       for; so does running out of entries (the client was itself a trusted
       proxy). Either way the last trusted hop is recorded.

    With no trusted proxies, a direct client that repeats its own address in
    `X-Forwarded-For` looks like step 1 and is recorded as the server's trusted
    peer: it can hide its address, never choose another. Servers started with
    `FORWARDED_ALLOW_IPS=""` (the environment variable, so that the app sees it
    too) never substitute, and the check is skipped.
    """
    header = request.META.get("HTTP_X_FORWARDED_FOR")
    remote = request.META.get("REMOTE_ADDR")
    peer = parse_ip(remote)
    every_hop = [hop.strip() for hop in header.split(",")] if header else []
    # The server looks at every hop (past any number of trusted ones), so the
    # check for its substitution does too; only the app's own walk is bounded.
    hops = every_hop[-MAX_FORWARDED_HOPS:]
    trusted = _trusted_proxies()
    if every_hop and settings.FORWARDED_ALLOW_IPS:
        substituted = peer is None or any(
            hop == remote or parse_ip(hop) == peer for hop in every_hop
        )
        if substituted:
            server_peer = _server_trusted_peer()
            if (
                server_peer is not None
                and peer is not None
                and _is_in(server_peer, trusted)
            ):
                # The proxies the server believes are ours too: its walk of the
                # header is the answer, and a client that did not come through
                # them keeps its own address.
                return str(peer)
            return None if server_peer is None else str(server_peer)
    if peer is None or not hops or not _is_in(peer, trusted):
        return None if peer is None else str(peer)
    for hop in reversed(hops):
        address = parse_ip(hop)
        if address is None:
            break
        if not _is_in(address, trusted):
            return str(address)
        peer = address
    return str(peer)


def request_context_from(request: HttpRequest) -> RequestContext:
    """Capture the context of a request."""
    return RequestContext(
        ip_address=client_address(request),
        user_agent=request.headers.get("User-Agent", "")[:MAX_USER_AGENT_LENGTH],
        request_id=getattr(request, "request_id", "") or request_id_from(request),
    )


def current_request_context() -> RequestContext | None:
    """The context of the request being served, or None outside a request."""
    request = getattr(HistoricalRecords.context, "request", None)
    if request is None:
        return None
    context = getattr(request, "history_context", None)
    if context is None:
        context = request_context_from(request)
    return context
