"""Twilio's call webhooks (routes stay thin: verify, parse, call one service).

- `POST /twilio/calls/{call_id}/status`: the status callback of an outbound call (initiated, ringing,
  in-progress, completed, busy, no-answer, canceled, failed) → `calls.record_provider_status`.
- `POST /twilio/calls/{call_id}/amd`: the asynchronous answering-machine verdict → `calls.record_answered_by`
  (a machine gets a short voicemail message, then the call is hung up).
- `POST /twilio/calls/{call_id}/recording`: the recording status callback (RecordingSid, RecordingStatus,
  RecordingDuration) → `calls.record_recording`. Recordings are played through the web app's signed,
  streaming links (`/api/v1/recordings/<token>`), never by sending the browser to Twilio.

Every Twilio webhook must carry Twilio's signature of the PUBLIC url (VOICE_BRIDGE_PUBLIC_URL + the path)
and its form fields; anything else is a 403 and changes nothing. Status and AMD callbacks answer 204
(Twilio ignores the body); 404 for a call id that does not exist.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from leadapp.core.observability import get_logger
from leadapp.core.services import calls
from voice_bridge.signatures import answer_signed_call, done, form_seconds, form_sid, invalid_field

STATUS_PATH = "/twilio/calls/{call_id}/status"
AMD_PATH = "/twilio/calls/{call_id}/amd"
RECORDING_PATH = "/twilio/calls/{call_id}/recording"

# A call id is a database integer (PostgreSQL's is 32-bit): anything else is a 422 before the database is asked.
CallId = Annotated[int, Path(ge=1, le=2**31 - 1)]

log = get_logger("voice_bridge.calls")
router = APIRouter()


Record = Callable[[int, dict[str, str], str], Awaitable[Response]]


async def _answer(request: Request, call_id: int, hook: str, record: Record) -> Response:
    """`record(call_id, form, call_sid)` for a signed webhook about one of our calls; the answer refusing it
    otherwise."""
    return await answer_signed_call(
        request, log, "call_webhook_rejected", partial(record, call_id), call_id=call_id, hook=hook
    )


@router.post(STATUS_PATH)
async def call_status(call_id: CallId, request: Request) -> Response:
    """Twilio's status callback for one of our calls."""
    return await _answer(request, call_id, "status", _record_status)


@router.post(AMD_PATH)
async def call_amd(call_id: CallId, request: Request) -> Response:
    """Twilio's asynchronous answering-machine-detection result for one of our calls."""
    return await _answer(request, call_id, "amd", _record_answered_by)


@router.post(RECORDING_PATH)
async def call_recording(call_id: CallId, request: Request) -> Response:
    """Twilio's recording status callback for one of our calls: the finished recording's SID."""
    return await _answer(request, call_id, "recording", _record_recording)


async def _record_status(call_id: int, form: dict[str, str], call_sid: str) -> Response:
    twilio_status = form.get("CallStatus", "")
    result = await run_in_threadpool(
        calls.record_provider_status,
        call_id,
        twilio_status,
        call_sid=call_sid,
        duration_seconds=form_seconds(form, "CallDuration"),
        carrier_cents=calls.price_cents(form.get("Price"), form.get("PriceUnit")),
    )
    log.info("call_status", call_id=call_id, twilio_status=twilio_status, result=result)
    return done(result)


async def _record_answered_by(call_id: int, form: dict[str, str], call_sid: str) -> Response:
    answered_by = form.get("AnsweredBy", "") or "unknown"
    result = await run_in_threadpool(calls.record_answered_by, call_id, answered_by, call_sid=call_sid)
    log.info("call_amd", call_id=call_id, answered_by=answered_by, result=result)
    return done(result)


async def _record_recording(call_id: int, form: dict[str, str], call_sid: str) -> Response:
    recording_sid = form_sid(form, "RecordingSid")
    if recording_sid is None:
        return invalid_field("RecordingSid")
    result = await run_in_threadpool(
        calls.record_recording,
        call_id,
        call_sid=call_sid,
        recording_sid=recording_sid,
        status=form.get("RecordingStatus", ""),
        duration_seconds=form_seconds(form, "RecordingDuration"),
    )
    log.info("call_recording", call_id=call_id, result=result)
    return done(result)
