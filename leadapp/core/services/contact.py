"""Messages from the public contact form: stored for the admins, emailed to every active admin, rate limited.

Guarantees of `submit_message`:
- a message is validated first (a UserError names the first bad field; nothing is stored or counted);
- at most CONTACT_PER_IP_PER_HOUR (default 5) messages per client IP per hour (moving window, in Redis);
  the next one is refused with TooManyAttempts and stored nowhere. A missing IP is one bucket of its own,
  never a way around the limit;
- each active admin gets one email about it (a CONTACT_MESSAGE notification row, committed with the message,
  sent by the worker after commit; one per admin and message however often the job runs). The visitor's words
  are escaped in the HTML.
"""

from __future__ import annotations

from collections.abc import Sequence

from limits import RateLimitItemPerHour
from sqlmodel import Session, col, select

from leadapp.core import client_ip, ratelimit
from leadapp.core.errors import TooManyAttempts, UserError
from leadapp.core.events import run_after_commit
from leadapp.core.models import ContactMessage, User, utcnow
from leadapp.core.services import access, compose, notify
from leadapp.core.services.accounts import normalize_email
from leadapp.core.settings import get_settings
from leadapp.core.vocab import Channel, ContactMessageStatus, NotificationKind, Role


def check_rate_limit(ip: str) -> None:
    """Count one contact message from `ip`; TooManyAttempts when the hour's CONTACT_PER_IP_PER_HOUR were sent."""
    per_hour = max(1, get_settings().contact_per_ip_per_hour)
    if not ratelimit.hit(RateLimitItemPerHour(per_hour), "contact", client_ip.bucket(ip)):
        raise TooManyAttempts(
            f"You have sent {per_hour} messages in the last hour, the most we take from one network. "
            "Please try again later, or write to us by email."
        )


def _admin_link() -> str:
    return f"{get_settings().app_url.rstrip('/')}/admin/messages"


def notify_admins(session: Session, message: ContactMessage) -> list[int]:
    """One email per active admin about `message` (idempotent: one row per admin and message); sent after the
    transaction commits. Returns the notification ids."""
    admins = session.exec(
        select(User).where(User.role == Role.ADMIN.value, col(User.is_active).is_(True)).order_by(col(User.id))
    ).all()
    link = _admin_link()
    about = message.subject or "(no subject)"
    text = "\n".join(
        [
            f"{message.name} <{message.email}> wrote through the contact form:",
            "",
            f"Subject: {about}",
            "",
            message.body,
            "",
            f"Read and answer it: {link}",
        ]
    )
    ids: list[int] = []
    # A visitor's message is queued for the admins: rows addressed to them, which the visitor's own context (an
    # anonymous one, behind row-level security) may not write; nothing is read back but their ids.
    with access.as_system(session, "contact form: queue the admins' emails"):
        ids = _queue_for_admins(session, message, admins, text, link, about)
    if ids:
        run_after_commit(session, notify.enqueue_sends, list(ids))
    return ids


def _queue_for_admins(
    session: Session, message: ContactMessage, admins: Sequence[User], text: str, link: str, about: str
) -> list[int]:
    ids: list[int] = []
    for admin in admins:
        row = notify.create_notification(
            session,
            kind=NotificationKind.CONTACT_MESSAGE.value,
            channel=Channel.EMAIL.value,
            recipient=admin.email,
            subject=f"Contact message from {message.name}: {about}"[:300],
            text=text,
            html=compose.html_from_text(text, link),
            dedupe_key=f"contact:{message.id}:admin:{admin.id}",
            user_id=admin.id,
        )
        ids.append(row.id)  # type: ignore[arg-type]
    return ids


def submit_message(session: Session, *, name: str, email: str, subject: str, body: str, ip: str = "") -> ContactMessage:
    """Validate, count against the IP's hourly limit, store a contact message and email it to the admins (see the
    module's guarantees); raises UserError naming the first bad field, TooManyAttempts over the limit."""
    name, subject, body = name.strip(), subject.strip(), body.strip()
    if not name:
        raise UserError("Tell us your name.", field="name")
    if len(name) > 200:
        raise UserError("Use at most 200 characters.", field="name")
    email = normalize_email(email)
    if len(subject) > 200:
        raise UserError("Use at most 200 characters.", field="subject")
    if len(body) < 10:
        raise UserError("Write at least 10 characters so we can help.", field="body")
    if len(body) > 5000:
        raise UserError("Use at most 5000 characters.", field="body")
    check_rate_limit(ip)
    message = ContactMessage(name=name, email=email, subject=subject, body=body, ip=ip[:64])
    session.add(message)
    session.flush()
    notify_admins(session, message)
    return message


def list_messages(
    session: Session, actor: User | None, *, status: str | None = None, limit: int = 100
) -> list[ContactMessage]:
    """Newest contact messages (admins only), at most 100; `status` keeps one state ("" or None: all).

    Raises UserError for an unknown state.
    """
    access.require_admin(actor)
    query = select(ContactMessage).order_by(ContactMessage.created_at.desc()).limit(min(limit, 100))  # type: ignore[attr-defined]
    if status:
        query = query.where(ContactMessage.status == _status(status).value)
    return list(session.exec(query).all())


def _status(value: str) -> ContactMessageStatus:
    try:
        return ContactMessageStatus(value)
    except ValueError:
        raise UserError("Unknown message state.") from None


def _message(session: Session, message_id: int) -> ContactMessage:
    message = session.get(ContactMessage, message_id)
    if message is None:
        raise UserError("No such message.")
    return message


def set_status(session: Session, actor: User | None, message_id: int, status: str) -> ContactMessage:
    """Mark a message read or answered (admins only); a message only moves forward: new → read → answered.

    "read" stamps `read_at` the first time and leaves an answered message answered (a stray "Mark read"
    must not put a handled message back in the to-do pile; `reopen` does that on purpose). "answered"
    stamps `answered_at` (and `read_at` if it was never read); marking it again keeps the first time.
    Raises UserError for an unknown message or a state other than read/answered. Does not commit.
    """
    access.require_admin(actor)
    new = _status(status)
    if new == ContactMessageStatus.NEW:
        raise UserError("Mark a message read or answered.")
    message = _message(session, message_id)
    now = utcnow()
    message.read_at = message.read_at or now
    if new == ContactMessageStatus.ANSWERED:
        message.answered_at = message.answered_at or now
        message.status = ContactMessageStatus.ANSWERED.value
    elif message.status != ContactMessageStatus.ANSWERED.value:
        message.status = ContactMessageStatus.READ.value
    session.add(message)
    return message


def reopen(session: Session, actor: User | None, message_id: int) -> ContactMessage:
    """Admins only: put an answered message back to "read" (it needs another reply); clears `answered_at`.

    A message that is not answered is left as it is. Raises UserError for an unknown message. Does not commit.
    """
    access.require_admin(actor)
    message = _message(session, message_id)
    if message.status == ContactMessageStatus.ANSWERED.value:
        message.status = ContactMessageStatus.READ.value
        message.answered_at = None
        message.read_at = message.read_at or utcnow()
        session.add(message)
    return message
