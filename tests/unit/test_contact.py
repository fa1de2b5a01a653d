"""The public contact form: valid messages are stored, each bad field is named and nothing is stored."""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from leadapp.core.errors import UserError
from leadapp.core.models import ContactMessage
from leadapp.core.services import contact

VALID = {
    "name": "Ann Example",
    "email": "Ann@Example.com",
    "subject": "Partnership",
    "body": "I run a plumbing company and would like to join.",
}


def _count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(ContactMessage)).one()


def test_a_valid_message_is_stored(db_session: Session) -> None:
    message = contact.submit_message(db_session, **{**VALID, "name": "  Ann Example "}, ip="192.0.2.1")
    db_session.commit()
    stored = db_session.exec(select(ContactMessage)).one()
    assert stored.id == message.id
    assert stored.name == "Ann Example"
    assert stored.email == "ann@example.com"
    assert stored.subject == "Partnership"
    assert stored.body == VALID["body"]
    assert stored.ip == "192.0.2.1"
    assert stored.status == "new"
    assert stored.created_at is not None and stored.read_at is None


def test_subject_is_optional_and_limits_are_inclusive(db_session: Session) -> None:
    contact.submit_message(db_session, name="n" * 200, email="a@example.com", subject="", body="b" * 10)
    contact.submit_message(db_session, name="Ann", email="a@example.com", subject="s" * 200, body="b" * 5000)
    db_session.commit()
    assert _count(db_session) == 2


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("name", "   "),
        ("name", "n" * 201),
        ("email", ""),
        ("email", "not-an-email"),
        ("email", "ann@@example.com"),
        ("subject", "s" * 201),
        ("body", ""),
        ("body", "too short"),  # 9 characters
        ("body", "   short   "),  # only 5 once trimmed
        ("body", "b" * 5001),
    ],
)
def test_each_invalid_field_is_named_and_nothing_is_stored(db_session: Session, field: str, value: str) -> None:
    with pytest.raises(UserError) as caught:
        contact.submit_message(db_session, **{**VALID, field: value})
    assert caught.value.field == field
    assert caught.value.status_code == 400
    assert caught.value.message
    db_session.commit()  # even committing what the session holds stores nothing
    assert _count(db_session) == 0
