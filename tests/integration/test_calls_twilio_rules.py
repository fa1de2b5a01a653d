"""Outbound AI calls, when they may be placed: the rules a request meets (consent, calling hours in the consumer's
ZIP, a later time, the plan's quota, cancelling), checked again when the job runs, and the sweeper that places
overdue calls and ends the ones stranded mid-dial or whose bridge died. The fake Twilio and the real voice bridge
are `calls_world`'s.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from leadapp.core import broker, crypto
from leadapp.core.errors import NotAllowed, UserError
from leadapp.core.models import Call, DoNotCall, Notification, utcnow
from leadapp.core.services import access, calls, portal
from leadapp.core.settings import get_settings
from leadapp.core.tasks import CALLS, queue
from leadapp.core.vocab import CallStatus
from tests import factories
from tests.fakes.twilio_voice import CallSimulator, FakeTwilioVoice, fake_twilio_voice, parse_stream  # noqa: F401
from tests.integration.calls_world import (
    DAYTIME,
    INDIANA,
    World,
    accept,
    all_calls,
    assert_204,
    fresh,
    make_lead,
    night_tomorrow,
    nine_am_after,
    requested_and_dialled,
    requested_at_night,
    requested_in_the_day,
    scheduled_jobs,
)
from tests.integration.programs import unused_port
from voice_bridge.alive import AliveKeeper

# --- the rules ------------------------------------------------------------------------------------


def test_a_call_asked_for_outside_calling_hours_is_scheduled_for_9_am_local_next_window(
    db_session: Session, world: World, twilio: FakeTwilioVoice
) -> None:
    s = db_session
    call, night = requested_at_night(s, world)
    nine_am = datetime(night.year, night.month, night.day, 9, 0, tzinfo=INDIANA)  # 22:30/23:30 the evening before

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
    call = requested_in_the_day(s, world)
    s.add(DoNotCall(phone_hash=world.lead.contact_phone_hash, reason="asked us to stop"))
    s.commit()

    assert calls.place_call(call.id, now=DAYTIME) == "refused"
    row = fresh(s, call.id)
    assert (row.status, row.error) == ("canceled", "This number is on the do-not-call list.")
    assert twilio.creates == []
    assert calls.place_call(call.id, now=DAYTIME) == "skipped:canceled"


def test_place_call_run_twice_or_at_once_dials_once(db_session: Session, world: World, twilio: FakeTwilioVoice) -> None:
    s = db_session
    call = requested_in_the_day(s, world)
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


def test_a_visitor_probing_call_ids_learns_nothing_of_which_calls_exist(db_session: Session, world: World) -> None:
    """Without a login, an existing call and a made-up id are refused alike (log in first), never "no such call"."""
    s = db_session
    real, _ = requested_at_night(s, world)
    for call_id in (real.id, real.id + 100_000):
        for attempt in (calls.cancel_call, calls.recording_link):
            with pytest.raises(access.NotLoggedIn):
                attempt(s, None, call_id)
            s.rollback()
    assert fresh(s, real.id).status == "scheduled"


def test_a_scheduled_call_can_be_cancelled_by_its_business_and_then_dials_nothing(
    db_session: Session, world: World, twilio: FakeTwilioVoice
) -> None:
    s = db_session
    call, night = requested_at_night(s, world)
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


def test_a_consumer_callback_follows_the_same_rules_and_the_consumer_may_cancel_it(
    db_session: Session, world: World, twilio: FakeTwilioVoice
) -> None:
    s = db_session
    night = night_tomorrow()
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


# --- the sweeper ----------------------------------------------------------------------------------


def test_the_sweeper_enqueues_overdue_calls_and_ends_calls_stranded_mid_dial(
    db_session: Session, world: World, twilio: FakeTwilioVoice
) -> None:
    s = db_session
    past = utcnow() - timedelta(minutes=15)
    overdue = factories.call(s, world.lead, world.business, CallStatus.SCHEDULED.value, scheduled_for=past)
    stranded = factories.call(s, world.lead, world.business, CallStatus.DIALING.value, started_at=past)
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
    call = requested_in_the_day(s, world)
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
    call = factories.call(
        s,
        world.lead,
        world.business,
        CallStatus.IN_PROGRESS.value,
        provider="twilio",
        provider_call_sid="CA" + secrets.token_hex(16),
        media_stream_sid="MZ" + secrets.token_hex(16),
        started_at=answered,
        answered_at=answered,
    )
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


async def test_a_bridge_marks_all_its_calls_alive_in_one_round(db_session: Session, world: World) -> None:
    s = db_session
    served = [_streaming_call(s, world, answered_ago=timedelta(minutes=10)) for _ in range(3)]
    keeper = AliveKeeper()
    for call in served:  # three calls starting together on one bridge
        keeper.add(int(call.id))  # type: ignore[arg-type]
    deadline = asyncio.get_running_loop().time() + 10
    while keeper.rounds < 1:
        assert asyncio.get_running_loop().time() < deadline, "no call was marked alive"
        await asyncio.sleep(0.01)
    assert keeper.rounds == 1  # one round trip for all of them

    assert await asyncio.to_thread(calls.sweep_calls) == 0  # the sweep sees them served
    assert [fresh(s, call.id).status for call in served] == ["in_progress"] * 3
    for call in served:
        keeper.remove(int(call.id))  # type: ignore[arg-type]


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
