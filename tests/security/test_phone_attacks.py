"""Attack: calls and texts to anyone (issue 11, item 5).

Before: any valid international number was accepted (and called, and texted), consent to AI calls was a
checkbox anyone could tick for someone else's number, and callbacks were unmetered. Each test is the attack:
- a foreign number typed into every door (the API, the form's intake, the interview, a business's settings),
  and a foreign number that got into a row anyway (the SMS sender and the call worker refuse it);
- a request with a stranger's number and consent ticked: no AI call reaches it, whoever asks (a business, the
  portal's callback, a call row the worker finds), until a code texted to that number comes back;
- guessing the code (attempts are limited and counted before comparing; the code expires; a code works for its
  own request and number only, once); texting a stranger codes in a loop;
- AI calls and texts beyond the daily caps, callbacks included.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from leadapp.core import crypto, links
from leadapp.core.broker import get_redis, key
from leadapp.core.errors import NotAllowed, UserError
from leadapp.core.models import Business, Call, Lead, Match, Notification, User
from leadapp.core.services import (
    accounts,
    businesses,
    calls,
    daily_caps,
    intake,
    interview,
    notify,
    phone_codes,
    portal,
)
from leadapp.core.settings import get_settings
from leadapp.core.vocab import CallStatus, MatchStatus, NotificationStatus
from tests import factories
from tests.conftest import clear_app_caches

PASSWORD = "a long enough password"
PHONE = "+13178462200"
FOREIGN = ["+44 20 7183 8750", "+33 1 42 68 53 00", "+234 803 123 4567", "+91 98765 43210"]
# Daytime in Carmel, Indiana (46032): calls may be placed.
DAYTIME = datetime.now(UTC).replace(hour=17, minute=0, second=0, microsecond=0)
TEXT = "My water heater is leaking all over the garage floor, need someone today, budget around $500"


def _setting(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    get_settings.cache_clear()


def _lead(s: Session, consumer: User | None, phone: str = PHONE, *, consent: bool = True) -> Lead:
    accepted = intake.submit(
        s,
        intake.Submission(
            text=TEXT,
            zip="46032",
            phone=phone,
            email="victim@example.com",
            preferred_contact="phone",
            consent_ai_calls=consent,
            consumer_id=consumer.id if consumer else None,
        ),
    )
    lead = s.get(Lead, accepted.lead_id)
    assert lead is not None
    return lead


def _accepted_by(s: Session, lead: Lead, owner: User, name: str = "Carmel Plumbing") -> Match:
    business = Business(owner_id=owner.id, name=name, zip="46032", plan="pro", categories=["plumbing"])
    s.add(business)
    s.flush()
    match = Match(lead_id=lead.id, business_id=business.id, score=80.0, status=MatchStatus.ACCEPTED.value)
    s.add(match)
    s.commit()
    return match


def _texted_code(s: Session, user: User, lead: Lead) -> str:
    """The code texted to `lead`'s number when `user` asks for one (committed)."""
    phone_codes.send_lead_code(s, user, lead.id)  # type: ignore[arg-type]
    s.commit()
    return _last_code(s, lead.id)


def _last_code(s: Session, lead_id: int | None = None) -> str:
    query = select(Notification).where(Notification.kind == "phone_code").order_by(col(Notification.id).desc())
    if lead_id is not None:
        query = query.where(Notification.lead_id == lead_id)
    row = s.exec(query).first()
    assert row is not None and row.channel == "sms"
    found = re.search(r"\b([0-9]{6})\b", row.body_text)
    assert found is not None
    return found.group(1)


def _users(s: Session) -> tuple[User, User, User]:
    victim = accounts.register(s, "victim-q11@example.com", PASSWORD, "consumer")
    attacker = accounts.register(s, "attacker-q11@example.com", PASSWORD, "consumer")
    owner = accounts.register(s, "owner-q11@example.com", PASSWORD, "business_owner")
    s.commit()
    return victim, attacker, owner


# --- numbers outside the supported countries ---------------------------------------------------------------


@pytest.fixture
def api_client(app_env: dict[str, str]):
    clear_app_caches()
    from leadapp.api.app import api

    with TestClient(api, raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("number", FOREIGN)
def test_a_foreign_number_is_refused_at_every_door(db_session: Session, api_client: TestClient, number: str) -> None:
    s = db_session
    body = {"text": TEXT, "zip": "46032", "phone": number, "preferred_contact": "phone", "consent_ai_calls": True}
    reply = api_client.post("/api/v1/leads", json=body)
    assert reply.status_code == 422, reply.text
    assert "United States" in reply.json()["fields"]["phone"]
    assert s.exec(select(Lead)).first() is None

    with pytest.raises(intake.SubmissionInvalid) as refused:
        intake.validate(intake.Submission(text=TEXT, zip="46032", phone=number), intake.current_rules(s))
    assert "Canada" in refused.value.errors["phone"]

    with pytest.raises(businesses.ProfileInvalid) as refused_settings:
        businesses.validate_profile(
            businesses.ProfileInput(
                name="Pipes", categories=["plumbing"], zip="46032", notify_phone=number, notify_channels=["sms"]
            )
        )
    assert "United States" in refused_settings.value.errors["notify_phone"]

    token, _ = interview.start(s, None)
    interview.reply(s, token, None, "The kitchen sink drain is blocked, water everywhere in 46032")
    turn = interview.reply(s, token, None, f"call me on {number}")
    assert turn.fields["contact"] == "" and turn.phone_check == ""
    assert "United States" in turn.messages[-1]["text"]  # the next question says why


def test_a_foreign_number_that_got_into_a_row_is_never_texted_or_called(db_session: Session) -> None:
    s = db_session
    foreign = "+442071838750"
    row = notify.create_notification(
        s, kind="consumer_matched", channel="sms", recipient=foreign, subject="", text="hi", html="", dedupe_key="x1"
    )
    s.commit()
    assert notify.send_notification(row.id) == NotificationStatus.FAILED.value  # type: ignore[arg-type]
    s.expire_all()
    failed = s.get(Notification, row.id)
    assert failed is not None and failed.provider == "" and "United States" in failed.last_error

    lead = Lead(
        raw_text=TEXT,
        zip="46032",
        contact_phone_enc=crypto.encrypt_phone(foreign),
        contact_phone_hash=crypto.phone_hash(foreign),
        consent_ai_calls=True,
        consent_at=DAYTIME,
        phone_verified_at=DAYTIME,
        status="matched",
    )
    s.add(lead)
    s.flush()
    call = factories.call(s, lead, None, CallStatus.REQUESTED.value, call_type="consumer_callback")
    s.commit()
    assert calls.place_call(call.id, now=DAYTIME) == "refused"  # type: ignore[arg-type]
    s.expire_all()
    refused = s.get(Call, call.id)
    assert refused is not None and refused.status == CallStatus.CANCELED.value and refused.provider_call_sid is None


# --- consent counts only for a verified number --------------------------------------------------------------


def _sneaked_callback(s: Session, lead: Lead) -> Call:
    """A concierge callback about `lead` whose row reaches the worker without the checks a request passes (an old
    request, a bug elsewhere), as it is after the worker refused to dial it."""
    call = calls.new_outbound_call(
        s, lead, business_id=None, requested_by_id=None, call_type="consumer_callback", objective="x", now=DAYTIME
    )
    s.commit()
    assert calls.place_call(call.id, now=DAYTIME) == "refused"  # type: ignore[arg-type]
    s.expire_all()
    refused = s.get(Call, call.id)
    assert refused is not None
    return refused


def test_consent_to_a_strangers_number_places_no_call(db_session: Session) -> None:
    s = db_session
    _, attacker, owner = _users(s)
    lead = _lead(s, attacker)  # the attacker typed the victim's number and ticked the consent
    assert lead.consent_ai_calls and lead.phone_verified_at is None
    match = _accepted_by(s, lead, owner)

    with pytest.raises(UserError) as refused:
        calls.request_call(s, owner, match.id, now=DAYTIME)  # type: ignore[arg-type]
    assert refused.value.message == calls.UNVERIFIED
    with pytest.raises(UserError) as refused_callback:
        portal.request_callback(s, attacker, lead.id, now=DAYTIME)  # type: ignore[arg-type]
    assert refused_callback.value.message == portal.PHONE_UNVERIFIED
    s.rollback()

    # A call row that reaches the worker anyway (an old request, a bug elsewhere): the worker refuses to dial.
    refused_call = _sneaked_callback(s, lead)
    assert refused_call.error == calls.UNVERIFIED and not refused_call.provider_call_sid


def test_an_api_body_cannot_claim_a_verified_number(db_session: Session, api_client: TestClient) -> None:
    body = {
        "text": TEXT,
        "zip": "46032",
        "phone": PHONE,
        "preferred_contact": "phone",
        "consent_ai_calls": True,
        "phone_verified_hash": crypto.phone_hash(PHONE),
        "phone_verified_at": "2026-01-01T00:00:00Z",
    }
    reply = api_client.post("/api/v1/leads", json=body)
    assert reply.status_code in (201, 422), reply.text
    for lead in db_session.exec(select(Lead)).all():
        assert lead.phone_verified_at is None


def test_the_right_code_verifies_once_and_then_calls_may_go(db_session: Session) -> None:
    s = db_session
    victim, _, owner = _users(s)
    lead = _lead(s, victim)
    code = _texted_code(s, victim, lead)
    stored = get_redis().hgetall(key("phone-code", f"lead-{lead.id}"))
    assert stored and code.encode() not in b"".join(stored.values())  # kept hashed only

    phone_codes.verify_lead_code(s, victim, lead.id, code)  # type: ignore[arg-type]
    s.commit()
    s.expire_all()
    verified = s.get(Lead, lead.id)
    assert verified is not None and verified.phone_verified_at is not None
    with pytest.raises(UserError) as again:
        phone_codes.check_code(f"lead-{lead.id}", PHONE, code)
    assert again.value.message == phone_codes.NO_CODE  # it worked once

    match = _accepted_by(s, verified, owner)
    call = calls.request_call(s, owner, match.id, now=DAYTIME)  # type: ignore[arg-type]
    s.commit()
    assert call.status == CallStatus.REQUESTED.value


def test_guessing_the_code_is_stopped(db_session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    s = db_session
    victim, _, _ = _users(s)
    lead = _lead(s, victim)
    code = _texted_code(s, victim, lead)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    tries = get_settings().phone_code_max_attempts
    for _ in range(tries):
        with pytest.raises(UserError, match="not right"):
            phone_codes.verify_lead_code(s, victim, lead.id, wrong)  # type: ignore[arg-type]
    with pytest.raises(UserError) as locked:
        phone_codes.verify_lead_code(s, victim, lead.id, code)  # the right code, too late
    assert locked.value.message == phone_codes.TOO_MANY
    s.rollback()
    s.expire_all()
    assert s.get(Lead, lead.id).phone_verified_at is None  # type: ignore[union-attr]

    # An expired code does not work either.
    fresh = _texted_code(s, victim, lead)
    later = time.time() + get_settings().phone_code_ttl_seconds + 1
    with pytest.raises(UserError) as expired:
        phone_codes.check_code(f"lead-{lead.id}", PHONE, fresh, now=later)
    assert expired.value.message == phone_codes.EXPIRED


def test_a_code_verifies_only_its_own_request_and_number(db_session: Session) -> None:
    s = db_session
    victim, attacker, _ = _users(s)
    victims = _lead(s, victim)
    own = _lead(s, attacker, "+13176640123")
    code = _texted_code(s, attacker, own)
    with pytest.raises(NotAllowed):  # another consumer's request
        phone_codes.verify_lead_code(s, attacker, victims.id, code)  # type: ignore[arg-type]
    with pytest.raises(UserError) as other_scope:  # the victim's own scope has no code waiting
        phone_codes.verify_lead_code(s, victim, victims.id, code)  # type: ignore[arg-type]
    assert other_scope.value.message == phone_codes.NO_CODE
    with pytest.raises(UserError):  # the attacker's code, checked against the victim's number
        phone_codes.check_code(f"lead-{own.id}", PHONE, code)
    # A tracking link of one request cannot verify another.
    grant = portal.MagicGrant(links.magic_token(own.id))  # type: ignore[arg-type]
    with pytest.raises(NotAllowed):
        phone_codes.verify_lead_code(s, grant, victims.id, code)  # type: ignore[arg-type]
    s.rollback()
    s.expire_all()
    assert s.get(Lead, victims.id).phone_verified_at is None  # type: ignore[union-attr]


def test_texting_a_stranger_codes_in_a_loop_is_stopped(db_session: Session) -> None:
    s = db_session
    _, attacker, _ = _users(s)
    leads = [_lead(s, attacker) for _ in range(2)]
    sent = 0
    with pytest.raises(UserError, match="codes an hour"):
        for lead in leads * 5:
            phone_codes.send_lead_code(s, attacker, lead.id)  # type: ignore[arg-type]
            s.commit()
            sent += 1
    s.rollback()
    assert sent == get_settings().phone_codes_per_hour
    assert len(s.exec(select(Notification).where(Notification.kind == "phone_code")).all()) == sent


def test_the_interview_carries_a_verified_number_only(db_session: Session) -> None:
    s = db_session
    token, _ = factories.answered_interview(
        s,
        (
            "The kitchen sink drain is blocked and the water backs up everywhere",
            "ZIP 46032",
            "today",
            "around $300",
            "weekday mornings",
            "call me at (317) 846-2200",
        ),
    )
    s.commit()
    with pytest.raises(UserError):
        interview.verify_phone_code(s, token, None, "000000")
    interview.send_phone_code(s, token, None)
    s.commit()
    turn = interview.verify_phone_code(s, token, None, _last_code(s))
    s.commit()
    assert turn.phone_check == "verified"
    with pytest.raises(NotAllowed):  # another browser (a guessed owner token) cannot verify this interview
        interview.verify_phone_code(s, token.split(".")[0] + ".guessed", None, "123456")
    s.rollback()
    accepted = interview.submit(s, token, None, "198.51.100.9", consent=True)
    lead = s.get(Lead, accepted.lead_id)
    assert lead is not None and lead.phone_verified_at is not None and lead.consent_ai_calls


# --- daily caps ----------------------------------------------------------------------------------------------


def _verified_lead(s: Session, consumer: User, phone: str) -> Lead:
    lead = _lead(s, consumer, phone)
    lead.phone_verified_at = DAYTIME
    s.add(lead)
    s.commit()
    return lead


def test_ai_calls_stop_at_the_daily_caps_callbacks_included(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = db_session
    victim, attacker, owner = _users(s)
    _setting(monkeypatch, "AI_CALLS_PER_BUSINESS_PER_DAY", "1")
    first = _verified_lead(s, victim, "+13178462201")
    second = _verified_lead(s, victim, "+13178462202")
    m1 = _accepted_by(s, first, owner)
    business_id = m1.business_id
    m2 = Match(lead_id=second.id, business_id=business_id, score=80.0, status=MatchStatus.ACCEPTED.value)
    s.add(m2)
    s.commit()
    calls.request_call(s, owner, m1.id, now=DAYTIME)  # type: ignore[arg-type]
    s.commit()
    with pytest.raises(UserError) as capped:
        calls.request_call(s, owner, m2.id, now=DAYTIME)  # type: ignore[arg-type]
    assert capped.value.message == daily_caps.CALLS_BUSINESS.format(cap=1)
    s.rollback()
    # The consumer's callback about the business's other lead is that business's call: counted, refused.
    with pytest.raises(UserError) as capped_callback:
        portal.request_callback(s, victim, second.id, now=DAYTIME)  # type: ignore[arg-type]
    assert capped_callback.value.message == daily_caps.CALLS_BUSINESS.format(cap=1)
    s.rollback()

    # Platform-wide: concierge callbacks (no business) count too, and the worker checks again before dialling.
    _setting(monkeypatch, "AI_CALLS_PER_DAY", "1")
    third = _verified_lead(s, attacker, "+13178462203")
    with pytest.raises(UserError) as platform:
        portal.request_callback(s, attacker, third.id, now=DAYTIME)  # type: ignore[arg-type]
    assert platform.value.message == daily_caps.CALLS_PLATFORM
    s.rollback()
    assert _sneaked_callback(s, third).error == daily_caps.CALLS_PLATFORM


def test_texts_stop_at_the_daily_caps(db_session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    s = db_session
    _, _, owner = _users(s)
    business = Business(owner_id=owner.id, name="Pipes", zip="46032", plan="pro")
    s.add(business)
    s.commit()
    _setting(monkeypatch, "SMS_PER_BUSINESS_PER_DAY", "1")
    rows = [
        notify.create_notification(
            s,
            kind="business_new_lead",
            channel="sms",
            recipient="+1317846220" + str(i),
            subject="",
            text=f"new lead {i}",
            html="",
            dedupe_key=f"cap-{i}",
            business_id=business.id,
        )
        for i in range(3)
    ]
    s.commit()
    statuses = [notify.send_notification(row.id) for row in rows]  # type: ignore[arg-type]
    assert statuses == ["sent", "failed", "failed"]
    s.expire_all()
    assert s.get(Notification, rows[1].id).last_error == daily_caps.SMS_BUSINESS.format(cap=1)  # type: ignore[union-attr]

    _setting(monkeypatch, "SMS_PER_DAY", "1")  # the one sent above fills the platform's day
    consumer = accounts.register(s, "late-q11@example.com", PASSWORD, "consumer")
    lead = _lead(s, consumer, "+13178462299")
    with pytest.raises(UserError) as no_codes:
        phone_codes.send_lead_code(s, consumer, lead.id)  # type: ignore[arg-type]
    assert no_codes.value.message == daily_caps.SMS_PLATFORM
