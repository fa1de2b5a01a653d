"""The voice bridge under test, shared by the bridge's tests (`test_voice_bridge*.py`, calls' kinds, hints,
quality, transfer, Spanish calls …): the real bridge app under uvicorn in the test's event loop, the fake OpenAI
Realtime and Twilio it talks to, a seeded call, scripts, and waiting helpers. `integration/conftest.py` offers its
fixtures to every module of the folder by name.

The only stand-in inside the app is the REST hang-up (`session.hangup_call`): it records the call SID and does
what Twilio does after `calls(sid).update(status="completed")`: it sends `stop` on the stream and closes it.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlmodel import Session, select
from twilio.request_validator import RequestValidator

from leadapp.core.db import get_engine, session_scope
from leadapp.core.models import Call, Lead, TranscriptLine
from leadapp.core.providers import telephony
from leadapp.core.vocab import Plan
from tests import factories
from tests.fakes.openai_realtime import FakeOpenAIRealtime
from tests.fakes.twilio_media import FakeTwilioMedia
from tests.fakes.twilio_voice import parse_stream
from tests.integration.programs import clear_settings_caches, served_in_loop
from tests.live_events import subscription
from voice_bridge import WS_PROTOCOL
from voice_bridge import realtime_wire as rt
from voice_bridge import session as call_session
from voice_bridge.app import app
from voice_bridge.simulated import Reply, Script, Turn

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
    said_in: list[str] = field(default_factory=list)  # the `<Say>` language of each ('' for English)
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

    async def greeted(self, seeded: Seeded, script: Script) -> FakeTwilioMedia:
        """The seeded call played by `script`: Twilio opens its stream and the callee has heard the greeting."""
        self.fake.use(script)
        media = await self.dial(seeded.call_id, seeded.call_sid)
        await listen(media)
        return media


def bridge_environment(fake_openai: FakeOpenAIRealtime) -> dict[str, str]:
    """The bridge's settings for the fakes: Twilio's signatures checked with AUTH_TOKEN (no REST account), the
    public URL Twilio signs, OpenAI Realtime at the fake, no Claude."""
    return {
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_ACCOUNT_SID": "",
        "VOICE_BRIDGE_PUBLIC_URL": PUBLIC_BASE,
        "OPENAI_API_KEY": fake_openai.api_key,
        "OPENAI_BASE_URL": fake_openai.base_url,
        "ANTHROPIC_API_KEY": "",
    }


@pytest.fixture
async def bridge(
    database: str, redis_env: redis.Redis, fake_openai: FakeOpenAIRealtime, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Bridge]:
    """The real bridge app under uvicorn on a free port, configured for the fakes."""
    for name, value in bridge_environment(fake_openai).items():
        monkeypatch.setenv(name, value)
    clear_settings_caches()
    loop = asyncio.get_running_loop()
    async with served_in_loop(app, lifespan="on", ws=WS_PROTOCOL) as (_server, port):
        state = Bridge(port=port, fake=fake_openai)

        def hang_up(call_sid: str, say: str = "", say_language: str = "") -> None:  # in a worker thread, as REST
            state.hangups.append(call_sid)
            state.said_before_hangup.append(say)
            state.said_in.append(say_language)
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
    with session_scope() as session:
        owner = factories.user(session, "business_owner", f"owner-{secrets.token_hex(3)}@smith.example")
        business = factories.business(
            session,
            owner,
            BUSINESS,
            city="Carmel",
            state="IN",
            voice="cedar",
            licensed=True,
            inbound_number=inbound_number,
            call_objective_notes="Ask whether they want a same-week visit.",
            plan=Plan.FREE.value,
        )
        lead = factories.leaking_heater(session, CONSUMER_PHONE, CONSUMER_EMAIL, "Jane Doe", said="(317) 555-0123")
        call = factories.placed_call(session, lead, business, status, provider)
        return Seeded(business.id, lead.id, call.id, call.provider_call_sid)  # type: ignore[arg-type]


@pytest.fixture
def seeded(bridge: Bridge) -> Seeded:
    return seed()


@pytest.fixture
def simulated_call(bridge: Bridge, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Seeded:
    """A seeded call about to be dialled on the simulated line (no Twilio, no OpenAI), recorded under
    `tmp_path`/recordings."""
    monkeypatch.setenv("RECORDINGS_DIR", str(tmp_path / "recordings"))
    clear_settings_caches()
    return seed(provider="simulated", status="dialing")


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
    seen: list[dict[str, Any]] = []
    with subscription(redis_env, wait=0.2) as drain:

        def everything() -> list[dict[str, Any]]:
            seen.extend(drain())
            return seen

        yield everything


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
            recorded_then_ended(
                "About five hundred dollars.",
                {"budget": "$500"},
                "Thank you, Smith and Sons will call you back. Goodbye!",
                800,
                reason="qualified",
            ),
        ],
    )


def recorded_then_ended(
    caller_said: str, qualification: dict[str, str], goodbye: str, goodbye_ms: int = 500, **ending: str
) -> Turn:
    """The caller says `caller_said`; the model records `qualification`, says `goodbye` and ends the call as a
    success (`ending`: more of end_call's arguments, e.g. its reason)."""
    end = Reply(goodbye, audio_ms=goodbye_ms, tool=rt.END_CALL, arguments={"outcome": "goal_achieved", **ending})
    return Turn(caller_said, Reply(tool=rt.RECORD_QUALIFICATION, arguments=qualification, then=end))


def one_answer_script(
    greeting: str,
    caller_said: str,
    qualification: dict[str, str],
    goodbye: str,
    goodbye_ms: int = 500,
    *,
    greeting_ms: int = 600,
    **ending: str,
) -> Script:
    """A call of one answer: the model greets (`greeting_ms` of audio), then `recorded_then_ended`."""
    turn = recorded_then_ended(caller_said, qualification, goodbye, goodbye_ms, **ending)
    return Script(greeting=Reply(greeting, audio_ms=greeting_ms), turns=[turn])


def receptionist_script(greeting: str, caller_said: str, **qualification: str) -> Script:
    """Bob Stone calls a business's AI receptionist about his clogged kitchen sink (14 Oak Street, 46032,
    Friday): the model records the qualification (with `qualification` added) and ends the call as a success."""
    bob = {
        "need": "clogged, leaking kitchen sink",
        "address_details": "14 Oak Street, 46032",
        "zip": "46032",
        "timing": "Friday",
        **qualification,
        "caller_name": "Bob Stone",
    }
    return one_answer_script(greeting, caller_said, bob, "Thanks Bob, the team will call you back today. Goodbye!", 600)


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
