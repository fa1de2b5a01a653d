"""Partners' keys for the public API: admins create (named), list and revoke them; `Authorization: Bearer <key>`.

Guarantees:
- a key is a random token (256 bits) shown once, when it is created; the database keeps only its SHA-256 and
  its first characters (to recognise it in the list);
- only admins create, list or revoke keys; each creation and revocation is audited;
- `authenticate` accepts only a live key, and refuses with a reason (missing scheme, unknown, revoked) that the
  API answers as 401 JSON; each key has its own rate limit (`per_minute`, in Redis through `limits`), 429 past it;
- a caller with a valid key needs no Turnstile token, and its Idempotency-Keys are scoped to the key.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from limits import RateLimitItemPerMinute
from sqlmodel import Session, col, select

from leadapp.core import ratelimit
from leadapp.core.errors import NotFound, TooManyAttempts, UserError
from leadapp.core.models import ApiKey, User, utcnow
from leadapp.core.services import access, accounts, audit

TOKEN_PREFIX = "lak_"
PER_MINUTE = (1, 6000)
MAX_NAME = 100


class ApiKeyRefused(UserError):
    """The Authorization header carries no live key; `message` says why (401)."""

    status_code = 401


def create_key(session: Session, actor: User | None, name: str, per_minute: str = "60") -> tuple[ApiKey, str]:
    """A new named key (admins only); returns the row and the token, which is never shown again. Audited.
    Does not commit."""
    admin = access.require_admin(actor)
    name = " ".join((name or "").split())
    if not name or len(name) > MAX_NAME:
        raise UserError(f"Name the key (the partner it is for), at most {MAX_NAME} characters.", field="name")
    try:
        rate = int((per_minute or "").strip())
    except ValueError:
        rate = 0
    if not PER_MINUTE[0] <= rate <= PER_MINUTE[1]:
        raise UserError(f"Enter requests per minute from {PER_MINUTE[0]} to {PER_MINUTE[1]:,}.", field="per_minute")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name,
        token_hash=accounts.token_digest(token),
        token_prefix=token[:10],
        per_minute=rate,
        created_by_id=admin.id,
    )
    session.add(key)
    session.flush()
    audit.record(
        session, actor_id=admin.id, action="api_key.create", target=key, after={"name": name, "per_minute": rate}
    )
    return key, token


def list_keys(session: Session, actor: User | None) -> list[dict[str, Any]]:
    """Every key, newest first, as the admin page shows it (never the token)."""
    access.require_admin(actor)
    keys = session.exec(select(ApiKey).order_by(col(ApiKey.created_at).desc(), col(ApiKey.id).desc())).all()
    return [
        {
            "id": str(key.id),
            "name": key.name,
            "prefix": key.token_prefix + "…",
            "per_minute": str(key.per_minute),
            "created": key.created_at.strftime("%Y-%m-%d %H:%M"),
            "last_used": key.last_used_at.strftime("%Y-%m-%d %H:%M") if key.last_used_at else "never",
            "status": "revoked" if key.revoked_at else "active",
            "webhook": key.webhook_url or "none",
        }
        for key in keys
    ]


def revoke_key(session: Session, actor: User | None, key_id: int) -> ApiKey:
    """Revoke a key at once (admins only); revoking a revoked key changes nothing. Audited. Does not commit."""
    admin = access.require_admin(actor)
    key = session.get(ApiKey, key_id, with_for_update=True)
    if key is None:
        raise NotFound("No such API key.")
    if key.revoked_at is None:
        key.revoked_at, key.revoked_by_id = utcnow(), admin.id
        session.add(key)
        audit.record(session, actor_id=admin.id, action="api_key.revoke", target=key, after={"revoked": True})
    return key


def authenticate(session: Session, authorization: str) -> ApiKey:
    """The live key of an `Authorization: Bearer <key>` header, counted against its rate limit.

    ApiKeyRefused (401) with the reason for a malformed header, an unknown or a revoked key; TooManyAttempts
    (429) past the key's `per_minute`. Marks the key used (at most once a minute)."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiKeyRefused("Send the key as 'Authorization: Bearer <key>'.")
    if len(token) > 200:
        raise ApiKeyRefused("This API key is not valid.")
    key = session.exec(select(ApiKey).where(ApiKey.token_hash == accounts.token_digest(token))).first()
    if key is None:
        raise ApiKeyRefused("This API key is not valid.")
    if key.revoked_at is not None:
        raise ApiKeyRefused("This API key was revoked.")
    if not ratelimit.hit(RateLimitItemPerMinute(key.per_minute), "api-key", str(key.id)):
        raise TooManyAttempts(f"This API key may make {key.per_minute} requests a minute; slow down.")
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        key.last_used_at = now
        session.add(key)
    return key
