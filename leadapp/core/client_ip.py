"""Who is calling: the one place every front door (web app, public API, voice bridge) learns a client's IP.

`X-Forwarded-For` is written by whoever sends the request: a client can put anything in it. Only the hops
LeadApp's operator lists in TRUSTED_PROXIES (addresses or CIDRs) are believed, and only when the request
actually came from one of them; the client is then the right-most address of the header that is not a
trusted proxy (what the nearest untrusted hop sent to our proxy). This is uvicorn's `ProxyHeadersMiddleware`
rule, and uvicorn's own code decides it, so the web app (behind Reflex) and the bridge (plain uvicorn) agree
with what uvicorn would put in the ASGI scope. Without TRUSTED_PROXIES the header is ignored: the socket peer
is the client.

A value that is not an IP address (empty, `,`, garbage, a unix socket) becomes `UNKNOWN`: one shared bucket
for every limit, never a reason to skip one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

# The parsing and trust rules of uvicorn's ProxyHeadersMiddleware (pinned in requirements.txt; the tests in
# tests/unit/test_client_ip.py hold its behaviour in place if an upgrade changes it).
from uvicorn.middleware.proxy_headers import _TrustedHosts

from leadapp.core.settings import get_settings

UNKNOWN = "unknown"
"""The client of a request whose address cannot be told: one rate-limit bucket shared by all of them."""

FORWARDED_FOR = "x-forwarded-for"
IPV6_BUCKET_PREFIX = 64
"""One IPv6 client holds a whole /64 (every home or cloud host gets one): its limits are counted per /64."""


@lru_cache(maxsize=8)
def _trusted(proxies: str) -> _TrustedHosts:
    # An empty setting trusts nobody (uvicorn would read "" as one empty literal, which matches no peer either).
    return _TrustedHosts([host.strip() for host in proxies.split(",") if host.strip()])


def _canonical(host: str | None) -> str:
    try:
        address = ipaddress.ip_address((host or "").strip())
    except ValueError:
        return UNKNOWN
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:203.0.113.9 is the IPv4 client 203.0.113.9
    return str(mapped or address)


def resolve(peer: str | None, forwarded_for: str | None = None, trusted_proxies: str | None = None) -> str:
    """The client's IP address (canonical text), or `UNKNOWN`.

    `peer` is the socket peer; `forwarded_for` the X-Forwarded-For header (repeated headers joined with ", ");
    `trusted_proxies` defaults to the TRUSTED_PROXIES setting. The header counts only when the peer is a trusted
    proxy; then the client is the right-most address in it that is not a trusted proxy (all trusted: the
    left-most). When that entry is empty the peer stays the client, as in uvicorn.
    """
    trusted = _trusted(get_settings().trusted_proxies if trusted_proxies is None else trusted_proxies)
    host = peer or ""
    if forwarded_for and host in trusted:
        forwarded_host, _port = trusted.get_trusted_client_address(forwarded_for)
        if forwarded_host:
            host = forwarded_host
    return _canonical(host)


def from_headers(peer: str | None, headers: Mapping[str, str]) -> str:
    """`resolve` for a request whose headers are a mapping with lower-case names (Starlette's `Headers`
    joins repeated ones itself; Reflex's router headers join them with ", ")."""
    return resolve(peer, headers.get(FORWARDED_FOR))


def from_scope(scope: Mapping[str, Any]) -> str:
    """`resolve` for an ASGI HTTP or websocket scope (its `client` and its raw `headers`)."""
    peer = (scope.get("client") or ("",))[0]
    raw = FORWARDED_FOR.encode()
    forwarded = ", ".join(value.decode("latin1") for name, value in scope.get("headers", []) if name == raw)
    return resolve(peer, forwarded)


def bucket(ip: str) -> str:
    """The rate-limit key of a client IP: the address itself for IPv4, its /64 for IPv6, `UNKNOWN` for anything
    else (an empty string included)."""
    try:
        address = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return UNKNOWN
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{address}/{IPV6_BUCKET_PREFIX}", strict=False))
    return _canonical(ip)
