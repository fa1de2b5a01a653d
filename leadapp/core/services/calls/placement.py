"""The `place_call` job: every rule checked again, then the call dialled once (compare-and-set)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlmodel import col

from leadapp.core import crypto
from leadapp.core.db import session_scope
from leadapp.core.events import run_after_commit
from leadapp.core.models import Call, Lead, utcnow
from leadapp.core.observability import get_logger, report_exception
from leadapp.core.providers import telephony
from leadapp.core.services import audit
from leadapp.core.services.calls.outcome import end_call
from leadapp.core.services.calls.request import enqueue_place_call
from leadapp.core.services.calls.rules import placement_refusal
from leadapp.core.services.calls.states import CANCELLABLE_STATUSES, _publish_call, _set_if
from leadapp.core.services.calls.window import _aware, _lead_zip, calling_window
from leadapp.core.settings import get_settings
from leadapp.core.vocab import CallOutcome, CallStatus

log = get_logger(__name__)

DIAL_NOW_SLACK = timedelta(seconds=60)
"""A scheduled call whose time is this close is dialled now rather than rescheduled."""


def bridge_urls(call_id: int) -> tuple[str, str, str, str]:
    """(media stream wss url, status callback url, AMD callback url, recording callback url) on the bridge's
    public address."""
    base = get_settings().voice_bridge_public_url.rstrip("/")
    if base.startswith("https://"):
        ws_base = "wss://" + base.removeprefix("https://")
    else:
        ws_base = "ws://" + base.removeprefix("http://")
    hooks = f"{base}/twilio/calls/{call_id}"
    return f"{ws_base}/media", f"{hooks}/status", f"{hooks}/amd", f"{hooks}/recording"


def place_call(call_id: int, now: datetime | None = None) -> str:
    """Dial one call if it may be dialled now; returns what happened.

    "dialled"; "rescheduled" (outside calling hours or before its time: scheduled for the next window);
    "refused" (a rule no longer holds: cancelled with the reason in `error`); "failed" (the provider refused:
    outcome error, retried once); "already_dialled" / "skipped:<status>" / "missing" (nothing to do).
    Safe to run twice: only the run that moves the row to `dialing` dials, and never when a provider call
    id is already recorded.
    """
    now = _aware(now or utcnow())
    with session_scope() as session:
        call = session.get(Call, call_id)
        if call is None:
            return "missing"
        if call.provider_call_sid:
            return "already_dialled"
        if call.status not in CANCELLABLE_STATUSES:
            return f"skipped:{call.status}"
        lead = session.get(Lead, call.lead_id) if call.lead_id else None
        refusal = placement_refusal(session, call, lead, now)
        if refusal:
            if _set_if(session, call_id, CANCELLABLE_STATUSES, status=CallStatus.CANCELED.value, error=refusal):
                audit.record(session, actor_id=None, action="call.refused", target=call, after={"reason": refusal})
                _publish_call(session, call)
            log.info("call_refused", call_id=call_id, reason=refusal)
            return "refused"
        due = max(_aware(call.scheduled_for), now) if call.scheduled_for else now
        is_open, start = calling_window(_lead_zip(lead), due)
        if not is_open or start > now + DIAL_NOW_SLACK:
            if _set_if(session, call_id, CANCELLABLE_STATUSES, status=CallStatus.SCHEDULED.value, scheduled_for=start):
                # A new job id: this very job (`call-<id>`) is still running and must not be overwritten.
                run_after_commit(
                    session, enqueue_place_call, call_id, start, f"call-{call_id}-{int(start.timestamp())}"
                )
                _publish_call(session, call)
            return "rescheduled"
        from_number = get_settings().twilio_from_number
        if not _set_if(
            session,
            call_id,
            CANCELLABLE_STATUSES,
            status=CallStatus.DIALING.value,
            started_at=now,
            from_number=from_number,
            provider=telephony.provider_name(),
        ):
            return "claimed_elsewhere"
        to_number = crypto.decrypt_phone(call.to_number_enc)
        _publish_call(session, call)
    stream_url, status_url, amd_url, recording_url = bridge_urls(call_id)
    try:
        if not to_number:
            raise telephony.TelephonyError("the stored number cannot be decrypted", permanent=True)
        sid = telephony.place_outbound_call(
            call_id, to_number, from_number, stream_url, status_url, amd_url, recording_url
        )
    except Exception as exc:
        report_exception(exc, where="place_call", call_id=call_id)
        end_call(call_id, CallStatus.FAILED.value, CallOutcome.ERROR.value, error=str(exc)[:1000])
        return "failed"
    with session_scope() as session:
        # A status callback may have recorded the sid first (it can arrive before this commit).
        session.execute(
            update(Call)
            .where(col(Call.id) == call_id, or_(col(Call.provider_call_sid).is_(None), Call.provider_call_sid == sid))
            .values(provider_call_sid=sid, updated_at=utcnow())
        )
    log.info("call_dialled", call_id=call_id, call_sid=sid)
    return "dialled"
