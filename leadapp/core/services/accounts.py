"""Accounts: registration, Argon2id passwords, hashed session tokens, login throttling, enable/disable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from functools import lru_cache
from html import escape
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from limits import RateLimitItem, RateLimitItemPerHour, RateLimitItemPerMinute
from sqlalchemy import update
from sqlmodel import Session, col, select

from leadapp.core import languages, ratelimit
from leadapp.core.errors import NotAllowed, TooManyAttempts, UserError
from leadapp.core.events import publish_after_commit
from leadapp.core.models import AuthSession, EmailVerification, PasswordReset, User, utcnow
from leadapp.core.observability import get_logger
from leadapp.core.services import access, audit
from leadapp.core.settings import get_settings
from leadapp.core.vocab import Role

log = get_logger(__name__)

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
SELF_SERVICE_ROLES = (Role.CONSUMER, Role.BUSINESS_OWNER)


@lru_cache(maxsize=4)
def _hasher_for(time_cost: int, memory_kib: int) -> tuple[PasswordHasher, str]:
    """Argon2id with the given cost, and a hash of a random password: verifying against it keeps
    "no such user" as slow as "wrong password"."""
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
    return hasher, hasher.hash(secrets.token_urlsafe(16))


def _hasher() -> PasswordHasher:
    settings = get_settings()
    return _hasher_for(settings.password_hash_time_cost, settings.password_hash_memory_kib)[0]


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    """SHA-256 of a random token: what the database stores instead of the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


def use_up_links(session: Session, model: type[EmailVerification] | type[PasswordReset], *where: Any) -> int:
    """Mark a kind of one-time link (email proofs, password resets) used now where `where` holds and it is unused
    yet; how many were. A link is spent by the one request whose UPDATE changed it, so two clicks never both win."""
    return session.execute(  # type: ignore[attr-defined]
        update(model).where(*where, col(model.used_at).is_(None)).values(used_at=utcnow())
    ).rowcount


def link_email(user: User, why: str, link: str, button: str, ttl: timedelta, unexpected: str = ".") -> tuple[str, str]:
    """The text and HTML of an email carrying a one-time link: the greeting, `why`, the link (`button` in HTML),
    how long it works, and what to do if it was not expected ("ignore this email" then `unexpected`)."""
    hours = int(ttl.total_seconds() // 3600)
    greeting = f"Hello {user.full_name}," if user.full_name else "Hello,"
    expiry = f"The link works once, within {hours} hours. If you did not expect it, ignore this email{unexpected}"
    text = f"{greeting}\n\n{why}\n\n{link}\n\n{expiry}\n\n— LeadApp"
    html = (
        f"<p>{escape(greeting)}</p><p>{escape(why)}</p>"
        f'<p><a href="{escape(link, quote=True)}">{escape(button)}</a></p>'
        f"<p>{expiry}</p><p>— LeadApp</p>"
    )
    return text, html


def normalize_email(email: str, language: str | None = None) -> str:
    """The canonical form of an address, or a UserError on the `email` field (in `language`, English by default)."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise UserError(languages.phrases(language).EMAIL_INVALID.format(why=exc), field="email") from exc


def check_password_rules(password: str, language: str | None = None) -> None:
    w = languages.phrases(language)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(w.AT_LEAST.format(n=MIN_PASSWORD_LENGTH), field="password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(w.AT_MOST.format(n=MAX_PASSWORD_LENGTH), field="password")


def register(
    session: Session, email: str, password: str, role: str, full_name: str = "", language: str | None = None
) -> User:
    """Create an active account with a self-service role; refuses duplicates and weak passwords (in `language`:
    a consumer keeping a request in an account reads the request's)."""
    if role not in {r.value for r in SELF_SERVICE_ROLES}:
        raise UserError("Choose whether you are a consumer or a business owner.", field="role")
    email = normalize_email(email, language)
    check_password_rules(password, language)
    if session.exec(select(User).where(User.email == email)).first():
        raise UserError(languages.phrases(language).EMAIL_TAKEN, field="email")
    user = User(email=email, password_hash=hash_password(password), role=role, full_name=full_name.strip()[:200])
    session.add(user)
    session.flush()
    audit.record(session, actor_id=user.id, action="user.register", target=user, after={"role": role})
    return user


def ensure_admin(session: Session, email: str, password: str) -> User:
    """Create the admin account, or make an existing account an active admin with this password."""
    email = normalize_email(email)
    check_password_rules(password)
    user = session.exec(select(User).where(User.email == email)).first()
    before = {"role": user.role, "is_active": user.is_active} if user else None
    if user is None:
        # The operator typed this address on the server: it counts as verified.
        user = User(
            email=email,
            password_hash=hash_password(password),
            role=Role.ADMIN.value,
            full_name="Admin",
            email_verified_at=utcnow(),
        )
        session.add(user)
    else:
        user.role, user.is_active, user.disabled_at = Role.ADMIN.value, True, None
        user.password_hash, user.updated_at = hash_password(password), utcnow()
    session.flush()
    audit.record(session, actor_id=None, action="user.make_admin", target=user, before=before, after={"role": "admin"})
    return user


# --- login throttling -------------------------------------------------------------------------
#
# Every attempt is counted BEFORE its password is checked (an atomic hit in Redis), so parallel sockets get
# no extra guesses while Argon2 runs. Three buckets:
# - (email, IP): LOGIN_MAX_FAILURES per LOGIN_WINDOW_MINUTES, the tight one; cleared by a successful log-in;
# - email alone: LOGIN_EMAIL_MAX_PER_HOUR from every address together, a slower rate that still stops
#   guessing spread over many addresses, while one address alone can never use it up (its own bucket is
#   full long before): nobody locks the admin out from one IP;
# - IP alone: LOGIN_IP_MAX_ATTEMPTS per window over all emails (password spraying).


def _pair_item() -> RateLimitItemPerMinute:
    settings = get_settings()
    return RateLimitItemPerMinute(settings.login_max_failures, settings.login_window_minutes)


def _email_item() -> RateLimitItemPerHour:
    return RateLimitItemPerHour(get_settings().login_email_max_per_hour)


def _ip_item() -> RateLimitItemPerMinute:
    settings = get_settings()
    return RateLimitItemPerMinute(settings.login_ip_max_attempts, settings.login_window_minutes)


def _throttle_buckets(email: str, ip: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
    """The buckets an attempt is counted in. An unknown IP ("") is a bucket of its own, never a skipped limit."""
    return [
        (_pair_item(), ("login", "pair", email, ip or "unknown")),
        (_email_item(), ("login", "email", email)),
        (_ip_item(), ("login", "ip", ip or "unknown")),
    ]


def _count_attempt(email: str, ip: str) -> None:
    """Count this attempt in every bucket; TooManyAttempts when any was already full (before any password check)."""
    refused = False
    for item, parts in _throttle_buckets(email, ip):
        if not ratelimit.hit(item, *parts):
            refused = True
    if refused:
        minutes = get_settings().login_window_minutes
        raise TooManyAttempts(f"Too many log-in attempts. Try again in {minutes} minutes.", field="email")


def _clear_after_success(email: str, ip: str) -> None:
    """A right password frees its own (email, IP) and email buckets (the IP bucket keeps counting: spraying)."""
    for item, parts in _throttle_buckets(email, ip)[:2]:
        ratelimit.clear(item, *parts)


# --- sessions ---------------------------------------------------------------------------------


def login(session: Session, email: str, password: str, ip: str = "", user_agent: str = "") -> tuple[User, str]:
    """Check credentials (each attempt counted first: per email and IP, per email, per IP) and open a session;
    returns the user and the raw token.

    The same message answers an unknown email, a wrong password and a disabled account's wrong password,
    so the form never tells which addresses exist.
    """
    try:
        email = normalize_email(email)
    except UserError:
        raise UserError("Email or password is incorrect.", field="password") from None
    _count_attempt(email, ip)
    user = session.exec(select(User).where(User.email == email)).first()
    settings = get_settings()
    dummy = _hasher_for(settings.password_hash_time_cost, settings.password_hash_memory_kib)[1]
    ok = verify_password(user.password_hash if user else dummy, password)
    if not ok or user is None:
        raise UserError("Email or password is incorrect.", field="password")
    if not user.is_active:
        raise NotAllowed("This account is disabled. Contact support.", field="email")
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    _clear_after_success(email, ip)
    token = open_session(session, user, ip=ip, user_agent=user_agent)
    user.last_login_at = utcnow()
    session.add(user)
    return user, token


def open_session(session: Session, user: User, ip: str = "", user_agent: str = "") -> str:
    """Store a new session (only its hash) and return the raw token for the browser."""
    token = secrets.token_urlsafe(32)
    ttl = timedelta(hours=get_settings().session_ttl_hours)
    session.add(
        AuthSession(
            user_id=user.id,
            token_hash=token_digest(token),
            expires_at=utcnow() + ttl,
            ip=ip[:64],
            user_agent=user_agent[:400],
        )
    )
    session.flush()
    return token


def user_for_token(session: Session, token: str | None) -> User | None:
    """The active user behind a live session token, or None (unknown, expired, revoked, or user disabled).

    Checked against the database on every call, so revocation and disabling take effect at once.
    """
    if not token:
        return None
    now = utcnow()
    row = session.exec(
        select(AuthSession, User)
        .join(User, User.id == AuthSession.user_id)
        .where(AuthSession.token_hash == token_digest(token))
    ).first()
    if row is None:
        return None
    auth, user = row
    if auth.revoked_at is not None or auth.expires_at <= now or not user.is_active:
        return None
    if now - auth.last_seen_at > timedelta(minutes=5):
        auth.last_seen_at = now
        session.add(auth)
    return user


def logout(session: Session, token: str | None) -> None:
    """Revoke the session behind this token (no-op for an unknown token)."""
    if not token:
        return
    auth = session.exec(select(AuthSession).where(AuthSession.token_hash == token_digest(token))).first()
    if auth and auth.revoked_at is None:
        auth.revoked_at = utcnow()
        session.add(auth)


def revoke_all_sessions(session: Session, user_id: int) -> int:
    """Revoke every open session of a user; returns how many were open."""
    now = utcnow()
    open_sessions = session.exec(
        select(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))  # type: ignore[union-attr]
    ).all()
    for auth in open_sessions:
        auth.revoked_at = now
        session.add(auth)
    return len(open_sessions)


LAST_ADMIN_MESSAGE = "This is the last active admin; make another admin first."


def user_for_admin_change(session: Session, user_id: int) -> User | None:
    """The user, re-read and its row locked (PostgreSQL) for a change of role or of `is_active`; None if unknown.

    When the user is an active admin, every active admin's row is locked first, in id order, so that
    `refuse_last_active_admin` decides on committed data: of two requests removing the last two admins
    at the same moment (disable or demote, in any mix), the second waits for the first to commit, then
    counts again. One lock order for every caller means such requests queue instead of deadlocking.
    """
    user = session.get(User, user_id)
    if user is None:
        return None
    if user.role == Role.ADMIN.value and user.is_active:
        _lock_active_admins(session)
    session.refresh(user, with_for_update=True)
    return user


def refuse_last_active_admin(session: Session, user: User, *, field: str | None = None) -> None:
    """Raise UserError when `user` is the only active admin (call before disabling or demoting them).

    `user` must come from `user_for_admin_change` in the same transaction, so the count below cannot
    change until it commits.
    """
    if user.role != Role.ADMIN.value or not user.is_active:
        return
    if not [admin_id for admin_id in _lock_active_admins(session) if admin_id != user.id]:
        raise UserError(LAST_ADMIN_MESSAGE, field=field)


def _lock_active_admins(session: Session) -> list[int]:
    """The ids of the active admins, their rows locked until the transaction ends (a no-op lock on SQLite,
    where the database-wide write lock serializes writers anyway)."""
    query = (
        select(User.id)
        .where(User.role == Role.ADMIN.value, User.is_active.is_(True))  # type: ignore[attr-defined]
        .order_by(User.id)
        .with_for_update()
    )
    return [admin_id for admin_id in session.exec(query).all() if admin_id is not None]


def set_active(session: Session, actor: User, user_id: int, active: bool) -> User:
    """Enable or disable an account (admins only); disabling revokes its sessions at once.

    The last active admin cannot be disabled, not even by two admins disabling each other at the same
    moment (see `user_for_admin_change`). Does not commit.
    """
    access.require_admin(actor)
    user = user_for_admin_change(session, user_id)
    if user is None:
        raise UserError("No such user.")
    if not active:
        refuse_last_active_admin(session, user)
    before = {"is_active": user.is_active}
    user.is_active = active
    user.disabled_at = None if active else utcnow()
    user.updated_at = utcnow()
    session.add(user)
    if not active:
        revoke_all_sessions(session, user.id)  # type: ignore[arg-type]
        # Open tabs of this user drop what they show as soon as this commits (leadapp.live).
        publish_after_commit(session, "user_revoked", user_id=user.id)
    audit.record(
        session,
        actor_id=actor.id,
        action="user.enable" if active else "user.disable",
        target=user,
        before=before,
        after={"is_active": active},
    )
    return user
