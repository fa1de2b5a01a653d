"""Outbound AI calls through the real `twilio` SDK against a fake Twilio on loopback, with Twilio's signed
callbacks delivered to the real voice bridge (uvicorn on a free port), on SQLite and PostgreSQL.

What a call goes through: requested (or scheduled outside 9:00–21:00 in the consumer's ZIP) → `place_call`
creates it with our TwiML (`<Connect><Stream>` to the bridge with the call id as a `<Parameter>`), status
callbacks for all four events, async AMD and recording → callbacks move it on → an outcome, the carrier
cost, one retry for no_answer / error, notifications, and a recording link that is signed and expires.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import Session, select

from leadapp.core import crypto
from leadapp.core.models import AuditEvent, Notification
from leadapp.core.services import calls
from leadapp.core.tasks import CALLS, NOTIFICATIONS, queue
from leadapp.core.vocab import CallOutcome, CallStatus
from tests.fakes.twilio_voice import CallSimulator, FakeTwilioVoice, fake_twilio_voice, parse_stream  # noqa: F401
from tests.integration.calls_world import (
    DAYTIME,
    PHONE,
    PUBLIC_BASE,
    ZIP,
    World,
    all_calls,
    answered,
    assert_204,
    ended_as,
    fresh,
    requested_and_dialled,
    requested_in_the_day,
    scheduled_jobs,
    the_retry,
)


def owner_summary(s: Session) -> Notification:
    """The one call summary sent to the business (not the consumer's)."""
    (note,) = s.exec(
        select(Notification).where(Notification.kind == "call_summary", Notification.business_id.is_not(None))
    ).all()
    return note


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

    note = owner_summary(s)
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
    # What the bridge does when the model calls end_call("declined") and writes the summary.
    call, sim = answered(
        s, world, simulator, outcome=CallOutcome.DECLINED.value, summary="The consumer already found a plumber."
    )

    ended_as(s, call.id, [sim.completed(40)], "completed", "declined")
    note = owner_summary(s)
    assert "already found a plumber" in note.body_text and "Declined" in note.subject
    assert len(all_calls(s)) == 1  # declined is not retried


def test_a_call_whose_assistant_was_cut_off_is_retried_once_and_the_owner_reads_why(
    db_session: Session, world: World, simulator: CallSimulator
) -> None:
    s = db_session
    # What the bridge records when the OpenAI socket drops mid-call (the caller heard an apology).
    call, sim = answered(
        s, world, simulator, outcome=CallOutcome.AI_FAILURE.value, error="realtime closed: 1011 internal error"
    )

    ended_as(s, call.id, [sim.completed(35)], "completed", "ai_failure")
    the_retry(s, call.id)
    note = owner_summary(s)
    assert "Assistant cut off" in note.subject


def test_without_a_summary_the_notification_carries_one_from_the_qualification(
    db_session: Session, world: World, simulator: CallSimulator
) -> None:
    s = db_session
    qualification = {"need": "replace 40 gal water heater", "budget": "$1,200", "timing": "this week"}
    _, sim = answered(s, world, simulator, qualification=qualification)
    assert_204([sim.completed(200)])
    note = owner_summary(s)
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
    note = owner_summary(s)
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
    ended_as(s, call.id, [sim.completed(31)], "completed", "voicemail")
    assert len(all_calls(s)) == 1  # voicemail is not retried


def test_a_machine_answering_for_a_spanish_lead_hears_the_voicemail_in_spanish(
    db_session: Session, world: World, twilio: FakeTwilioVoice, simulator: CallSimulator
) -> None:
    s = db_session
    world.lead.language = "es"
    s.add(world.lead)
    s.commit()
    _call, sim = requested_and_dialled(s, world, simulator)
    assert_204(sim.answer("machine_end_beep"))

    twilio.wait_for(lambda: sim.fake_call.updates)
    (update,) = sim.fake_call.updates
    twiml = update["Twiml"]
    assert '<Say language="es-MX">Hola, le habla un asistente de inteligencia artificial en nombre de Carmel' in twiml
    assert "sobre su solicitud de plomería" in twiml and twiml.endswith("Adiós.</Say><Hangup /></Response>")


def test_a_failed_call_is_an_error_and_is_retried(db_session: Session, world: World, simulator: CallSimulator) -> None:
    s = db_session
    call, sim = requested_and_dialled(s, world, simulator)
    ended_as(s, call.id, [sim.status("initiated"), sim.status("failed")], "failed", "error")
    the_retry(s, call.id)


def test_twilio_refusing_the_call_is_an_error_and_is_retried(
    db_session: Session, world: World, twilio: FakeTwilioVoice
) -> None:
    s = db_session
    call = requested_in_the_day(s, world)
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
    call = requested_in_the_day(s, world)
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
    call, sim = answered(s, world, simulator)
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
