"""Messages from the public contact form, stored for the admins."""

from __future__ import annotations

from sqlmodel import Session, select

from leadapp.core.errors import UserError
from leadapp.core.models import ContactMessage, User, utcnow
from leadapp.core.services import access
from leadapp.core.services.accounts import normalize_email
from leadapp.core.vocab import ContactMessageStatus


def submit_message(session: Session, *, name: str, email: str, subject: str, body: str, ip: str = "") -> ContactMessage:
    """Validate and store a contact message; raises UserError naming the first bad field."""
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
    message = ContactMessage(name=name, email=email, subject=subject, body=body, ip=ip[:64])
    session.add(message)
    session.flush()
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
