"""The inbound SMS webhook: only Twilio-signed requests count; STOP silences later SMS, START lifts it.

Requests are signed the way Twilio signs them (`RequestValidator.compute_signature`) for the bridge's
PUBLIC url, while they reach the app at another address, as behind a TLS-terminating proxy.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
import redis
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select
from twilio.request_validator import RequestValidator

from leadapp.core import crypto, links
from leadapp.core.db import get_engine
from leadapp.core.models import AuditEvent, Call, DoNotCall, Lead, Notification, SmsOptOut, utcnow
from leadapp.core.services import calls, notify, portal
from leadapp.core.settings import get_settings
from tests import factories
from tests.fakes.twilio_api import FakeTwilio, fake_twilio, twilio_settings  # noqa: F401
from voice_bridge.app import app
from voice_bridge.sms import opt_action

PUBLIC_BASE = "https://voice.leads.example.test"
PUBLIC_URL = f"{PUBLIC_BASE}/twilio/sms"
SENDER = "+13175550142"


def inbound(body: str, sender: str = SENDER) -> dict[str, str]:
    """The form fields Twilio posts for an incoming message."""
    return {
        "MessageSid": "SM" + "a" * 32,
        "AccountSid": "AC" + "b" * 32,
        "From": sender,
        "To": "+13175550100",
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
    }


def signature(token: str, params: dict[str, str], url: str = PUBLIC_URL) -> str:
    return RequestValidator(token).compute_signature(url, params)


@pytest.fixture
def twilio(
    db_session: Session,
    redis_env: redis.Redis,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> FakeTwilio:
    """The fake Twilio as the app's SMS provider; the bridge's public URL is PUBLIC_BASE."""
    fake: FakeTwilio = request.getfixturevalue("fake_twilio")
    for name, value in twilio_settings(fake, PUBLIC_BASE).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return fake


@pytest.fixture
def bridge(twilio: FakeTwilio) -> Iterator[TestClient]:
    """The voice bridge app in-process (it sees http://testserver/..., not the public URL)."""
    with TestClient(app) as client:
        yield client


def post_sms(client: TestClient, params: dict[str, str], sig: str | None) -> httpx.Response:
    headers = {} if sig is None else {"X-Twilio-Signature": sig}
    return client.post("/twilio/sms", data=params, headers=headers)


def opted_out(session: Session, phone: str = SENDER) -> bool:
    session.commit()  # see what the bridge committed
    return notify.is_opted_out(session, phone)


def send_sms_to(session: Session, phone: str, key: str) -> Notification:
    row = factories.notification(session, phone, channel="sms", dedupe_key=key)
    session.commit()
    assert row.id is not None
    notify.send_notification(row.id)
    session.commit()
    found = session.get(Notification, row.id, populate_existing=True)
    assert found is not None
    return found


def test_stop_suppresses_every_later_sms(bridge: TestClient, twilio: FakeTwilio, db_session: Session) -> None:
    params = inbound("STOP")
    response = post_sms(bridge, params, signature(twilio.auth_token, params))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert response.text.endswith("<Response/>")
    assert opted_out(db_session)

    row = send_sms_to(db_session, SENDER, "after-stop")
    assert (row.status, row.last_error, row.provider_id) == ("suppressed", "recipient opted out (STOP)", "")
    assert twilio.requests == []


def test_start_lifts_the_opt_out(bridge: TestClient, twilio: FakeTwilio, db_session: Session) -> None:
    for body in ("STOP", "start"):
        params = inbound(body)
        assert post_sms(bridge, params, signature(twilio.auth_token, params)).status_code == 200
    assert not opted_out(db_session)

    row = send_sms_to(db_session, SENDER, "after-start")
    assert row.status == "sent"
    assert [r["form"]["To"] for r in twilio.requests] == [SENDER]


@pytest.mark.parametrize("body", ["STOP", " stop ", "StopAll", "unsubscribe", "CANCEL", "end", "Quit\n"])
def test_every_stop_keyword_opts_out(bridge: TestClient, twilio: FakeTwilio, db_session: Session, body: str) -> None:
    params = inbound(body)
    assert post_sms(bridge, params, signature(twilio.auth_token, params)).status_code == 200
    assert opted_out(db_session)


@pytest.mark.parametrize("body", ["stop please", "I want to stop", "Hello", "", "STOP STOP"])
def test_other_messages_change_nothing(bridge: TestClient, twilio: FakeTwilio, db_session: Session, body: str) -> None:
    params = inbound(body)
    response = post_sms(bridge, params, signature(twilio.auth_token, params))
    assert response.status_code == 200 and response.text.endswith("<Response/>")
    assert not opted_out(db_session)


def test_a_repeated_stop_keeps_one_opt_out(bridge: TestClient, twilio: FakeTwilio, db_session: Session) -> None:
    for _ in range(2):
        params = inbound("STOP")
        assert post_sms(bridge, params, signature(twilio.auth_token, params)).status_code == 200
    db_session.commit()
    assert db_session.exec(select(func.count()).select_from(SmsOptOut)).one() == 1


@pytest.mark.parametrize(
    "forge",
    ["missing", "wrong-token", "internal-url", "tampered-body", "empty"],
)
def test_unsigned_or_badly_signed_requests_are_refused(
    bridge: TestClient, twilio: FakeTwilio, db_session: Session, forge: str
) -> None:
    params = inbound("STOP")
    sig: str | None
    if forge == "missing":
        sig = None
    elif forge == "wrong-token":
        sig = signature("not-the-auth-token", params)
    elif forge == "internal-url":  # what the app sees; Twilio signs the public URL
        sig = signature(twilio.auth_token, params, url="http://testserver/twilio/sms")
    elif forge == "tampered-body":
        sig = signature(twilio.auth_token, inbound("Hello"))
    else:
        sig = ""

    response = post_sms(bridge, params, sig)

    assert response.status_code == 403
    assert response.json() == {"error": "invalid signature"}
    assert not opted_out(db_session)


def test_refused_when_no_auth_token_is_configured(
    bridge: TestClient, db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "")
    get_settings.cache_clear()
    params = inbound("STOP")

    response = post_sms(bridge, params, signature("", params))  # "signed" with the empty token

    assert response.status_code == 403 and response.json() == {"error": "invalid signature"}
    assert not opted_out(db_session)


@pytest.mark.parametrize(
    ("body", "action"),
    [
        ("STOP", "stop"),
        ("stopall", "stop"),
        ("  End ", "stop"),
        ("UNSTOP", "start"),
        ("yes", "start"),
        ("no", None),
        ("STOP CALLS", "stop_calls"),
        ("stop  calls.", "stop_calls"),
        ("Stop calling!", "stop_calls"),
        ("Don’t call me", "stop_calls"),
        ("stop calls please call me", None),
        ("Baja", "stop"),
        ("¡PARAR!", "stop"),
        ("no más mensajes", "stop"),
        ("alta", "start"),
        ("No me llamen.", "stop_calls"),
        ("NO MÁS LLAMADAS", "stop_calls"),
        ("no más", None),
        ("baja el precio", None),
    ],
)
def test_opt_action(body: str, action: str | None) -> None:
    assert opt_action(body) == action


# --- AI-call consent --------------------------------------------------------------------------------


def lead_and_call(session: Session, phone: str = SENDER, status: str = "scheduled") -> tuple[Lead, Call]:
    """A request with AI-call consent from `phone`, and an AI call to it not dialled yet."""
    lead = factories.lead(
        session,
        phone=phone,
        raw_text="The drain under the kitchen sink is leaking into the cabinet, need a plumber this week",
        location_zip="46032",
    )
    call = factories.call(
        session,
        lead,
        None,
        status,
        call_type="consumer_callback",
        scheduled_for=utcnow() + timedelta(hours=12),
        consent_at=lead.consent_at,
    )
    session.commit()
    return lead, call


def dnc_entry(session: Session, phone: str = SENDER) -> DoNotCall | None:
    session.commit()
    return session.exec(select(DoNotCall).where(DoNotCall.phone_hash == crypto.phone_hash(phone))).first()


def test_stop_also_withdraws_consent_to_ai_calls(bridge: TestClient, twilio: FakeTwilio, db_session: Session) -> None:
    lead, waiting = lead_and_call(db_session)
    params = inbound("Stop")
    assert post_sms(bridge, params, signature(twilio.auth_token, params)).text.endswith("<Response/>")

    entry = dnc_entry(db_session)
    assert entry is not None and (entry.source, entry.wording, entry.phone_display) == ("sms", "Stop", "+1•••••••0142")
    assert entry.phone_hash == crypto.phone_hash(SENDER) and SENDER not in entry.model_dump_json()
    assert opted_out(db_session)  # and texts stop too
    cancelled = db_session.get(Call, waiting.id, populate_existing=True)
    assert (cancelled.status, cancelled.error) == ("canceled", "the number asked not to receive AI calls")
    # A call that slipped through (e.g. queued before) is refused by the call worker when it would dial.
    _, late = lead_and_call(db_session, status="requested")
    assert calls.place_call(late.id) == "refused"
    refused = db_session.get(Call, late.id, populate_existing=True)
    assert (refused.status, refused.error) == ("canceled", "This number is on the do-not-call list.")
    assert twilio.requests == []  # nothing dialled (the Twilio fake records every REST request)
    withdrawal = db_session.exec(select(AuditEvent).where(AuditEvent.action == "consent.withdraw")).first()
    assert withdrawal is not None and withdrawal.after["source"] == "sms" and withdrawal.after["wording"] == "Stop"
    # The consumer's portal says why a callback is no longer possible.
    link_holder = portal.MagicGrant(links.magic_token(lead.id))
    view = portal.request_view(db_session, link_holder, lead.id)  # type: ignore[arg-type]
    assert view["callback_reason"] == "You asked not to receive AI calls on this number."


def test_stop_calls_stops_ai_calls_but_not_texts(bridge: TestClient, twilio: FakeTwilio, db_session: Session) -> None:
    _, waiting = lead_and_call(db_session)
    params = inbound("STOP CALLS")
    response = post_sms(bridge, params, signature(twilio.auth_token, params))

    assert response.status_code == 200 and "<Message>" in response.text and "no more AI calls" in response.text
    entry = dnc_entry(db_session)
    assert entry is not None and (entry.source, entry.wording) == ("sms", "STOP CALLS")
    assert db_session.get(Call, waiting.id, populate_existing=True).status == "canceled"
    assert not opted_out(db_session)
    assert send_sms_to(db_session, SENDER, "after-stop-calls").status == "sent"  # texts go on


def test_start_gives_texts_back_but_not_ai_calls(bridge: TestClient, twilio: FakeTwilio, db_session: Session) -> None:
    for body in ("STOP", "START"):
        params = inbound(body)
        assert post_sms(bridge, params, signature(twilio.auth_token, params)).status_code == 200
    assert not opted_out(db_session)
    entry = dnc_entry(db_session)
    assert entry is not None and entry.wording == "STOP"  # AI calls need fresh consent


def test_spanish_keywords_are_applied_and_answered_in_spanish(
    bridge: TestClient, twilio: FakeTwilio, db_session: Session
) -> None:
    """Twilio knows only its English keywords: a Spanish-speaking consumer's BAJA, ALTA and NO ME LLAMEN are ours
    to apply, and to confirm in Spanish."""
    _, waiting = lead_and_call(db_session)

    def reply(body: str) -> str:
        params = inbound(body)
        response = post_sms(bridge, params, signature(twilio.auth_token, params))
        assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
        return response.text

    answer = reply("Baja")
    assert "<Message>" in answer and "no recibirá más mensajes" in answer and "ALTA" in answer
    assert opted_out(db_session)
    entry = dnc_entry(db_session)
    assert entry is not None and (entry.source, entry.wording) == ("sms", "Baja")
    assert db_session.get(Call, waiting.id, populate_existing=True).status == "canceled"
    assert send_sms_to(db_session, SENDER, "after-baja").status == "suppressed"

    answer = reply("alta")
    assert "volverá a recibir" in answer
    assert not opted_out(db_session)
    assert send_sms_to(db_session, SENDER, "after-alta").status == "sent"

    other = "+13175550177"
    params = inbound("No me llamen", sender=other)
    answer = post_sms(bridge, params, signature(twilio.auth_token, params)).text
    assert "no más llamadas de IA" in answer
    assert dnc_entry(db_session, other) is not None and not opted_out(db_session, other)


# --- the real bridge process ----------------------------------------------------------------------


@pytest.fixture
def bridge_process(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> str:
    """`python -m voice_bridge` on loopback, with an auth token and PUBLIC_BASE as its public URL."""
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "process-auth-token")
    monkeypatch.setenv("VOICE_BRIDGE_PUBLIC_URL", PUBLIC_BASE)
    get_settings.cache_clear()
    return request.getfixturevalue("voice_bridge_url")


def test_the_running_bridge_verifies_and_records(bridge_process: str) -> None:
    params = inbound("STOP", sender="+13175550177")

    forged = httpx.post(
        f"{bridge_process}/twilio/sms", data=params, headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}
    )
    accepted = httpx.post(
        f"{bridge_process}/twilio/sms",
        data=params,
        headers={"X-Twilio-Signature": signature("process-auth-token", params)},
    )

    assert forged.status_code == 403 and forged.json() == {"error": "invalid signature"}
    assert accepted.status_code == 200 and accepted.text.endswith("<Response/>")
    with Session(get_engine()) as session:
        assert notify.is_opted_out(session, "+13175550177")
