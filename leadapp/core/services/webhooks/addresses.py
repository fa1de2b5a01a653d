"""Where a webhook may be sent: a public https address, never the platform's own network (SSRF).

A URL is checked when it is registered and again before every attempt (its name may resolve elsewhere by then),
and an attempt connects to the very address it checked (`pinned`: the URL's host replaced by that address, the
name kept in the Host header and as the TLS server name, so the certificate is still checked against the name):
a name that resolves to a public address for the check and to a private one a moment later (DNS rebinding) cannot
move the connection.
Every address the host name resolves to must be public (`ipaddress`'s `is_global`): private, loopback,
link-local (cloud metadata at 169.254.169.254), shared, reserved, multicast and unspecified addresses are refused,
IPv4-mapped IPv6 included. With WEBHOOKS_ALLOW_LOOPBACK (local development and tests) a loopback host is allowed,
over http too. Redirects are never followed when sending, so a public host cannot bounce a delivery inwards.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from leadapp.core.errors import UserError
from leadapp.core.settings import get_settings

MAX_URL = 2000
FIELD = "webhook_url"

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(UserError):
    """The webhook URL is malformed or points where deliveries may not go; `message` says why."""


def check_url(url: str) -> str:
    """The URL, cleaned, when a delivery may be POSTed to it; AddressRefused (on `webhook_url`) otherwise.

    Resolves the host name (a name that does not resolve is refused)."""
    return _checked(url)[0]


def pinned(url: str) -> tuple[str, str, str]:
    """For one attempt: (the URL with its host replaced by an address just checked, the Host header, the TLS
    server name); AddressRefused when the URL may not be used (any more)."""
    cleaned, addresses = _checked(url)
    parts = urlsplit(cleaned)
    address = addresses[0]
    literal = f"[{address}]" if isinstance(address, ipaddress.IPv6Address) else str(address)
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    return parts._replace(netloc=netloc).geturl(), parts.netloc, parts.hostname or ""


def _checked(url: str) -> tuple[str, list[IpAddress]]:
    """The cleaned URL and the addresses its host resolved to, all allowed (AddressRefused otherwise)."""
    url = (url or "").strip()
    if not url:
        raise AddressRefused("Enter the partner's webhook URL (https://…).", field=FIELD)
    if len(url) > MAX_URL or any(c.isspace() or ord(c) < 32 for c in url):
        raise AddressRefused(f"Enter a URL of at most {MAX_URL} characters, without spaces.", field=FIELD)
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http"):
        raise AddressRefused("The webhook URL must start with https://.", field=FIELD)
    if parts.username is not None or parts.password is not None:
        raise AddressRefused("The webhook URL must not hold a user name or password.", field=FIELD)
    host = parts.hostname
    try:
        port = parts.port
    except ValueError:
        port, host = None, None
    if not host:
        raise AddressRefused("The webhook URL has no valid host name.", field=FIELD)
    addresses = _resolve(host, port or (443 if parts.scheme == "https" else 80))
    loopback_allowed = get_settings().webhooks_allow_loopback
    for address in addresses:
        if address.is_loopback and loopback_allowed:
            continue
        if not address.is_global or address.is_multicast:
            raise AddressRefused(
                f"The webhook URL points at a private or local address ({address}); use the partner's public "
                "https address.",
                field=FIELD,
            )
    if parts.scheme == "http" and not (loopback_allowed and all(a.is_loopback for a in addresses)):
        raise AddressRefused("The webhook URL must use https:// (deliveries are signed, not encrypted).", field=FIELD)
    return parts._replace(fragment="").geturl(), addresses


def _resolve(host: str, port: int) -> list[IpAddress]:
    """Every address `host` stands for (an IP literal: itself), IPv4-mapped IPv6 addresses as IPv4."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise AddressRefused(f"The webhook URL's host {host!r} could not be found.", field=FIELD) from exc
    found: list[IpAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        found.append(address)
    if not found:
        raise AddressRefused(f"The webhook URL's host {host!r} could not be found.", field=FIELD)
    return found
