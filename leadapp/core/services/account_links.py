"""Emailed account links a user asks for: proving an address (at sign-up, and the new address of a change of
email) and a self-serve password reset ("Forgot password?").

Guarantees:
- every link is a random token of which only the SHA-256 is stored; it works once (compare-and-set, also
  when two requests race) and expires; a newer link of the same kind for the same user cancels older ones;
- "Forgot password?" answers the same whether or not the address has an account (the caller cannot tell),
  and is throttled per (email, client IP) and per client IP, whatever the address; the reset it sends is
  the admin reset's own kind of link (`admin_users.reset_password` consumes both);
- an account's address counts as verified only once a link sent to it was opened; a change of email takes
  effect only then (the old address keeps working until the new one is proven), and the new address is
  checked again for uniqueness at that moment;
- a business owner whose address is not verified receives no leads (`match.candidate_businesses`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from limits import RateLimitItemPerHour
from sqlmodel import Session, col, select

from leadapp.core import ratelimit
from leadapp.core.errors import TooManyAttempts, UserError
from leadapp.core.models import EmailVerification, PasswordReset, User, utcnow
from leadapp.core.services import access, accounts, admin_users, audit, notify
from leadapp.core.services.access import NotLoggedIn
from leadapp.core.settings import get_settings
from leadapp.core.vocab import Channel, NotificationKind

VERIFY_TTL = timedelta(hours=48)
RESET_SENT = (
    "If an account exists for that address, we have emailed it a link to choose a new password. "
    "The link works once, within 24 hours."
)
INVALID_VERIFY_LINK = "This verification link is not valid. Log in and send a new one."
USED_VERIFY_LINK = "This verification link was already used, or a newer one replaced it."
EXPIRED_VERIFY_LINK = "This verification link has expired. Log in and send a new one."
TAKEN_EMAIL = "Another account uses this email address now; the change was not made."


# --- self-serve password reset ----------------------------------------------------------------------


def _reset_buckets(email: str, ip: str) -> list[tuple[RateLimitItemPerHour, tuple[str, ...]]]:
    settings = get_settings()
    return [
        (RateLimitItemPerHour(settings.reset_requests_per_hour), ("reset", "pair", email, ip or "unknown")),
        (RateLimitItemPerHour(settings.reset_requests_per_ip_per_hour), ("reset", "ip", ip or "unknown")),
    ]


def request_password_reset(session: Session, email: str, ip: str = "") -> str:
    """ "Forgot password?": email a single-use reset link when `email` has an active account; returns the answer
    to show, the same either way. TooManyAttempts past the per (email, IP) or per IP hourly limits (counted
    for every request, existing account or not). COMMITS when a link is sent, then enqueues the email."""
    try:
        email = accounts.normalize_email(email)
    except UserError:
        raise UserError("Enter a valid email address.", field="email") from None
    refused = [parts for item, parts in _reset_buckets(email, ip) if not ratelimit.hit(item, *parts)]
    if refused:
        raise TooManyAttempts("Too many reset requests. Try again in an hour.", field="email")
    user = session.exec(select(User).where(User.email == email)).first()
    if user is None or not user.is_active:
        return RESET_SENT
    # The visitor is nobody yet: the email to the account's owner is queued as a listed system step.
    with access.as_system(session, "accounts: a self-serve reset link emailed"):
        notification = admin_users.issue_reset(session, user, requested_by_id=None)
        notification_id = notification.id
    session.commit()
    notify.enqueue_sends([notification_id])  # type: ignore[list-item]
    return RESET_SENT


# --- email verification -----------------------------------------------------------------------------


def verify_link(token: str) -> str:
    return f"{get_settings().app_url.rstrip('/')}/verify-email/{token}"


def _verify_message(user: User, link: str, change: bool) -> tuple[str, str, str]:
    why = (
        "You asked to use this address for your LeadApp account. Confirm it with this link:"
        if change
        else "Welcome to LeadApp. Confirm your email address with this link:"
    )
    text, html = accounts.link_email(user, why, link, "Confirm my email address", VERIFY_TTL)
    return "Confirm your email address for LeadApp", text, html


def send_verification(session: Session, user: User, email: str | None = None) -> int:
    """Queue a link proving `email` (default: the account's own) to that address; older unused links of the user
    are cancelled. Runs in the user's own context (the email is addressed to them). Does not commit; returns the
    notification id to enqueue once committed."""
    now = utcnow()
    target = email or user.email
    accounts.use_up_links(session, EmailVerification, col(EmailVerification.user_id) == user.id)
    token = secrets.token_urlsafe(32)
    row = EmailVerification(
        user_id=user.id,  # type: ignore[arg-type]
        email=target,
        token_hash=accounts.token_digest(token),
        expires_at=now + VERIFY_TTL,
    )
    session.add(row)
    session.flush()
    subject, text, html = _verify_message(user, verify_link(token), change=target != user.email)
    notification = notify.create_notification(
        session,
        kind=NotificationKind.EMAIL_VERIFICATION.value,
        channel=Channel.EMAIL.value,
        recipient=target,
        subject=subject,
        text=text,
        html=html,
        dedupe_key=f"email-verification:{row.id}",
        user_id=user.id,
    )
    return int(notification.id)  # type: ignore[arg-type]


def resend_verification(session: Session, user: User | None) -> int:
    """The "resend" button: a new link to the account's address (logged in, not yet verified; a few an hour).
    Does not commit; returns the notification id."""
    if user is None:
        raise NotLoggedIn("Log in to continue.")
    if user.email_verified_at is not None:
        raise UserError("Your email address is already verified.", field="verify")
    item = RateLimitItemPerHour(get_settings().verification_emails_per_hour)
    if not ratelimit.hit(item, "verify", str(user.id)):
        raise TooManyAttempts("We sent several links already; check your inbox or try again in an hour.", "verify")
    return send_verification(session, user)


def request_email_change(session: Session, user: User | None, new_email: str, password: str) -> int:
    """Ask to move the account to `new_email`: checks the current password, then emails a link to the new
    address. Nothing changes until that link is opened. Does not commit; returns the notification id."""
    if user is None:
        raise NotLoggedIn("Log in to continue.")
    new_email = accounts.normalize_email(new_email)
    if new_email == user.email:
        raise UserError("This is already your email address.", field="email")
    item = RateLimitItemPerHour(get_settings().verification_emails_per_hour)
    if not ratelimit.hit(item, "verify", str(user.id)):
        raise TooManyAttempts("We sent several links already; try again in an hour.", "email")
    if not accounts.verify_password(user.password_hash, password):
        raise UserError("Your current password is not right.", field="password")
    if session.exec(select(User.id).where(User.email == new_email)).first() is not None:
        raise UserError("An account with this email already exists.", field="email")
    audit.record(session, actor_id=user.id, action="user.email_change_requested", target=user, after={})
    return send_verification(session, user, new_email)


@dataclass(frozen=True)
class Verified:
    user_id: int
    email: str
    changed: bool


def _row_for(session: Session, token: str) -> EmailVerification | None:
    token = (token or "").strip()
    if not token or len(token) > 200:
        return None
    digest = accounts.token_digest(token)
    return session.exec(select(EmailVerification).where(EmailVerification.token_hash == digest)).first()


def verify_email(session: Session, token: str) -> Verified:
    """Open a verification link (public: the token is the credential): the address is proven; for a change of
    email the account moves to it. UserError (field "token") for an unknown, used or expired link, or a new
    address another account took meanwhile. Audited. Does not commit."""
    row = _row_for(session, token)
    user = session.get(User, row.user_id) if row is not None else None
    if row is None or user is None:
        raise UserError(INVALID_VERIFY_LINK, field="token")
    if row.used_at is not None:
        raise UserError(USED_VERIFY_LINK, field="token")
    if row.expires_at <= utcnow():
        raise UserError(EXPIRED_VERIFY_LINK, field="token")
    now = utcnow()
    if accounts.use_up_links(session, EmailVerification, col(EmailVerification.id) == row.id) != 1:
        raise UserError(USED_VERIFY_LINK, field="token")
    changed = row.email != user.email
    before = {"email": user.email, "verified": user.email_verified_at is not None}
    if changed:
        taken = session.exec(select(User.id).where(User.email == row.email, col(User.id) != user.id)).first()
        if taken is not None:
            raise UserError(TAKEN_EMAIL, field="token")
        user.email = row.email
        # Reset links sent to the old address must not outlive the change.
        accounts.use_up_links(session, PasswordReset, col(PasswordReset.user_id) == user.id)
    user.email_verified_at = now
    user.updated_at = now
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor_id=user.id,
        action="user.email_change" if changed else "user.email_verified",
        target=user,
        before=before,
        after={"email": user.email, "verified": True},
    )
    return Verified(int(user.id), user.email, changed)  # type: ignore[arg-type]


def needs_verification(user: User | None) -> bool:
    """True for a logged-in account whose address is not proven yet (the banner with "resend")."""
    return user is not None and user.email_verified_at is None
