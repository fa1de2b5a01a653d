"""The voice bridge end to end for calls that come in or need no accounts: an inbound call answered as the
business's receptionist, calls to unknown numbers or unsigned, a simulated call, a caller asking not to be
called again, and an inbound call recorded. Twilio's media stream ⇄ the bridge ⇄ OpenAI Realtime, all on
loopback (the set-up is `bridge_harness`).
"""

from __future__ import annotations

import asyncio
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from leadapp.api.app import api
from leadapp.core import crypto
from leadapp.core.db import get_engine, session_scope
from leadapp.core.models import Business, Call, CallMetrics, DoNotCall, Lead, User
from leadapp.core.services import calls
from leadapp.core.settings import get_settings
from tests.fakes.twilio_media import FakeTwilioMedia
from tests.fakes.twilio_voice import FakeTwilioVoice, fake_twilio_voice  # noqa: F401
from tests.integration.bridge_harness import (
    AUTH_TOKEN,
    BUSINESS,
    CONSUMER_PHONE,
    GREETING,
    PUBLIC_BASE,
    PUBLIC_WSS,
    WAIT,
    Bridge,
    Seeded,
    ended,
    eventually,
    inbound_form,
    listen,
    load_call,
    load_lead,
    post_inbound,
    receptionist_script,
    seed,
    transcript,
)
from tests.integration.programs import clear_settings_caches
from voice_bridge import realtime_wire as rt
from voice_bridge.simulated import Reply, Script, Turn, run_simulated_call


async def test_an_inbound_call_is_answered_as_receptionist_and_becomes_a_lead(bridge: Bridge, seeded: Seeded) -> None:
    caller_said = (
        "Hi, this is Bob Stone. My kitchen sink is clogged and leaking under the cabinet. "
        "I'm at 14 Oak Street, 46032. Could someone come on Friday?"
    )
    bridge.fake.use(
        receptionist_script("Thank you for calling Smith and Sons Plumbing, an AI assistant here.", caller_said)
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
    # Measured like an outbound call: one turn (the caller's 1.2 s), its latency, the usage-priced AI cost.
    with Session(get_engine()) as session:
        metrics = session.get(CallMetrics, call_id)
        assert metrics is not None and metrics.turns == 1 and metrics.turn_latency_p50_ms is not None
        # The caller's 1.2 s of speech, as the bridge heard its start and end (later on a busy machine).
        assert 1200 - 40 <= metrics.caller_talk_ms <= 1200 + 600 and metrics.ai_cost_from_usage


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
    simulated_call: Seeded,
) -> None:
    seeded = simulated_call
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
