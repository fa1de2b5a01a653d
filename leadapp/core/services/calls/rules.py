"""The rules every call obeys: consent, the do-not-call list, the plan's quota, three calls a day to one
number; and who may act on a call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from leadapp.core import crypto, phones
from leadapp.core.errors import NotAllowed, NotFound
from leadapp.core.models import Business, Call, DoNotCall, Lead, Match, User, utcnow
from leadapp.core.services import access, daily_caps
from leadapp.core.services.calls.states import OPEN_STATUSES
from leadapp.core.services.calls.window import _aware
from leadapp.core.vocab import PLAN_CALL_QUOTA, CallDirection, CallStatus, CallType, LeadStatus, MatchStatus, Plan, Role

MAX_CALLS_PER_NUMBER_PER_DAY = 3
UNVERIFIED = "The consumer has not verified their phone number yet (with the code we text them)."


@dataclass(frozen=True)
class Eligibility:
    allowed: bool
    reason: str = ""


def _plan_quota(business: Business) -> int:
    return PLAN_CALL_QUOTA.get(Plan(business.plan), 0) if business.plan in Plan._value2member_map_ else 0


def calls_this_month(session: Session, business_id: int, *, exclude_call_id: int | None = None) -> int:
    """Calls counted against the plan this month: first attempts the business asked for, not cancelled."""
    now = utcnow()
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    query = (
        select(func.count())
        .select_from(Call)
        .where(
            Call.business_id == business_id,
            col(Call.created_at) >= month_start,
            col(Call.status) != CallStatus.CANCELED.value,
            col(Call.retry_of_id).is_(None),
            Call.direction == CallDirection.OUTBOUND.value,
            col(Call.call_type) != CallType.CONSUMER_CALLBACK.value,
        )
    )
    if exclude_call_id is not None:
        query = query.where(col(Call.id) != exclude_call_id)
    return int(session.exec(query).one())


def quota_left(session: Session, business: Business) -> int:
    return max(0, _plan_quota(business) - calls_this_month(session, business.id))  # type: ignore[arg-type]


def attempts_today(
    session: Session, phone_hash: str, now: datetime | None = None, *, exclude_call_id: int | None = None
) -> int:
    """Calls to this number (not cancelled) placed, or asked for, in the 24 hours before `now`."""
    since = _aware(now or utcnow()) - timedelta(days=1)
    query = (
        select(func.count())
        .select_from(Call)
        .where(
            Call.to_number_hash == phone_hash,
            col(Call.status) != CallStatus.CANCELED.value,
            func.coalesce(col(Call.started_at), col(Call.created_at)) >= since,
        )
    )
    if exclude_call_id is not None:
        query = query.where(col(Call.id) != exclude_call_id)
    # The cap is per number, whoever asked for the calls: counted over every tenant's calls (a count, nothing else).
    with access.as_system(session, "calls: the daily cap of calls to one number"):
        return int(session.exec(query).one())


def attempts_today_by_number(session: Session, phone_hashes: list[str], now: datetime | None = None) -> dict[str, int]:
    """`attempts_today` for several numbers in one query (numbers without calls are absent)."""
    if not phone_hashes:
        return {}
    since = _aware(now or utcnow()) - timedelta(days=1)
    query = (
        select(Call.to_number_hash, func.count())
        .where(
            col(Call.to_number_hash).in_(phone_hashes),
            col(Call.status) != CallStatus.CANCELED.value,
            func.coalesce(col(Call.started_at), col(Call.created_at)) >= since,
        )
        .group_by(col(Call.to_number_hash))
    )
    with access.as_system(session, "calls: the daily cap of calls to one number"):
        rows = session.exec(query).all()
    return {phone_hash: int(count) for phone_hash, count in rows}


def on_do_not_call_list(session: Session, phone_hash: str) -> bool:
    return session.exec(select(DoNotCall.id).where(DoNotCall.phone_hash == phone_hash)).first() is not None


def _quota_refusal(business: Business, used: int) -> str:
    quota = _plan_quota(business)
    if used < quota:
        return ""
    if quota == 0:
        return "Your plan has no AI calls; upgrade to Starter or Pro."
    return f"This month's {quota} AI calls are used."


def eligibility(
    session: Session, lead: Lead, business: Business, match: Match | None, now: datetime | None = None
) -> Eligibility:
    """Whether an AI call about this lead may be requested now, and if not, why (shown on the button)."""
    if match is not None and match.status not in (MatchStatus.ACCEPTED.value, MatchStatus.CONVERTED.value):
        return Eligibility(False, "Accept the lead first.")
    if not lead.consent_ai_calls or lead.consent_at is None:
        return Eligibility(False, "The consumer did not consent to AI calls.")
    if not lead.contact_phone_hash:
        return Eligibility(False, "The consumer gave no phone number.")
    if on_do_not_call_list(session, lead.contact_phone_hash):  # the strongest refusal, said first
        return Eligibility(False, "This number is on the do-not-call list.")
    if lead.phone_verified_at is None:
        return Eligibility(False, UNVERIFIED)
    refusal = _quota_refusal(business, calls_this_month(session, business.id))  # type: ignore[arg-type]
    refusal = refusal or daily_caps.calls_refusal(session, business.id, now=now)
    if refusal:
        return Eligibility(False, refusal)
    if attempts_today(session, lead.contact_phone_hash, now) >= MAX_CALLS_PER_NUMBER_PER_DAY:
        return Eligibility(False, "Three calls were already made to this number today.")
    open_call = session.exec(
        select(Call.id).where(
            Call.lead_id == lead.id, Call.business_id == business.id, col(Call.status).in_(OPEN_STATUSES)
        )
    ).first()
    if open_call:
        return Eligibility(False, "A call about this lead is already requested.")
    return Eligibility(True)


def placement_refusal(session: Session, call: Call, lead: Lead | None, now: datetime | None = None) -> str:
    """Why `call` must not be dialled now ("" when it may): every rule checked again at dialling time."""
    if lead is None or lead.deleted_at is not None:
        return "The request no longer exists."
    if lead.status in (LeadStatus.WITHDRAWN.value, LeadStatus.REJECTED.value, LeadStatus.DELETED.value):
        return "The request was withdrawn or closed."
    if not lead.consent_ai_calls or lead.consent_at is None:
        return "The consumer did not consent to AI calls."
    if not call.to_number_enc or not call.to_number_hash:
        return "There is no phone number to call."
    if on_do_not_call_list(session, call.to_number_hash):  # the strongest refusal, said first
        return "This number is on the do-not-call list."
    if lead.phone_verified_at is None or call.to_number_hash != lead.contact_phone_hash:
        return UNVERIFIED
    if not phones.is_supported(crypto.decrypt_phone(call.to_number_enc)):
        return phones.unsupported_message()
    if attempts_today(session, call.to_number_hash, now, exclude_call_id=call.id) >= MAX_CALLS_PER_NUMBER_PER_DAY:
        return "Three calls were already made to this number today."
    capped = daily_caps.calls_refusal(session, call.business_id, exclude_call_id=call.id, now=now)
    if capped:
        return capped
    counts_against_quota = (
        call.business_id is not None
        and call.retry_of_id is None
        and call.call_type != CallType.CONSUMER_CALLBACK.value
        and call.direction == CallDirection.OUTBOUND.value
    )
    if counts_against_quota:
        business = session.get(Business, call.business_id)
        if business is None:
            return "The business no longer exists."
        used = calls_this_month(session, call.business_id, exclude_call_id=call.id)  # type: ignore[arg-type]
        return _quota_refusal(business, used)
    return ""


def call_for(session: Session, user: User | None, call_id: int, *, view: bool) -> Call:
    """The call when `user` may view it (`view`) or act on it (`_may_act_on_call`); NotLoggedIn without a user
    (asked first: a visitor learns nothing of which calls exist), NotFound for no such call, NotAllowed for someone
    else's call."""
    if access.role_of(user) is None:
        raise access.NotLoggedIn("Log in to continue.")
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound("No such call.")
    if not _may_act_on_call(session, user, call, view=view):
        raise NotAllowed("This is not your call.")
    return call


def _may_act_on_call(session: Session, user: User | None, call: Call, *, view: bool) -> bool:
    """Admins; the owner of the call's business; the lead's consumer (for viewing, or their own callbacks)."""
    role = access.role_of(user)
    if role is None or user is None:
        return False
    if role == Role.ADMIN:
        return True
    if role == Role.BUSINESS_OWNER and call.business_id is not None:
        return access.can_manage_business(user, session.get(Business, call.business_id))
    if role == Role.CONSUMER and call.lead_id is not None:
        lead = session.get(Lead, call.lead_id)
        if lead is None or lead.deleted_at is not None or not access.is_lead_owner(user, lead):
            return False
        return view or call.call_type == CallType.CONSUMER_CALLBACK.value
    return False
