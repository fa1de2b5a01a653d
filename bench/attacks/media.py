"""The media-stream websocket (`/media`): one captured upgrade signature (it covers the bare wss url, so every
stream carries the same one) must not open a call: the stream's `start` has to carry the call's own token, for a
call being placed or live, with its CallSid, and no other stream holding it. A refused stream is closed (1008)
before OpenAI is dialled."""

from __future__ import annotations

import asyncio
import json
import secrets

from twilio.request_validator import RequestValidator
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from bench.attacks import Outcome, Target, attack, breached, held

PUBLIC_WSS = "wss://voice.example.invalid/media"
REFUSED = 1008
SERVED_AFTER_SECONDS = 4.0
"""A stream still open this long after its `start` is being served (a refusal comes at once)."""


def _ws_url(t: Target) -> str:
    return t.bridge_url.replace("http://", "ws://") + "/media"


def captured_signature(t: Target) -> str:
    """The X-Twilio-Signature of any genuine media-stream upgrade (they are all the same)."""
    return RequestValidator(t.env["TWILIO_AUTH_TOKEN"]).compute_signature(PUBLIC_WSS, {})


def _start(call_id: object, token: str, call_sid: str) -> list[str]:
    stream_sid = "MZ" + secrets.token_hex(16)
    return [
        json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}),
        json.dumps(
            {
                "event": "start",
                "sequenceNumber": "1",
                "streamSid": stream_sid,
                "start": {
                    "streamSid": stream_sid,
                    "accountSid": "AC" + secrets.token_hex(16),
                    "callSid": call_sid,
                    "tracks": ["inbound"],
                    "customParameters": {"call_id": str(call_id), "token": token},
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                },
            }
        ),
    ]


async def _stream(t: Target, call_id: object, token: str, call_sid: str, hold: asyncio.Event | None = None) -> str:
    """ "refused:<code>" when the bridge closed the stream after `start`, "served" when it kept it open."""
    async with connect(_ws_url(t), additional_headers={"X-Twilio-Signature": captured_signature(t)}) as ws:
        for message in _start(call_id, token, call_sid):
            await ws.send(message)
        try:
            async with asyncio.timeout(SERVED_AFTER_SECONDS):
                while True:
                    await ws.recv()
        except ConnectionClosed:
            return f"refused:{ws.close_code}"
        except TimeoutError:
            if hold is not None:
                hold.set()
                await asyncio.sleep(SERVED_AFTER_SECONDS + 2)
            return "served"


def _judge(result: str, what: str) -> Outcome:
    if result == f"refused:{REFUSED}":
        return held(f"closed with {REFUSED} before OpenAI was dialled ({what})")
    return breached(f"{what}: {result}")


def media_token(call_id: int) -> str:
    from leadapp.core import crypto

    return crypto.media_stream_token(call_id)


@attack("media", "upgrade-without-signature")
def unsigned(t: Target) -> Outcome:
    async def go() -> str:
        try:
            async with connect(_ws_url(t)) as ws:
                await ws.send(_start(t.world["call_dialing"], "x", "CA")[1])
                await asyncio.wait_for(ws.recv(), 3)
                return "accepted"
        except InvalidStatus as exc:
            return f"http {exc.response.status_code}"
        except ConnectionClosed as exc:
            return f"closed {exc.rcvd.code if exc.rcvd else ''}"

    result = asyncio.run(go())
    return held(f"upgrade refused ({result})") if result.startswith("http 403") else breached(result)


@attack("media", "captured-signature-with-forged-token")
def forged_token(t: Target) -> Outcome:
    result = asyncio.run(_stream(t, t.world["call_dialing"], secrets.token_urlsafe(24), t.world["call_dialing_sid"]))
    return _judge(result, "a made-up token for a live call")


@attack("media", "token-of-a-completed-call")
def completed_call(t: Target) -> Outcome:
    call_id = t.world["call_completed"]
    result = asyncio.run(_stream(t, call_id, media_token(call_id), t.world["call_completed_sid"]))
    return _judge(result, "the genuine token of a completed call")


@attack("media", "token-with-made-up-callsid")
def wrong_call_sid(t: Target) -> Outcome:
    call_id = t.world["call_dialing"]
    result = asyncio.run(_stream(t, call_id, media_token(call_id), "CA" + secrets.token_hex(16)))
    return _judge(result, "a live call's token with another CallSid")


@attack("media", "token-of-one-call-for-another")
def token_swapped(t: Target) -> Outcome:
    result = asyncio.run(
        _stream(t, t.world["call_dialing"], media_token(t.world["call_completed"]), t.world["call_dialing_sid"])
    )
    return _judge(result, "the completed call's token presented for the live call")


@attack("media", "second-stream-on-a-live-call")
def second_stream(t: Target) -> Outcome:
    """Twilio's own stream holds the live call; a second one with the same (replayed) start is refused."""
    call_id, sid = t.world["call_dialing"], t.world["call_dialing_sid"]
    token = media_token(call_id)

    async def go() -> tuple[str, str]:
        holding = asyncio.Event()
        first = asyncio.create_task(_stream(t, call_id, token, sid, hold=holding))
        try:
            async with asyncio.timeout(SERVED_AFTER_SECONDS + 2):
                await holding.wait()
        except TimeoutError:
            return await first, "not tried"
        second = await _stream(t, call_id, token, sid)
        return await first, second

    first, second = asyncio.run(go())
    if second == "not tried":
        return held(f"the genuine stream itself was not served ({first}): nothing to race")
    return _judge(second, "a second stream while the first holds the call")
