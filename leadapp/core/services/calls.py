"""Requesting AI calls: who may ask, and the rules every call obeys before anything is dialled.

A request is refused, with the reason, when the lead has no AI-call consent on file (or no phone), the
number is on the do-not-call list, the business's plan has used its monthly call quota, or three calls
were already made to that number today. Placing the call is the calls worker's job (issue 5).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from leadapp.core.errors import UserError
from leadapp.core.events import publish_after_commit
from leadapp.core.models import Business, Call, DoNotCall, Lead, Match, User, utcnow
from leadapp.core.services import access, audit
from leadapp.core.vocab import PLAN_CALL_QUOTA, CallStatus, CallType, MatchStatus, Plan

MAX_CALLS_PER_NUMBER_PER_DAY = 3
OPEN_STATUSES = (
    CallStatus.REQUESTED.value,
    CallStatus.SCHEDULED.value,
    CallStatus.DIALING.value,
    CallStatus.RINGING.value,
    CallStatus.IN_PROGRESS.value,
)


@dataclass(frozen=True)
class Eligibility:
    allowed: bool
    reason: str = ""


def calls_this_month(session: Session, business_id: int) -> int:
    now = utcnow()
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return int(
        session.exec(
            select(func.count())
            .select_from(Call)
            .where(
                Call.business_id == business_id,
                col(Call.created_at) >= month_start,
                col(Call.status) != CallStatus.CANCELED.value,
            )
        ).one()
    )


def quota_left(session: Session, business: Business) -> int:
    quota = PLAN_CALL_QUOTA.get(Plan(business.plan), 0) if business.plan in Plan._value2member_map_ else 0
    return max(0, quota - calls_this_month(session, business.id))  # type: ignore[arg-type]


def eligibility(session: Session, lead: Lead, business: Business, match: Match | None) -> Eligibility:
    """Whether an AI call about this lead may be requested now, and if not, why (shown on the button)."""
    if match is not None and match.status not in (MatchStatus.ACCEPTED.value, MatchStatus.CONVERTED.value):
        return Eligibility(False, "Accept the lead first.")
    if not lead.consent_ai_calls or lead.consent_at is None:
        return Eligibility(False, "The consumer did not consent to AI calls.")
    if not lead.contact_phone_hash:
        return Eligibility(False, "The consumer gave no phone number.")
    if session.exec(select(DoNotCall.id).where(DoNotCall.phone_hash == lead.contact_phone_hash)).first():
        return Eligibility(False, "This number is on the do-not-call list.")
    if quota_left(session, business) <= 0:
        quota = PLAN_CALL_QUOTA.get(Plan(business.plan), 0) if business.plan in Plan._value2member_map_ else 0
        if quota == 0:
            return Eligibility(False, "Your plan has no AI calls; upgrade to Starter or Pro.")
        return Eligibility(False, f"This month's {quota} AI calls are used.")
    since = utcnow() - timedelta(days=1)
    today = session.exec(
        select(func.count())
        .select_from(Call)
        .where(Call.to_number_hash == lead.contact_phone_hash, col(Call.created_at) >= since)
    ).one()
    if int(today) >= MAX_CALLS_PER_NUMBER_PER_DAY:
        return Eligibility(False, "Three calls were already made to this number today.")
    open_call = session.exec(
        select(Call.id).where(
            Call.lead_id == lead.id, Call.business_id == business.id, col(Call.status).in_(OPEN_STATUSES)
        )
    ).first()
    if open_call:
        return Eligibility(False, "A call about this lead is already requested.")
    return Eligibility(True)


def request_call(
    session: Session, user: User | None, match_id: int, objective: str = "", call_type: str = CallType.QUALIFY_LEAD
) -> Call:
    """Record an AI call request for one of the business's matches (the business's owner or an admin)."""
    match = session.get(Match, match_id)
    if match is None:
        raise UserError("No such lead.")
    business = session.get(Business, match.business_id)
    lead = session.get(Lead, match.lead_id)
    if business is None or lead is None or lead.deleted_at is not None:
        raise UserError("No such lead.")
    actor = access.require_business(user, business)
    verdict = eligibility(session, lead, business, match)
    if not verdict.allowed:
        raise UserError(verdict.reason, field="call")
    call = Call(
        lead_id=lead.id,
        business_id=business.id,
        requested_by_id=actor.id,
        call_type=CallType(call_type).value,
        objective=(objective or business.call_objective_notes or "Qualify the job").strip()[:2000],
        to_number_enc=lead.contact_phone_enc,
        to_number_hash=lead.contact_phone_hash,
        status=CallStatus.REQUESTED.value,
        consent_at=lead.consent_at,
        consent_lead_id=lead.id,
    )
    session.add(call)
    session.flush()
    audit.record(
        session,
        actor_id=actor.id,
        action="call.request",
        target=call,
        after={"lead_id": lead.id, "call_type": call.call_type},
    )
    publish_after_commit(
        session, "match", business_id=business.id, match_id=match.id, lead_id=lead.id, consumer_id=lead.consumer_id
    )
    return call
