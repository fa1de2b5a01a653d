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

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from leadapp.core.observability import get_logger
from leadapp.core.services import calls
from voice_bridge.signatures import rejected, signed_form

STATUS_PATH = "/twilio/calls/{call_id}/status"
AMD_PATH = "/twilio/calls/{call_id}/amd"
RECORDING_PATH = "/twilio/calls/{call_id}/recording"

log = get_logger("voice_bridge.calls")
router = APIRouter()


def _int_or_none(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _done(result: str) -> Response:
    if result == "unknown_call":
        return JSONResponse({"error": "no such call"}, status_code=404)
    return Response(status_code=204)


@router.post(STATUS_PATH)
async def call_status(call_id: int, request: Request) -> Response:
    """Twilio's status callback for one of our calls."""
    form = await signed_form(request)
    if form is None:
        log.warning("call_webhook_rejected", call_id=call_id, hook="status")
        return rejected()
    twilio_status = str(form.get("CallStatus", ""))
    result = await run_in_threadpool(
        calls.record_provider_status,
        call_id,
        twilio_status,
        call_sid=str(form.get("CallSid", "")),
        duration_seconds=_int_or_none(form.get("CallDuration")),
    )
    log.info("call_status", call_id=call_id, twilio_status=twilio_status, result=result)
    return _done(result)


@router.post(AMD_PATH)
async def call_amd(call_id: int, request: Request) -> Response:
    """Twilio's asynchronous answering-machine-detection result for one of our calls."""
    form = await signed_form(request)
    if form is None:
        log.warning("call_webhook_rejected", call_id=call_id, hook="amd")
        return rejected()
    answered_by = str(form.get("AnsweredBy", "")) or "unknown"
    result = await run_in_threadpool(
        calls.record_answered_by, call_id, answered_by, call_sid=str(form.get("CallSid", ""))
    )
    log.info("call_amd", call_id=call_id, answered_by=answered_by, result=result)
    return _done(result)


@router.post(RECORDING_PATH)
async def call_recording(call_id: int, request: Request) -> Response:
    """Twilio's recording status callback for one of our calls: the finished recording's SID."""
    form = await signed_form(request)
    if form is None:
        log.warning("call_webhook_rejected", call_id=call_id, hook="recording")
        return rejected()
    result = await run_in_threadpool(
        calls.record_recording,
        call_id,
        call_sid=str(form.get("CallSid", "")),
        recording_sid=str(form.get("RecordingSid", "")),
        status=str(form.get("RecordingStatus", "")),
        duration_seconds=_int_or_none(form.get("RecordingDuration")),
    )
    log.info("call_recording", call_id=call_id, result=result)
    return _done(result)
