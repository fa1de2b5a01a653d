"""Inbound SMS webhook (`POST /twilio/sms`): STOP and START replies, honoured for every later SMS.

Guarantees:
- Nothing is accepted unsigned: the `X-Twilio-Signature` must match, computed with TWILIO_AUTH_TOKEN
  over the PUBLIC url (VOICE_BRIDGE_PUBLIC_URL + "/twilio/sms", the address configured at Twilio) and
  the form fields. Behind TLS termination the request URL this process sees differs, so it is never
  used. A missing or wrong signature, or no auth token configured, is a 403 and changes nothing.
- STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT (any case, surrounding spaces ignored) record an
  opt-out for the sender; START, UNSTOP, YES clear it. Any other text changes nothing.
- The answer is empty TwiML: Twilio sends its own compliance replies to these keywords.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from leadapp.core.db import session_scope
from leadapp.core.observability import get_logger
from leadapp.core.services import notify
from leadapp.core.settings import get_settings
from voice_bridge.signatures import SIGNATURE_HEADER, is_signed, public_url, rejected

SMS_PATH = "/twilio/sms"
STOP_WORDS: frozenset[str] = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS: frozenset[str] = frozenset({"START", "UNSTOP", "YES"})
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

OptAction = Literal["stop", "start"]

log = get_logger("voice_bridge.sms")
router = APIRouter()


def public_sms_url(public_base: str) -> str:
    """The URL Twilio signs: the bridge's public address plus the webhook path."""
    return public_url(SMS_PATH, public_base)


def opt_action(body: str) -> OptAction | None:
    """Return "stop" or "start" when the whole message is one of Twilio's opt-out / opt-in keywords."""
    word = (body or "").strip().upper()
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    return None


def apply_opt_action(action: OptAction, phone: str) -> None:
    """Record or clear the opt-out for `phone`, committed before returning."""
    with session_scope() as session:
        if action == "stop":
            notify.record_sms_opt_out(session, phone)
        else:
            notify.clear_sms_opt_out(session, phone)


@router.post(SMS_PATH)
async def inbound_sms(request: Request) -> Response:
    """Twilio's incoming-message webhook: verify the signature, apply STOP/START, answer empty TwiML."""
    settings = get_settings()
    form = await request.form()
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not is_signed(settings.twilio_auth_token, public_sms_url(settings.voice_bridge_public_url), form, signature):
        log.warning("sms_webhook_rejected", reason="invalid signature" if signature else "missing signature")
        return rejected()
    sender = str(form.get("From", "")).strip()
    action = opt_action(str(form.get("Body", "")))
    if action is not None and sender:
        await run_in_threadpool(apply_opt_action, action, sender)
        log.info("sms_opt_action", action=action, message_sid=str(form.get("MessageSid", "")))
    return Response(EMPTY_TWIML, media_type="application/xml")
