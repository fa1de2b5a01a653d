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
    """Newest contact messages (admins only)."""
    access.require_admin(actor)
    query = select(ContactMessage).order_by(ContactMessage.created_at.desc()).limit(min(limit, 100))  # type: ignore[attr-defined]
    if status:
        query = query.where(ContactMessage.status == status)
    return list(session.exec(query).all())


def set_status(session: Session, actor: User | None, message_id: int, status: str) -> ContactMessage:
    """Mark a message read or answered (admins only)."""
    access.require_admin(actor)
    message = session.get(ContactMessage, message_id)
    if message is None:
        raise UserError("No such message.")
    new = ContactMessageStatus(status)
    message.status = new.value
    if new == ContactMessageStatus.READ and message.read_at is None:
        message.read_at = utcnow()
    if new == ContactMessageStatus.ANSWERED:
        message.answered_at = utcnow()
        message.read_at = message.read_at or utcnow()
    session.add(message)
    return message
