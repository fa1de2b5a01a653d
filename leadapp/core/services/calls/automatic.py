"""The AI calls the worker schedules by itself when the platform rules say so (rules `auto_calls`).

- A visit confirmation (`confirm_appointment`) for each accepted quote whose visit is within the next
  `CONFIRM_LOOKAHEAD`: placed `CONFIRM_BEFORE` ahead of the visit (or at once when that is past), in the
  consumer's next calling window.
- A follow-up (`follow_up`) for each job marked converted `follow_up_days` ago (a day's grace for a worker that
  was down).

Each obeys every rule a call the owner asks for obeys (consent on file, verified number, do-not-call list,
quota, three a day, no other call about the lead in progress: `eligibility`), is audited as `call.auto`, and is
made once per (lead, business, kind) whatever how often this runs.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from leadapp.core.events import publish_after_commit
from leadapp.core.models import Business, Call, Conversion, Lead, Match, Quote, utcnow
from leadapp.core.observability import get_logger
from leadapp.core.services import access, audit
from leadapp.core.services.calls.kinds import default_objective
from leadapp.core.services.calls.request import new_outbound_call
from leadapp.core.services.calls.rules import eligibility
from leadapp.core.services.calls.window import _aware
from leadapp.core.services.rules import current_rules
from leadapp.core.vocab import CallType, QuoteStatus

log = get_logger(__name__)

CONFIRM_BEFORE = timedelta(hours=24)
CONFIRM_LOOKAHEAD = timedelta(hours=36)
FOLLOW_UP_GRACE = timedelta(days=1)
BATCH = 200


def schedule_automatic_calls(session: Session, now: datetime | None = None) -> int:
    """Schedule the confirmation and follow-up calls due now (per the rules in force); returns how many."""
    now = _aware(now or utcnow())
    settings = current_rules(session).get("auto_calls") or {}
    made = 0
    if settings.get("confirm_appointment"):
        visits = session.exec(
            select(Quote)
            .where(
                Quote.status == QuoteStatus.ACCEPTED.value,
                col(Quote.visit_at) > now,
                col(Quote.visit_at) <= now + CONFIRM_LOOKAHEAD,
            )
            .order_by(col(Quote.visit_at))
            .limit(BATCH)
        ).all()
        for quote in visits:
            assert quote.visit_at is not None
            when = max(now, _aware(quote.visit_at) - CONFIRM_BEFORE)
            made += _schedule(session, quote.lead_id, quote.business_id, CallType.CONFIRM_APPOINTMENT.value, when, now)
    if settings.get("follow_up"):
        due = now - timedelta(days=int(settings.get("follow_up_days") or 7))
        jobs = session.exec(
            select(Conversion)
            .where(col(Conversion.created_at) <= due, col(Conversion.created_at) > due - FOLLOW_UP_GRACE)
            .order_by(col(Conversion.id))
            .limit(BATCH)
        ).all()
        for job in jobs:
            made += _schedule(session, job.lead_id, job.business_id, CallType.FOLLOW_UP.value, None, now)
    return made


def _schedule(
    session: Session, lead_id: int, business_id: int, kind: str, when: datetime | None, now: datetime
) -> bool:
    """One automatic call of `kind` about the lead for the business, unless one was made already or a rule
    forbids it now (then logged, and tried again on the next run while it is still due)."""
    if session.exec(
        select(Call.id).where(Call.lead_id == lead_id, Call.business_id == business_id, Call.call_type == kind)
    ).first():
        return False
    lead, business = session.get(Lead, lead_id), session.get(Business, business_id)
    match = session.exec(select(Match).where(Match.lead_id == lead_id, Match.business_id == business_id)).first()
    if lead is None or business is None or match is None or access.lead_is_closed(lead) or not business.is_active:
        return False
    verdict = eligibility(session, lead, business, match, now)
    if not verdict.allowed:
        log.info("automatic_call_skipped", lead_id=lead_id, business_id=business_id, kind=kind, reason=verdict.reason)
        return False
    call = new_outbound_call(
        session,
        lead,
        business_id=business_id,
        requested_by_id=None,
        call_type=kind,
        objective=default_objective(session, lead, business, kind, now),
        when=when,
        now=now,
    )
    audit.record(
        session,
        actor_id=None,
        action="call.auto",
        target=call,
        after={"lead_id": lead_id, "call_type": kind, "status": call.status},
    )
    publish_after_commit(session, "match", business_id=business_id, match_id=match.id, lead_id=lead_id)
    log.info("automatic_call_scheduled", call_id=call.id, kind=kind, lead_id=lead_id, business_id=business_id)
    return True
