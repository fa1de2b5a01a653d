"""After the call: provider status callbacks, the answering-machine verdict, ending a call and its one retry."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from leadapp.core import languages
from leadapp.core.db import session_scope
from leadapp.core.events import run_after_commit
from leadapp.core.languages import english
from leadapp.core.models import Business, Call, Lead, TranscriptLine, utcnow
from leadapp.core.observability import get_logger
from leadapp.core.providers import telephony
from leadapp.core.services import audit
from leadapp.core.services.calls.notices import notify_call_ended
from leadapp.core.services.calls.pricing import enqueue_price_check
from leadapp.core.services.calls.request import add_call
from leadapp.core.services.calls.states import OPEN_STATUSES, TERMINAL_STATUSES, _publish_call, _set_if
from leadapp.core.services.calls.window import _aware, _lead_zip, calling_window
from leadapp.core.services.compose import category_label
from leadapp.core.vocab import CallOutcome, CallStatus, Speaker

log = get_logger(__name__)

RETRY_DELAY = timedelta(hours=2)
"""A no_answer or error call is tried again once, this much later (then within calling hours)."""
MAX_ATTEMPTS = 2
CARRIER_CENTS_PER_MINUTE = 1.4
"""Carrier price per started minute (Twilio US outbound voice, $0.014); meant to become a setting."""


VOICEMAIL_TEXT = english.VOICEMAIL_MESSAGE
MACHINE_ANSWERS = ("machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax")


# Twilio's CallStatus → ours. A call that ended without being answered is `completed` with outcome no_answer;
# our `canceled` means a person cancelled it before it was dialled.
TWILIO_STATUSES: dict[str, str] = {
    "queued": CallStatus.DIALING.value,
    "initiated": CallStatus.DIALING.value,
    "ringing": CallStatus.RINGING.value,
    "in-progress": CallStatus.IN_PROGRESS.value,
    "completed": CallStatus.COMPLETED.value,
    "busy": CallStatus.COMPLETED.value,
    "no-answer": CallStatus.COMPLETED.value,
    "canceled": CallStatus.COMPLETED.value,
    "failed": CallStatus.FAILED.value,
}
UNANSWERED_TWILIO_STATUSES = ("busy", "no-answer", "canceled")
_PROGRESS = {
    CallStatus.REQUESTED.value: 0,
    CallStatus.SCHEDULED.value: 0,
    CallStatus.DIALING.value: 1,
    CallStatus.RINGING.value: 2,
    CallStatus.IN_PROGRESS.value: 3,
}


def _minutes(seconds: int | None) -> int:
    return math.ceil(seconds / 60) if seconds else 0


def _talked(session: Session, call: Call) -> bool:
    """A person was on the line: AMD heard a human, or the bridge saved something the caller said."""
    if call.answered_by == "human":
        return True
    spoke = session.exec(
        select(TranscriptLine.id).where(TranscriptLine.call_id == call.id, TranscriptLine.speaker == Speaker.CALLER)
    ).first()
    return spoke is not None


def _ending_outcome(session: Session, call: Call, twilio_status: str) -> str:
    if twilio_status in UNANSWERED_TWILIO_STATUSES:
        return CallOutcome.NO_ANSWER.value
    if twilio_status == "failed":
        return CallOutcome.ERROR.value
    if call.answered_by in MACHINE_ANSWERS:
        return CallOutcome.VOICEMAIL.value
    return CallOutcome.GOAL_ACHIEVED.value if _talked(session, call) else CallOutcome.NO_ANSWER.value


def end_call(
    call_id: int,
    status: str,
    outcome: str,
    *,
    error: str = "",
    duration_seconds: int | None = None,
    recording_url: str = "",
    recording_seconds: int | None = None,
    carrier_cents: float | None = None,
    now: datetime | None = None,
) -> bool:
    """End a call that is not over yet: status, outcome (unless the conversation set one), duration, carrier
    cost (the provider's reported `carrier_cents` when given, else the per-minute estimate, and then a Twilio
    call's price is looked up once Twilio has it: `pricing`), recording; then its one retry and the
    notifications. False when it had already ended (nothing done).
    """
    now = _aware(now or utcnow())
    with session_scope() as session:
        reported = carrier_cents is not None
        carrier = (
            carrier_cents
            if carrier_cents is not None
            else round(_minutes(duration_seconds) * CARRIER_CENTS_PER_MINUTE, 4)
        )
        values: dict[str, Any] = {
            "status": status,
            "outcome": func.coalesce(col(Call.outcome), outcome),
            "ended_at": now,
            "cost_carrier_cents": carrier,
            "cost_carrier_reported": reported,
            "cost_total_cents": carrier + col(Call.cost_realtime_cents) + col(Call.cost_summary_cents),
        }
        if error:
            values["error"] = error[:1000]
        if duration_seconds is not None:
            values["duration_seconds"] = duration_seconds
        if recording_url:
            values["recording_ref"] = recording_url[:500]
            values["recording_seconds"] = recording_seconds
        if not _set_if(session, call_id, (*OPEN_STATUSES,), **values):
            return False
        call = session.get(Call, call_id)
        assert call is not None
        session.refresh(call)
        retry = schedule_retry(session, call, now)
        if not reported and call.provider == "twilio" and call.provider_call_sid:
            run_after_commit(session, enqueue_price_check, call_id)
        notify_call_ended(session, call, retry)
        audit.record(
            session,
            actor_id=None,
            action="call.end",
            target=call,
            after={"status": call.status, "outcome": call.outcome, "retry_call_id": retry.id if retry else None},
        )
        _publish_call(session, call)
    log.info("call_ended", call_id=call_id, status=status, outcome=call.outcome)
    return True


def schedule_retry(session: Session, call: Call, now: datetime | None = None) -> Call | None:
    """The one retry of a no_answer / error / ai_failure call: attempt 2, `RETRY_DELAY` later within calling
    hours, its job scheduled once this commits. None when no retry is due (other outcome, already a retry,
    request gone). Idempotent: an existing retry is returned.
    """
    retried = (CallOutcome.NO_ANSWER.value, CallOutcome.ERROR.value, CallOutcome.AI_FAILURE.value)
    if call.outcome not in retried or call.attempt >= MAX_ATTEMPTS:
        return None
    existing = session.exec(select(Call).where(Call.retry_of_id == call.id)).first()
    if existing is not None:
        return existing
    lead = session.get(Lead, call.lead_id) if call.lead_id else None
    if lead is None or lead.deleted_at is not None or not call.to_number_enc:
        return None
    _, start = calling_window(_lead_zip(lead), _aware(now or utcnow()) + RETRY_DELAY)
    retry = Call(
        lead_id=call.lead_id,
        business_id=call.business_id,
        requested_by_id=call.requested_by_id,
        call_type=call.call_type,
        direction=call.direction,
        objective=call.objective,
        to_number_enc=call.to_number_enc,
        to_number_hash=call.to_number_hash,
        status=CallStatus.SCHEDULED.value,
        scheduled_for=start,
        consent_at=call.consent_at,
        consent_lead_id=call.consent_lead_id,
        attempt=call.attempt + 1,
        retry_of_id=call.id,
    )
    return add_call(session, retry)


def record_provider_status(
    call_id: int,
    twilio_status: str,
    *,
    call_sid: str = "",
    duration_seconds: int | None = None,
    recording_url: str = "",
    recording_seconds: int | None = None,
    carrier_cents: float | None = None,
    now: datetime | None = None,
) -> str:
    """Apply one provider status callback (Twilio's CallStatus values); returns what it did. `carrier_cents` is
    the call's price when the callback carried one (`pricing.price_cents`).

    Statuses only move forward (a late "ringing" after "in-progress" changes nothing); the first terminal
    status ends the call (`end_call`), later ones change nothing. A callback for another call sid than the
    one recorded is ignored; one arriving before `place_call` stored the sid records it.
    """
    ours = TWILIO_STATUSES.get(twilio_status)
    now = _aware(now or utcnow())
    with session_scope() as session:
        call = session.get(Call, call_id)
        if call is None:
            return "unknown_call"
        if call_sid and call.provider_call_sid and call.provider_call_sid != call_sid:
            log.warning("call_status_for_other_sid", call_id=call_id, call_sid=call_sid)
            return "other_call_sid"
        if call_sid and not call.provider_call_sid:
            session.execute(
                update(Call)
                .where(col(Call.id) == call_id, col(Call.provider_call_sid).is_(None))
                .values(provider_call_sid=call_sid)
            )
        if ours is None:
            return "ignored"
        if call.status in TERMINAL_STATUSES:
            return "already_ended"
        if ours in _PROGRESS:
            behind = tuple(s for s, rank in _PROGRESS.items() if rank < _PROGRESS[ours])
            extra: dict[str, Any] = {"answered_at": now} if ours == CallStatus.IN_PROGRESS.value else {}
            if _set_if(session, call_id, behind, status=ours, **extra):
                _publish_call(session, call)
                return ours
            return "stale"
        outcome = _ending_outcome(session, call, twilio_status)
    ended = end_call(
        call_id,
        ours,
        outcome,
        error="" if twilio_status == "completed" else f"twilio: {twilio_status}",
        duration_seconds=duration_seconds,
        recording_url=recording_url,
        recording_seconds=recording_seconds,
        carrier_cents=carrier_cents,
        now=now,
    )
    return ours if ended else "already_ended"


def voicemail_message(session: Session, call: Call) -> str:
    """The short message left on an answering machine (no personal details: anyone may hear it)."""

    business = session.get(Business, call.business_id) if call.business_id else None
    lead = session.get(Lead, call.lead_id) if call.lead_id else None
    w = languages.phrases(lead.language if lead else None)
    category = lead.category if lead else None
    return w.VOICEMAIL_MESSAGE.format(
        business=business.name if business else "LeadApp",
        service=w.CATEGORIES.get(category or "", category_label(category).lower()),
    )


def voicemail_language(session: Session, call: Call) -> str:
    """The language Twilio's `<Say>` reads the voicemail message in (the lead's: "en-US", "es-MX")."""
    lead = session.get(Lead, call.lead_id) if call.lead_id else None
    return languages.phrases(lead.language if lead else None).SAY_LANGUAGE


def record_answered_by(call_id: int, answered_by: str, *, call_sid: str = "") -> str:
    """Apply the asynchronous answering-machine verdict; returns "voicemail", "human", "unknown" or why not.

    A machine or fax: outcome voicemail, then (after commit) a short message is played and the call hung up
    through the provider. A repeated verdict changes nothing and plays nothing.
    """
    machine = answered_by in MACHINE_ANSWERS
    with session_scope() as session:
        call = session.get(Call, call_id)
        if call is None:
            return "unknown_call"
        if call_sid and call.provider_call_sid and call.provider_call_sid != call_sid:
            return "other_call_sid"
        values: dict[str, Any] = {"answered_by": answered_by[:32], "updated_at": utcnow()}
        if machine:
            values["outcome"] = CallOutcome.VOICEMAIL.value
        changed = session.execute(
            update(Call).where(col(Call.id) == call_id, col(Call.answered_by).is_(None)).values(**values)
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            return "duplicate"
        sid = call.provider_call_sid or call_sid
        still_on = call.status not in TERMINAL_STATUSES
        message = voicemail_message(session, call) if machine else ""
        say_language = voicemail_language(session, call)
        _publish_call(session, call)
    if not machine:
        return "human" if answered_by == "human" else "unknown"
    if sid and still_on:
        try:
            telephony.play_voicemail_and_hangup(sid, message, language=say_language)
        except telephony.TelephonyError as exc:  # e.g. the call ended meanwhile
            log.warning("voicemail_not_played", call_id=call_id, error=str(exc))
    return "voicemail"
