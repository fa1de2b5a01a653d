"""Telling people about calls: the call summary messages, the simulated-call note, and the calls shown on
a lead."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from leadapp.core import labels, languages, localtime
from leadapp.core.events import run_after_commit
from leadapp.core.languages import english
from leadapp.core.models import Business, Call, CallMetrics, Lead, TranscriptLine, User, utcnow
from leadapp.core.providers import telephony
from leadapp.core.services import call_quality, compose, notify
from leadapp.core.services.calls.rules import _may_act_on_call
from leadapp.core.vocab import CallOutcome, CallType, Channel, NotificationKind, Speaker

OUTCOME_LABELS = labels.CALL_OUTCOME


SIMULATED_NOTE = english.SIMULATED_NOTE


def is_simulated(call: Call) -> bool:
    """A call on the local simulated line (no phone account): shown as a simulation wherever it appears."""
    return call.provider == telephony.PROVIDER_SIMULATED


def call_name(call: Call) -> str:
    """ "AI call", or "Simulated AI call" for a call on the simulated line."""
    return "Simulated AI call" if is_simulated(call) else "AI call"


def local_summary(
    qualification: dict[str, Any],
    outcome: str | None,
    human: bool,
    lines: list[dict[str, Any]] | None = None,
    *,
    language: str = "en",
) -> str:
    """A plain summary from the recorded qualification (no model needed): the summary the bridge writes when
    Claude is not keyed, and the one a call message shows when no summary was written; in `language`.

    `outcome` and `human` add their sentence when given; `lines` (the transcript, when at hand) adds how many
    lines were said and what the caller said last.
    """
    w = languages.phrases(language)
    shown = {**qualification}
    if shown.get("urgency") in w.URGENCY_LABELS:  # "Urgent", never the stored "high"
        shown["urgency"] = w.URGENCY_LABELS[shown["urgency"]]
    parts = [f"{label}: {shown[key]}" for key, label in w.SUMMARY_FIELDS.items() if shown.get(key)]
    text = ("; ".join(parts) + ".") if parts else w.NO_DETAILS
    if outcome:
        text = w.SUMMARY_OUTCOME.format(outcome=w.OUTCOME_LABELS.get(outcome, outcome)) + text
    if human:
        text += w.SUMMARY_HUMAN
    if lines is None:
        return text
    caller_lines = [line["text"] for line in lines if line["speaker"] == Speaker.CALLER.value and line["text"]]
    counted = w.LINE_ONE if len(lines) == 1 else w.LINES.format(n=f"{len(lines):,}")
    if caller_lines:
        return f"{text} {w.CALLER_LAST_SAID.format(counted=counted, text=caller_lines[-1][:200])}"
    return f"{text} {counted}."


SPOKE_OUTCOMES = (
    CallOutcome.GOAL_ACHIEVED.value,
    CallOutcome.DECLINED.value,
    CallOutcome.TRANSFERRED.value,
    CallOutcome.CALLBACK_BOOKED.value,
)
"""The outcomes of a call in which the consumer spoke with the assistant (they hear back about it)."""

SUMMARY_FIELDS = english.SUMMARY_FIELDS


CONCIERGE_DONE = english.CONCIERGE_DONE


def _summary_text(
    call: Call,
    retry: Call | None,
    link: str,
    next_step: str = "",
    zone: ZoneInfo = localtime.UTC_ZONE,
    language: str = "en",
) -> str:
    """The call summary message in `language`; a retry's time in the recipient's `zone` ("tomorrow 9:00 (your
    time)")."""
    w = languages.phrases(language)
    lines = [w.SIMULATED_NOTE, ""] if is_simulated(call) else []
    lines.append(w.MESSAGE_OUTCOME.format(outcome=w.OUTCOME_LABELS.get(call.outcome or "", call.outcome or "ended")))
    if call.duration_seconds:
        lines.append(w.MESSAGE_DURATION.format(minutes=call.duration_seconds // 60, seconds=call.duration_seconds % 60))
    summary = (call.summary or "").strip() or local_summary(call.qualification or {}, None, False, language=language)
    lines += ["", summary]
    if next_step:
        lines += ["", next_step]
    if call.human_callback_requested:
        lines += ["", w.MESSAGE_HUMAN]
    if retry is not None and retry.scheduled_for is not None:
        lines += ["", w.MESSAGE_RETRY.format(when=localtime.scheduled(retry.scheduled_for, utcnow(), zone, language))]
    if link:
        lines += ["", link]
    return "\n".join(lines)


def _summary_row(
    session: Session,
    call: Call,
    lead: Lead,
    audience: str,
    channel: str,
    recipient: str,
    *,
    subject: str,
    text: str,
    html: str,
    **owners: int | None,
) -> int:
    """One CALL_SUMMARY row for `audience` ("business" or "consumer") on one channel; its dedupe key makes it
    one per call, audience and channel. Returns its id."""
    row = notify.create_notification(
        session,
        kind=NotificationKind.CALL_SUMMARY.value,
        channel=channel,
        recipient=recipient,
        subject=subject,
        text=text,
        html=html,
        dedupe_key=f"call:{call.id}:summary:{audience}:{channel}",
        lead_id=lead.id,
        **owners,
    )
    return row.id  # type: ignore[return-value]


def notify_call_ended(session: Session, call: Call, retry: Call | None = None) -> list[int]:
    """CALL_SUMMARY notifications for a call that ended: the business (its chosen channels) and, for a
    callback, the consumer. Idempotent (one row per call, recipient and channel); sent after commit.
    Returns the notification ids.
    """

    lead = session.get(Lead, call.lead_id) if call.lead_id else None
    if lead is None or lead.deleted_at is not None:
        return []
    outcome = OUTCOME_LABELS.get(call.outcome or "", "Ended")
    service = compose.category_label(lead.category)
    ids: list[int] = []
    business = session.get(Business, call.business_id) if call.business_id else None
    if business is not None:
        link = compose.lead_link(lead)
        text = _summary_text(call, retry, link, zone=localtime.business_zone(business))
        for channel, recipient in notify.business_targets(session, business):
            sms = channel == Channel.SMS.value
            row_id = _summary_row(
                session,
                call,
                lead,
                "business",
                channel,
                recipient,
                subject="" if sms else f"{call_name(call)}: {outcome} · {service} lead #{lead.id}",
                text=compose.fit_sms(f"{call_name(call)} about your {service} lead: {outcome}.", link) if sms else text,
                html="" if sms else compose.html_from_text(text, link),
                business_id=business.id,
                user_id=business.owner_id,
            )
            ids.append(row_id)
    # The consumer hears back after a callback they asked for, and after any call where they spoke with the AI.
    spoke = call.outcome in SPOKE_OUTCOMES
    if call.call_type == CallType.CONSUMER_CALLBACK.value or spoke:
        link = compose.tracking_link(lead) if lead.consumer_id is None else compose.portal_link()
        completed = business is None and call.outcome == CallOutcome.GOAL_ACHIEVED.value  # LeadApp's concierge call
        # The consumer hears back in the language of their request (and of the call).
        w = languages.phrases(lead.language)
        simulated = w.SIMULATED_PREFIX if is_simulated(call) else ""
        said = w.OUTCOME_LABELS.get(call.outcome or "", call.outcome or "")
        about = w.CATEGORIES.get(lead.category or "", service.lower())
        next_step = w.CONCIERGE_DONE if completed else ""
        text = _summary_text(call, retry, link, next_step, localtime.lead_zone(lead), lead.language)
        for channel, recipient in notify.consumer_targets(lead):
            sms = channel == Channel.SMS.value
            row_id = _summary_row(
                session,
                call,
                lead,
                "consumer",
                channel,
                recipient,
                subject="" if sms else w.CONSUMER_SUBJECT.format(simulated=simulated, service=about, outcome=said),
                text=compose.fit_sms(w.CONSUMER_SMS.format(simulated=simulated, outcome=said), link) if sms else text,
                html="" if sms else compose.html_from_text(text, link),
                user_id=lead.consumer_id,
            )
            ids.append(row_id)
    if ids:
        run_after_commit(session, notify.enqueue_sends, list(ids))
    return ids


def calls_for_lead(
    session: Session, user: User | None, lead_id: int, business_id: int, zone: ZoneInfo | None = None
) -> list[dict[str, Any]]:
    """The calls about a lead placed for one business, newest first, each with its transcript lines so far.

    Only for someone who may view those calls (the business's owner, the lead's consumer, an admin).
    """
    rows = session.exec(
        select(Call)
        .where(Call.lead_id == lead_id, Call.business_id == business_id)
        .order_by(col(Call.created_at).desc())
        .limit(10)
    ).all()
    views: list[dict[str, Any]] = []
    for call in rows:
        if not _may_act_on_call(session, user, call, view=True):
            continue
        lines = session.exec(
            select(TranscriptLine).where(TranscriptLine.call_id == call.id).order_by(col(TranscriptLine.seq))
        ).all()
        views.append(
            {
                "id": str(call.id),
                "type": call.call_type,
                "type_label": labels.call_type(call.call_type),
                "status": call.status,
                "status_label": labels.call_status(call.status),
                "outcome": call.outcome or "",
                "outcome_label": labels.call_outcome(call.outcome),
                # "tomorrow 9:00 (your time)" in the viewer's zone (`zone`, the business's; UTC when not given).
                "scheduled_for": localtime.scheduled(call.scheduled_for, utcnow(), zone or localtime.UTC_ZONE),
                "summary": call.summary,
                "has_recording": "yes" if call.recording_ref else "",
                "simulated": "yes" if is_simulated(call) else "",
                "quality": call_quality.describe(call_quality.quality_facts(call, session.get(CallMetrics, call.id))),
                "transcript": [
                    {
                        "speaker": line.speaker,
                        "speaker_label": labels.word("speaker", line.speaker),
                        "text": line.text + (f" (heard up to {line.heard_ms} ms)" if line.heard_ms else ""),
                    }
                    for line in lines
                ],
            }
        )
    return views
