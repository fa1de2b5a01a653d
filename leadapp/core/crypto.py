"""Keyed protection of personal data: phone numbers and other secrets encrypted at rest, keyed hashes for
look-ups, signed, expiring tokens for links, the per-call media-stream tokens, and links shown with their
tokens hidden. Every key is derived from SECRET_KEY (the media-stream key may be set on its own:
MEDIA_STREAM_TOKEN_KEY)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken

from leadapp.core.settings import get_settings


def _derive(purpose: str) -> bytes:
    return hmac.new(get_settings().secret_key.encode(), purpose.encode(), hashlib.sha256).digest()


@lru_cache(maxsize=4)
def _fernet(secret: str) -> Fernet:
    key = hmac.new(secret.encode(), b"leadapp:phone-encryption", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_phone(e164: str) -> str:
    """Encrypt an E.164 number for storage ("" stays "")."""
    if not e164:
        return ""
    return _fernet(get_settings().secret_key).encrypt(e164.encode()).decode()


def decrypt_phone(token: str) -> str:
    """The stored number in clear, or "" when absent or not decryptable with the current key."""
    if not token:
        return ""
    try:
        return _fernet(get_settings().secret_key).decrypt(token.encode()).decode()
    except InvalidToken:
        return ""


@lru_cache(maxsize=16)
def _fernet_for(secret: str, purpose: str) -> Fernet:
    key = hmac.new(secret.encode(), f"leadapp:encryption:{purpose}".encode(), hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_text(purpose: str, value: str) -> str:
    """`value` encrypted (authenticated, randomised) with the key for `purpose`; "" stays ""."""
    if not value:
        return ""
    return _fernet_for(get_settings().secret_key, purpose).encrypt(value.encode()).decode()


def decrypt_text(purpose: str, token: str) -> str | None:
    """What `encrypt_text(purpose, ...)` encrypted; "" for ""; None when it cannot be decrypted (another key)."""
    if not token:
        return ""
    try:
        return _fernet_for(get_settings().secret_key, purpose).decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        return None


def phone_hash(e164: str) -> str:
    """Keyed hash of an E.164 number: equal numbers hash equal, the hash reveals nothing without the key."""
    if not e164:
        return ""
    return hmac.new(_derive("phone-lookup"), e164.encode(), hashlib.sha256).hexdigest()


def mask_phone(e164: str) -> str:
    return f"{e164[:2]}•••••••{e164[-4:]}" if len(e164) > 6 else "•••"


def sign(purpose: str, payload: dict, ttl_seconds: int) -> str:
    """A URL-safe token carrying `payload`, valid for `ttl_seconds`, only for `purpose`."""
    body = json.dumps({"p": payload, "exp": int(time.time()) + ttl_seconds}, separators=(",", ":")).encode()
    encoded = base64.urlsafe_b64encode(body).rstrip(b"=")
    mac = hmac.new(_derive(f"sign:{purpose}"), encoded, hashlib.sha256).digest()[:20]
    return f"{encoded.decode()}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def unsign(purpose: str, token: str) -> dict | None:
    """The payload of a valid, unexpired token for `purpose`; None for anything else."""
    try:
        encoded, mac_text = token.split(".", 1)
        expected = hmac.new(_derive(f"sign:{purpose}"), encoded.encode(), hashlib.sha256).digest()[:20]
        given = base64.urlsafe_b64decode(mac_text + "=" * (-len(mac_text) % 4))
        if not hmac.compare_digest(expected, given):
            return None
        body = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (ValueError, TypeError):
        return None
    if not isinstance(body, dict) or int(body.get("exp", 0)) < time.time():
        return None
    payload = body.get("p")
    return payload if isinstance(payload, dict) else None


# --- media-stream tokens ----------------------------------------------------------------------------

MEDIA_TOKEN_PURPOSE = b"leadapp:media-stream-token"


def _media_key() -> bytes:
    own = get_settings().media_stream_token_key
    return hmac.new(own.encode(), MEDIA_TOKEN_PURPOSE, hashlib.sha256).digest() if own else _derive("media-stream")


def _media_mac(call_id: int, expires: int) -> str:
    mac = hmac.new(_media_key(), f"{int(call_id)}.{int(expires)}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def media_stream_token(call_id: int, ttl_seconds: int | None = None, now: float | None = None) -> str:
    """`<expiry>.<HMAC-SHA256 over call id and expiry>`: lets one media stream start for this call until then.

    It travels to Twilio in the call's TwiML (a `<Parameter>`) and comes back in the stream's `start`.
    """
    ttl = get_settings().media_stream_token_ttl_seconds if ttl_seconds is None else ttl_seconds
    expires = int(now if now is not None else time.time()) + int(ttl)
    return f"{expires}.{_media_mac(call_id, expires)}"


def media_stream_token_problem(call_id: int, token: str, now: float | None = None) -> str:
    """Why `token` does not let a stream start for `call_id`: "missing", "malformed", "forged" or "expired";
    "" when it does."""
    if not token:
        return "missing"
    expires_text, _, mac = token.partition(".")
    if not expires_text.isdigit() or not mac or len(token) > 200:
        return "malformed"
    if not hmac.compare_digest(mac.encode(), _media_mac(call_id, int(expires_text)).encode()):
        return "forged"
    if int(expires_text) < (now if now is not None else time.time()):
        return "expired"
    return ""


# --- links shown to someone who must not use them -------------------------------------------------

# A token in a link: a path segment or query value of 16+ URL-safe characters (signed tokens, random tokens).
_LINK = re.compile(r"https?://[^\s\"'<>]+")
_TOKEN_PART = re.compile(r"(?<=[/=])[A-Za-z0-9_\-.~%]{16,}(?=$|[/?&#])")
REDACTED = "[hidden]"


def redact_links(text: str) -> str:
    """`text` with the token of every link replaced by "[hidden]": what someone who must not use the links
    (an admin reading the outbox) may see. `https://app/reset-password/AbC…` → `https://app/reset-password/[hidden]`."""
    if not text:
        return text
    return _LINK.sub(lambda m: _TOKEN_PART.sub(REDACTED, m.group(0)), text)
