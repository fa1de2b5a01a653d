"""Outbound AI calls through the real `twilio` SDK against a fake Twilio on loopback, with Twilio's signed
callbacks delivered to the real voice bridge (uvicorn on a free port), on SQLite and PostgreSQL.

What a call goes through: requested (or scheduled outside 9:00–21:00 in the consumer's ZIP) → `place_call`
creates it with our TwiML (`<Connect><Stream>` to the bridge with the call id as a `<Parameter>`), status
callbacks for all four events, async AMD and recording → callbacks move it on → an outcome, the carrier
cost, one retry for no_answer / error, notifications, and a recording link that is signed and expires.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import redis
import uvicorn
from rq.registry import ScheduledJobRegistry
from sqlmodel import Session, select
from starlette.testclient import TestClient

from leadapp.core import broker, crypto
from leadapp.core.errors import NotAllowed, UserError
from leadapp.core.models import AuditEvent, Business, Call, DoNotCall, Lead, Match, Notification, User, utcnow
from leadapp.core.providers.recordings import RecordingError
from leadapp.core.services import accounts, calls, portal
from leadapp.core.settings import get_settings
from leadapp.core.tasks import CALLS, MAINTENANCE, NOTIFICATIONS, queue
from leadapp.core.vocab import CallOutcome, CallStatus, LeadStatus, MatchStatus
from tests.fakes.twilio_voice import CallSimulator, FakeTwilioVoice, fake_twilio_voice, parse_stream  # noqa: F401
from tests.integration.programs import unused_port
from voice_bridge import WS_PROTOCOL

PUBLIC_BASE = "https://voice.leads.example.test"
PASSWORD = "a long enough password"
PHONE = "+13178462200"
ZIP = "46032"  # Carmel, Indiana: America/Indiana/Indianapolis
INDIANA = ZoneInfo("America/Indiana/Indianapolis")
# Noon in Indiana today (EST or EDT): inside calling hours whenever the tests run.
DAYTIME = datetime.now(UTC).replace(hour=17, minute=0, second=0, microsecond=0)
_serial = count(1)


# --- fixtures -------------------------------------------------------------------------------------


def _delete_rq_keys(client: redis.Redis) -> None:
    stale = list(client.scan_iter(match="rq:*", count=500))
    if stale:
        client.delete(*stale)


@pytest.fixture
def twilio(
    app_env: dict[str, str], request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeTwilioVoice]:
    """The fake Twilio as the app's telephony provider; the bridge's public URL is PUBLIC_BASE; no RQ leftovers."""
    fake: FakeTwilioVoice = request.getfixturevalue("fake_twilio_voice")
    for name, value in {
        "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_AUTH_TOKEN": fake.auth_token,
        "TWILIO_FROM_NUMBER": fake.from_number,
        "TWILIO_API_BASE": fake.url,
        "VOICE_BRIDGE_PUBLIC_URL": PUBLIC_BASE,
        "APP_URL": "https://leads.example.test",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    client = redis.Redis.from_url(app_env["REDIS_URL"])
    _delete_rq_keys(client)
    try:
        yield fake
    finally:
        _delete_rq_keys(client)
        client.close()


@pytest.fixture
def bridge_url(twilio: FakeTwilioVoice) -> Iterator[str]:
    """The real voice bridge app served by uvicorn on a free loopback port (a thread of this process)."""
    from voice_bridge.app import app

    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", ws=WS_PROTOCOL)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the bridge did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture
def simulator(twilio: FakeTwilioVoice, bridge_url: str) -> Iterator[CallSimulator]:
    sim = CallSimulator(twilio, bridge_url, PUBLIC_BASE)
    try:
        yield sim
    finally:
        sim.close()


@dataclass
class World:
    consumer: User
    owner: User
    other_owner: User
    admin: User
    business: Business
    other_business: Business
    lead: Lead
    match: Match


def make_lead(s: Session, consumer: User | None, *, phone: str = PHONE, consent: bool = True, **fields: Any) -> Lead:
    values: dict[str, Any] = {
        "consumer_id": consumer.id if consumer else None,
        "raw_text": f"My water heater is leaking all over the garage floor, need someone today #{next(_serial)}",
        "zip": ZIP,
        "category": "plumbing",
        "urgency": "high",
        "contact_name": "Casey Consumer",
        "contact_email": "casey@example.com",
        "contact_phone_enc": crypto.encrypt_phone(phone) if phone else "",
        "contact_phone_hash": crypto.phone_hash(phone) if phone else "",
        "contact_phone_last4": phone[-4:],
        "consent_ai_calls": consent,
        "consent_at": utcnow() if consent else None,
        "phone_verified_at": utcnow() if consent else None,
        "status": LeadStatus.ACCEPTED.value,
    }
    lead = Lead(**{**values, **fields})
    s.add(lead)
    s.flush()
    return lead


def accept(s: Session, lead: Lead, business: Business) -> Match:
    match = Match(lead_id=lead.id, business_id=business.id, score=80.0, status=MatchStatus.ACCEPTED.value)
    s.add(match)
    s.flush()
    return match


@pytest.fixture
def world(db_session: Session, twilio: FakeTwilioVoice) -> World:
    s = db_session
    consumer = accounts.register(s, "casey@example.com", PASSWORD, "consumer")
    owner = accounts.register(s, "plumber@example.com", PASSWORD, "business_owner")
    other_owner = accounts.register(s, "drains@example.com", PASSWORD, "business_owner")
    admin = accounts.ensure_admin(s, "admin@example.com", PASSWORD)
    business = Business(verified_at=utcnow(), owner_id=owner.id, name="Carmel Plumbing", zip=ZIP, plan="pro")
    other_business = Business(
        verified_at=utcnow(), owner_id=other_owner.id, name="Quick Drains", zip="46033", plan="pro"
    )
    s.add_all([business, other_business])
    s.flush()
    lead = make_lead(s, consumer)
    match = accept(s, lead, business)
    s.commit()
    return World(consumer, owner, other_owner, admin, business, other_business, lead, match)


def fresh(s: Session, call_id: int) -> Call:
    s.expire_all()
    call = s.get(Call, call_id)
    assert call is not None
    return call


def all_calls(s: Session) -> list[Call]:
    s.expire_all()
    return list(s.exec(select(Call).order_by(Call.id)).all())


def requested_and_dialled(s: Session, w: World, simulator: CallSimulator) -> tuple[Call, Any]:
    """A call asked for in the day, placed by its job: (the call row, the simulated Twilio call)."""
    call = calls.request_call(s, w.owner, w.match.id, "Qualify the water heater job", now=DAYTIME)
    s.commit()
    assert calls.place_call(call.id, now=DAYTIME) == "dialled"
    return fresh(s, call.id), simulator.call()


def assert_204(responses: list[httpx.Response]) -> None:
    assert [r.status_code for r in responses] == [204] * len(responses), [r.text for r in responses]


def scheduled_jobs() -> dict[str, datetime]:
    registry = ScheduledJobRegistry(queue=queue(CALLS))
    return {job_id: registry.get_scheduled_time(job_id) for job_id in registry.get_job_ids()}


# --- calling hours (no database) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zip_code", "now", "expected"),
    [
        # Indiana in winter (EST, UTC-5): 8:59 is closed until 9:00, 9:00 opens, 21:00 closes until 9:00 next day.
        ("46032", datetime(2026, 1, 15, 13, 59, tzinfo=UTC), (False, datetime(2026, 1, 15, 14, 0, tzinfo=UTC))),
        ("46032", datetime(2026, 1, 15, 14, 0, tzinfo=UTC), (True, datetime(2026, 1, 15, 14, 0, tzinfo=UTC))),
        ("46032", datetime(2026, 1, 16, 1, 59, tzinfo=UTC), (True, datetime(2026, 1, 16, 1, 59, tzinfo=UTC))),
        ("46032", datetime(2026, 1, 16, 2, 0, tzinfo=UTC), (False, datetime(2026, 1, 16, 14, 0, tzinfo=UTC))),
        # Summer (EDT, UTC-4): the same 9:00 local is an hour earlier in UTC.
        ("46032", datetime(2026, 7, 15, 3, 0, tzinfo=UTC), (False, datetime(2026, 7, 15, 13, 0, tzinfo=UTC))),
        # Honolulu (no DST, UTC-10) and Phoenix (no DST, UTC-7) at the same instant.
        ("96813", datetime(2026, 7, 15, 18, 0, tzinfo=UTC), (False, datetime(2026, 7, 15, 19, 0, tzinfo=UTC))),
        ("85004", datetime(2026, 7, 15, 18, 0, tzinfo=UTC), (True, datetime(2026, 7, 15, 18, 0, tzinfo=UTC))),
        # The day daylight saving starts (8 March 2026): 9:00 EDT is 13:00 UTC.
        ("46032", datetime(2026, 3, 8, 6, 0, tzinfo=UTC), (False, datetime(2026, 3, 8, 13, 0, tzinfo=UTC))),
        # Unknown ZIP: open only when it is 9:00–21:00 in both New York and Los Angeles.
        ("00000", datetime(2026, 1, 15, 15, 0, tzinfo=UTC), (False, datetime(2026, 1, 15, 17, 0, tzinfo=UTC))),
        ("00000", datetime(2026, 1, 16, 1, 30, tzinfo=UTC), (True, datetime(2026, 1, 16, 1, 30, tzinfo=UTC))),
    ],
)
def test_calling_window_is_9_to_21_in_the_zip_time_zone(zip_code: str, now: datetime, expected: tuple) -> None:
    assert calls.calling_window(zip_code, now) == expected


# --- placing the call -----------------------------------------------------------------------------


def test_a_call_in_calling_hours_is_enqueued_and_dialled_with_our_twiml_then_callbacks_make_it_goal_achieved(
    db_session: Session, world: World, twilio: FakeTwilioVoice, simulator: CallSimulator
) -> None:
    s = db_session
    call = calls.request_call(s, world.owner, world.match.id, "Qualify the water heater job", now=DAYTIME)
    s.commit()
    assert call.status == CallStatus.REQUESTED.value and call.scheduled_for is None
    job = queue(CALLS).fetch_job(f"call-{call.id}")
    assert job is not None and job.func_name == "worker.jobs.place_call" and job.args == (call.id,)
    assert job.get_status() == "queued"

    assert calls.place_call(call.id, now=DAYTIME) == "dialled"

    (created,) = twilio.creates
    assert created["To"] == PHONE and created["From"] == twilio.from_number
    assert "Url" not in created  # with a Url, Twilio would ignore our TwiML
    stream = parse_stream(created["Twiml"])
    assert stream.url == "wss://voice.leads.example.test/media" and "?" not in stream.url
    assert stream.parameters.keys() == {"call_id", "token"} and stream.parameters["call_id"] == str(call.id)
    assert crypto.media_stream_token_problem(call.id, stream.parameters["token"]) == ""  # the stream may start
    assert created["StatusCallback"] == f"{PUBLIC_BASE}/twilio/calls/{call.id}/status"
    assert created["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert created["StatusCallbackMethod"] == "POST"
    assert created["MachineDetection"] == "DetectMessageEnd" and created["AsyncAmd"] == "true"
    assert created["AsyncAmdStatusCallback"] == f"{PUBLIC_BASE}/twilio/calls/{call.id}/amd"
    assert created["Record"] == "true"
    assert created["RecordingStatusCallback"] == f"{PUBLIC_BASE}/twilio/calls/{call.id}/recording"
    assert created["RecordingStatusCallbackEvent"] == "completed"
    sim = simulator.call()
    dialled = fresh(s, call.id)
    assert (dialled.status, dialled.provider, dialled.provider_call_sid) == ("dialing", "twilio", sim.sid)
    assert dialled.from_number == twilio.from_number and dialled.started_at is not None

    assert_204(sim.answer("human"))
    live = fresh(s, call.id)
    assert (live.status, live.answered_by, live.outcome) == ("in_progress", "human", None)
    assert live.answered_at is not None

    assert_204([sim.completed(95)])
    done = fresh(s, call.id)
    assert (done.status, done.outcome, done.duration_seconds) == ("completed", "goal_achieved", 95)
    assert done.recording_ref == ""  # the recording arrives by its own callback (below), not with the status
    assert done.cost_carrier_cents == pytest.approx(2 * calls.CARRIER_CENTS_PER_MINUTE)  # 95 s = 2 started minutes
    assert done.cost_total_cents == pytest.approx(done.cost_carrier_cents)
    assert done.ended_at is not None
    assert [c.id for c in all_calls(s)] == [call.id]  # no retry for a call that reached the consumer

    (note,) = s.exec(
        select(Notification).where(Notification.kind == "call_summary", Notification.business_id.is_not(None))
    ).all()
    assert (note.channel, note.recipient, note.business_id) == ("email", "plumber@example.com", world.business.id)
    assert "Qualified" in note.subject and "Outcome: Qualified" in note.body_text
    assert queue(NOTIFICATIONS).fetch_job(f"notify-{note.id}") is not None
    # The consumer, who spoke with the assistant, hears back too (never with the business's contact).
    consumer_notes = s.exec(
        select(Notification).where(Notification.kind == "call_summary", Notification.business_id.is_(None))
    ).all()
    assert consumer_notes and all("Qualified" in n.subject or n.channel == "sms" for n in consumer_notes)

    # Twilio repeating the final callback changes nothing and notifies nobody twice.
    before = len(s.exec(select(Notification).where(Notification.kind == "call_summary")).all())
    assert_204([sim.completed(95)])
    assert len(s.exec(select(Notification).where(Notification.kind == "call_summary")).all()) == before
    actions = [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.id)).all()]
    assert actions.count("call.end") == 1 and "call.request" in actions


def test_an_outcome_set_by_the_conversation_is_kept_and_the_summary_it_wrote_is_sent(
    db_session: Session, world: World, simulator: CallSimulator
) -> None:
    s = db_session
    call, sim = requested_and_dialled(s, world, simulator)
    assert_204(sim.answer("human"))
    # What the bridge does when the model calls end_call("declined") and writes the summary.
    row = fresh(s, call.id)
    row.outcome, row.summary = CallOutcome.DECLINED.value, "The consumer already found a plumber."
    s.add(row)
    s.commit()

    assert_204([sim.completed(40)])
    done = fresh(s, call.id)
    assert (done.status, done.outcome) == ("completed", "declined")
    (note,) = s.exec(
        select(Notification).where(Notification.kind == "call_summary", Notification.business_id.is_not(None))
    ).all()
    assert "already found a plumber" in note.body_text and "Declined" in note.subject
    assert len(all_calls(s)) == 1  # declined is not retried


def test_a_call_whose_assistant_was_cut_off_is_retried_once_and_the_owner_reads_why(
    db_session: Session, world: World, simulator: CallSimulator
) -> None:
    s = db_session
    call, sim = requested_and_dialled(s, world, simulator)
    assert_204(sim.answer("human"))
    # What the bridge records when the OpenAI socket drops mid-call (the caller heard an apology).
    row = fresh(s, call.id)
    row.outcome, row.error = CallOutcome.AI_FAILURE.value, "realtime closed: 1011 internal error"
    s.add(row)
    s.commit()

    assert_204([sim.completed(35)])
    done = fresh(s, call.id)
    assert (done.status, done.outcome) == ("completed", "ai_failure")
    first, retry = all_calls(s)
    assert (retry.retry_of_id, retry.attempt, retry.status) == (first.id, 2, "scheduled")
    (note,) = s.exec(
        select(Notification).where(Notification.kind == "call_summary", Notification.business_id.is_not(None))
    ).all()
    assert "Assistant cut off" in note.subject


def test_without_a_summary_the_notification_carries_one_from_the_qualification(
    db_session: Session, world: World, simulator: CallSimulator
) -> None:
    s = db_session
    call, sim = requested_and_dialled(s, world, simulator)
    assert_204(sim.answer("human"))
    row = fresh(s, call.id)
    row.qualification = {"need": "replace 40 gal water heater", "budget": "$1,200", "timing": "this week"}
    s.add(row)
    s.commit()
    assert_204([sim.completed(200)])
    (note,) = s.exec(
        select(Notification).where(Notification.kind == "call_summary", Notification.business_id.is_not(None))
    ).all()
    assert "Outcome: Qualified" in note.body_text
    assert "Need: replace 40 gal water heater; Budget: $1,200; Timing: this week." in note.body_text


@pytest.mark.parametrize("final", ["no-answer", "busy"])
def test_no_answer_and_busy_end_as_no_answer_and_are_retried_once_two_hours_later_in_calling_hours(
    db_session: Session, world: World, twilio: FakeTwilioVoice, simulator: CallSimulator, final: str
) -> None:
    s = db_session
    call, sim = requested_and_dialled(s, world, simulator)
    assert_204(sim.unanswered(final))

    done = fresh(s, call.id)
    assert (done.status, done.outcome, done.error) == ("completed", "no_answer", f"twilio: {final}")
    first, retry = all_calls(s)
    assert (retry.attempt, retry.retry_of_id, retry.status) == (2, call.id, "scheduled")
    assert retry.scheduled_for >= done.ended_at + timedelta(hours=2)
    assert calls.calling_window(ZIP, retry.scheduled_for)[0]
    assert retry.to_number_hash == first.to_number_hash and retry.consent_at == first.consent_at
    assert scheduled_jobs()[f"call-{retry.id}"] == retry.scheduled_for.replace(microsecond=0)
    (note,) = s.exec(
        select(Notification).where(Notification.kind == "call_summary", Notification.business_id.is_not(None))
    ).all()
    assert "No answer" in note.subject
    assert "We will try once more " in note.body_text and "(your time)" in note.body_text
    assert_204([sim.status(final)])  # a repeated callback makes no second retry
    assert len(all_calls(s)) == 2

    # The retry is the last try: when it is not answered either, nothing more is scheduled.
    assert calls.place_call(retry.id, now=retry.scheduled_for) == "dialled"
    assert len(twilio.creates) == 2
    assert_204(simulator.call().unanswered(final))
    assert fresh(s, retry.id).outcome == "no_answer"
    assert len(all_calls(s)) == 2
    # The plan's quota counted the call once, not its retry.
    assert calls.calls_this_month(s, world.business.id) == 1


def test_a_machine_gets_a_short_voicemail_message_and_the_call_ends_as_voicemail(
    db_session: Session, world: World, twilio: FakeTwilioVoice, simulator: CallSimulator
) -> None:
    s = db_session
    call, sim = requested_and_dialled(s, world, simulator)
    assert_204(sim.answer("machine_end_beep"))

    twilio.wait_for(lambda: sim.fake_call.updates)
    (update,) = sim.fake_call.updates
    assert update["Twiml"].startswith('<?xml version="1.0" encoding="UTF-8"?><Response><Say>')
    assert update["Twiml"].endswith("</Say><Hangup /></Response>")
    assert "AI assistant calling on behalf of Carmel Plumbing" in update["Twiml"]
    assert PHONE not in update["Twiml"] and "Casey" not in update["Twiml"]  # anyone may hear a voicemail
    assert sim.fake_call.stream_ended.is_set()
    row = fresh(s, call.id)
    assert (row.answered_by, row.outcome) == ("machine_end_beep", "voicemail")

    assert_204([sim.amd("machine_end_beep")])  # a repeated verdict plays nothing twice
    assert len(sim.fake_call.updates) == 1
    assert_204([sim.completed(31)])
    done = fresh(s, call.id)
    assert (done.status, done.outcome) == ("completed", "voicemail")
    assert len(all_calls(s)) == 1  # voicemail is not retried


def test_a_failed_call_is_an_error_and_is_retried(db_session: Session, world: World, simulator: CallSimulator) -> None:
    s = db_session
    call, sim = requested_and_dialled(s, world, simulator)
    assert_204([sim.status("initiated"), sim.status("failed")])
    done = fresh(s, call.id)
    assert (done.status, done.outcome) == ("failed", "error")
    _, retry = all_calls(s)
    assert (retry.attempt, retry.retry_of_id, retry.status) == (2, call.id, "scheduled")


def test_twilio_refusing_the_call_is_an_error_and_is_retried(
    db_session: Session, world: World, twilio: FakeTwilioVoice
) -> None:
    s = db_session
    call = calls.request_call(s, world.owner, world.match.id, now=DAYTIME)
    s.commit()
    twilio.fail_next(1, status=500)
    assert calls.place_call(call.id, now=DAYTIME) == "failed"
    done = fresh(s, call.id)
    assert (done.status, done.outcome, done.provider_call_sid) == ("failed", "error", None)
    assert "HTTP 500" in done.error
    assert [c.attempt for c in all_calls(s)] == [1, 2]


def test_callbacks_without_a_valid_signature_are_refused_and_change_nothing(
    db_session: Session, world: World, twilio: FakeTwilioVoice, simulator: CallSimulator, bridge_url: str
) -> None:
    s = db_session
    call, sim = requested_and_dialled(s, world, simulator)
    status_url = f"{PUBLIC_BASE}/twilio/calls/{call.id}/status"
    amd_url = f"{PUBLIC_BASE}/twilio/calls/{call.id}/amd"
    fields = {"CallSid": sim.sid, "AccountSid": twilio.account_sid, "CallStatus": "completed", "CallDuration": "60"}
    machine = {"CallSid": sim.sid, "AccountSid": twilio.account_sid, "AnsweredBy": "machine_start"}
    local_url = f"{bridge_url}/twilio/calls/{call.id}/status"
    attempts = [
        simulator.post(status_url, fields, signature=""),  # none
        simulator.post(status_url, fields, signature="bm90IGEgc2lnbmF0dXJl"),  # wrong
        simulator.post(status_url, fields, signature=simulator.signature(local_url, fields)),  # not the public URL
        simulator.post(
            status_url, {**fields, "CallStatus": "failed"}, signature=simulator.signature(status_url, fields)
        ),
        simulator.post(amd_url, machine, signature=simulator.signature(status_url, machine)),  # another hook's URL
        httpx.post(local_url, data=fields),  # no header at all
    ]
    assert [r.status_code for r in attempts] == [403] * len(attempts)
    assert all(r.json() == {"error": "invalid signature"} for r in attempts)

    row = fresh(s, call.id)
    assert (row.status, row.outcome, row.answered_by, row.duration_seconds) == ("dialing", None, None, None)
    assert sim.fake_call.updates == [] and len(all_calls(s)) == 1
    assert s.exec(select(Notification)).all() == []


def test_a_callback_for_an_unknown_call_is_404_and_one_for_another_call_sid_is_ignored(
    db_session: Session, world: World, simulator: CallSimulator
) -> None:
    s = db_session
    call, sim = requested_and_dialled(s, world, simulator)
    fields = {"CallSid": sim.sid, "CallStatus": "completed"}
    assert simulator.post(f"{PUBLIC_BASE}/twilio/calls/999999/status", fields).status_code == 404
    other = {"CallSid": "CA" + "f" * 32, "CallStatus": "completed", "CallDuration": "60"}
    assert simulator.post(f"{PUBLIC_BASE}/twilio/calls/{call.id}/status", other).status_code == 204
    assert fresh(s, call.id).status == "dialing"


def test_a_status_callback_before_the_sid_is_stored_records_it(db_session: Session, world: World) -> None:
    s = db_session
    call = calls.request_call(s, world.owner, world.match.id, now=DAYTIME)
    s.commit()
    call.status = CallStatus.DIALING.value  # claimed; the create has not returned yet
    s.add(call)
    s.commit()
    assert calls.record_provider_status(call.id, "initiated", call_sid="CA" + "1" * 32) == "stale"
    assert calls.record_provider_status(call.id, "ringing", call_sid="CA" + "1" * 32) == "ringing"
    assert fresh(s, call.id).provider_call_sid == "CA" + "1" * 32
    assert calls.record_provider_status(call.id, "initiated", call_sid="CA" + "1" * 32) == "stale"  # never back
    assert fresh(s, call.id).status == "ringing"


def test_callbacks_out_of_order_and_late_never_move_a_call_back(
    db_session: Session, world: World, simulator: CallSimulator
) -> None:
    """Twilio does not promise order: the final callback may overtake the progress ones, which then arrive late."""
    s = db_session
    call, sim = requested_and_dialled(s, world, simulator)
    assert_204([sim.status("initiated")])
    sim.fake_call.status = "in-progress"
    assert_204([sim.amd("human")])  # the asynchronous AMD verdict overtakes the progress callbacks
    assert_204([sim.completed(70)])  # the call ended before its ringing/in-progress callbacks were delivered
    ended = fresh(s, call.id)
    assert (ended.status, ended.duration_seconds) == ("completed", 70) and ended.ended_at is not None

    assert_204([sim.status("ringing"), sim.status("in-progress"), sim.amd("human")])  # late, and once more
    after = fresh(s, call.id)
    assert (after.status, after.duration_seconds, after.ended_at) == ("completed", 70, ended.ended_at)
    assert len(all_calls(s)) == 1  # an answered call is not retried, whatever arrived late
    notes = s.exec(select(Notification).where(Notification.kind == "call_summary")).all()
    assert len([n for n in notes if n.business_id is not None]) == 1
    actions = [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.id)).all()]
    assert actions.count("call.end") == 1


def test_the_final_callback_delivered_twice_at_once_ends_the_call_once(
    db_session: Session, world: World, simulator: CallSimulator
) -> None:
    """Two deliveries of the same final callback racing on two threads (two web workers): one ends the call."""
    s = db_session
    call, sim = requested_and_dialled(s, world, simulator)
    assert_204(sim.answer("human"))
    barrier = threading.Barrier(2)

    def deliver() -> str:
        barrier.wait()
        return calls.record_provider_status(call.id, "completed", call_sid=sim.sid, duration_seconds=42)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = sorted(pool.map(lambda _: deliver(), range(2)))
    assert results == ["already_ended", "completed"]
    assert fresh(s, call.id).status == "completed"
    notes = s.exec(select(Notification).where(Notification.kind == "call_summary")).all()
    assert len([n for n in notes if n.business_id is not None]) == 1
    actions = [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.id)).all()]
    assert actions.count("call.end") == 1


# --- the rules ------------------------------------------------------------------------------------


def test_a_call_asked_for_outside_calling_hours_is_scheduled_for_9_am_local_next_window(
    db_session: Session, world: World, twilio: FakeTwilioVoice
) -> None:
    s = db_session
    night = (datetime.now(UTC) + timedelta(days=1)).replace(hour=3, minute=30, second=0, microsecond=0)
    nine_am = datetime(night.year, night.month, night.day, 9, 0, tzinfo=INDIANA)  # 22:30/23:30 the evening before
    call = calls.request_call(s, world.owner, world.match.id, now=night)
    s.commit()

    row = fresh(s, call.id)
    assert row.status == "scheduled" and row.scheduled_for == nine_am.astimezone(UTC)
    assert row.scheduled_for.astimezone(INDIANA).hour == 9
    assert scheduled_jobs() == {f"call-{call.id}": nine_am.astimezone(UTC)}
    assert queue(CALLS).fetch_job(f"call-{call.id}").args == (call.id,)

    # Run early (e.g. by hand), the job dials nothing and waits for the window.
    assert calls.place_call(call.id, now=night) == "rescheduled"
    assert twilio.creates == [] and fresh(s, call.id).status == "scheduled"
    # At 9:00 local it dials.
    assert calls.place_call(call.id, now=nine_am) == "dialled"
    assert len(twilio.creates) == 1


def test_a_call_for_a_later_time_waits_for_it(db_session: Session, world: World, twilio: FakeTwilioVoice) -> None:
    s = db_session
    later = DAYTIME + timedelta(hours=2)
    call = calls.request_call(s, world.owner, world.match.id, when=later, now=DAYTIME)
    s.commit()
    assert (call.status, call.scheduled_for) == ("scheduled", later)
    assert calls.place_call(call.id, now=DAYTIME) == "rescheduled"
    assert twilio.creates == []
    assert calls.place_call(call.id, now=later) == "dialled"


def test_requests_are_refused_with_the_reason(db_session: Session, world: World) -> None:
    s = db_session
    no_consent = make_lead(s, world.consumer, consent=False)
    no_phone = make_lead(s, world.consumer, phone="")
    listed = make_lead(s, world.consumer, phone="+13175550142")
    s.add(DoNotCall(phone_hash=crypto.phone_hash("+13175550142")))
    cases = [
        (accept(s, lead, world.business), reason)
        for lead, reason in [
            (no_consent, "did not consent to AI calls"),
            (no_phone, "gave no phone number"),
            (listed, "do-not-call list"),
        ]
    ]
    s.commit()
    for match, reason in cases:
        with pytest.raises(UserError, match=reason):
            calls.request_call(s, world.owner, match.id, now=DAYTIME)
        s.rollback()

    # Three calls to the number in 24 hours (whoever asked) is the most.
    for _ in range(3):
        s.add(
            Call(
                lead_id=world.lead.id,
                business_id=world.other_business.id,
                to_number_hash=world.lead.contact_phone_hash,
                status=CallStatus.COMPLETED.value,
                started_at=utcnow() - timedelta(hours=3),
            )
        )
    s.commit()
    with pytest.raises(UserError, match="Three calls were already made to this number today"):
        calls.request_call(s, world.owner, world.match.id, now=DAYTIME)
    s.rollback()
    with pytest.raises(UserError, match="Three calls were already made"):
        portal.request_callback(s, world.consumer, world.lead.id, now=DAYTIME)
    s.rollback()
    assert len(all_calls(s)) == 3


def test_the_plan_quota_is_enforced(db_session: Session, world: World) -> None:
    s = db_session
    world.business.plan = "free"
    s.add(world.business)
    s.commit()
    with pytest.raises(UserError, match="Your plan has no AI calls"):
        calls.request_call(s, world.owner, world.match.id, now=DAYTIME)
    s.rollback()

    world.business.plan = "starter"
    s.add(world.business)
    for _ in range(20):
        s.add(Call(business_id=world.business.id, status=CallStatus.COMPLETED.value, to_number_hash="x"))
    s.commit()
    with pytest.raises(UserError, match="This month's 20 AI calls are used"):
        calls.request_call(s, world.owner, world.match.id, now=DAYTIME)
    s.rollback()
    assert len(all_calls(s)) == 20


def test_rules_are_checked_again_when_the_job_runs(db_session: Session, world: World, twilio: FakeTwilioVoice) -> None:
    s = db_session
    call = calls.request_call(s, world.owner, world.match.id, now=DAYTIME)
    s.commit()
    s.add(DoNotCall(phone_hash=world.lead.contact_phone_hash, reason="asked us to stop"))
    s.commit()

    assert calls.place_call(call.id, now=DAYTIME) == "refused"
    row = fresh(s, call.id)
    assert (row.status, row.error) == ("canceled", "This number is on the do-not-call list.")
    assert twilio.creates == []
    assert calls.place_call(call.id, now=DAYTIME) == "skipped:canceled"


def test_place_call_run_twice_or_at_once_dials_once(db_session: Session, world: World, twilio: FakeTwilioVoice) -> None:
    s = db_session
    call = calls.request_call(s, world.owner, world.match.id, now=DAYTIME)
    s.commit()
    assert calls.place_call(call.id, now=DAYTIME) == "dialled"
    assert calls.place_call(call.id, now=DAYTIME) == "already_dialled"
    assert len(twilio.creates) == 1

    # Four runs of another call's job at the same moment: one claims and dials, the others do nothing.
    other_lead = make_lead(s, world.consumer, phone="+13178462201")
    other = calls.request_call(s, world.owner, accept(s, other_lead, world.business).id, now=DAYTIME)
    s.commit()
    results: list[str] = []
    barrier = threading.Barrier(4)

    def run() -> None:
        barrier.wait()
        results.append(calls.place_call(other.id, now=DAYTIME))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results).count("dialled") == 1, results
    assert len(twilio.creates) == 2
    assert fresh(s, other.id).provider_call_sid == list(twilio.calls)[1]


def test_a_scheduled_call_can_be_cancelled_by_its_business_and_then_dials_nothing(
    db_session: Session, world: World, twilio: FakeTwilioVoice
) -> None:
    s = db_session
    night = (datetime.now(UTC) + timedelta(days=1)).replace(hour=3, minute=30, second=0, microsecond=0)
    call = calls.request_call(s, world.owner, world.match.id, now=night)
    s.commit()
    assert fresh(s, call.id).status == "scheduled"

    for stranger in (world.other_owner, world.consumer):  # the consumer did not ask for this one
        with pytest.raises(NotAllowed):
            calls.cancel_call(s, stranger, call.id)
        s.rollback()
    calls.cancel_call(s, world.owner, call.id)
    s.commit()

    assert fresh(s, call.id).status == "canceled"
    assert f"call-{call.id}" not in scheduled_jobs()
    assert calls.place_call(call.id, now=nine_am_after(night)) == "skipped:canceled"
    assert twilio.creates == []
    with pytest.raises(UserError, match="can no longer be canceled"):
        calls.cancel_call(s, world.owner, call.id)
    s.rollback()
    assert calls.calls_this_month(s, world.business.id) == 0  # a cancelled call uses no quota


def nine_am_after(moment: datetime) -> datetime:
    return calls.calling_window(ZIP, moment)[1]


def test_a_consumer_callback_follows_the_same_rules_and_the_consumer_may_cancel_it(
    db_session: Session, world: World, twilio: FakeTwilioVoice
) -> None:
    s = db_session
    night = (datetime.now(UTC) + timedelta(days=1)).replace(hour=3, minute=30, second=0, microsecond=0)
    call = portal.request_callback(s, world.consumer, world.lead.id, now=night)
    s.commit()
    row = fresh(s, call.id)
    assert (row.call_type, row.status, row.business_id) == ("consumer_callback", "scheduled", world.business.id)
    assert row.scheduled_for == nine_am_after(night)
    assert f"call-{call.id}" in scheduled_jobs()
    assert calls.calls_this_month(s, world.business.id) == 0  # the business did not ask for it

    calls.cancel_call(s, world.consumer, call.id)
    s.commit()
    assert fresh(s, call.id).status == "canceled"

    daytime_callback = portal.request_callback(s, world.consumer, world.lead.id, now=DAYTIME)
    s.commit()
    assert daytime_callback.status == "requested"
    assert calls.place_call(daytime_callback.id, now=DAYTIME) == "dialled"
    assert parse_stream(twilio.creates[0]["Twiml"]).parameters["call_id"] == str(daytime_callback.id)


def test_a_callback_that_ends_notifies_the_consumer_too(
    db_session: Session, world: World, simulator: CallSimulator
) -> None:
    s = db_session
    callback = portal.request_callback(s, world.consumer, world.lead.id, now=DAYTIME)
    s.commit()
    assert calls.place_call(callback.id, now=DAYTIME) == "dialled"
    sim = simulator.call()
    assert_204(sim.answer("human"))
    assert_204([sim.completed(61)])
    notes = s.exec(select(Notification).where(Notification.kind == "call_summary")).all()
    assert {(n.recipient, n.user_id) for n in notes} == {
        ("plumber@example.com", world.owner.id),
        ("casey@example.com", world.consumer.id),
    }


# --- recordings -----------------------------------------------------------------------------------

MEDIA = bytes(range(256)) * 40  # 10 240 bytes of "audio", every offset recognisable


def recorded_call(s: Session, world: World, simulator: CallSimulator) -> tuple[Call, str]:
    """A call that was answered and ended, and whose recording Twilio then announced (signed callback)."""
    call, sim = requested_and_dialled(s, world, simulator)
    assert_204(sim.answer("human"))
    assert_204([sim.completed(120)])
    sid, response = sim.recorded(MEDIA, duration=118)
    assert_204([response])
    return fresh(s, call.id), sid


@pytest.fixture
def web() -> Iterator[TestClient]:
    """The web app's API (the routes Reflex mounts), in-process."""
    from leadapp.api.app import api

    with TestClient(api) as client:
        yield client


def path_of(link: str) -> str:
    assert link.startswith("https://leads.example.test/api/v1/recordings/"), link  # on the app, not Twilio's
    return link.removeprefix("https://leads.example.test")


def test_the_recording_arrives_by_its_signed_callback(
    db_session: Session, world: World, simulator: CallSimulator, twilio: FakeTwilioVoice
) -> None:
    s = db_session
    call, sid = recorded_call(s, world, simulator)
    assert (call.recording_ref, call.recording_seconds) == (sid, 118)

    hook = f"{PUBLIC_BASE}/twilio/calls/{call.id}/recording"
    other = {"CallSid": "CA" + "9" * 32, "RecordingSid": "RE" + "1" * 32, "RecordingStatus": "completed"}
    assert simulator.post(hook, other, signature="forged").status_code == 403  # unsigned: nothing changes
    assert simulator.post(hook, other).status_code == 204  # signed, but for another call's SID: ignored
    assert fresh(s, call.id).recording_ref == sid
    missing = f"{PUBLIC_BASE}/twilio/calls/999999/recording"
    assert simulator.post(missing, {**other, "CallSid": call.provider_call_sid or ""}).status_code == 404


def test_recordings_stream_through_the_app_with_range_to_the_owner_the_consumer_and_admins(
    db_session: Session, world: World, simulator: CallSimulator, twilio: FakeTwilioVoice, web: TestClient
) -> None:
    s = db_session
    call, sid = recorded_call(s, world, simulator)

    for viewer in (world.owner, world.consumer, world.admin):
        whole = web.get(path_of(calls.recording_link(s, viewer, call.id)))
        assert whole.status_code == 200 and whole.content == MEDIA
        assert whole.headers["content-type"] == "audio/mpeg" and whole.headers["accept-ranges"] == "bytes"
        assert "location" not in whole.headers and "private" in whole.headers["cache-control"]
    link = path_of(calls.recording_link(s, world.owner, call.id))
    part = web.get(link, headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.content == MEDIA[1000:2000]
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(MEDIA)}"
    tail = web.get(link, headers={"Range": "bytes=-100"})
    assert tail.status_code == 206 and tail.content == MEDIA[-100:]
    assert web.get(link, headers={"Range": f"bytes={len(MEDIA)}-"}).status_code == 416
    # Fetched from Twilio by the server, with the account's credentials, the browser's range passed on.
    fetched = [r for r in twilio.requests if r["path"].endswith(f"/Recordings/{sid}.mp3")]
    assert fetched and {r["range"] for r in fetched} >= {"bytes=1000-1999", "bytes=-100"}
    # A provider that ignores Range and sends everything: the app cuts the range out itself.
    twilio.ignore_range = True
    cut = web.get(link, headers={"Range": "bytes=5000-5099"})
    assert cut.status_code == 206 and cut.content == MEDIA[5000:5100]
    assert cut.headers["content-range"] == f"bytes 5000-5099/{len(MEDIA)}" and cut.headers["content-length"] == "100"

    with pytest.raises(NotAllowed):
        calls.recording_link(s, world.other_owner, call.id)
    token = link.rsplit("/", 1)[1]
    later = utcnow() + timedelta(seconds=2 * 118 + calls.RECORDING_LINK_TTL_SECONDS + 5)
    assert calls.open_recording(token, now=later).status == 410  # long enough to play it whole, then no more
    expired = web.get(path_of(calls.recording_link(s, world.owner, call.id, ttl=-5)))
    assert expired.status_code == 410 and "expired" in expired.json()["message"]
    forged = web.get(link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB"))
    assert forged.status_code == 403
    other_purpose = crypto.sign("portal-lead", {"call": call.id, "viewer": world.owner.id, "exp": 2**40}, 600)
    assert web.get(f"/api/v1/recordings/{other_purpose}").status_code == 403
    # Rights are checked on every request of the player: a disabled owner's link stops working mid-way.
    owner = s.get(User, world.owner.id)
    owner.is_active = False
    s.add(owner)
    s.commit()
    assert web.get(link, headers={"Range": "bytes=0-99"}).status_code == 403
    assert all("location" not in r.headers for r in [expired, forged])


def test_purging_a_lead_deletes_its_recording_at_twilio(
    db_session: Session, world: World, simulator: CallSimulator, twilio: FakeTwilioVoice, web: TestClient
) -> None:
    from worker import jobs

    s = db_session
    call, sid = recorded_call(s, world, simulator)
    link = path_of(calls.recording_link(s, world.admin, call.id))
    assert portal.delete_my_data(s, world.consumer) == 1
    s.commit()
    assert portal.purge_deleted(s, now=utcnow() + portal.PURGE_AFTER + timedelta(minutes=1)) == 1
    s.commit()

    # At once: no link opens it any more, and its deletion at Twilio is queued.
    assert web.get(link).status_code == 410
    job = queue(MAINTENANCE).fetch_job(f"delete-recording-{call.id}")
    assert job is not None and job.args == (call.id,)
    assert sid in twilio.recordings
    assert jobs.delete_call_recording(call.id) == "deleted"
    assert twilio.deleted_recordings == [sid] and sid not in twilio.recordings
    purged = fresh(s, call.id)
    assert (purged.recording_ref, purged.to_number_enc, purged.lead_id) == ("", "", None)
    assert jobs.delete_call_recording(call.id) == "nothing"  # safe twice

    # A recording Twilio announces after the purge is deleted on arrival.
    late_sid, response = simulator.call().recorded(b"late audio", duration=3)
    assert_204([response])
    assert queue(MAINTENANCE).fetch_job(f"delete-recording-{call.id}") is not None
    assert jobs.delete_call_recording(call.id) == "deleted" and late_sid in twilio.deleted_recordings

    # A deletion that failed (Twilio down) is caught up by the daily purge job.
    left = add_purged_recording(s, world, twilio.add_recording(b"left behind"))
    twilio.fail_next(10)
    with pytest.raises(RecordingError):
        calls.delete_recording(left.id)
    twilio.fail_next(0)
    assert fresh(s, left.id).recording_ref  # kept until it is really gone
    jobs.purge_deleted_leads()
    assert fresh(s, left.id).recording_ref == "" and len(twilio.deleted_recordings) == 3


def add_purged_recording(s: Session, world: World, recording_sid: str) -> Call:
    call = Call(
        business_id=world.business.id,
        status=CallStatus.COMPLETED.value,
        provider="twilio",
        recording_ref=recording_sid,
        recording_purge_at=utcnow(),
    )
    s.add(call)
    s.commit()
    return call


# --- the sweeper ----------------------------------------------------------------------------------


def test_the_sweeper_enqueues_overdue_calls_and_ends_calls_stranded_mid_dial(
    db_session: Session, world: World, twilio: FakeTwilioVoice
) -> None:
    s = db_session
    past = utcnow() - timedelta(minutes=15)
    overdue = Call(
        lead_id=world.lead.id,
        business_id=world.business.id,
        to_number_enc=world.lead.contact_phone_enc,
        to_number_hash=world.lead.contact_phone_hash,
        status=CallStatus.SCHEDULED.value,
        scheduled_for=past,
    )
    stranded = Call(
        lead_id=world.lead.id,
        business_id=world.business.id,
        to_number_enc=world.lead.contact_phone_enc,
        to_number_hash=world.lead.contact_phone_hash,
        status=CallStatus.DIALING.value,
        started_at=past,
    )
    waiting = Call(
        lead_id=world.lead.id, status=CallStatus.SCHEDULED.value, scheduled_for=utcnow() + timedelta(hours=1)
    )
    s.add_all([overdue, stranded, waiting])
    s.commit()  # written directly: no job was ever enqueued for them (as when Redis was down)

    assert calls.sweep_calls() == 2
    job = queue(CALLS).fetch_job(f"call-{overdue.id}")
    assert job is not None and job.args == (overdue.id,) and job.get_status() == "queued"
    assert queue(CALLS).fetch_job(f"call-{waiting.id}") is None  # not due yet
    ended = fresh(s, stranded.id)
    assert (ended.status, ended.outcome, ended.error) == ("failed", "error", "lost while dialling")
    assert [c.retry_of_id for c in all_calls(s)].count(stranded.id) == 1
    assert calls.sweep_calls() == 1  # the overdue call's job is still waiting: not enqueued twice
    assert len(queue(CALLS).get_job_ids()) == 1
    assert twilio.creates == []


def test_without_twilio_keys_the_call_goes_to_the_simulated_line(
    db_session: Session, world: World, twilio: FakeTwilioVoice, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = db_session
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "")
    get_settings.cache_clear()
    call = calls.request_call(s, world.owner, world.match.id, now=DAYTIME)
    s.commit()
    assert calls.place_call(call.id, now=DAYTIME) == "dialled"
    row = fresh(s, call.id)
    assert (row.status, row.provider) == ("dialing", "simulated") and row.provider_call_sid.startswith("SIM")
    assert twilio.requests == []
    # The simulated line reports progress through the same service the webhooks use.
    assert calls.record_provider_status(call.id, "in-progress", call_sid=row.provider_call_sid) == "in_progress"
    assert calls.record_answered_by(call.id, "machine_start", call_sid=row.provider_call_sid) == "voicemail"
    assert twilio.requests == []  # nothing to play on a simulated line here
    assert calls.record_provider_status(call.id, "completed", call_sid=row.provider_call_sid, duration_seconds=20) == (
        "completed"
    )
    assert fresh(s, call.id).outcome == "voicemail"


def _streaming_call(s: Session, world: World, *, answered_ago: timedelta) -> Call:
    """A call a bridge took the media stream of (`claim_media_stream`), answered `answered_ago`."""
    answered = utcnow() - answered_ago
    call = Call(
        lead_id=world.lead.id,
        business_id=world.business.id,
        to_number_enc=world.lead.contact_phone_enc,
        to_number_hash=world.lead.contact_phone_hash,
        status=CallStatus.IN_PROGRESS.value,
        provider="twilio",
        provider_call_sid="CA" + secrets.token_hex(16),
        media_stream_sid="MZ" + secrets.token_hex(16),
        started_at=answered,
        answered_at=answered,
    )
    s.add(call)
    s.commit()
    return call


def test_a_call_whose_bridge_died_mid_call_ends_failed_within_one_sweep_and_is_retried_once(
    db_session: Session, world: World, twilio: FakeTwilioVoice
) -> None:
    s = db_session
    used_before = calls.calls_this_month(s, world.business.id)
    orphan = _streaming_call(s, world, answered_ago=timedelta(seconds=calls.ALIVE_SECONDS + 5))

    assert calls.sweep_calls() == 1

    ended = fresh(s, orphan.id)
    assert (ended.status, ended.outcome, ended.error) == ("failed", "error", calls.BRIDGE_LOST)
    retries = [c for c in all_calls(s) if c.retry_of_id == orphan.id]
    assert len(retries) == 1 and retries[0].attempt == 2  # the retry policy applies ...
    # ... and the plan's quota is charged for the call once, not again for its retry.
    assert calls.calls_this_month(s, world.business.id) == used_before + 1
    summaries = s.exec(
        select(Notification).where(Notification.kind == "call_summary", Notification.business_id == world.business.id)
    ).all()
    assert summaries  # the owner is told the call failed
    assert calls.sweep_calls() == 0  # ended once: a second sweep finds nothing to do


def test_a_call_its_bridge_says_is_alive_is_left_alone(db_session: Session, world: World) -> None:
    s = db_session
    served = _streaming_call(s, world, answered_ago=timedelta(minutes=10))  # a long call, still served
    calls.mark_alive(served.id)
    fresh_call = _streaming_call(s, world, answered_ago=timedelta(seconds=5))  # not yet marked: just answered

    assert calls.sweep_calls() == 0
    assert fresh(s, served.id).status == "in_progress"
    assert fresh(s, fresh_call.id).status == "in_progress"


def test_with_redis_down_the_sweep_ends_no_call_in_progress(
    db_session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = db_session
    call = _streaming_call(s, world, answered_ago=timedelta(minutes=10))
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{unused_port()}/0")  # nothing listens there
    get_settings.cache_clear()
    broker.redis_for.cache_clear()

    assert calls.sweeper._served([call.id]) is None  # cannot tell who serves what ...
    calls.sweep_calls()  # (enqueueing fails too; the sweep itself does not)
    assert fresh(s, call.id).status == "in_progress"  # ... so nobody's call is cut short


def test_when_the_assistant_is_lost_twilio_speaks_the_apology_then_hangs_up(
    db_session: Session, world: World, twilio: FakeTwilioVoice, simulator: CallSimulator
) -> None:
    from voice_bridge import instructions
    from voice_bridge import session as bridge_session

    s = db_session
    call, sim = requested_and_dialled(s, world, simulator)
    apology = instructions.apology_after_ai_lost(world.business)

    bridge_session.hangup_call(call.provider_call_sid, apology)  # what the bridge does when OpenAI drops

    (update,) = sim.fake_call.updates
    assert update["Twiml"].endswith("</Say><Hangup /></Response>")
    assert "Sorry, we lost the connection" in update["Twiml"] and "Carmel Plumbing" in update["Twiml"]
