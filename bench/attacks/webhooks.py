"""The voice bridge's Twilio webhooks, unsigned or signed wrongly: a forged status callback would end a live call
(and bill it), a forged recording callback would attach someone else's recording, a forged SMS "STOP" would opt a
stranger out, a forged inbound call would open a call record on a business's line."""

from __future__ import annotations

import secrets

from twilio.request_validator import RequestValidator

from bench.attacks import Outcome, Target, attack, breached, held

PUBLIC = "https://voice.example.invalid"  # VOICE_BRIDGE_PUBLIC_URL of the stack (its default)


def _post(t: Target, path: str, form: dict[str, str], signature: str | None):
    assert t.bridge is not None
    headers = {"X-Twilio-Signature": signature} if signature is not None else {}
    return t.bridge.post(path, data=form, headers=headers)


def _call_status(t: Target) -> str:
    from sqlmodel import Session

    from leadapp.core import rls
    from leadapp.core.db import get_engine
    from leadapp.core.models import Call

    with rls.system_context("bench: read back what an attack changed"), Session(get_engine()) as s:
        call = s.get(Call, t.world["call_dialing"])
        return f"{call.status}/{call.outcome}" if call else "missing"


def _forged_status(t: Target, signature: str | None, path_call: int | None = None) -> Outcome:
    before = _call_status(t)
    call_id = path_call or t.world["call_dialing"]
    form = {"CallSid": t.world["call_dialing_sid"], "CallStatus": "completed", "CallDuration": "3600"}
    reply = _post(t, f"/twilio/calls/{call_id}/status", form, signature)
    after = _call_status(t)
    if reply.status_code == 403 and after == before:
        return held(f"403, the call stays {after}")
    return breached(f"answered {reply.status_code}; the call went {before} → {after}")


@attack("webhooks", "call-status-unsigned")
def status_unsigned(t: Target) -> Outcome:
    return _forged_status(t, None)


@attack("webhooks", "call-status-signed-with-a-guessed-token")
def status_wrong_token(t: Target) -> Outcome:
    call_id = t.world["call_dialing"]
    form = {"CallSid": t.world["call_dialing_sid"], "CallStatus": "completed", "CallDuration": "3600"}
    signature = RequestValidator(secrets.token_hex(16)).compute_signature(
        f"{PUBLIC}/twilio/calls/{call_id}/status", form
    )
    return _forged_status(t, signature)


@attack("webhooks", "call-status-signature-replayed-on-another-call")
def status_replayed(t: Target) -> Outcome:
    """A genuine signature captured from the completed call's callback, replayed against the live call."""
    token = t.env["TWILIO_AUTH_TOKEN"]
    form = {"CallSid": t.world["call_dialing_sid"], "CallStatus": "completed", "CallDuration": "3600"}
    captured = RequestValidator(token).compute_signature(
        f"{PUBLIC}/twilio/calls/{t.world['call_completed']}/status", form
    )
    return _forged_status(t, captured)


@attack("webhooks", "recording-callback-unsigned")
def recording_unsigned(t: Target) -> Outcome:
    form = {
        "CallSid": t.world["call_dialing_sid"],
        "RecordingSid": "RE" + secrets.token_hex(16),
        "RecordingStatus": "completed",
        "RecordingDuration": "30",
    }
    reply = _post(t, f"/twilio/calls/{t.world['call_dialing']}/recording", form, "bm90IGEgc2lnbmF0dXJl")
    if reply.status_code == 403:
        return held("403")
    return breached(f"answered {reply.status_code}")


@attack("webhooks", "sms-stop-for-a-stranger")
def sms_stop_unsigned(t: Target) -> Outcome:
    from sqlmodel import Session, select

    from leadapp.core import crypto, rls
    from leadapp.core.db import get_engine
    from leadapp.core.models import SmsOptOut

    victim = "+13175550188"
    reply = _post(t, "/twilio/sms", {"From": victim, "To": "+13175550100", "Body": "STOP"}, None)
    with rls.system_context("bench: read back what an attack changed"), Session(get_engine()) as s:
        opted = s.exec(select(SmsOptOut).where(SmsOptOut.phone_hash == crypto.phone_hash(victim))).first()
    if reply.status_code == 403 and opted is None:
        return held("403; no opt-out recorded")
    return breached(f"answered {reply.status_code}; opt-out recorded: {opted is not None}")


@attack("webhooks", "inbound-call-unsigned")
def inbound_unsigned(t: Target) -> Outcome:
    form = {"To": "+13175550100", "From": "+13175550199", "CallSid": "CA" + secrets.token_hex(16)}
    reply = _post(t, "/twilio/inbound", form, None)
    if reply.status_code == 403 and "<Stream" not in reply.text:
        return held("403, no stream TwiML")
    return breached(f"answered {reply.status_code}: {reply.text[:120]}")
