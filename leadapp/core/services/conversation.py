"""A phone conversation's record, for the voice bridge: every database step of a call the bridge serves.

The bridge (`voice_bridge.session`) moves audio and events and calls these functions, each in a worker
thread and one at a time per call; each takes plain values (ids, words, fields) and owns its transaction.
Transcript lines go through `transcript` (batched); the rest of a call's life is in `calls`.

Guarantees:
- `load_call` lets a media stream hold its call only through `calls.claim_media_stream` (token, status,
  CallSid, one stream at a time); a refused stream gets the reason and nothing is written.
- Qualification, a human-callback request, a do-not-call request and the model's outcome are each
  committed on their own, with a "call" live event after the commit.
- `finish_call` keeps an outcome already recorded (end_call, a status callback); otherwise an AI failure
  makes it `error`, and `conversation_outcome` decides the rest for calls no status callback will end.
  It writes the summary (Claude when keyed, local otherwise), the AI costs and `ended_at`, turns an
  inbound call into its business's lead through `intake.submit` (the same door as every lead; once per
  call), and completes a concierge request (`concierge.complete_request`).
- `record_call_language`: a consumer who answers in the other language gives their lead that language (once,
  audited), so every follow-up speaks it.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC
from functools import partial
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from leadapp.core import crypto, languages
from leadapp.core.db import session_scope
from leadapp.core.errors import UserError
from leadapp.core.events import publish_after_commit
from leadapp.core.models import Business, Call, Lead, TranscriptLine, utcnow
from leadapp.core.observability import get_logger
from leadapp.core.providers import llm, telephony
from leadapp.core.services import audit, call_quality, call_summary, calls, concierge, intake, optouts
from leadapp.core.settings import get_settings
from leadapp.core.vocab import (
    REALTIME_VOICES,
    CallDirection,
    CallOutcome,
    CallStatus,
    ContactPreference,
    LeadSource,
    Speaker,
)

log = get_logger("core.conversation")

ANSWERABLE_STATUSES = (CallStatus.DIALING.value, CallStatus.RINGING.value)
DEFAULT_VOICE = "marin"  # LeadApp's own voice (a concierge call speaks for LeadApp, not for a business)
SIMULATED_PROVIDER = "simulated"


@dataclass
class CallContext:
    call_id: int
    business_id: int | None
    lead_id: int | None
    call_type: str
    direction: str
    business: Business | None
    """None for a LeadApp concierge call (a callback the consumer asked for before any business accepted)."""
    lead: Lead | None
    objective: str
    voice: str
    provider: str = ""
    language: str = "en"
    """The lead's language ("en", "es"); "" for an inbound call until the caller's first words tell."""


def load_call(raw_call_id: str, token: str, call_sid: str, stream_sid: str) -> CallContext | str:
    """Claim the call for this stream (`calls.claim_media_stream`: token, status, CallSid, one stream), then
    return it with its business (None for a LeadApp concierge call) and lead, marked in progress.

    A refused stream gets the reason instead, and nothing was written.
    """
    with session_scope() as session:
        claim = calls.claim_media_stream(session, raw_call_id, token, call_sid, stream_sid)
        if not claim.granted:
            return claim.refusal
        call = session.get(Call, claim.call_id)
        assert call is not None  # it was just claimed in this transaction
        business = session.get(Business, call.business_id) if call.business_id else None
        if call.business_id is not None and business is None:
            calls.release_media_stream(session, call.id, stream_sid)  # type: ignore[arg-type]
            return "the call's business no longer exists"
        lead = session.get(Lead, call.lead_id) if call.lead_id else None
        now = utcnow()
        if call.status in ANSWERABLE_STATUSES:  # never moves a call that a status callback already ended
            call.status = CallStatus.IN_PROGRESS.value
        call.started_at = call.started_at or now
        call.answered_at = call.answered_at or now
        call.updated_at = now
        publish_after_commit(session, "call", call_id=call.id, business_id=call.business_id)
        _publish_lead(session, call)
        session.flush()
        voice = business.voice if business is not None and business.voice in REALTIME_VOICES else DEFAULT_VOICE
        return CallContext(
            call_id=call.id,  # type: ignore[arg-type]
            business_id=call.business_id,
            lead_id=call.lead_id,
            call_type=call.call_type,
            direction=call.direction,
            business=business,
            lead=lead,
            objective=call.objective,
            voice=voice,
            provider=call.provider,
            language=call_language(call, lead),
        )


def call_language(call: Call, lead: Lead | None) -> str:
    """The language a call starts in: its lead's; an inbound call's is "" (told by the caller's first words)."""
    if call.direction == CallDirection.INBOUND.value and lead is None:
        return ""
    return languages.known(lead.language if lead is not None else None)


def start_inbound_recording(call_id: int, call_sid: str) -> None:
    """Record an inbound call from the start of its stream: its greeting tells the caller the call is recorded
    (an outbound call is recorded from the answer by `calls.create(record=True)`)."""
    try:
        telephony.start_recording(call_sid, calls.recording_callback_url(call_id))
    except telephony.TelephonyError as exc:  # the call goes on unrecorded rather than not at all
        log.error("inbound_recording_not_started", call_id=call_id, error=str(exc))


def release_stream(call_id: int, stream_sid: str) -> None:
    """The stream has ended: the call no longer holds it (`calls.release_media_stream`)."""
    with session_scope() as session:
        calls.release_media_stream(session, call_id, stream_sid)


def _publish_lead(session: Session, call: Call) -> None:
    """A consumer's portal follows its callbacks (a concierge call has no business dashboard to tell)."""
    if call.lead_id is not None:
        lead = session.get(Lead, call.lead_id)
        if lead is not None:
            publish_after_commit(session, "lead", lead_id=lead.id, status=lead.status, consumer_id=lead.consumer_id)


def merge_qualification(call_id: int, fields: dict[str, str]) -> None:
    """Merge recorded fields into the call's qualification and its lead's."""
    if not fields:
        return
    with session_scope() as session:
        call = session.get(Call, call_id)
        if call is None:
            return
        call.qualification = {**(call.qualification or {}), **fields}
        call.updated_at = utcnow()
        if call.lead_id:
            lead = session.get(Lead, call.lead_id)
            if lead is not None:
                lead.qualification = {**(lead.qualification or {}), **fields}
                lead.updated_at = utcnow()
        publish_after_commit(session, "call", call_id=call.id, business_id=call.business_id)


def record_call_language(call_id: int, language: str) -> bool:
    """The consumer answered the call in `language` ("en", "es"): their lead takes it, so the follow-ups
    (summary SMS and email, portal, later calls) speak it too. Once per change: a lead already in that language,
    an inbound call without a lead yet (`finish_call` gives its lead the language) or an unknown code change
    nothing. Audited as `lead.language` (before/after, the call). Returns whether the lead changed."""
    if language not in languages.CATALOGUES:
        return False
    with session_scope() as session:
        call = session.get(Call, call_id)
        lead = session.get(Lead, call.lead_id) if call is not None and call.lead_id else None
        if call is None or lead is None or lead.language == language:
            return False
        before = lead.language
        lead.language = language
        lead.updated_at = utcnow()
        audit.record(
            session,
            actor_id=None,
            action="lead.language",
            target=lead,
            before={"language": before},
            after={"language": language, "call_id": call_id},
        )
        publish_after_commit(session, "lead", lead_id=lead.id, status=lead.status, consumer_id=lead.consumer_id)
    log.info("lead_language_from_call", call_id=call_id, language=language, was=before)
    return True


def _set_call(call_id: int, **values: Any) -> None:
    """Set fields of the call (gone: nothing happens), and tell its open pages."""
    with session_scope() as session:
        call = session.get(Call, call_id)
        if call is not None:
            for name, value in values.items():
                setattr(call, name, value)
            call.updated_at = utcnow()
            publish_after_commit(session, "call", call_id=call.id, business_id=call.business_id)


def flag_human_callback(call_id: int) -> None:
    _set_call(call_id, human_callback_requested=True)


def record_do_not_call(call_id: int, caller_words: str) -> None:
    """The caller asked not to be called again: their number goes on the do-not-call list (with their words),
    and the call's outcome is `declined`."""
    with session_scope() as session:
        optouts.record_call_opt_out(session, call_id, caller_words)


def record_outcome(call_id: int, outcome: str) -> None:
    """The outcome the conversation reached (the model's end_call)."""
    _set_call(call_id, outcome=outcome)


def write_summary(
    qualification: dict[str, Any],
    outcome: str | None,
    human: bool,
    lines: list[dict[str, Any]],
    language: str = "en",
) -> str:
    """Claude's summary when ANTHROPIC_API_KEY is set, the local one otherwise (or when Claude fails); in the
    call's `language`."""
    local = partial(calls.local_summary, qualification, outcome, human, lines, language=language)
    if not lines:
        return local()
    facts = {**qualification, "outcome": outcome, "human_callback": human}
    summary, _ = llm.with_fallback(
        "call_summary", lambda: call_summary.claude_call_summary(lines, facts, language=language), local
    )
    return summary


_ZIP = re.compile(r"\b(\d{5})\b")


def conversation_outcome(qualification: dict[str, Any], human: bool, answered_by: str | None) -> str:
    """The outcome of a call that ended without the model's end_call (the caller hung up, say).

    A machine that answered (AMD) means voicemail. A recorded qualification or a human-callback request
    counts as reaching the goal (the business has something to act on); anything else as declined.
    """
    if (answered_by or "").startswith(("machine", "fax")):
        return CallOutcome.VOICEMAIL.value
    if human or any(qualification.values()):
        return CallOutcome.GOAL_ACHIEVED.value
    return CallOutcome.DECLINED.value


def _inbound_lead(
    call_id: int,
    caller_enc: str,
    qualification: dict[str, Any],
    business: Business,
    lines: list[dict[str, Any]],
    language: str = "en",
) -> int:
    """Turn an inbound call into a lead for its business through intake (the same door as every lead)."""
    phone = crypto.decrypt_phone(caller_enc) if caller_enc else ""
    zip_code = str(qualification.get("zip") or "")
    if not _ZIP.fullmatch(zip_code):
        found = _ZIP.search(str(qualification.get("address_details") or ""))
        zip_code = found.group(1) if found else business.zip  # the business's own area when the caller gave none
    said = " ".join(line["text"] for line in lines if line["speaker"] == Speaker.CALLER.value)
    details = "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in qualification.items() if v)
    text = f"Phone call to {business.name}. {details}. The caller said: {said}".strip()[: intake.MAX_TEXT_CHARS]
    submission = intake.Submission(
        text=text,
        zip=zip_code,
        phone=phone,
        name=str(qualification.get("caller_name") or ""),
        preferred_contact=ContactPreference.PHONE.value if phone else ContactPreference.EMAIL.value,
        source=LeadSource.PHONE.value,
        business_id=business.id,
        idempotency_key=f"inbound-call-{call_id}",
    )
    with session_scope() as session:
        accepted = intake.submit(session, submission)
    with session_scope() as session:
        lead = session.get(Lead, accepted.lead_id)
        if lead is not None and qualification:
            lead.qualification = {**(lead.qualification or {}), **qualification}
        if lead is not None:
            lead.language = languages.known(language)  # what the caller spoke, not what the call's note reads as
        stored = session.get(Call, call_id)
        if stored is not None:
            stored.lead_id = accepted.lead_id
    return accepted.lead_id


# Model costs recorded per call (cents): realtime audio per started minute, one summary request.
REALTIME_CENTS_PER_MINUTE = 18.0
SUMMARY_CENTS = 0.5


def record_ai_costs(call: Call, *, summarized_by_claude: bool, from_usage: bool = False) -> None:
    """The realtime cost (unless `from_usage`: already priced from the reported tokens) as started minutes
    (from answer, or start, to end) at the flat rate, and the summary's cost, added to the carrier cost."""
    began = call.answered_at or call.started_at
    seconds = call.duration_seconds
    if seconds is None and began is not None and call.ended_at is not None:
        start = began if began.tzinfo else began.replace(tzinfo=UTC)
        end = call.ended_at if call.ended_at.tzinfo else call.ended_at.replace(tzinfo=UTC)
        seconds = max(0, int((end - start).total_seconds()))
    minutes = -(-(seconds or 0) // 60)
    if not from_usage:
        call.cost_realtime_cents = round(minutes * REALTIME_CENTS_PER_MINUTE, 2)
    call.cost_summary_cents = SUMMARY_CENTS if summarized_by_claude else 0.0
    call.cost_total_cents = round(call.cost_carrier_cents + call.cost_realtime_cents + call.cost_summary_cents, 2)


def finish_call(
    call_id: int,
    ai_failure: str,
    *,
    decides_outcome: bool = False,
    quality: call_quality.CallQuality | None = None,
    language: str = "",
) -> str | None:
    """Close the call's record: outcome (when none yet), summary, ended_at, costs, the bridge's `quality`
    measurements (`call_quality.record_quality`, in the same transaction as the costs); an inbound call's lead.

    The outcome already recorded (the model's end_call, a status callback) is kept; otherwise an AI
    failure makes it `ai_failure`, and `conversation_outcome` decides the rest. The summary is in the call's
    `language` (the one the bridge spoke; "": its lead's, else English). Returns the outcome.
    """
    with session_scope() as session:
        call = session.get(Call, call_id)
        if call is None:
            return None
        business = session.get(Business, call.business_id) if call.business_id else None
        if not language:
            language = call_language(call, session.get(Lead, call.lead_id) if call.lead_id else None)
        language = languages.known(language)
        rows = session.exec(
            select(TranscriptLine).where(TranscriptLine.call_id == call_id).order_by(TranscriptLine.seq)
        ).all()
        lines = [{"speaker": r.speaker, "text": r.text, "heard_ms": r.heard_ms} for r in rows]
        qualification = dict(call.qualification or {})
        human = call.human_callback_requested
        inbound = call.direction == CallDirection.INBOUND.value
        # Twilio's status callback ends an outbound call (status, carrier cost, retry, notifications) and
        # decides its outcome when the conversation did not; inbound and simulated calls get none.
        no_status_callback = decides_outcome or inbound or call.provider == SIMULATED_PROVIDER
        if call.outcome is None and ai_failure:
            call.outcome = CallOutcome.AI_FAILURE.value
        elif call.outcome is None and no_status_callback:
            call.outcome = conversation_outcome(qualification, human, call.answered_by)
        if ai_failure and not call.error:
            call.error = ai_failure[:1000]
        now = utcnow()
        call.ended_at = call.ended_at or now
        if inbound and call.status == CallStatus.IN_PROGRESS.value:
            call.status = CallStatus.COMPLETED.value
        if call.duration_seconds is None and call.answered_at is not None:
            answered = call.answered_at if call.answered_at.tzinfo else call.answered_at.replace(tzinfo=UTC)
            call.duration_seconds = max(0, int((now - answered).total_seconds()))
        call.updated_at = now
        outcome = call.outcome
        inbound = inbound and call.lead_id is None
        caller_enc = call.to_number_enc
    summary = write_summary(qualification, outcome, human, lines, language)
    lead_error = ""
    if inbound and business is not None:
        try:
            _inbound_lead(call_id, caller_enc, qualification, business, lines, language)
        except UserError as exc:
            lead_error = f"no lead from this call: {exc}"
            log.warning("inbound_lead_refused", call_id=call_id, error=str(exc))
    with session_scope() as session:
        call = session.get(Call, call_id)
        if call is not None:
            call.summary = summary[:8000]
            metrics = call_quality.record_quality(session, call, quality) if quality is not None else None
            record_ai_costs(
                call,
                summarized_by_claude=bool(get_settings().anthropic_api_key and lines),
                from_usage=metrics is not None and metrics.ai_cost_from_usage,
            )
            if lead_error and not call.error:
                call.error = lead_error[:1000]
            call.updated_at = utcnow()
            publish_after_commit(session, "call", call_id=call.id, business_id=call.business_id)
            _publish_lead(session, call)
            if call.outcome != CallOutcome.DECLINED.value:  # a consumer who declined confirmed nothing
                concierge.complete_request(session, call)
    return outcome


# --- the simulated line (no phone account): what its scripts and its stream need -------------------


def call_parties(call_id: int) -> tuple[Call | None, Business | None, Lead | None]:
    """The call with its business (None for a concierge call) and its lead, read in one transaction and
    returned detached (to script a simulated call; nothing is written)."""
    with session_scope() as session:
        call = session.get(Call, call_id)
        business = session.get(Business, call.business_id) if call and call.business_id else None
        lead = session.get(Lead, call.lead_id) if call and call.lead_id else None
        return call, business, lead


def simulated_call_sid(call_id: int) -> str:
    """The simulated line's call SID, as `place_call` stored it (stored here when it was not: the media stream
    is checked against the stored SID like any other). Set at most once (compare-and-set on an empty SID)."""
    with session_scope() as session:
        call = session.get(Call, call_id)
        if call is not None and call.provider_call_sid:
            return call.provider_call_sid
        sid = telephony.SIMULATED_SID_PREFIX + secrets.token_hex(16)
        session.execute(
            update(Call)
            .where(col(Call.id) == call_id, col(Call.provider_call_sid).is_(None))
            .values(provider_call_sid=sid)
        )
    return sid
