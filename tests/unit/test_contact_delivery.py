"""Contact messages reach the admins and are rate limited (issue 10, item 9), on SQLite and PostgreSQL: one email
per active admin (the visitor's words escaped in HTML), at most five messages an hour per client IP (the sixth
refused with a clear message and stored nowhere), an unknown IP one bucket of its own, a refused message uncounted."""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, func, select

from leadapp.core.errors import TooManyAttempts, UserError
from leadapp.core.models import ContactMessage, Notification
from leadapp.core.services import accounts, contact
from leadapp.core.vocab import NotificationKind

PASSWORD = "a long enough password"


def _send(s: Session, ip: str, body: str = "Hello, I have a question about pricing.") -> ContactMessage:
    message = contact.submit_message(s, name="Vi Visitor", email="vi@example.com", subject="Pricing", body=body, ip=ip)
    s.commit()
    return message


def _stored(s: Session) -> int:
    return s.exec(select(func.count()).select_from(ContactMessage)).one()


def test_each_active_admin_gets_one_email_with_the_message(db_session: Session) -> None:
    s = db_session
    first = accounts.ensure_admin(s, "first-admin@example.com", PASSWORD)
    second = accounts.ensure_admin(s, "second-admin@example.com", PASSWORD)
    gone = accounts.ensure_admin(s, "gone-admin@example.com", PASSWORD)
    accounts.set_active(s, first, gone.id, False)  # type: ignore[arg-type]
    accounts.register(s, "owner@example.com", PASSWORD, "business_owner")
    s.commit()

    message = _send(s, "192.0.2.10", body='Is <b>this</b> "escaped"? Call me & see.')
    rows = s.exec(
        select(Notification)
        .where(Notification.kind == NotificationKind.CONTACT_MESSAGE.value)
        .order_by(col(Notification.id))
    ).all()
    assert [(r.recipient, r.user_id, r.channel, r.status) for r in rows] == [
        ("first-admin@example.com", first.id, "email", "pending"),
        ("second-admin@example.com", second.id, "email", "pending"),
    ]
    for row in rows:
        assert row.subject == "Contact message from Vi Visitor: Pricing"
        assert "vi@example.com" in row.body_text and 'Is <b>this</b> "escaped"? Call me & see.' in row.body_text
        assert "&lt;b&gt;this&lt;/b&gt;" in row.body_html and "<b>" not in row.body_html
        assert "/admin/messages" in row.body_text
    # One email per admin and message, however often it is asked for.
    assert len(contact.notify_admins(s, message)) == 2
    s.commit()
    assert s.exec(select(func.count()).select_from(Notification)).one() == 2


def test_the_sixth_message_in_an_hour_from_one_ip_is_refused(db_session: Session) -> None:
    s = db_session
    for _ in range(5):
        _send(s, "198.51.100.20")
    with pytest.raises(TooManyAttempts) as refused:
        _send(s, "198.51.100.20")
    assert refused.value.status_code == 429 and "5 messages in the last hour" in refused.value.message
    s.rollback()
    assert _stored(s) == 5
    _send(s, "198.51.100.21")  # another network is not affected
    assert _stored(s) == 6


def test_an_unknown_ip_is_one_bucket_never_a_way_around_the_limit(db_session: Session) -> None:
    s = db_session
    for ip in ("", " ", "", "", ""):
        _send(s, ip)
    with pytest.raises(TooManyAttempts):
        _send(s, "")
    s.rollback()
    assert _stored(s) == 5


def test_a_refused_message_is_not_counted(db_session: Session) -> None:
    s = db_session
    for _ in range(6):
        with pytest.raises(UserError) as invalid:
            _send(s, "203.0.113.5", body="short")
        assert invalid.value.field == "body"
        s.rollback()
    for _ in range(5):
        _send(s, "203.0.113.5")
    assert _stored(s) == 5
