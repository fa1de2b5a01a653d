"""Admin work on accounts: list and search users, change a role, send a password reset, see a user's data.

Guarantees:
- every function but `reset_password` and `reset_token_problem` (the public reset page) is for admins
  only: anyone else, anonymous included, gets NotLoggedIn / NotAllowed before anything is read;
- the platform never loses its last active admin: a role change may not demote them (and
  `accounts.set_active`, the one enable/disable, may not disable them);
- a role change and a password reset revoke the user's open sessions and publish "user_revoked" once
  committed, so every open tab of that user loses its access at once and the new role or password
  applies from the next log-in;
- every privileged action is in the audit trail with its actor and before/after;
- a reset link is a random token of which only the SHA-256 is stored; it works once, for
  `RESET_TTL`, and a newer link for the same user cancels the older ones.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from leadapp.core import labels
from leadapp.core.errors import NotFound, UserError
from leadapp.core.events import publish_after_commit
from leadapp.core.models import Business, Lead, Notification, PasswordReset, User, utcnow
from leadapp.core.services import access, accounts, audit, notify
from leadapp.core.settings import get_settings
from leadapp.core.vocab import Channel, NotificationKind

PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
OVERVIEW_LEADS = 50
RESET_TTL = timedelta(hours=24)
ROLE_LABELS = labels.ROLE
INVALID_LINK = "This reset link is not valid. Ask for a new one (“Forgot password?” on the log-in page)."
USED_LINK = (
    "This reset link was already used, or a newer one replaced it. Ask for a new one (“Forgot password?” on the "
    "log-in page)."
)
EXPIRED_LINK = "This reset link has expired. Ask for a new one (“Forgot password?” on the log-in page)."


def like_pattern(text: str) -> str:
    """`%text%` for a case-insensitive LIKE, with the user's own `%`, `_` and `\\` matched literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else ""


def _user_row(user: User) -> dict[str, str]:
    return {
        "id": str(user.id),
        "email": user.email,
        "full_name": user.full_name,
        "role": user.role,
        "role_label": ROLE_LABELS.get(user.role, user.role),
        "active": "yes" if user.is_active else "",
        "created_at": _when(user.created_at),
        "last_login_at": _when(user.last_login_at),
    }


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def list_users(
    session: Session,
    actor: User | None,
    search: str = "",
    role: str = "",
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> tuple[list[dict[str, str]], int]:
    """One page of users (newest first, at most `MAX_PAGE_SIZE` rows) and the total, filtered in SQL.

    `search` matches part of the email or the name, ignoring case; `role` keeps one role ("" = all).
    Admins only.
    """
    access.require_admin(actor)
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    conditions: list[Any] = []
    if role:
        if role not in ROLE_LABELS:
            raise UserError("Choose a known role.", field="role")
        conditions.append(col(User.role) == role)
    text = search.strip()[:100]
    if text:
        pattern = like_pattern(text.lower())
        conditions.append(
            or_(
                func.lower(col(User.email)).like(pattern, escape="\\"),
                func.lower(col(User.full_name)).like(pattern, escape="\\"),
            )
        )
    total = session.exec(select(func.count()).select_from(User).where(*conditions)).one()
    users = session.exec(
        select(User)
        .where(*conditions)
        .order_by(col(User.created_at).desc(), col(User.id).desc())
        .offset((max(1, int(page)) - 1) * page_size)
        .limit(page_size)
    ).all()
    return [_user_row(u) for u in users], int(total)


def _save_signing_out(
    session: Session, user: User, *, actor_id: int | None, action: str, before: dict[str, Any], after: dict[str, Any]
) -> User:
    """Save a change to `user` that must apply at once: every session of theirs is revoked (their open tabs
    drop what they show once this commits) and the change is audited with the number revoked."""
    user.updated_at = utcnow()
    session.add(user)
    revoked = accounts.revoke_all_sessions(session, user.id)  # type: ignore[arg-type]
    publish_after_commit(session, "user_revoked", user_id=user.id)
    after = {**after, "sessions_revoked": revoked}
    audit.record(session, actor_id=actor_id, action=action, target=user, before=before, after=after)
    session.flush()
    return user


def change_role(session: Session, actor: User | None, user_id: int, role: str) -> User:
    """Give a user another role (admins only); audited, and their sessions are revoked so it applies at once.

    Refuses an unknown role and demoting the last active admin. Choosing the role the user already has
    changes nothing (and records nothing). Does not commit.
    """
    admin = access.require_admin(actor)
    if role not in ROLE_LABELS:
        raise UserError("Choose a known role.", field="role")
    # Locked like `accounts.set_active`: a demotion racing another demotion or a disable cannot leave no admin.
    user = accounts.user_for_admin_change(session, user_id)
    if user is None:
        raise NotFound("No such user.")
    if user.role == role:
        return user
    accounts.refuse_last_active_admin(session, user, field="role")
    before = {"role": user.role}
    user.role = role
    return _save_signing_out(
        session, user, actor_id=admin.id, action="user.role_change", before=before, after={"role": role}
    )


def reset_link(token: str) -> str:
    """The public page where the holder of `token` chooses a new password."""
    return f"{get_settings().app_url.rstrip('/')}/reset-password/{token}"


def _reset_message(user: User, link: str, *, by_admin: bool) -> tuple[str, str, str]:
    who = (
        "An administrator of LeadApp sent you this link to choose a new password:"
        if by_admin
        else "Someone (we hope you) asked for a link to choose a new password for your LeadApp account:"
    )
    unexpected = ": your password stays as it is."
    text, html = accounts.link_email(user, who, link, "Choose a new password", RESET_TTL, unexpected)
    return "Reset your LeadApp password", text, html


def issue_reset(session: Session, user: User, requested_by_id: int | None) -> Notification:
    """Store a new reset link for `user` (cancelling their older unused ones) and queue its email; audited.
    `requested_by_id`: the admin who sent it, None for the user's own "Forgot password?". Does not commit."""
    now = utcnow()
    superseded = accounts.use_up_links(session, PasswordReset, col(PasswordReset.user_id) == user.id)
    token = secrets.token_urlsafe(32)
    reset = PasswordReset(
        user_id=user.id,  # type: ignore[arg-type]
        token_hash=accounts.token_digest(token),
        expires_at=now + RESET_TTL,
        requested_by_id=requested_by_id,
    )
    session.add(reset)
    session.flush()
    subject, text, html = _reset_message(user, reset_link(token), by_admin=requested_by_id is not None)
    notification = notify.create_notification(
        session,
        kind=NotificationKind.PASSWORD_RESET.value,
        channel=Channel.EMAIL.value,
        recipient=user.email,
        subject=subject,
        text=text,
        html=html,
        dedupe_key=f"password-reset:{reset.id}",
        user_id=user.id,
    )
    audit.record(
        session,
        actor_id=requested_by_id,
        action="user.password_reset_sent" if requested_by_id is not None else "user.password_reset_requested",
        target=user,
        before={"open_reset_links": int(superseded or 0)},
        after={"reset_id": reset.id, "expires_at": reset.expires_at.isoformat(), "notification_id": notification.id},
    )
    return notification


def send_password_reset(session: Session, actor: User | None, user_id: int) -> Notification:
    """Email the user a single-use link to choose a new password (admins only); returns its notification.

    Stores a `PasswordReset` with the token's hash (valid `RESET_TTL`), cancels the user's older unused
    links, queues an email with `{APP_URL}/reset-password/<token>`, audits it, COMMITS, then enqueues
    the send (if Redis is down the row stays pending and the notification sweeper sends it later).
    The current password keeps working until the link is used.
    """
    admin = access.require_admin(actor)
    user = _user(session, user_id)
    notification = issue_reset(session, user, requested_by_id=admin.id)
    session.commit()
    notify.enqueue_sends([notification.id])  # type: ignore[list-item]
    return notification


def _reset_for(session: Session, token: str) -> PasswordReset | None:
    token = (token or "").strip()
    if not token or len(token) > 200:
        return None
    return session.exec(select(PasswordReset).where(PasswordReset.token_hash == accounts.token_digest(token))).first()


def reset_token_problem(session: Session, token: str) -> str:
    """Why this reset link cannot be used ("" when it can): unknown, already used or expired."""
    reset = _reset_for(session, token)
    if reset is None or session.get(User, reset.user_id) is None:
        return INVALID_LINK
    if reset.used_at is not None:
        return USED_LINK
    if reset.expires_at <= utcnow():
        return EXPIRED_LINK
    return ""


def reset_password(session: Session, token: str, new_password: str) -> User:
    """Set a new password with a reset link (public: the token is the credential); returns the user.

    Checks the token (UserError with field "token": unknown, used, expired) and the password rules of
    `accounts` (field "password"). The token works once, also when two requests race (compare-and-set);
    every open session of the user is revoked. Audited. Does not commit.
    """
    problem = reset_token_problem(session, token)
    if problem:
        raise UserError(problem, field="token")
    accounts.check_password_rules(new_password)
    reset = _reset_for(session, token)
    assert reset is not None
    if accounts.use_up_links(session, PasswordReset, col(PasswordReset.id) == reset.id) != 1:
        raise UserError(USED_LINK, field="token")
    user = _user(session, reset.user_id)
    user.password_hash = accounts.hash_password(new_password)
    return _save_signing_out(
        session,
        user,
        actor_id=user.id,
        action="user.password_reset",
        before={"reset_id": reset.id, "used": False},
        after={"reset_id": reset.id, "used": True},
    )


def user_overview(session: Session, actor: User | None, user_id: int) -> dict[str, Any]:
    """What an admin sees of one user: the account, their newest requests (not deleted) and their businesses."""
    access.require_admin(actor)
    user = _user(session, user_id)
    leads = session.exec(
        select(Lead)
        .where(Lead.consumer_id == user.id, col(Lead.deleted_at).is_(None))
        .order_by(col(Lead.created_at).desc(), col(Lead.id).desc())
        .limit(OVERVIEW_LEADS)
    ).all()
    businesses = session.exec(select(Business).where(Business.owner_id == user.id).order_by(col(Business.id))).all()
    return {
        "user": {**_user_row(user), "phone": user.phone, "disabled_at": _when(user.disabled_at)},
        "leads": [
            {
                "id": str(lead.id),
                "created_at": _when(lead.created_at),
                "category": labels.category(lead.category),
                "zip": lead.zip,
                "status": lead.status,
                "status_label": labels.lead_status(lead.status),
                "snippet": lead.raw_text[:120] + ("…" if len(lead.raw_text) > 120 else ""),
            }
            for lead in leads
        ],
        "businesses": [
            {
                "id": str(b.id),
                "name": b.name,
                "zip": b.zip,
                "city": b.city,
                "categories": ", ".join(b.categories),
                "active": "yes" if b.is_active else "",
                "plan": b.plan,
            }
            for b in businesses
        ],
    }
