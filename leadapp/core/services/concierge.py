"""LeadApp concierge calls: a callback the consumer asks for before any business accepted their request.

Before a business accepts, nobody but LeadApp stands behind the request, so the callback is LeadApp's own call
(`Call.business_id` is None, type `consumer_callback`): the AI assistant speaks for LeadApp, goes over the
request, completes what is missing (need, urgency, budget, timing, address and ZIP) and records it. After a
business accepted, a callback is that business's call instead (`portal.request_callback` decides, and the
portal says which one it will be before the consumer confirms).

Guarantees:
- When the call's record is closed, what the consumer confirmed is written onto the lead: the job's ZIP
  (a real US ZIP), the urgency (our vocabulary), the budget (parsed to dollars), next to the recorded
  qualification; each change is audited (`lead.concierge_update`, before and after).
- Then the lead is matched again (`pipeline.rematch_lead`, as an RQ job enqueued after the commit): new
  businesses only, each notified once; a request that needed more detail is offered to businesses now that
  a person confirmed it. Nothing happens for a request that was withdrawn, accepted or deleted meanwhile,
  or when the consumer confirmed nothing.
"""

from __future__ import annotations

import zipcodes
from sqlmodel import Session

from leadapp.core.events import publish_after_commit, run_after_commit
from leadapp.core.models import Call, Lead, utcnow
from leadapp.core.observability import get_logger
from leadapp.core.services import audit, classify
from leadapp.core.tasks import PIPELINE, enqueue
from leadapp.core.vocab import CallDirection, CallType, LeadStatus, Urgency

log = get_logger(__name__)

REMATCH_JOB = "worker.jobs.rematch_after_concierge"
CLOSED = (LeadStatus.WITHDRAWN.value, LeadStatus.REJECTED.value, LeadStatus.DELETED.value)


def is_concierge(call: Call) -> bool:
    """A callback the consumer asked for before any business accepted: LeadApp's own call."""
    return (
        call.call_type == CallType.CONSUMER_CALLBACK.value
        and call.business_id is None
        and call.direction == CallDirection.OUTBOUND.value
    )


def _real_zip(value: str) -> str | None:
    digits = "".join(ch for ch in value if ch.isdigit())
    candidates = [value.strip()[:5]] if value.strip()[:5].isdigit() else []
    candidates += [digits[i : i + 5] for i in range(0, max(0, len(digits) - 4))]
    for candidate in candidates:
        try:
            if len(candidate) == 5 and zipcodes.is_real(candidate):
                return candidate
        except (TypeError, ValueError):
            continue
    return None


def _urgency(value: str) -> str | None:
    word = value.strip().lower()
    return word if word in Urgency._value2member_map_ else None


def lead_changes(lead: Lead, details: dict[str, str]) -> dict[str, object]:
    """The lead fields the confirmed details change ({field: new value}); pure."""
    changes: dict[str, object] = {}
    zip_said = details.get("zip") or ""
    zip_code = _real_zip(zip_said) if zip_said else None
    if zip_code is None and details.get("address_details"):
        zip_code = _real_zip(details["address_details"])
    if zip_code and zip_code != lead.location_zip:
        changes["location_zip"] = zip_code
    urgency = _urgency(details.get("urgency") or "")
    if urgency and urgency != lead.urgency:
        changes["urgency"] = urgency
    if details.get("budget"):
        low, high = classify.budget_range(details["budget"], lead.language)
        if (low, high) != (None, None) and (low, high) != (lead.budget_min, lead.budget_max):
            changes["budget_min"], changes["budget_max"] = low, high
    return changes


def complete_request(session: Session, call: Call) -> bool:
    """Write what the consumer confirmed on a concierge call onto its lead and, once this commits, have the lead
    matched again. False when there is nothing to do (not a concierge call, nothing confirmed, lead gone or
    closed). Idempotent: the same details change nothing the second time; the re-match creates nothing twice.
    """
    if not is_concierge(call) or call.lead_id is None or not call.qualification:
        return False
    lead = session.get(Lead, call.lead_id)
    if lead is None or lead.deleted_at is not None or lead.status in CLOSED:
        return False
    details = {str(k): str(v) for k, v in call.qualification.items() if v}
    changes = lead_changes(lead, details)
    if changes:
        before = {name: getattr(lead, name) for name in changes}
        for name, value in changes.items():
            setattr(lead, name, value)
        lead.qualification = {**(lead.qualification or {}), **details}
        lead.updated_at = utcnow()
        session.add(lead)
        audit.record(session, actor_id=None, action="lead.concierge_update", target=lead, before=before, after=changes)
        publish_after_commit(session, "lead", lead_id=lead.id, status=lead.status, consumer_id=lead.consumer_id)
    run_after_commit(session, enqueue_rematch, call.id, lead.id)
    log.info("concierge_details_written", call_id=call.id, lead_id=lead.id, fields=sorted(changes))
    return True


def enqueue_rematch(call_id: int, lead_id: int) -> bool:
    """Enqueue the re-match of the lead a concierge call completed (one job per call)."""
    return enqueue(PIPELINE, REMATCH_JOB, lead_id, job_id=f"concierge-rematch-{call_id}")
