"""What the consumer of a Spanish request receives about it is in Spanish (the review invitation, a business's
message in their thread), while what the owner receives stays in English; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from leadapp.core.languages import english, spanish
from leadapp.core.models import Notification
from leadapp.core.services import inbox, messages
from leadapp.core.vocab import NotificationKind
from tests import factories

World = factories.TwoBusinesses


@pytest.fixture
def world(db_session: Session) -> World:
    """One Spanish request (consumer Casey) accepted by two businesses."""
    w = factories.two_businesses(db_session, accepted=True)
    w.lead.language = "es"
    db_session.add(w.lead)
    db_session.commit()
    return w


def _rows(s: Session, kind: NotificationKind) -> list[Notification]:
    s.expire_all()
    return list(s.exec(select(Notification).where(Notification.kind == kind.value)).all())


def test_the_review_invitation_of_a_spanish_request_is_in_spanish(db_session: Session, world: World) -> None:
    s, w = db_session, world
    inbox.mark_converted(s, w.owner, w.match.id, "450")
    s.commit()

    [invite] = _rows(s, NotificationKind.REVIEW_INVITE)
    name = w.business.name
    assert invite.subject == f"¿Qué tal lo hizo {name}? · califique su trabajo de plomería"
    assert invite.body_text.startswith(f"{name} marcó como terminada su solicitud de plomería n.º {w.lead.id}.")
    assert "Este enlace es solo suyo y funciona una vez: " in invite.body_text and "/review/" in invite.body_text
    assert english.REVIEW_HEAD.format(business=name) not in invite.subject


def test_a_business_message_reaches_a_spanish_consumer_in_spanish_and_theirs_the_owner_in_english(
    db_session: Session, world: World
) -> None:
    s, w = db_session, world
    w.lead.preferred_contact = "sms"
    s.add(w.lead)
    s.commit()
    messages.post_message(s, w.consumer, w.match.id, "¿Pueden venir el martes?")
    s.commit()
    messages.post_message(s, w.owner, w.match.id, "Sí, a las 9.")
    s.commit()

    rows = _rows(s, NotificationKind.THREAD_MESSAGE)
    to_owner = next(r for r in rows if r.user_id == w.owner.id and r.channel == "email")
    assert to_owner.body_text.startswith(f"The consumer wrote about your plumbing lead #{w.lead.id}:")
    assert to_owner.subject == f"New message from The consumer · plumbing #{w.lead.id}"
    email = next(r for r in rows if r.user_id == w.consumer.id and r.channel == "email")
    name = w.business.name
    assert email.subject == f"Nuevo mensaje de {name} · plomería n.º {w.lead.id}"
    assert email.body_text.startswith(
        f"{name} escribió sobre su solicitud de plomería n.º {w.lead.id}:\n\nSí, a las 9."
    )
    assert spanish.THREAD_REPLY_EMAIL in email.body_text and english.THREAD_REPLY_EMAIL not in email.body_text
    text = next(r for r in rows if r.user_id == w.consumer.id and r.channel == "sms")
    assert "Responda aquí para contestar." in text.body_text
