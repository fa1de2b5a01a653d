"""The voice bridge end to end: Twilio's media stream ⇄ the bridge ⇄ OpenAI Realtime, all on loopback.

The real bridge app runs under uvicorn (port 0) in the test's event loop; the real `openai` SDK dials a
fake OpenAI Realtime server that validates every client event against the SDK's own types; a fake
Twilio opens the signed media stream, talks in real time, plays our audio out at 8 bytes/ms, echoes
marks and honours `clear`. The only stand-in inside the app is the REST hang-up (`session.hangup_call`):
it records the call SID and does what Twilio does after `calls(sid).update(status="completed")`: it
sends `stop` on the stream and closes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from twilio.request_validator import RequestValidator
from websockets.exceptions import InvalidStatus

from leadapp.core.providers import status as provider_status
from tests.fakes.anthropic_api import FakeAnthropicAPI, fake_anthropic, tool_use  # noqa: F401
from tests.fakes.twilio_media import FakeTwilioMedia
from tests.integration.bridge_harness import (
    AUTH_TOKEN,
    BUSINESS,
    CONSUMER_EMAIL,
    GREETING,
    WAIT,
    Bridge,
    Seeded,
    ended,
    eventually,
    listen,
    load_call,
    load_lead,
    one_answer_script,
    qualify_script,
    transcript,
)
from tests.integration.programs import clear_settings_caches
from voice_bridge import realtime_wire as rt
from voice_bridge.simulated import Reply, Script, Turn

# --- scenarios --------------------------------------------------------------------------------------


@pytest.mark.parametrize("database", ["sqlite", "postgres"], indirect=True)
async def test_happy_path_qualifies_the_job_and_hangs_up_with_goal_achieved(
    bridge: Bridge, seeded: Seeded, live_events: Callable[[], list[dict[str, Any]]]
) -> None:
    fake = bridge.fake
    fake.use(qualify_script())
    media = await bridge.dial(seeded.call_id, seeded.call_sid, start=False)

    # OpenAI is dialled only once Twilio's `start` has proved the stream may hold the call ...
    await asyncio.sleep(0.3)
    assert fake.handshakes == []
    await media.start(media.parameters)
    peer = await fake.wait_for_session()

    # ... and the greeting is asked for only after `start` and `session.updated`, with the disclosures.
    await listen(media)
    (update_at, update), *_ = peer.received("session.update")
    (greet_at, greet), *_ = peer.received("response.create")
    assert greet_at > media.start_sent_ns
    assert greet_at > peer.sent_at("session.updated")[0] > update_at
    assert "an AI assistant" in greet["response"]["instructions"]
    assert "this call is recorded" in greet["response"]["instructions"]
    assert BUSINESS in greet["response"]["instructions"]

    session = update["session"]
    assert session["type"] == "realtime" and session["output_modalities"] == ["audio"]
    assert session["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert session["audio"]["output"] == {"format": {"type": "audio/pcmu"}, "voice": "cedar"}
    assert session["audio"]["input"]["turn_detection"]["type"] == "server_vad"
    assert session["audio"]["input"]["transcription"]["model"]
    assert {tool["name"] for tool in session["tools"]} == {
        rt.RECORD_QUALIFICATION,
        rt.REQUEST_HUMAN,
        rt.DO_NOT_CALL,
        rt.END_CALL,
    }
    instructions = session["instructions"]
    assert BUSINESS in instructions and "Confirm the job and get a budget." in instructions
    assert CONSUMER_EMAIL not in instructions and "555-0123" not in instructions and "[phone]" in instructions

    # Transcript lines are stored as they complete, while the call goes on.
    await eventually(lambda: len(transcript(seeded.call_id)) == 1, "the greeting line")
    assert transcript(seeded.call_id)[0].text == GREETING
    # An `error` event leaves the socket open; the call carries on.
    await peer.send_error("The server had an error while processing your request.", code="server_error")

    media.say(700)
    await listen(media)
    await eventually(lambda: len(transcript(seeded.call_id)) == 3, "the caller's answer and the next question")
    media.say(500)
    await asyncio.wait_for(media.closed.wait(), WAIT)  # end_call → REST hang-up → Twilio stops the stream

    call = await ended(seeded.call_id)
    assert bridge.hangups == [seeded.call_sid]
    assert call.outcome == "goal_achieved"
    qualification = {"need": "leaking water heater", "urgency": "high", "timing": "tomorrow morning", "budget": "$500"}
    assert call.qualification == qualification
    assert load_lead(seeded.lead_id).qualification == qualification
    assert call.ended_at is not None and call.status == "in_progress"  # the status callback completes it
    assert "Need: leaking water heater" in call.summary and "Budget: $500" in call.summary

    lines = transcript(seeded.call_id)
    assert [line.speaker for line in lines] == ["assistant", "caller", "assistant", "caller", "assistant"]
    assert [line.text for line in lines[1::2]] == [turn.caller for turn in qualify_script().turns]
    assert lines[-1].text == "Thank you, Smith and Sons will call you back. Goodbye!"
    assert all(line.heard_ms is None for line in lines)
    published = [e for e in live_events() if e["kind"] == "transcript" and e["call_id"] == seeded.call_id]
    assert len(published) >= len(lines)

    # μ-law passed through, every chunk marked uniquely, and the goodbye fully played before the hang-up.
    tags = {audio.tag for audio in peer.assistant_audio.values()}
    assert set(media.heard) <= tags
    names = [message["mark"]["name"] for _, message in media.messages("mark")]
    assert len(names) == len(set(names)) == len(media.messages("media"))
    goodbye = list(peer.assistant_audio.values())[-1]
    assert media.heard_ms(goodbye.tag) == goodbye.ms_sent == 800
    assert len(peer.function_outputs) == 3
    assert peer.appends > 0 and peer.audio_in_ms > 0
    assert fake.problems == [] and fake.invalid_events == []


async def test_the_caller_asking_for_a_human_gets_a_goodbye_and_a_callback_flag(bridge: Bridge, seeded: Seeded) -> None:
    goodbye = Reply("Of course. Someone from Smith and Sons will call you back soon. Goodbye!", audio_ms=700)
    bridge.fake.use(
        Script(
            greeting=Reply(GREETING, audio_ms=600),
            turns=[
                Turn("Can I talk to a real person please?", Reply(tool=rt.REQUEST_HUMAN, arguments={"reason": "x"}))
            ],
            goodbye=goodbye,
        )
    )
    media = await bridge.dial(seeded.call_id, seeded.call_sid)
    await listen(media)
    media.say(600)
    await asyncio.wait_for(media.closed.wait(), WAIT)

    call = await ended(seeded.call_id)
    peer = bridge.fake.session
    assert call.human_callback_requested is True
    assert bridge.hangups == [seeded.call_sid]
    _, last_create = peer.received("response.create")[-1]
    assert "call them back" in last_create["response"]["instructions"]
    said = list(peer.assistant_audio.values())[-1]
    assert media.heard_ms(said.tag) == said.ms_sent == 700  # the goodbye was heard to the end
    assert transcript(seeded.call_id)[-1].text == goodbye.text
    assert bridge.fake.problems == [] and bridge.fake.invalid_events == []


async def test_pressing_0_interrupts_and_ends_like_asking_for_a_human(bridge: Bridge, seeded: Seeded) -> None:
    bridge.fake.use(Script(greeting=Reply(GREETING, audio_ms=3000), goodbye=Reply("Sure, goodbye!", audio_ms=500)))
    media = await bridge.dial(seeded.call_id, seeded.call_sid)
    assert await media.wait_for(lambda: media.heard_ms() >= 600, WAIT)
    await media.press("0")
    await asyncio.wait_for(media.closed.wait(), WAIT)

    call = await ended(seeded.call_id)
    peer = bridge.fake.session
    assert call.human_callback_requested and bridge.hangups == [seeded.call_sid]
    assert len(media.clears) == 1
    (truncate,) = peer.truncates
    greeting_heard_ms = media.clears[0][1] // 8
    assert truncate["ok"] and abs(truncate["audio_end_ms"] - greeting_heard_ms) <= 20
    lines = transcript(seeded.call_id)
    assert lines[0].speaker == "assistant" and lines[0].heard_ms == truncate["audio_end_ms"]
    assert any(line.speaker == "system" and "pressed 0" in line.text for line in lines)
    assert lines[-1].text == "Sure, goodbye!"
    assert bridge.fake.invalid_events == []


@pytest.mark.parametrize("stream_speed", [4.0, 1.0], ids=["reply-streamed", "reply-still-streaming"])
async def test_barge_in_clears_twilio_and_truncates_at_what_the_caller_heard(
    bridge: Bridge, seeded: Seeded, stream_speed: float
) -> None:
    bridge.fake.stream_speed = stream_speed
    bridge.fake.use(
        Script(
            greeting=Reply(GREETING, audio_ms=3000),
            turns=[Turn("Sorry, who is this?", Reply("An assistant.", audio_ms=400))],
        )
    )
    media = await bridge.dial(seeded.call_id, seeded.call_sid)
    assert await media.wait_for(lambda: media.heard_ms() >= 1000, WAIT)
    media.say(600)
    peer = bridge.fake.session
    await eventually(lambda: peer.truncates, "a truncate")
    greeting = next(iter(peer.assistant_audio.values()))
    await asyncio.sleep(0.3)

    assert len(media.clears) == 1
    heard_at_clear_ms = media.clears[0][1] // 8
    (truncate,) = peer.truncates
    assert truncate["ok"] and truncate["item_id"] == greeting.item_id
    assert abs(truncate["audio_end_ms"] - heard_at_clear_ms) <= 20
    assert media.heard_ms(greeting.tag) == heard_at_clear_ms  # nothing of the cut reply played after `clear`
    assert bridge.fake.late_truncates(within_ms=200) == []
    await eventually(lambda: transcript(seeded.call_id) and transcript(seeded.call_id)[0].heard_ms, "heard_ms")
    first = transcript(seeded.call_id)[0]
    assert first.speaker == "assistant" and first.heard_ms == truncate["audio_end_ms"]
    assert GREETING.startswith(first.text)

    await listen(media)  # the conversation goes on after the interruption
    await eventually(lambda: len(transcript(seeded.call_id)) == 3, "the caller's line and the answer")
    assert [line.speaker for line in transcript(seeded.call_id)] == ["assistant", "caller", "assistant"]
    await media.hang_up()
    await ended(seeded.call_id)
    assert bridge.fake.invalid_events == []


async def test_the_caller_hanging_up_mid_reply_keeps_what_was_heard(bridge: Bridge, seeded: Seeded) -> None:
    bridge.fake.stream_speed = 1.0  # the reply is still being generated when the caller hangs up
    bridge.fake.use(Script(greeting=Reply(GREETING, audio_ms=3000)))
    media = await bridge.dial(seeded.call_id, seeded.call_sid)
    assert await media.wait_for(lambda: media.heard_ms() >= 800, WAIT)
    await media.hang_up()
    heard_ms = media.heard_ms()

    call = await ended(seeded.call_id)
    assert bridge.hangups == []  # nothing to hang up: the caller did
    (line,) = transcript(seeded.call_id)
    assert line.speaker == "assistant" and GREETING.startswith(line.text) and line.text
    assert line.heard_ms is not None and abs(line.heard_ms - heard_ms) <= 40
    assert call.ended_at is not None and call.outcome is None  # left to Twilio's status callback
    assert call.summary


async def test_openai_closing_with_1011_ends_the_call_as_ai_failure_and_keeps_the_lines(
    bridge: Bridge, seeded: Seeded
) -> None:
    bridge.fake.use(
        Script(greeting=Reply(GREETING, audio_ms=600), turns=[Turn("I need a plumber.", Reply("Sure.", audio_ms=300))])
    )
    media = await bridge.dial(seeded.call_id, seeded.call_sid)
    await listen(media)
    media.say(500)
    await eventually(lambda: len(transcript(seeded.call_id)) == 3, "three lines")
    await bridge.fake.close_session(1011, "internal error")
    await asyncio.wait_for(media.closed.wait(), WAIT)

    call = await ended(seeded.call_id)
    assert bridge.hangups == [seeded.call_sid]
    # The assistant is gone, so the provider speaks a short apology before hanging up.
    assert len(bridge.said_before_hangup) == 1 and bridge.said_before_hangup[0].startswith("Sorry, we lost")
    assert bridge.said_in == [""]  # English: Twilio's default voice
    assert call.outcome == "ai_failure" and "1011" in call.error
    lines = transcript(seeded.call_id)
    assert [line.speaker for line in lines] == ["assistant", "caller", "assistant", "system"]
    assert lines[1].text == "I need a plumber." and "disconnected" in lines[-1].text
    # The admin health page shows it as the realtime provider's last error (kept in Redis).
    await eventually(
        lambda: "1011" in getattr(provider_status.last_failure(provider_status.OPENAI_REALTIME), "error", ""),
        "the realtime failure recorded",
    )


async def test_the_summary_is_claudes_when_keyed_and_never_carries_contact_details(
    bridge: Bridge, seeded: Seeded, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    claude_api: FakeAnthropicAPI = request.getfixturevalue("fake_anthropic")
    monkeypatch.setenv("ANTHROPIC_API_KEY", claude_api.api_key)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", claude_api.url)
    clear_settings_caches()
    written = "Jane needs her leaking water heater fixed tomorrow morning; her budget is about $500."
    claude_api.script([tool_use({"summary": written})])
    script = one_answer_script(
        GREETING,
        "The water heater leaks, budget 500, call me back on 317 846 2200.",
        {"need": "leaking water heater", "budget": "$500"},
        "Thanks, goodbye!",
        400,
        greeting_ms=500,
    )
    media = await bridge.greeted(seeded, script)
    media.say(600)
    await asyncio.wait_for(media.closed.wait(), WAIT)

    call = await ended(seeded.call_id)
    assert call.summary == written
    (claude,) = claude_api.requests
    assert claude.status == 200
    sent = claude.body["messages"][0]["content"]
    assert "water heater leaks" in sent and "leaking water heater" in sent and "[phone]" in sent
    assert "846" not in sent and CONSUMER_EMAIL not in sent


async def test_session_expiry_ends_the_call_without_losing_lines(bridge: Bridge, seeded: Seeded) -> None:
    bridge.fake.use(Script(greeting=Reply(GREETING, audio_ms=400)))
    media = await bridge.dial(seeded.call_id, seeded.call_sid)
    await listen(media)
    await bridge.fake.expire()
    await asyncio.wait_for(media.closed.wait(), WAIT)

    call = await ended(seeded.call_id)
    assert call.outcome == "ai_failure" and "expired" in call.error
    assert [line.speaker for line in transcript(seeded.call_id)] == ["assistant", "system"]
    assert "expired" in transcript(seeded.call_id)[-1].text


@pytest.mark.parametrize(
    "signature",
    [None, "bogus", RequestValidator(AUTH_TOKEN).compute_signature("ws://127.0.0.1/media", {})],
    ids=["missing", "wrong", "signed-for-the-internal-url"],
)
async def test_a_badly_signed_media_stream_is_refused_before_openai_is_dialled(
    bridge: Bridge, seeded: Seeded, signature: str | None
) -> None:
    media = FakeTwilioMedia(bridge.media_url, call_id=seeded.call_id, signature=signature)
    with pytest.raises(InvalidStatus) as refused:
        await media.connect()
    assert refused.value.response.status_code == 403
    await asyncio.sleep(0.3)
    assert bridge.fake.handshakes == [] and bridge.fake.sessions == []
    assert transcript(seeded.call_id) == [] and load_call(seeded.call_id).status == "ringing"
