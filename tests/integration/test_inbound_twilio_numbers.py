"""Connecting a business's own number with a Twilio account: the real `twilio` SDK lists the account's numbers
(following Twilio's pages) and points the chosen one's voice url and status callback at the bridge, against a
fake IncomingPhoneNumbers API on loopback; on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from sqlmodel import Session, select

from leadapp.core.errors import NotAllowed, UserError
from leadapp.core.models import AuditEvent, Business, User, utcnow
from leadapp.core.services import inbound
from tests.conftest import clear_app_caches
from tests.fakes.twilio_api import twilio_settings
from tests.fakes.twilio_numbers import FakeTwilioNumbers, fake_twilio_numbers  # noqa: F401

PUBLIC_BASE = "https://voice.leads.example.test"
VOICE_URL = f"{PUBLIC_BASE}/twilio/inbound"
STATUS_URL = f"{PUBLIC_BASE}/twilio/inbound/status"
_serial = itertools.count(1)


@pytest.fixture
def twilio(
    request: pytest.FixtureRequest, app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeTwilioNumbers]:
    """The app configured with a Twilio account whose REST API is the fake."""
    fake: FakeTwilioNumbers = request.getfixturevalue("fake_twilio_numbers")
    for name, value in twilio_settings(fake, PUBLIC_BASE).items():
        monkeypatch.setenv(name, value)
    clear_app_caches()
    yield fake


def owner_with_business(session: Session, name: str, zip_code: str = "46032") -> tuple[User, Business]:
    user = User(email=f"owner{next(_serial)}@example.com", password_hash="x", role="business_owner")
    session.add(user)
    session.flush()
    business = Business(verified_at=utcnow(), owner_id=user.id, name=name, zip=zip_code, categories=["plumbing"])  # type: ignore[arg-type]
    session.add(business)
    session.commit()
    return user, business


def test_the_list_follows_twilios_pages_and_hides_numbers_of_other_businesses(
    twilio: FakeTwilioNumbers, db_session: Session
) -> None:
    s = db_session
    owner_x, x = owner_with_business(s, "X Plumbing")
    owner_y, y = owner_with_business(s, "Y Plumbing")
    numbers = [f"+1317846{3000 + i:04d}" for i in range(120)]  # three pages of 50 for the SDK to follow
    sids = [twilio.add(n) for n in numbers]
    fax_only = twilio.add("+13178469001", voice=False)
    trunked = twilio.add("+13178469002", trunk_sid="TK" + "a" * 32)
    inbound.connect_twilio_number(s, owner_y, y.id, sids[7])
    s.commit()

    choices = inbound.available_numbers(s, owner_x, x.id)

    listed = {c.number: c for c in choices}
    assert numbers[7] not in listed  # Y's number: not even shown to X
    assert set(numbers) - {numbers[7]} <= set(listed) and len(listed) == 121
    assert listed["+13178469001"].usable is False and "voice" in listed["+13178469001"].note
    assert listed["+13178469002"].usable is False and "SIP trunk" in listed["+13178469002"].note
    assert all(c.usable for c in choices if c.sid not in (fax_only, trunked))
    pages = [r for r in twilio.requests if r["method"] == "GET" and r["path"].endswith("IncomingPhoneNumbers.json")]
    assert [r["query"].get("PageSize") for r in pages] == ["50", "50", "50"]
    assert "PageToken" not in pages[0]["query"] and all(r["query"]["PageToken"].startswith("PA") for r in pages[1:])
    # Y still sees its own number among its choices (to reconnect it after a disconnect, say).
    assert numbers[7] in {c.number for c in inbound.available_numbers(s, owner_y, y.id)}


def test_connecting_points_the_number_at_the_bridge_and_disconnecting_puts_it_back(
    twilio: FakeTwilioNumbers, db_session: Session
) -> None:
    s = db_session
    owner, business = owner_with_business(s, "X Plumbing")
    sid = twilio.add(
        "+13178462777",
        voice_url="https://old-ivr.example.com/voice",
        voice_application_sid="AP" + "b" * 32,
        status_callback="https://old-ivr.example.com/status",
    )

    line = inbound.connect_twilio_number(s, owner, business.id, sid)
    s.commit()

    number = twilio.numbers[sid]
    assert (number["voice_url"], number["voice_method"]) == (VOICE_URL, "POST")
    assert (number["status_callback"], number["status_callback_method"]) == (STATUS_URL, "POST")
    assert number["voice_application_sid"] is None  # detached, or Twilio would ignore the voice url
    (update,) = [r for r in twilio.requests if r["method"] == "POST"]
    assert update["content_type"] == "application/x-www-form-urlencoded"
    assert update["form"]["VoiceUrl"] == VOICE_URL and update["form"]["VoiceApplicationSid"] == ""
    s.expire_all()
    stored = s.get(Business, business.id)
    assert (stored.inbound_number, stored.inbound_number_sid) == ("+13178462777", sid)
    assert stored.inbound_previous["voice_url"] == "https://old-ivr.example.com/voice"
    assert (line.number, line.mode, line.account_configured) == ("+13178462777", "twilio", True)
    events = s.exec(select(AuditEvent).where(AuditEvent.action == "business.inbound_connect")).all()
    assert len(events) == 1 and events[0].actor_id == owner.id

    inbound.disconnect_number(s, owner, business.id)
    s.commit()

    assert number["voice_url"] == "https://old-ivr.example.com/voice"
    assert number["status_callback"] == "https://old-ivr.example.com/status"
    assert number["voice_application_sid"] == "AP" + "b" * 32
    s.expire_all()
    stored = s.get(Business, business.id)
    assert (stored.inbound_number, stored.inbound_number_sid, stored.inbound_previous) == (None, None, None)
    # Connected again later: nothing of LeadApp's is taken for the number's own former settings.
    inbound.connect_twilio_number(s, owner, business.id, sid)
    s.commit()
    assert s.get(Business, business.id).inbound_previous["voice_url"] == "https://old-ivr.example.com/voice"


def test_a_number_belongs_to_one_business_only(twilio: FakeTwilioNumbers, db_session: Session) -> None:
    s = db_session
    owner_x, x = owner_with_business(s, "X Plumbing")
    owner_y, y = owner_with_business(s, "Y Plumbing")
    sid = twilio.add("+13178462778")
    inbound.connect_twilio_number(s, owner_x, x.id, sid)
    s.commit()
    updates_before = len(twilio.updates)

    with pytest.raises(UserError, match="already connected to another business"):
        inbound.connect_twilio_number(s, owner_y, y.id, sid)
    s.rollback()

    assert len(twilio.updates) == updates_before  # Twilio was not touched
    s.expire_all()
    assert s.get(Business, y.id).inbound_number is None
    assert s.get(Business, x.id).inbound_number == "+13178462778"
    assert twilio.numbers[sid]["voice_url"] == VOICE_URL


def test_a_refusal_by_twilio_changes_nothing_and_says_why(
    twilio: FakeTwilioNumbers, db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = db_session
    owner, business = owner_with_business(s, "X Plumbing")
    sid = twilio.add("+13178462779", voice_url="https://old-ivr.example.com/voice")
    monkeypatch.setenv("VOICE_BRIDGE_PUBLIC_URL", "voice bridge not configured")  # Twilio answers 21402
    clear_app_caches()

    with pytest.raises(UserError, match="Nothing was changed") as refused:
        inbound.connect_twilio_number(s, owner, business.id, sid)
    s.rollback()

    assert "21402" in refused.value.message
    s.expire_all()
    assert s.get(Business, business.id).inbound_number is None
    assert twilio.numbers[sid]["voice_url"] == "https://old-ivr.example.com/voice"


def test_numbers_outside_the_account_or_made_up_are_refused(twilio: FakeTwilioNumbers, db_session: Session) -> None:
    s = db_session
    owner, business = owner_with_business(s, "X Plumbing")
    with pytest.raises(UserError, match="not in LeadApp's phone account"):
        inbound.connect_twilio_number(s, owner, business.id, "PN" + "0" * 32)
    s.rollback()
    for made_up in ("", "PN123", "../Calls/CA" + "0" * 32, "PN" + "0" * 32 + "/../../x", "AC" + "0" * 32):
        with pytest.raises(UserError, match="Choose one of the listed numbers"):
            inbound.connect_twilio_number(s, owner, business.id, made_up)
        s.rollback()
    assert [r for r in twilio.requests if r["method"] == "POST"] == []
    assert s.get(Business, business.id).inbound_number is None


def test_without_an_account_there_is_no_list_but_a_local_line(db_session: Session) -> None:
    s = db_session
    owner, business = owner_with_business(s, "X Plumbing")
    _, other = owner_with_business(s, "Y Plumbing")
    with pytest.raises(UserError, match="No phone account"):
        inbound.available_numbers(s, owner, business.id)
    with pytest.raises(UserError, match="No phone account"):
        inbound.connect_twilio_number(s, owner, business.id, "PN" + "0" * 32)
    s.rollback()

    line = inbound.connect_local_number(s, owner, business.id)
    s.commit()
    assert line.mode == "local" and line.can_simulate and line.number == "+13175550100"
    other_line = inbound.connect_local_number(s, s.get(User, other.owner_id), other.id)
    s.commit()
    assert other_line.number == "+13175550101"  # unique: the next free one
    with pytest.raises(UserError, match="disconnect it before"):
        inbound.connect_local_number(s, owner, business.id)
    s.rollback()
    assert inbound.disconnect_number(s, owner, business.id).number == ""
    s.commit()
    assert s.get(Business, business.id).inbound_number is None
    with pytest.raises(NotAllowed):
        inbound.connect_local_number(s, owner, other.id)  # another business's line
