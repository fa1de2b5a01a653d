# ruff: noqa: F811  (the bridge fixtures are imported by name, and tests take them as arguments of that name)
"""Attacks on the media-stream socket (issue 11, item 2), each written as the attack and run against the real bridge.

Twilio's signature on the websocket upgrade covers only `wss://…/media`, so one captured header opens the
socket for anyone, any number of times. What keeps a stream to its call is checked on `start`: the per-call
token LeadApp put in the call's TwiML (an HMAC over the call id and an expiry), a call that is dialling,
ringing or in progress, `start.callSid` equal to the SID stored for the call, and no other stream holding the
call. Whatever fails, the bridge closes the socket before OpenAI is dialled and writes nothing.

The token an attacker may hold is the one of their own call (it arrives in that call's TwiML); the tests get
tokens the way Twilio does, from the TwiML LeadApp builds (`telephony.stream_twiml`).
"""

from __future__ import annotations

import asyncio
import secrets

import pytest
from sqlmodel import Session

from leadapp.core.db import get_engine, session_scope
from leadapp.core.models import Call, TranscriptLine
from leadapp.core.providers import telephony
from tests.fakes.twilio_media import FakeTwilioMedia
from tests.fakes.twilio_voice import parse_stream
from tests.integration.bridge_harness import (  # noqa: F401  (fixtures)
    AUTH_TOKEN,
    PUBLIC_WSS,
    WAIT,
    Bridge,
    bridge,
    database,
    eventually,
    fake_openai,
    inbound_form,
    load_call,
    post_inbound,
    qualify_script,
    seed,
    transcript,
)
from tests.integration.conftest import redis_env  # noqa: F401  (fixture)
from tests.integration.programs import clear_settings_caches

ORIGINAL_SUMMARY = "Outcome: goal achieved. Need: leaking water heater."


def stream_parameters(call_id: int) -> dict[str, str]:
    """The `<Parameter>`s of the call's TwiML, as Twilio hands them back in `start.customParameters`."""
    return parse_stream(telephony.stream_twiml(PUBLIC_WSS, call_id)).parameters


async def attack(bridge: Bridge, parameters: dict[str, str], call_sid: str) -> FakeTwilioMedia:
    """Open the media socket with a genuine (captured) upgrade signature and send `start` with these values."""
    media = FakeTwilioMedia.signed(
        bridge.media_url, public_wss_url=PUBLIC_WSS, auth_token=AUTH_TOKEN, call_id=None, call_sid=call_sid
    )
    bridge.lines[call_sid] = media
    await media.connect()
    await media.start(parameters)
    return media


def snapshot(call_id: int) -> tuple:
    call = load_call(call_id)
    return (call.status, call.summary, call.outcome, call.ended_at, call.answered_at, call.qualification)


async def assert_refused(bridge: Bridge, media: FakeTwilioMedia, call_id: int, before: tuple) -> None:
    """The bridge closed the socket, never dialled OpenAI, and the call is exactly as it was."""
    await asyncio.wait_for(media.closed.wait(), WAIT)
    await asyncio.sleep(0.3)  # anything the bridge would still do after the close
    assert bridge.fake.handshakes == [] and bridge.fake.sessions == []
    assert media.messages("media") == []  # the assistant never spoke
    assert snapshot(call_id) == before
    assert load_call(call_id).media_stream_sid is None
    assert bridge.hangups == []  # and nobody's call was hung up through the provider on a forged CallSid


async def test_a_replayed_upgrade_with_another_calls_id_and_token_is_refused(bridge: Bridge) -> None:
    # The attacker's own call gave them a token and a signed upgrade.
    mine, victim = seed(), seed(inbound_number=None)
    stolen = stream_parameters(mine.call_id)
    before = snapshot(victim.call_id)
    media = await attack(bridge, {**stolen, "call_id": str(victim.call_id)}, victim.call_sid)
    await assert_refused(bridge, media, victim.call_id, before)
    assert transcript(victim.call_id) == []


async def test_a_forged_token_is_refused(bridge: Bridge) -> None:
    victim = seed()
    before = snapshot(victim.call_id)
    forged = {"call_id": str(victim.call_id), "token": f"9999999999.{secrets.token_urlsafe(32)}"}
    media = await attack(bridge, forged, victim.call_sid)
    await assert_refused(bridge, media, victim.call_id, before)


async def test_a_stream_without_a_token_is_refused(bridge: Bridge) -> None:
    victim = seed()
    before = snapshot(victim.call_id)
    media = await attack(bridge, {"call_id": str(victim.call_id)}, victim.call_sid)
    await assert_refused(bridge, media, victim.call_id, before)


async def test_an_expired_token_is_refused(bridge: Bridge, monkeypatch: pytest.MonkeyPatch) -> None:
    victim = seed()
    monkeypatch.setenv("MEDIA_STREAM_TOKEN_TTL_SECONDS", "-60")  # a token whose expiry has passed
    clear_settings_caches()
    old = stream_parameters(victim.call_id)
    monkeypatch.delenv("MEDIA_STREAM_TOKEN_TTL_SECONDS")
    clear_settings_caches()
    before = snapshot(victim.call_id)
    media = await attack(bridge, old, victim.call_sid)
    await assert_refused(bridge, media, victim.call_id, before)


async def test_a_completed_call_cannot_be_reopened_and_rewritten(bridge: Bridge) -> None:
    victim = seed(status="completed")
    with session_scope() as session:
        call = session.get(Call, victim.call_id)
        assert call is not None
        call.summary, call.outcome = ORIGINAL_SUMMARY, "goal_achieved"
        session.add(TranscriptLine(call_id=victim.call_id, seq=1, speaker="caller", item_id="i1", text="the original"))
    parameters = stream_parameters(victim.call_id)  # a token still within its lifetime
    before = snapshot(victim.call_id)
    media = await attack(bridge, parameters, victim.call_sid)
    await assert_refused(bridge, media, victim.call_id, before)
    assert [line.text for line in transcript(victim.call_id)] == ["the original"]
    assert load_call(victim.call_id).summary == ORIGINAL_SUMMARY


async def test_a_stream_with_another_call_sid_is_refused(bridge: Bridge) -> None:
    victim = seed()
    before = snapshot(victim.call_id)
    made_up = "CA" + secrets.token_hex(16)
    media = await attack(bridge, stream_parameters(victim.call_id), made_up)
    await assert_refused(bridge, media, victim.call_id, before)


async def test_a_second_simultaneous_stream_is_refused_and_the_first_goes_on(bridge: Bridge) -> None:
    victim = seed()
    bridge.fake.use(qualify_script())
    parameters = stream_parameters(victim.call_id)
    genuine = await attack(bridge, parameters, victim.call_sid)
    peer = await bridge.fake.wait_for_session()
    assert await genuine.wait_for(lambda: genuine.heard_ms() >= 200, WAIT)
    held_by = load_call(victim.call_id).media_stream_sid
    assert held_by == genuine.stream_sid

    second = FakeTwilioMedia.signed(
        bridge.media_url, public_wss_url=PUBLIC_WSS, auth_token=AUTH_TOKEN, call_id=None, call_sid=victim.call_sid
    )
    await second.connect()
    await second.start(parameters)
    await asyncio.wait_for(second.closed.wait(), WAIT)
    await asyncio.sleep(0.3)
    assert len(bridge.fake.sessions) == 1 and bridge.fake.session is peer  # OpenAI dialled once, for the genuine one
    assert second.messages("media") == []
    assert not genuine.closed.is_set() and load_call(victim.call_id).media_stream_sid == held_by

    await genuine.hang_up()
    await eventually(lambda: load_call(victim.call_id).summary, "the call's summary")
    # Released at the end: the call no longer holds a stream.
    await eventually(lambda: load_call(victim.call_id).media_stream_sid is None, "the stream released")


async def test_the_genuine_stream_of_the_twiml_is_served(bridge: Bridge) -> None:
    """The same checks let Twilio's own stream through (else the attacks above would prove nothing)."""
    call = seed()
    bridge.fake.use(qualify_script())
    media = await attack(bridge, stream_parameters(call.call_id), call.call_sid)
    await bridge.fake.wait_for_session()
    assert await media.wait_for(lambda: media.heard_ms() >= 200, WAIT)
    with Session(get_engine()) as session:
        assert session.get(Call, call.call_id).status == "in_progress"  # type: ignore[union-attr]
    await media.hang_up()


async def test_an_inbound_calls_stream_is_checked_the_same_way(bridge: Bridge) -> None:
    """The receptionist's calls go through the same claim: its TwiML's token, and Twilio's CallSid for it."""
    seed()  # the business whose number is called
    form = inbound_form()
    answer = await post_inbound(bridge, form)
    parameters = parse_stream(answer.text).parameters
    call_id = int(parameters["call_id"])
    before = snapshot(call_id)
    media = await attack(bridge, parameters, "CA" + secrets.token_hex(16))  # the webhook's token, another CallSid
    await assert_refused(bridge, media, call_id, before)

    genuine = await attack(bridge, parameters, form["CallSid"])
    await bridge.fake.wait_for_session()
    assert load_call(call_id).media_stream_sid == genuine.stream_sid
    await genuine.hang_up()
