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
import secrets
import time
import wave
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
import redis
from sqlmodel import Session, select
from starlette.testclient import TestClient
from twilio.request_validator import RequestValidator
from websockets.exceptions import InvalidStatus

from leadapp.api.app import api
from leadapp.core import crypto, events
from leadapp.core.db import get_engine, session_scope
from leadapp.core.models import Business, Call, DoNotCall, Lead, TranscriptLine, User, utcnow
from leadapp.core.providers import status as provider_status
from leadapp.core.providers import telephony
from leadapp.core.services import calls
from leadapp.core.settings import get_settings
from tests.fakes.anthropic_api import FakeAnthropicAPI, fake_anthropic, tool_use  # noqa: F401
from tests.fakes.openai_realtime import FakeOpenAIRealtime
from tests.fakes.twilio_media import FakeTwilioMedia
from tests.fakes.twilio_voice import FakeTwilioVoice, fake_twilio_voice, parse_stream  # noqa: F401
from tests.integration.programs import clear_settings_caches, served_in_loop
from tests.live_events import payload as event_payload
from voice_bridge import WS_PROTOCOL
from voice_bridge import realtime_wire as rt
from voice_bridge import session as call_session
from voice_bridge.app import app
from voice_bridge.simulated import Reply, Script, Turn, run_simulated_call

PUBLIC_BASE = "https://voice.leads.example.test"
PUBLIC_WSS = "wss://voice.leads.example.test/media"
AUTH_TOKEN = "twilio-auth-token-for-tests-0123"
CONSUMER_PHONE = "+13175550123"
CONSUMER_EMAIL = "jane.doe@example.com"
INBOUND_NUMBER = "+13175550111"
BUSINESS = "Smith & Sons Plumbing"
GREETING = "Hi Jane, this is an AI assistant calling on behalf of Smith and Sons Plumbing. This call is recorded."
WAIT = 15.0


# --- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture
def database(request: pytest.FixtureRequest) -> str:
    """A migrated database: SQLite unless the test is parametrized with "postgres"."""
    kind = getattr(request, "param", "sqlite")
    return request.getfixturevalue("sqlite_url" if kind == "sqlite" else "migrated_pg_url")


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAIRealtime]:
    async with FakeOpenAIRealtime() as fake:
        yield fake


@dataclass
class Bridge:
    port: int
    fake: FakeOpenAIRealtime
    hangups: list[str] = field(default_factory=list)
    said_before_hangup: list[str] = field(default_factory=list)
    lines: dict[str, FakeTwilioMedia] = field(default_factory=dict)

    @property
    def media_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/media"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def dial(self, call_id: int, call_sid: str, *, start: bool = True) -> FakeTwilioMedia:
        """Twilio opening the signed media stream of a call (and sending `start` unless told not to), with the
        `<Parameter>`s of the TwiML LeadApp makes for that call (its id and media-stream token)."""
        media = FakeTwilioMedia.signed(
            self.media_url, public_wss_url=PUBLIC_WSS, auth_token=AUTH_TOKEN, call_id=None, call_sid=call_sid
        )
        media.parameters = parse_stream(telephony.stream_twiml(PUBLIC_WSS, call_id)).parameters
        self.lines[call_sid] = media
        await media.connect()
        if start:
            await media.start(media.parameters)
        return media


@pytest.fixture
async def bridge(
    database: str, redis_env: redis.Redis, fake_openai: FakeOpenAIRealtime, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Bridge]:
    """The real bridge app under uvicorn on a free port, configured for the fakes."""
    for name, value in {
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_ACCOUNT_SID": "",
        "VOICE_BRIDGE_PUBLIC_URL": PUBLIC_BASE,
        "OPENAI_API_KEY": fake_openai.api_key,
        "OPENAI_BASE_URL": fake_openai.base_url,
        "ANTHROPIC_API_KEY": "",
    }.items():
        monkeypatch.setenv(name, value)
    clear_settings_caches()
    loop = asyncio.get_running_loop()
    async with served_in_loop(app, lifespan="on", ws=WS_PROTOCOL) as (_server, port):
        state = Bridge(port=port, fake=fake_openai)

        def hang_up(call_sid: str, say: str = "") -> None:  # in the bridge's worker thread, like the REST call
            state.hangups.append(call_sid)
            state.said_before_hangup.append(say)
            media = state.lines.get(call_sid)
            if media is not None:
                asyncio.run_coroutine_threadsafe(media.hang_up(), loop)

        monkeypatch.setattr(call_session, "hangup_call", hang_up)
        try:
            yield state
        finally:
            for media in state.lines.values():
                await media.close()


@dataclass
class Seeded:
    business_id: int
    lead_id: int
    call_id: int
    call_sid: str


def seed(*, provider: str = "twilio", status: str = "ringing", inbound_number: str | None = INBOUND_NUMBER) -> Seeded:
    """A business (with an inbound number unless None), a consenting lead, and an outbound call about it."""
    sid = ("SIM" if provider == "simulated" else "CA") + secrets.token_hex(16)
    with session_scope() as session:
        owner = User(email=f"owner-{secrets.token_hex(3)}@smith.example", password_hash="x", role="business_owner")
        session.add(owner)
        session.flush()
        business = Business(
            verified_at=utcnow(),
            owner_id=owner.id,  # type: ignore[arg-type]
            name=BUSINESS,
            zip="46032",
            city="Carmel",
            state="IN",
            categories=["plumbing"],
            voice="cedar",
            licensed=True,
            inbound_number=inbound_number,
            call_objective_notes="Ask whether they want a same-week visit.",
        )
        lead = Lead(
            raw_text=f"Water heater leaking in the garage. Call me at (317) 555-0123 or {CONSUMER_EMAIL}.",
            contact_name="Jane Doe",
            contact_email=CONSUMER_EMAIL,
            contact_phone_enc=crypto.encrypt_phone(CONSUMER_PHONE),
            contact_phone_hash=crypto.phone_hash(CONSUMER_PHONE),
            contact_phone_last4="0123",
            zip="46032",
            location_zip="46032",
            category="plumbing",
            urgency="high",
            budget_min=300,
            budget_max=600,
            consent_ai_calls=True,
            status="matched",
        )
        session.add(business)
        session.add(lead)
        session.flush()
        call = Call(
            lead_id=lead.id,
            business_id=business.id,
            objective="Confirm the job and get a budget.",
            to_number_enc=lead.contact_phone_enc,
            to_number_hash=lead.contact_phone_hash,
            status=status,
            provider=provider,
            provider_call_sid=sid,
        )
        session.add(call)
        session.flush()
        return Seeded(business.id, lead.id, call.id, sid)  # type: ignore[arg-type]


@pytest.fixture
def seeded(bridge: Bridge) -> Seeded:
    return seed()


# --- helpers ----------------------------------------------------------------------------------------


def load_call(call_id: int) -> Call:
    with Session(get_engine(), expire_on_commit=False) as session:
        call = session.get(Call, call_id)
        assert call is not None
        return call


def load_lead(lead_id: int) -> Lead:
    with Session(get_engine(), expire_on_commit=False) as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        return lead


def transcript(call_id: int) -> list[TranscriptLine]:
    with Session(get_engine(), expire_on_commit=False) as session:
        return list(
            session.exec(
                select(TranscriptLine).where(TranscriptLine.call_id == call_id).order_by(TranscriptLine.seq)
            ).all()
        )


async def eventually(condition: Callable[[], object], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def ended(call_id: int) -> Call:
    """The call once the bridge has closed its record (summary written)."""
    await eventually(lambda: load_call(call_id).summary, "the call's summary")
    return load_call(call_id)


async def listen(media: FakeTwilioMedia, quiet_ms: float = 300) -> None:
    """Wait until the caller has heard something new and the assistant has gone quiet."""
    assert await media.wait_quiet(quiet_ms, len(media.heard), WAIT), "the assistant said nothing"


@pytest.fixture
def live_events(bridge: Bridge, redis_env: redis.Redis) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Subscribe to the live-event channel now; calling the result returns what was published since."""
    pubsub = redis_env.pubsub()
    pubsub.subscribe(events.channel())
    pubsub.get_message(timeout=1.0)  # the subscription's confirmation
    seen: list[dict[str, Any]] = []

    def drain() -> list[dict[str, Any]]:
        while (message := pubsub.get_message(timeout=0.2)) is not None:
            if message["type"] == "message":
                seen.append(event_payload(message["data"]))
        return seen

    try:
        yield drain
    finally:
        pubsub.close()


def qualify_script() -> Script:
    return Script(
        greeting=Reply(GREETING, audio_ms=900),
        turns=[
            Turn(
                "Yes. The water heater is leaking, I need someone tomorrow morning.",
                Reply(
                    tool=rt.RECORD_QUALIFICATION,
                    arguments={"need": "leaking water heater", "urgency": "high", "timing": "tomorrow morning"},
                    then=Reply("Thanks. What budget do you have in mind?", audio_ms=700),
                ),
            ),
            Turn(
                "About five hundred dollars.",
                Reply(
                    tool=rt.RECORD_QUALIFICATION,
                    arguments={"budget": "$500"},
                    then=Reply(
                        "Thank you, Smith and Sons will call you back. Goodbye!",
                        audio_ms=800,
                        tool=rt.END_CALL,
                        arguments={"outcome": "goal_achieved", "reason": "qualified"},
                    ),
                ),
            ),
        ],
    )


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
    bridge.fake.use(
        Script(
            greeting=Reply(GREETING, audio_ms=500),
            turns=[
                Turn(
                    "The water heater leaks, budget 500, call me back on 317 846 2200.",
                    Reply(
                        tool=rt.RECORD_QUALIFICATION,
                        arguments={"need": "leaking water heater", "budget": "$500"},
                        then=Reply(
                            "Thanks, goodbye!", audio_ms=400, tool=rt.END_CALL, arguments={"outcome": "goal_achieved"}
                        ),
                    ),
                )
            ],
        )
    )
    media = await bridge.dial(seeded.call_id, seeded.call_sid)
    await listen(media)
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


def inbound_form(to: str = INBOUND_NUMBER, caller: str = "+13178462200", sid: str | None = None) -> dict[str, str]:
    return {
        "CallSid": sid or "CA" + secrets.token_hex(16),
        "AccountSid": "AC" + "1" * 32,
        "From": caller,
        "To": to,
        "Direction": "inbound",
        "CallStatus": "ringing",
    }


async def post_inbound(bridge: Bridge, form: dict[str, str], signed: bool = True) -> httpx.Response:
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC_BASE}/twilio/inbound", form)
    headers = {"X-Twilio-Signature": signature if signed else "nope"}
    async with httpx.AsyncClient(base_url=bridge.http_url) as client:
        return await client.post("/twilio/inbound", data=form, headers=headers)


async def test_an_inbound_call_is_answered_as_receptionist_and_becomes_a_lead(bridge: Bridge, seeded: Seeded) -> None:
    caller_said = (
        "Hi, this is Bob Stone. My kitchen sink is clogged and leaking under the cabinet. "
        "I'm at 14 Oak Street, 46032. Could someone come on Friday?"
    )
    bridge.fake.use(
        Script(
            greeting=Reply("Thank you for calling Smith and Sons Plumbing, an AI assistant here.", audio_ms=600),
            turns=[
                Turn(
                    caller_said,
                    Reply(
                        tool=rt.RECORD_QUALIFICATION,
                        arguments={
                            "need": "clogged, leaking kitchen sink",
                            "address_details": "14 Oak Street, 46032",
                            "zip": "46032",
                            "timing": "Friday",
                            "caller_name": "Bob Stone",
                        },
                        then=Reply(
                            "Thanks Bob, the team will call you back today. Goodbye!",
                            audio_ms=600,
                            tool=rt.END_CALL,
                            arguments={"outcome": "goal_achieved"},
                        ),
                    ),
                )
            ],
        )
    )
    form = inbound_form()
    answer = await post_inbound(bridge, form)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/xml")
    stream = ElementTree.fromstring(answer.text).find("./Connect/Stream")
    assert stream is not None and stream.get("url") == PUBLIC_WSS
    parameters = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
    assert set(parameters) == {"call_id", "token"}
    call_id = int(parameters["call_id"] or 0)
    again = await post_inbound(bridge, form)  # Twilio retrying the webhook: the same call
    assert f'value="{call_id}"' in again.text

    media = FakeTwilioMedia.signed(
        bridge.media_url,
        public_wss_url=str(stream.get("url")),
        auth_token=AUTH_TOKEN,
        call_id=None,
        call_sid=form["CallSid"],
    )
    bridge.lines[form["CallSid"]] = media
    await media.connect()
    await media.start({str(k): str(v) for k, v in parameters.items()})
    await listen(media)
    media.say(1200)
    await asyncio.wait_for(media.closed.wait(), WAIT)

    call = await ended(call_id)
    peer = bridge.fake.session
    _, update = peer.received("session.update")[0]
    assert "receptionist" in update["session"]["instructions"]
    _, greet = peer.received("response.create")[0]
    assert f"Thank you for calling {BUSINESS}" in greet["response"]["instructions"]
    assert (call.direction, call.call_type, call.status, call.outcome) == (
        "inbound",
        "inbound",
        "completed",
        "goal_achieved",
    )
    assert call.business_id == seeded.business_id and call.lead_id is not None
    lead = load_lead(call.lead_id)
    assert (lead.source, lead.business_id, lead.zip) == ("phone", seeded.business_id, "46032")
    assert lead.contact_phone_hash == crypto.phone_hash("+13178462200") and lead.contact_name == "Bob Stone"
    assert "kitchen sink" in lead.raw_text and lead.qualification and lead.qualification["timing"] == "Friday"
    assert [line.speaker for line in transcript(call_id)] == ["assistant", "caller", "assistant"]


async def test_inbound_calls_to_unknown_numbers_or_unsigned_are_not_connected(bridge: Bridge, seeded: Seeded) -> None:
    unknown = await post_inbound(bridge, inbound_form(to="+13175550999"))
    assert unknown.status_code == 200 and "<Hangup" in unknown.text and "<Connect" not in unknown.text
    unsigned = await post_inbound(bridge, inbound_form(), signed=False)
    assert unsigned.status_code == 403
    with Session(get_engine()) as session:
        assert session.exec(select(Call).where(Call.direction == "inbound")).all() == []


async def test_a_simulated_call_runs_end_to_end_without_accounts(
    bridge: Bridge,
    live_events: Callable[[], list[dict[str, Any]]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RECORDINGS_DIR", str(tmp_path / "recordings"))
    clear_settings_caches()
    seeded = seed(provider="simulated", status="dialing")
    outcome = await asyncio.wait_for(asyncio.to_thread(run_simulated_call, seeded.call_id, 8.0), 90)

    assert outcome == "goal_achieved"
    call = load_call(seeded.call_id)
    assert (call.status, call.outcome) == ("completed", "goal_achieved")  # ended like a status callback would
    assert call.summary.startswith("Outcome: Qualified.") and call.ended_at is not None
    assert call.qualification and call.qualification["zip"] == "46032"
    lines = transcript(seeded.call_id)
    assert [line.speaker for line in lines] == ["assistant", "caller"] * 3 + ["assistant"]
    assert "AI assistant" in lines[0].text and "recorded" in lines[0].text and BUSINESS in lines[0].text
    published = [e for e in live_events() if e["kind"] == "transcript" and e["call_id"] == seeded.call_id]
    assert len(published) >= len(lines)
    assert bridge.fake.sessions == []  # the simulated peer, not OpenAI (nor its fake), answered

    # The simulated line records the call like Twilio would: both sides, as a WAV file the app streams.
    assert call.recording_ref.startswith("local:") and call.recording_seconds and call.recording_seconds >= 2
    path = tmp_path / "recordings" / call.recording_ref.removeprefix("local:")
    with wave.open(str(path)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        frames = wav.readframes(wav.getnframes())
        assert wav.getnframes() // 8000 == call.recording_seconds
    assert len(set(frames)) > 16  # the caller's speech is in it, not just silence
    with Session(get_engine()) as session:
        owner = session.get(User, session.get(Business, seeded.business_id).owner_id)  # type: ignore[union-attr]
        link = calls.recording_link(session, owner, seeded.call_id)
    with TestClient(api) as web:
        part = web.get(link.removeprefix(get_settings().app_url), headers={"Range": "bytes=44-1043"})
    assert part.status_code == 206 and part.headers["content-type"] == "audio/wav"
    assert part.content == path.read_bytes()[44:1044]


async def test_a_caller_who_says_dont_call_me_again_is_put_on_the_do_not_call_list(
    bridge: Bridge, seeded: Seeded
) -> None:
    words = "Please take me off your list and don't call me again."
    goodbye = Reply("Of course, you won't be called again. Sorry for the trouble, goodbye!", audio_ms=700)
    bridge.fake.use(
        Script(
            greeting=Reply(GREETING, audio_ms=600),
            turns=[Turn(words, Reply(tool=rt.DO_NOT_CALL, arguments={"caller_words": words}))],
            goodbye=goodbye,
        )
    )
    media = await bridge.dial(seeded.call_id, seeded.call_sid)
    await listen(media)
    media.say(900)
    await asyncio.wait_for(media.closed.wait(), WAIT)  # the assistant confirmed, then hung up

    call = await ended(seeded.call_id)
    assert call.outcome == "declined" and bridge.hangups == [seeded.call_sid]
    peer = bridge.fake.session
    _, confirm = peer.received("response.create")[-1]
    assert "do-not-call list" in confirm["response"]["instructions"]
    said = list(peer.assistant_audio.values())[-1]
    assert media.heard_ms(said.tag) == said.ms_sent == 700  # the confirmation was heard to the end
    assert transcript(seeded.call_id)[-1].text == goodbye.text
    with Session(get_engine()) as session:
        entry = session.exec(select(DoNotCall).where(DoNotCall.phone_hash == crypto.phone_hash(CONSUMER_PHONE))).one()
        assert (entry.source, entry.wording, entry.call_id, entry.lead_id) == (
            "call",
            words,
            seeded.call_id,
            seeded.lead_id,
        )
        assert entry.phone_display == "+1•••••••0123"
    # The call worker refuses the number from now on (a call to it not dialled yet, consent on file otherwise).
    later = seed(inbound_number=None, status="requested")
    with session_scope() as session:
        call_row, lead = session.get(Call, later.call_id), session.get(Lead, later.lead_id)
        assert call_row is not None and lead is not None
        call_row.provider_call_sid, lead.consent_at = None, lead.created_at
    assert calls.place_call(later.call_id) == "refused"
    assert load_call(later.call_id).error == "This number is on the do-not-call list."
    assert bridge.fake.invalid_events == []


async def test_an_inbound_call_whose_greeting_says_it_is_recorded_is_recorded(
    bridge: Bridge, seeded: Seeded, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    twilio: FakeTwilioVoice = request.getfixturevalue("fake_twilio_voice")
    twilio.auth_token = AUTH_TOKEN  # one account: its token signs the webhooks and authenticates the REST calls
    for name, value in {
        "TWILIO_ACCOUNT_SID": twilio.account_sid,
        "TWILIO_FROM_NUMBER": twilio.from_number,
        "TWILIO_API_BASE": twilio.url,
    }.items():
        monkeypatch.setenv(name, value)
    clear_settings_caches()
    bridge.fake.use(Script(greeting=Reply("Thank you for calling. This call is recorded.", audio_ms=400)))
    form = inbound_form()
    answer = await post_inbound(bridge, form)
    stream = ElementTree.fromstring(answer.text).find("./Connect/Stream")
    assert stream is not None
    parameters = {str(p.get("name")): str(p.get("value")) for p in stream.findall("Parameter")}
    call_id = int(parameters["call_id"])
    media = FakeTwilioMedia.signed(
        bridge.media_url, public_wss_url=PUBLIC_WSS, auth_token=AUTH_TOKEN, call_id=None, call_sid=form["CallSid"]
    )
    bridge.lines[form["CallSid"]] = media
    await media.connect()
    await media.start(parameters)
    await listen(media)

    _, greet = bridge.fake.session.received("response.create")[0]
    assert "this call is recorded" in greet["response"]["instructions"]  # what the caller is told ...
    await eventually(lambda: twilio.recording_starts, "the recording to start")  # ... is what happens
    (started,) = twilio.recording_starts
    assert started["call_sid"] == form["CallSid"]
    assert started["RecordingStatusCallback"] == f"{PUBLIC_BASE}/twilio/calls/{call_id}/recording"
    assert started["RecordingStatusCallbackEvent"] == "completed"
    await media.hang_up()
    await ended(call_id)
