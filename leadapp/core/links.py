"""Signed links the product sends out (the bottom layer: settings, crypto and models only).

- A consumer's tracking link (`magic_link`): follow and act on one request for 30 days without an account.
- A consumer's review link (`review_link`): review the business of one converted job, once (the review row,
  unique per conversion, is what makes it single-use), for 60 days.
- A business invitation's links (`invitation_token`): sign up, unsubscribe (a page), and the RFC 8058
  one-click unsubscribe URL mail clients POST to.
Whoever checks a token (the portal, discovery) lives above this module; here they are only made.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from leadapp.core import crypto, languages
from leadapp.core.models import Invitation
from leadapp.core.settings import get_settings

MAGIC_PURPOSE = "portal-lead"
MAGIC_TTL_SECONDS = 30 * 24 * 3600


def _app_url() -> str:
    return get_settings().app_url.rstrip("/")


# --- a consumer's request ---------------------------------------------------------------------------


def magic_token(lead_id: int) -> str:
    """A signed token that lets its holder follow and act on this one lead for 30 days."""
    return crypto.sign(MAGIC_PURPOSE, {"lead": int(lead_id), "iat": int(time.time())}, MAGIC_TTL_SECONDS)


def magic_link(lead_id: int, language: str | None = None) -> str:
    """The tracking page of one lead, usable without an account: `{APP_URL}/portal/track/<token>`, with `?lang=es`
    for a Spanish lead (so that a bad or expired link is refused in it; not signed: it only picks words)."""
    return f"{_app_url()}/portal/track/{magic_token(lead_id)}{languages.link_query(language)}"


# --- a review of a converted job ---------------------------------------------------------------------

REVIEW_PURPOSE = "review-job"
REVIEW_TTL_SECONDS = 60 * 24 * 3600


def review_token(conversion_id: int, lead_id: int) -> str:
    """A signed token that lets its holder review the business of this one conversion (of this lead), once, for
    60 days. The lead is named so that the holder's transaction may reach that lead's rows (row-level security)."""
    payload = {"conversion": int(conversion_id), "lead": int(lead_id), "iat": int(time.time())}
    return crypto.sign(REVIEW_PURPOSE, payload, REVIEW_TTL_SECONDS)


def review_link(conversion_id: int, lead_id: int, language: str | None = None) -> str:
    """The review page of one converted job: `{APP_URL}/review/<token>`, with `?lang=es` for a Spanish lead."""
    return f"{_app_url()}/review/{review_token(conversion_id, lead_id)}{languages.link_query(language)}"


# --- a business invitation --------------------------------------------------------------------------


def _invitation_key() -> bytes:
    # Derived from SECRET_KEY for this one purpose, like every key in leadapp.core.crypto.
    return hmac.new(get_settings().secret_key.encode(), b"leadapp:invitation-link", hashlib.sha256).digest()


def invitation_token(invitation: Invitation) -> str:
    """The invitation's link token (the same every time for the same row and SECRET_KEY)."""
    message = f"{invitation.id}:{invitation.prospect_id}:{invitation.email}".encode()
    mac = hmac.new(_invitation_key(), message, hashlib.sha256).digest()[:24]
    return f"{invitation.id}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def signup_link(token: str) -> str:
    return f"{_app_url()}/register?role=business_owner&invite={token}"


def unsubscribe_link(token: str) -> str:
    """The page a person opens from the email: it shows whom it concerns and asks for one click."""
    return f"{_app_url()}/unsubscribe/{token}"


def one_click_unsubscribe_url(token: str) -> str:
    """The RFC 8058 endpoint a mail client POSTs to from the List-Unsubscribe header (served by leadapp.api)."""
    return f"{_app_url()}/api/v1/unsubscribe/{token}"


def list_unsubscribe_headers(token: str) -> dict[str, str]:
    """`List-Unsubscribe` and `List-Unsubscribe-Post` (RFC 2369, RFC 8058) for an invitation email.

    Mail clients show their own "Unsubscribe" button and POST to the URL: no page, no confirm click.
    The link in the body stays a page, because link scanners open (GET) every link in an email.
    """
    return {
        "List-Unsubscribe": f"<{one_click_unsubscribe_url(token)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


# --- a reply to a message's email --------------------------------------------------------------------

REPLY_PURPOSE = b"leadapp:thread-reply"
REPLY_SIDES = {"consumer": "c", "business": "b"}


def reply_mac(match_id: int, side_code: str) -> str:
    """The 20 lower-case hex characters that make a thread's reply address genuine (mail systems may change the
    case of a local part, so no base64)."""
    key = hmac.new(get_settings().secret_key.encode(), REPLY_PURPOSE, hashlib.sha256).digest()
    return hmac.new(key, f"{int(match_id)}:{side_code}".encode(), hashlib.sha256).hexdigest()[:20]


def reply_address(match_id: int, side: str) -> str:
    """`reply+<match>-<c|b>-<mac>@<INBOUND_EMAIL_DOMAIN>`: mail to it lands in the thread of `match_id` as written
    by `side` ("consumer" or "business"); "" when no inbound domain is set. It never expires: a reply to an old
    email still lands, while the thread is open."""
    domain = get_settings().inbound_email_domain.strip()
    if not domain:
        return ""
    code = REPLY_SIDES[str(side)]
    return f"reply+{int(match_id)}-{code}-{reply_mac(match_id, code)}@{domain}"
