"""Reading a thread's reply address back (`links.reply_address` makes it): which thread and side a reply by email
is for. A made-up or altered address (its mac), or another domain, matches no thread."""

from __future__ import annotations

import hmac
import re

from leadapp.core import links
from leadapp.core.settings import get_settings
from leadapp.core.vocab import ThreadSide

_ADDRESS = re.compile(r"reply\+(\d{1,12})-([cb])-([0-9a-f]{20})@([A-Za-z0-9.-]+)", re.IGNORECASE)


def read_reply_address(*fields: str) -> tuple[int, ThreadSide] | None:
    """The thread and side of the first genuine reply address in these header values (To, Cc, the envelope), or
    None when there is none."""
    domain = get_settings().inbound_email_domain.strip().lower()
    if not domain:
        return None
    for field in fields:
        for match_id, code, mac, at in _ADDRESS.findall(field or ""):
            code = code.lower()
            if at.lower() == domain and hmac.compare_digest(mac.lower(), links.reply_mac(int(match_id), code)):
                return int(match_id), ThreadSide.CONSUMER if code == "c" else ThreadSide.BUSINESS
    return None
