"""Warm transfer and take-over through the real bridge, the fake OpenAI Realtime and the fake Twilio Voice REST API.

The caller asks for a person (the `request_human` tool); the business's owner has a phone. Through Twilio (the
fake): the owner's phone is dialled with a whisper and the conference, then the test answers that leg (or
reports no-answer) the way Twilio's `GET …/Calls/{CA}.json` would; answered, the caller's call is moved into the
conference with `calls(sid).update(twiml=<Dial><Conference>…)`; not answered, the assistant stays on and books a
callback. On the simulated line (no Twilio keys) the simulated owner answers or not (SIMULATED_OWNER_ANSWERS).
The owner's "Take over" (`calls.request_take_over`) runs the same transfer on demand.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis

from leadapp.core.db import session_scope
from leadapp.core.errors import NotAllowed, UserError
from leadapp.core.models import Business, User
from leadapp.core.services import access, calls
from leadapp.core.vocab import CallOutcome
from tests.fakes.twilio_voice import FakeTwilioVoice, fake_twilio_voice  # noqa: F401
from tests.integration.bridge_harness import (
    AUTH_TOKEN,
    GREETING,
    WAIT,
    Bridge,
    Seeded,
    ended,
    eventually,
    listen,
    recorded_then_ended,
    seed,
    transcript,
)
from tests.integration.programs import clear_settings_caches
from voice_bridge import realtime_wire as rt
from voice_bridge.simulated import Reply, Script, Turn

OWNER_PHONE = "+13175550999"
CONNECTING = Reply("One moment, I'm connecting you now. Please stay on the line.", audio_ms=600)


def _script(*later: Turn) -> Script:
    return Script(
        greeting=Reply(GREETING, audio_ms=600),
        turns=[
            Turn("Can I talk to a real person please?", Reply(tool=rt.REQUEST_HUMAN, arguments={"reason": "person"})),
            *later,
        ],
        goodbye=CONNECTING,
    )


def _with_owner_phone(seeded: Seeded, phone: str = OWNER_PHONE) -> None:
    with session_scope() as session:
        business = session.get(Business, seeded.business_id)
        assert business is not None
        business.notify_phone = phone
        session.add(business)


def _owner_id(seeded: Seeded) -> int:
    with session_scope() as session:
        business = session.get(Business, seeded.business_id)
        assert business is not None
        return int(business.owner_id)  # type: ignore[arg-type]


def _take_over(user_id: int | None, call_id: int) -> None:
    with session_scope() as session:
        user = session.get(User, user_id) if user_id is not None else None
        access.enter(session, user)
        calls.request_take_over(session, user, call_id)


def _system_lines(call_id: int) -> list[str]:
    return [line.text for line in transcript(call_id) if line.speaker == "system"]


@pytest.fixture
def twilio(
    bridge: Bridge,
    fake_twilio_voice: FakeTwilioVoice,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> FakeTwilioVoice:
    """The bridge keyed for the fake Twilio account (the media streams stay signed with the harness's token)."""
    fake_twilio_voice.auth_token = AUTH_TOKEN
    for name, value in {
        "TWILIO_ACCOUNT_SID": fake_twilio_voice.account_sid,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": fake_twilio_voice.from_number,
        "TWILIO_API_BASE": fake_twilio_voice.url,
        "TRANSFER_RING_SECONDS": "5",
    }.items():
        monkeypatch.setenv(name, value)
    clear_settings_caches()
    return fake_twilio_voice


async def _owner_leg(fake: FakeTwilioVoice) -> tuple[str, dict[str, Any]]:
    await asyncio.to_thread(fake.wait_for, lambda: any(c.get("To") == OWNER_PHONE for c in fake.creates), WAIT)
    sid, call = next((sid, c) for sid, c in fake.calls.items() if c.params.get("To") == OWNER_PHONE)
    return sid, call.params


async def test_a_transfer_the_owner_answers_whispers_and_moves_the_caller_into_the_conference(
    bridge: Bridge, twilio: FakeTwilioVoice
) -> None:
    seeded = seed(status="in_progress")
    _with_owner_phone(seeded)
    caller_leg = twilio.add_live_call(seeded.call_sid)
    media = await bridge.greeted(seeded, _script())
    media.say(600)

    owner_sid, params = await _owner_leg(twilio)
    assert params["From"] == twilio.from_number and params["Timeout"] == "5"
    room = f"leadapp-call-{seeded.call_id}"
    assert "<Say>LeadApp call. Jane about" in params["Twiml"] and f">{room}</Conference>" in params["Twiml"]
    assert "urgency high" in params["Twiml"]
    assert caller_leg.updates == []  # the caller stays with the assistant while the owner's phone rings
    twilio.set_status(owner_sid, "in-progress")

    await asyncio.to_thread(twilio.wait_for, lambda: caller_leg.updates, WAIT)
    twiml = caller_leg.updates[0]["Twiml"]
    assert "<Dial><Conference" in twiml and f">{room}</Conference>" in twiml and "<Say>" not in twiml
    await media.hang_up()  # Twilio ends the media stream once the call has new TwiML
    call = await ended(seeded.call_id)
    assert call.outcome == CallOutcome.TRANSFERRED.value
    said = [r.get("instructions", "") for r in bridge.fake.session.response_creates]
    assert any("connecting them now" in text for text in said)
    notes = _system_lines(seeded.call_id)
    assert any("transferring to the owner's phone" in n for n in notes)
    assert any("put through" in n for n in notes)
    assert bridge.hangups == []  # moved into the conference, never hung up
    assert bridge.fake.problems == [] and bridge.fake.invalid_events == []


@pytest.mark.parametrize("owner_leg", ["no-answer", "ringing"], ids=["no_answer", "still_ringing_at_deadline"])
async def test_a_transfer_nobody_answers_returns_to_the_assistant_which_books_a_callback(
    bridge: Bridge, twilio: FakeTwilioVoice, owner_leg: str
) -> None:
    seeded = seed(status="in_progress")
    _with_owner_phone(seeded)
    caller_leg = twilio.add_live_call(seeded.call_sid)
    callback = recorded_then_ended(
        "Tomorrow at ten works for me.",
        {"appointment_time": "tomorrow 10 am"},
        "Great, they will call you tomorrow at ten. Goodbye!",
        600,
    )
    media = await bridge.greeted(seeded, _script(callback))
    media.say(600)

    owner_sid, _params = await _owner_leg(twilio)
    twilio.set_status(owner_sid, owner_leg)  # "ringing": nobody picks up before TRANSFER_RING_SECONDS (5)
    await eventually(
        lambda: any("could pick up" in (r.get("instructions") or "") for r in bridge.fake.session.response_creates),
        "the assistant asked to book a callback",
    )
    await listen(media)
    media.say(600)  # the caller gives a time
    await asyncio.wait_for(media.closed.wait(), WAIT)

    call = await ended(seeded.call_id)
    assert call.outcome == CallOutcome.CALLBACK_BOOKED.value  # not the model's goal_achieved
    assert call.human_callback_requested is True
    assert call.qualification.get("appointment_time") == "tomorrow 10 am"
    assert caller_leg.updates == []  # the caller was never moved
    if owner_leg == "ringing":  # the bridge stopped the owner's phone ringing
        assert [u.get("Status") for u in twilio.calls[owner_sid].updates] == ["canceled"]
    assert any("did not answer within 5 s" in n for n in _system_lines(seeded.call_id))
    assert bridge.fake.problems == [] and bridge.fake.invalid_events == []


@pytest.mark.parametrize("answers", [True, False], ids=["owner_answers", "owner_does_not_answer"])
async def test_on_the_simulated_line_the_transfer_is_simulated_and_recorded_the_same_way(
    bridge: Bridge, monkeypatch: pytest.MonkeyPatch, answers: bool
) -> None:
    monkeypatch.setenv("SIMULATED_OWNER_ANSWERS", "true" if answers else "false")
    clear_settings_caches()
    seeded = seed(provider="simulated", status="in_progress")
    _with_owner_phone(seeded)
    media = await bridge.greeted(
        seeded, _script(Turn("Tomorrow morning is fine.", Reply("Noted. Goodbye!", tool=rt.END_CALL)))
    )
    media.say(600)
    if not answers:
        await eventually(
            lambda: any("could pick up" in (r.get("instructions") or "") for r in bridge.fake.session.response_creates),
            "the callback line",
        )
        await listen(media)
        media.say(600)
    await asyncio.wait_for(media.closed.wait(), WAIT)
    call = await ended(seeded.call_id)
    expected = CallOutcome.TRANSFERRED if answers else CallOutcome.CALLBACK_BOOKED
    assert call.outcome == expected.value
    assert bridge.hangups == [seeded.call_sid]


async def test_take_over_transfers_the_call_to_the_owner_on_demand_and_only_for_them(
    bridge: Bridge, redis_env: redis.Redis
) -> None:
    seeded = seed(provider="simulated", status="in_progress")
    other = seed(provider="simulated", status="in_progress", inbound_number=None)
    bridge.fake.use(Script(greeting=Reply(GREETING, audio_ms=600), goodbye=CONNECTING))
    owner = _owner_id(seeded)
    with pytest.raises(UserError, match="phone number"):  # nothing to ring yet
        await asyncio.to_thread(_take_over, owner, seeded.call_id)
    _with_owner_phone(seeded)
    with pytest.raises(NotAllowed):
        await asyncio.to_thread(_take_over, _owner_id(other), seeded.call_id)
    with pytest.raises(access.NotLoggedIn):
        await asyncio.to_thread(_take_over, None, seeded.call_id)
    assert calls.take_signals(seeded.call_id) == ([], False)  # the refusals queued nothing

    media = await bridge.dial(seeded.call_id, seeded.call_sid)
    await listen(media)
    await asyncio.to_thread(_take_over, owner, seeded.call_id)
    await asyncio.wait_for(media.closed.wait(), WAIT)
    call = await ended(seeded.call_id)
    assert call.outcome == CallOutcome.TRANSFERRED.value
    assert any("The owner took over the call" in n for n in _system_lines(seeded.call_id))


async def test_pressing_0_interrupts_the_assistant_and_transfers_on_the_simulated_line(bridge: Bridge) -> None:
    seeded = seed(provider="simulated", status="in_progress")
    _with_owner_phone(seeded)
    bridge.fake.use(Script(greeting=Reply(GREETING, audio_ms=3000), goodbye=CONNECTING))
    media = await bridge.dial(seeded.call_id, seeded.call_sid)
    assert await media.wait_for(lambda: media.heard_ms() >= 600, WAIT)
    await media.press("0")
    await asyncio.wait_for(media.closed.wait(), WAIT)

    call = await ended(seeded.call_id)
    assert call.outcome == CallOutcome.TRANSFERRED.value
    assert len(media.clears) == 1 and bridge.fake.session.truncates  # the greeting was cut off first
    said = [r.get("instructions", "") for r in bridge.fake.session.response_creates]
    assert any("connecting them now" in text for text in said)
    notes = _system_lines(seeded.call_id)
    assert any("pressed 0" in n for n in notes) and any("put through" in n for n in notes)
    assert bridge.fake.invalid_events == []
