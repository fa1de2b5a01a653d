"""The media-stream socket and the inbound-call webhook (routes stay thin: verify, then hand over).

- `WS /media`: Twilio's bidirectional Media Stream for a call. The upgrade must carry Twilio's
  `X-Twilio-Signature` of the PUBLIC wss url (VOICE_BRIDGE_PUBLIC_URL with https→wss, plus "/media",
  signed with no parameters); anything else is refused with HTTP 403 before OpenAI is dialled. That
  signature covers no call, so the socket is then served by one `CallSession`, which checks the call id and
  its media-stream token from `start.customParameters` (with the call's status, CallSid and one stream per
  call) before anything else happens.
- `POST /twilio/inbound`: the voice webhook of a business's own number. Signed like every webhook. For
  the business whose `inbound_number` is the `To` number, a call record is opened (direction and type
  inbound; the caller's number encrypted) and the answer is TwiML `<Connect><Stream>` to /media with the
  call id and its media-stream token as `<Parameter>`s (`telephony.stream_twiml`; the record:
  `inbound.open_inbound_call`). When that call ends, its qualification becomes the business's own lead (see
  `conversation.finish_call`). An unknown number gets a short spoken apology and a hang-up. A webhook retried by
  Twilio (same CallSid) reuses the same call.
- `POST /twilio/inbound/status`: the status callback of the business's number → `inbound.record_inbound_status`.
"""

from __future__ import annotations

import contextlib

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.routing import WebSocketRoute
from starlette.types import Receive, Scope, Send
from twilio.twiml.voice_response import VoiceResponse

from leadapp.core.observability import get_logger
from leadapp.core.providers import telephony
from leadapp.core.services.calls import price_cents
from leadapp.core.services.inbound import INBOUND_PATH, INBOUND_STATUS_PATH, open_inbound_call, record_inbound_status
from leadapp.core.settings import get_settings
from voice_bridge import drain, loop_stats
from voice_bridge.session import CallSession
from voice_bridge.signatures import (
    SIGNATURE_HEADER,
    answer_signed_call,
    done,
    form_seconds,
    is_signed,
)

MEDIA_PATH = "/media"
NOT_IN_SERVICE = "Sorry, this number is not taking calls right now. Goodbye."

log = get_logger("voice_bridge.media")
router = APIRouter()


def public_media_url(public_base: str) -> str:
    """The wss url Twilio connects to and signs: the public base with https→wss (http→ws) plus /media."""
    base = public_base.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base.removeprefix("https://")
    elif base.startswith("http://"):
        base = "ws://" + base.removeprefix("http://")
    return base + MEDIA_PATH


class AsgiMediaSocket:
    """The media websocket's ASGI `receive`/`send` as the session's `MediaSocket` (a gone peer becomes "closed").

    The caller's audio crosses this socket 50 times a second per call, so it talks ASGI messages directly
    rather than through Starlette's `WebSocket` wrapper. uvicorn reports a vanished client as
    `ClientDisconnected` (an OSError) and a message after the close as RuntimeError.
    """

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self._closed = False

    async def receive(self) -> str | None:
        if self._closed:
            return None
        try:
            message = await self._receive()
        except (RuntimeError, OSError):
            self._closed = True
            return None
        text = message.get("text")
        if text is not None:
            return text
        if message["type"] != "websocket.receive":  # websocket.disconnect
            self._closed = True
            return None
        return (message.get("bytes") or b"").decode("utf-8", errors="replace")

    async def send(self, text: str) -> None:
        if self._closed:
            return
        if loop_stats.stats is not None:
            loop_stats.stats.wrote()
        try:
            await self._send({"type": "websocket.send", "text": text})
        except (RuntimeError, OSError):
            self._closed = True

    async def close(self, code: int = 1000) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(RuntimeError, OSError):
            await self._send({"type": "websocket.close", "code": code})


class MediaStreamEndpoint:
    """`WS /media`, Twilio's Media Stream: verify the upgrade's signature, then serve the call (plain ASGI)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        settings = get_settings()
        signature = Headers(scope=scope).get(SIGNATURE_HEADER, "")
        if not is_signed(settings.twilio_auth_token, public_media_url(settings.voice_bridge_public_url), {}, signature):
            log.warning("media_stream_rejected", reason="invalid signature" if signature else "missing signature")
            await send({"type": "websocket.close", "code": 1008})  # before accept: the upgrade is answered HTTP 403
            return
        if not drain.stream_opened():  # this bridge is stopping: Twilio's next attempt goes to another one
            log.warning("media_stream_refused", reason="draining")
            await send({"type": "websocket.close", "code": 1013})  # before accept: HTTP 403
            return
        try:
            await send({"type": "websocket.accept"})
            await CallSession(AsgiMediaSocket(receive, send)).run()
        finally:
            drain.stream_closed()


router.routes.append(WebSocketRoute(MEDIA_PATH, MediaStreamEndpoint()))


@router.post(INBOUND_PATH)
async def inbound_call(request: Request) -> Response:
    """A call to a business's number: connect it to the bridge as that business's AI receptionist."""
    return await answer_signed_call(request, log, "inbound_webhook_rejected", _connect_inbound)


async def _connect_inbound(form: dict[str, str], call_sid: str) -> Response:
    call_id = await run_in_threadpool(open_inbound_call, form.get("To", "")[:64], form.get("From", "")[:64], call_sid)
    if call_id is None:
        log.info("inbound_call_unknown_number", to=form.get("To", "")[:64])
        response = VoiceResponse()
        response.say(NOT_IN_SERVICE)
        response.hangup()
        return Response(response.to_xml(), media_type="application/xml")
    stream_url = public_media_url(get_settings().voice_bridge_public_url)
    return Response(telephony.stream_twiml(stream_url, call_id), media_type="application/xml")


@router.post(INBOUND_STATUS_PATH)
async def inbound_call_status(request: Request) -> Response:
    """Twilio's status callback for a call to a business's number (carrier minutes; calls never streamed end)."""
    return await answer_signed_call(request, log, "inbound_status_rejected", _record_inbound_status)


async def _record_inbound_status(form: dict[str, str], call_sid: str) -> Response:
    result = await run_in_threadpool(
        record_inbound_status,
        call_sid,
        form.get("CallStatus", ""),
        form_seconds(form, "CallDuration"),
        price_cents(form.get("Price"), form.get("PriceUnit")),
    )
    log.info("inbound_call_status", call_sid=call_sid, result=result)
    return done(result)
