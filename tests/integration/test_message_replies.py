"""Replies by email and text land in their conversation, through the real front doors and the fakes: a message's
email goes out through the SendGrid SDK (fake) with the thread's reply address as its reply_to, and its text through
the Twilio SDK (fake); SendGrid Inbound Parse posts the reply (multipart) to the app's verified route; Twilio posts
a signed text to the bridge. Attacks: a wrong or missing path secret, a forged reply address, an unsigned text, a
closed conversation, an empty reply; a delivery repeated stores once. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from leadapp.core import links
from leadapp.core.models import Notification, ThreadMessage
from leadapp.core.services import messages, notify
from leadapp.core.settings import get_settings
from leadapp.core.vocab import LeadStatus
from tests import factories
from tests.fakes.sendgrid_api import FakeSendGrid, fake_sendgrid  # noqa: F401
from tests.fakes.twilio_api import FakeTwilio, fake_twilio, twilio_settings  # noqa: F401
from tests.integration.test_sms_webhook import PUBLIC_BASE, inbound, post_sms, signature

DOMAIN = "in.leads.example.test"
SECRET = "parse-secret-7f3a9c"
OWNER_PHONE = "+13175550155"


@pytest.fixture
def world(db_session: Session, redis_env: redis.Redis, monkeypatch: pytest.MonkeyPatch) -> factories.TwoBusinesses:
    """Casey's request taken by two businesses; the plumber gets its notices by email and text, Casey by both too."""
    monkeypatch.setenv("INBOUND_EMAIL_DOMAIN", DOMAIN)
    monkeypatch.setenv("INBOUND_EMAIL_SECRET", SECRET)
    monkeypatch.setenv("APP_URL", "https://leads.example.test")
    get_settings.cache_clear()
    w = factories.two_businesses(db_session, accepted=True, preferred_contact="sms")
    w.business.notify_channels, w.business.notify_phone = ["email", "sms"], OWNER_PHONE
    db_session.add(w.business)
    db_session.commit()
    return w


@pytest.fixture
def web(world: factories.TwoBusinesses) -> Iterator[TestClient]:
    from leadapp.api.app import api

    with TestClient(api) as client:
        yield client


def _thread(s: Session, match_id: int) -> list[ThreadMessage]:
    s.commit()
    s.expire_all()
    return list(s.exec(select(ThreadMessage).where(ThreadMessage.match_id == match_id).order_by(ThreadMessage.id)))  # type: ignore[arg-type]


def _parse(
    client: TestClient,
    to: str,
    text: str,
    *,
    secret: str = SECRET,
    message_id: str = "<r1@mail.example>",
    files: dict | None = None,
):
    """What SendGrid Inbound Parse posts: multipart fields, and an attachment (by default a text file, not kept)."""
    fields = {
        "to": to,
        "from": "Casey <casey@example.com>",
        "subject": "Re: New message from Carmel Plumbing",
        "text": text,
        "headers": f"Message-ID: {message_id}\nSubject: Re: New message\n",
        "envelope": f'{{"to":["{to}"],"from":"casey@example.com"}}',
    }
    return client.post(
        f"/api/inbound/email/{secret}",
        data=fields,
        files=files if files is not None else {"attachment1": ("note.txt", b"hi", "text/plain")},
    )


def test_the_message_email_replies_to_the_thread_and_its_reply_lands(
    db_session: Session, world: factories.TwoBusinesses, web: TestClient, request: pytest.FixtureRequest
):
    s, w = db_session, world
    fake: FakeSendGrid = request.getfixturevalue("fake_sendgrid")
    for name, value in {"SENDGRID_API_KEY": fake.api_key, "SENDGRID_HOST": fake.url}.items():
        request.getfixturevalue("monkeypatch").setenv(name, value)
    get_settings.cache_clear()
    messages.post_message(s, w.owner, w.match.id, "Yes, 9am Tuesday works.")
    s.commit()
    [email] = s.exec(
        select(Notification).where(Notification.kind == "thread_message", Notification.channel == "email")
    ).all()
    assert notify.send_notification(email.id) == "sent"  # type: ignore[arg-type]
    [sent] = fake.messages
    reply_to = sent["reply_to"]["email"]
    assert reply_to == links.reply_address(w.match.id, "consumer") and reply_to.endswith(f"@{DOMAIN}")
    assert sent["personalizations"][0]["to"] == [{"email": "casey@example.com"}]

    answer = (
        "Great, see you then.\n\nOn Tue, Carmel Plumbing <no-reply@leadapp.local> wrote:\n> Yes, 9am Tuesday works."
    )
    response = _parse(web, f"Carmel Plumbing <{reply_to}>", answer)
    assert response.status_code == 200, response.text
    stored = _thread(s, w.match.id)
    assert [(m.side, m.channel, m.body) for m in stored] == [
        ("business", "web", "Yes, 9am Tuesday works."),
        ("consumer", "email", "Great, see you then."),
    ]
    assert response.json() == {"status": "stored", "message_id": stored[-1].id}
    # SendGrid posts it again: the same message, nothing more
    again = _parse(web, f"Carmel Plumbing <{reply_to}>", answer)
    assert again.json() == response.json() and len(_thread(s, w.match.id)) == 2
    # the business is told of the reply (rows written before the commit)
    told = s.exec(select(Notification).where(Notification.dedupe_key.startswith(f"thread-message:{stored[-1].id}:")))  # type: ignore[union-attr]
    assert sorted(n.recipient for n in told) == sorted([OWNER_PHONE, "plumber@example.com"])


def test_inbound_email_refusals_store_nothing(
    db_session: Session, world: factories.TwoBusinesses, web: TestClient, monkeypatch: pytest.MonkeyPatch
):
    s, w = db_session, world
    genuine = links.reply_address(w.match.id, "consumer")
    local, _, _ = genuine.partition("@")
    assert _parse(web, genuine, "hi", secret="wrong-secret").status_code == 403
    forged = local[:-4] + "0000@" + DOMAIN
    refused = _parse(web, forged, "Give me the owner's number")
    assert (refused.status_code, refused.json()["error"]) == (404, "no_thread")
    other_thread = genuine.replace(f"reply+{w.match.id}-", f"reply+{w.other_match.id}-")
    assert _parse(web, other_thread, "hi").status_code == 404
    empty = _parse(web, genuine, "\n> only the quoted mail\n", message_id="<r2@mail.example>")
    assert (empty.status_code, empty.json()["error"]) == (422, "validation_failed")
    assert (
        web.post(
            f"/api/inbound/email/{SECRET}", content=b"{}", headers={"content-type": "application/json"}
        ).status_code
        == 400
    )
    w.lead.status = LeadStatus.WITHDRAWN.value
    s.add(w.lead)
    s.commit()
    closed = _parse(web, genuine, "Still coming?", message_id="<r3@mail.example>")
    assert (closed.status_code, closed.json()["error"]) == (409, "closed")
    monkeypatch.setenv("INBOUND_EMAIL_SECRET", "")
    get_settings.cache_clear()
    assert _parse(web, genuine, "hi", secret="").status_code in (403, 404, 405)
    assert _parse(web, genuine, "hi", secret=SECRET).status_code == 403  # no secret configured: every post refused
    assert _thread(s, w.match.id) == []


@pytest.fixture
def bridge(world: factories.TwoBusinesses, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    fake: FakeTwilio = request.getfixturevalue("fake_twilio")
    for name, value in twilio_settings(fake, PUBLIC_BASE).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    from voice_bridge.app import app

    with TestClient(app) as client:
        yield client, fake


def test_a_text_reply_lands_in_the_last_open_thread_of_its_number(
    db_session: Session, world: factories.TwoBusinesses, bridge
):
    s, w = db_session, world
    client, fake = bridge
    messages.post_message(s, w.other_owner, w.other_match.id, "Quick Drains here, when suits you?")
    s.commit()
    messages.post_message(s, w.owner, w.match.id, "Carmel Plumbing: can we come Tuesday?")
    s.commit()
    [text] = s.exec(
        select(Notification).where(
            Notification.channel == "sms",
            Notification.dedupe_key.startswith("thread-message:"),  # type: ignore[union-attr]
            Notification.match_id == w.match.id,
        )
    ).all()
    assert notify.send_notification(text.id) == "sent"  # type: ignore[arg-type]
    [sent] = fake.messages
    assert sent["to"] == factories.PHONE and sent["body"].startswith("Carmel Plumbing:")
    assert "Reply here to answer" in sent["body"]

    params = {**inbound("Tuesday is fine", sender=factories.PHONE), "MessageSid": "SM" + "c" * 32}
    assert post_sms(client, params, None).status_code == 403  # unsigned: nothing lands
    assert post_sms(client, params, signature(fake.auth_token, params, f"{PUBLIC_BASE}/twilio/sms")).status_code == 200
    post_sms(client, params, signature(fake.auth_token, params, f"{PUBLIC_BASE}/twilio/sms"))  # Twilio retries
    latest = _thread(s, w.match.id)
    assert [(m.side, m.channel, m.body) for m in latest] == [
        ("business", "web", "Carmel Plumbing: can we come Tuesday?"),
        ("consumer", "sms", "Tuesday is fine"),
    ]
    assert [m.side for m in _thread(s, w.other_match.id)] == ["business"]  # the older thread got nothing

    owner_text = {**inbound("OK, booked", sender=OWNER_PHONE), "MessageSid": "SM" + "d" * 32}
    client_sig = signature(fake.auth_token, owner_text, f"{PUBLIC_BASE}/twilio/sms")
    assert post_sms(client, owner_text, client_sig).status_code == 200
    assert [(m.side, m.body) for m in _thread(s, w.match.id)][-1] == ("business", "OK, booked")

    stranger = {**inbound("who is this", sender="+13175550177"), "MessageSid": "SM" + "e" * 32}
    assert post_sms(client, stranger, signature(fake.auth_token, stranger, f"{PUBLIC_BASE}/twilio/sms")).text.endswith(
        "<Response/>"
    )
    w.lead.status = LeadStatus.WITHDRAWN.value
    s.add(w.lead)
    s.commit()
    late = {**inbound("Still on?", sender=factories.PHONE), "MessageSid": "SM" + "f" * 32}
    assert post_sms(client, late, signature(fake.auth_token, late, f"{PUBLIC_BASE}/twilio/sms")).status_code == 200
    assert len(_thread(s, w.match.id)) == 3


def test_an_emailed_photo_comes_with_the_reply_and_other_files_stay_out(
    db_session: Session, world: factories.TwoBusinesses, web: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path
):
    s, w = db_session, world
    monkeypatch.setenv("ATTACHMENTS_DIR", str(tmp_path / "attachments"))
    get_settings.cache_clear()
    address = links.reply_address(w.match.id, "consumer")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    files = {
        "attachment1": ("invoice.pdf", b"%PDF-1.7 not a photo", "application/pdf"),
        "attachment2": ("leak.png", png, "image/png"),
    }
    response = _parse(web, address, "", files=files, message_id="<p1@mail.example>")  # a photo and no words
    assert response.status_code == 200, response.text
    [stored] = _thread(s, w.match.id)
    assert (stored.side, stored.channel, stored.body, stored.photo_type) == ("consumer", "email", "", "image/png")
    assert [p.name for p in (tmp_path / "attachments").iterdir()] == [stored.photo_ref]
    only_pdf = {"attachment1": ("invoice.pdf", b"%PDF-1.7 not a photo", "application/pdf")}
    refused = _parse(web, address, "", files=only_pdf, message_id="<p2@mail.example>")
    assert (refused.status_code, refused.json()["error"]) == (422, "validation_failed")
    assert len(_thread(s, w.match.id)) == 1
