"""A business's lead inbox: its matches, paged and filtered in SQL, and the actions on them.

Every function takes the acting user and checks, through `access`, that the match belongs to a business
this user manages (or that the user is an admin); ids from a URL or a form are never trusted alone: to a
business owner, a missing match and another business's match get the same refusal, so ids reveal nothing.
A consumer's email and phone are shown only once the business has accepted the lead.
The inbox's date filter is in whole UTC days, like the stats page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from leadapp.core import crypto
from leadapp.core.errors import NotAllowed, NotFound, UserError
from leadapp.core.events import publish_after_commit
from leadapp.core.models import Business, Conversion, Lead, Match, User, utcnow
from leadapp.core.services import access, audit, calls
from leadapp.core.services import match as match_service
from leadapp.core.vocab import CATEGORY_LABELS, Category, LeadStatus, MatchStatus, Role

PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
CONTACT_VISIBLE = (MatchStatus.ACCEPTED.value, MatchStatus.CONVERTED.value)
NOT_YOUR_LEAD = "This lead is not in your inbox."
"""The one refusal a business owner gets for a match id that is missing or another business's."""
MAX_JOB_VALUE_CENTS = 100_000_000
FIRST_FILTER_YEAR, LAST_FILTER_YEAR = 2000, 2100


@dataclass(frozen=True)
class InboxFilters:
    status: str = ""
    urgency: str = ""
    category: str = ""
    since: datetime | None = None
    until: datetime | None = None
    search: str = ""


def _filter_day(text: str, field: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise UserError("Enter a date as YYYY-MM-DD, e.g. 2026-01-31.", field=field) from None
    if not FIRST_FILTER_YEAR <= day.year <= LAST_FILTER_YEAR:
        raise UserError(f"Enter a date between {FIRST_FILTER_YEAR} and {LAST_FILTER_YEAR}.", field=field)
    return day


def received_between(since: str, until: str) -> tuple[datetime | None, datetime | None]:
    """The inbox's date filter from the form's "from" and "to" days (YYYY-MM-DD, both included, UTC; either
    may be empty) as `InboxFilters.since` / `until`: [since 00:00 UTC, the day after `until` 00:00 UTC).

    A day that is not a date, is outside 2000-2100, or a "to" before "from" is a UserError on its field
    (`since` or `until`).
    """
    first, last = _filter_day(since, "since"), _filter_day(until, "until")
    if first and last and last < first:
        raise UserError("The last day must be on or after the first day.", field="until")
    return (
        datetime.combine(first, time.min, UTC) if first else None,
        datetime.combine(last + timedelta(days=1), time.min, UTC) if last else None,
    )


def business_of(session: Session, user: User | None) -> Business | None:
    """The business a business owner manages (None when they have not created it yet)."""
    access.require_area(user, access.Area.BUSINESS)
    assert user is not None
    return session.exec(select(Business).where(Business.owner_id == user.id).order_by(col(Business.id))).first()


def _managed_match(session: Session, user: User | None, match_id: int) -> tuple[Match, Lead, Business]:
    """The match, its lead and business when `user` manages that business; NotLoggedIn / NotAllowed otherwise.

    To an owner, a missing match and another business's answer the same (NOT_YOUR_LEAD); a lead of their own
    that the consumer deleted, and anything missing asked for by an admin, is NotFound.
    """
    access.require_area(user, access.Area.BUSINESS)
    assert user is not None
    row = session.exec(
        select(Match, Lead, Business)
        .join(Lead, col(Lead.id) == col(Match.lead_id))
        .join(Business, col(Business.id) == col(Match.business_id))
        .where(col(Match.id) == match_id)
    ).first()
    if row is None or not access.can_manage_business(user, row[2]):
        if row is None and user.role == Role.ADMIN.value:
            raise NotFound("No such lead.")
        raise NotAllowed(NOT_YOUR_LEAD)
    match, lead, business = row
    if lead.deleted_at is not None:
        raise NotFound("No such lead.")
    return match, lead, business


def _row(match: Match, lead: Lead) -> dict[str, str]:
    category = lead.category or ""
    label = CATEGORY_LABELS.get(Category(category), category) if category in Category._value2member_map_ else ""
    return {
        "match_id": str(match.id),
        "lead_id": str(lead.id),
        "created_at": match.created_at.strftime("%Y-%m-%d %H:%M"),
        "category": label,
        "urgency": lead.urgency or "",
        "zip": lead.location_zip or lead.zip,
        "distance": f"{match.distance_miles:.1f} mi" if match.distance_miles is not None else "",
        "score": f"{match.score:.0f}",
        "status": match.status,
        "budget": _budget(lead),
        "snippet": lead.raw_text[:140] + ("…" if len(lead.raw_text) > 140 else ""),
        "called_you": "yes" if lead.business_id is not None and lead.business_id == match.business_id else "",
    }


def _budget(lead: Lead) -> str:
    if lead.budget_min and lead.budget_max and lead.budget_min != lead.budget_max:
        return f"${lead.budget_min:,}–${lead.budget_max:,}"
    amount = lead.budget_max or lead.budget_min
    return f"${amount:,}" if amount else ""


def inbox(
    session: Session,
    user: User | None,
    business_id: int,
    filters: InboxFilters,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> tuple[list[dict[str, str]], int]:
    """One page of the business's matched leads (newest first) and the total count, filtered in SQL."""
    business = session.get(Business, business_id)
    if business is None:
        raise NotFound("No such business.")
    access.require_business(user, business)
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    conditions: list[Any] = [col(Match.business_id) == business_id, col(Lead.deleted_at).is_(None)]
    if filters.status:
        conditions.append(col(Match.status) == filters.status)
    if filters.urgency:
        conditions.append(col(Lead.urgency) == filters.urgency)
    if filters.category:
        conditions.append(col(Lead.category) == filters.category)
    if filters.since:
        conditions.append(col(Match.created_at) >= filters.since)
    if filters.until:
        conditions.append(col(Match.created_at) < filters.until)
    if filters.search.strip():
        pattern = f"%{filters.search.strip()[:100]}%"
        conditions.append(or_(col(Lead.raw_text).ilike(pattern), col(Lead.zip).ilike(pattern)))
    base = select(Match, Lead).join(Lead, col(Lead.id) == col(Match.lead_id)).where(*conditions)
    total = session.exec(
        select(func.count()).select_from(Match).join(Lead, col(Lead.id) == col(Match.lead_id)).where(*conditions)
    ).one()
    rows = session.exec(
        base.order_by(col(Match.created_at).desc(), col(Match.id).desc())
        .offset((max(1, page) - 1) * page_size)
        .limit(page_size)
    ).all()
    return [_row(m, lead) for m, lead in rows], int(total)


def lead_detail(session: Session, user: User | None, match_id: int) -> dict[str, Any]:
    """Everything the business may see about one of its matches; marks it viewed the first time."""
    match, lead, business = _managed_match(session, user, match_id)
    if match.viewed_at is None and user is not None and user.role != Role.ADMIN.value:
        match.viewed_at = utcnow()
        if match.status in (MatchStatus.NEW.value, MatchStatus.NOTIFIED.value):
            match.status = MatchStatus.VIEWED.value
        session.add(match)
    detail: dict[str, Any] = {
        **_row(match, lead),
        "text": lead.raw_text,
        "reasons": list(match.reasons),
        "requirements": ", ".join(lead.key_requirements),
        "sentiment": lead.sentiment or "",
        "quality": f"{lead.quality_score:.1f}" if lead.quality_score is not None else "",
        "consent": "yes" if lead.consent_ai_calls else "no",
        "preferred_contact": lead.preferred_contact,
        "contact_visible": match.status in CONTACT_VISIBLE,
        "contact_name": "",
        "contact_email": "",
        "contact_phone": "",
        "decline_message": match.decline_message,
        "business_name": business.name,
        "points": match_service.points_shown(match.points, match.score),
        "score_exact": f"{match.score:.1f}",
        "released_at": lead.released_at.strftime("%Y-%m-%d %H:%M UTC") if lead.released_at else "",
    }
    detail["can_release"] = (
        detail["called_you"] == "yes" and not lead.released_at and match.status not in CONTACT_VISIBLE
    )
    verdict = calls.eligibility(session, lead, business, match)
    detail["call_allowed"], detail["call_reason"] = verdict.allowed, verdict.reason
    detail["calls_left"] = str(calls.quota_left(session, business))
    if detail["contact_visible"]:
        detail["contact_name"] = lead.contact_name
        detail["contact_email"] = lead.contact_email
        detail["contact_phone"] = crypto.decrypt_phone(lead.contact_phone_enc)
    return detail


def respond(session: Session, user: User | None, match_id: int, accept: bool, message: str = "") -> Match:
    """Accept or decline a lead (once; a declined lead can still be accepted, an accepted one not declined).

    Accepting reveals the consumer's contact to this business, moves the lead to `accepted` and tells
    the consumer; the change is pushed live to every open dashboard of the business and to the consumer.
    The business's response rate and median response time are recomputed in the same transaction.
    """
    match, lead, business = _managed_match(session, user, match_id)
    if match.status in CONTACT_VISIBLE and not accept:
        raise UserError("You already accepted this lead.")
    if match.status in CONTACT_VISIBLE and accept:
        return match
    before = {"status": match.status}
    now = utcnow()
    match.status = MatchStatus.ACCEPTED.value if accept else MatchStatus.DECLINED.value
    match.responded_at = match.responded_at or now
    match.decline_message = "" if accept else message.strip()[:1000]
    session.add(match)
    session.flush()
    # The business's response rate and median response time move with every answer, not only nightly.
    match_service.refresh_response_rate(session, business.id, now=now)  # type: ignore[arg-type]
    if accept and lead.status in (LeadStatus.MATCHED.value, LeadStatus.NO_MATCH.value):
        lead.status, lead.updated_at = LeadStatus.ACCEPTED.value, now
        session.add(lead)
    audit.record(
        session,
        actor_id=user.id if user else None,
        action="match.accept" if accept else "match.decline",
        target=match,
        before=before,
        after={"status": match.status},
    )
    publish_after_commit(
        session, "match", business_id=business.id, match_id=match.id, lead_id=lead.id, consumer_id=lead.consumer_id
    )
    return match


def job_value_cents(job_value_dollars: str) -> int:
    """A job value typed in dollars ("450", "$1,200", "99.95") in whole cents (half a cent rounds up).

    Anything else (empty, words, "inf", "nan") is a UserError on `job_value`, and so is a value outside
    $0 to $1,000,000.
    """
    text = str(job_value_dollars).replace(",", "").replace("$", "").strip()
    try:
        dollars = Decimal(text)
    except InvalidOperation:
        dollars = Decimal("NaN")
    if not dollars.is_finite():
        raise UserError("Enter the job value in dollars, e.g. 450.", field="job_value")
    # Bounded before any arithmetic: multiplying or rounding "1e999999" would overflow Decimal.
    if not 0 <= dollars <= Decimal(MAX_JOB_VALUE_CENTS) / 100:
        raise UserError("Enter a job value from $0 to $1,000,000.", field="job_value")
    return int((dollars * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def mark_converted(session: Session, user: User | None, match_id: int, job_value_dollars: str) -> Conversion:
    """Record that an accepted lead became a job, with its value in cents (see `job_value_cents`).

    Refused (UserError on `job_value`) until the business has accepted the lead; marking it again replaces
    the value. The match and the lead become `converted`, which the stats count from then on.
    """
    match, lead, business = _managed_match(session, user, match_id)
    if match.status not in CONTACT_VISIBLE:
        raise UserError("Accept the lead before marking it converted.", field="job_value")
    cents = job_value_cents(job_value_dollars)
    existing = session.exec(select(Conversion).where(Conversion.match_id == match.id)).first()
    conversion = existing or Conversion(lead_id=lead.id, business_id=business.id, match_id=match.id)  # type: ignore[arg-type]
    conversion.job_value_cents, conversion.created_by_id = cents, user.id if user else None
    match.status = MatchStatus.CONVERTED.value
    lead.status, lead.updated_at = LeadStatus.CONVERTED.value, utcnow()
    session.add_all([conversion, match, lead])
    audit.record(
        session,
        actor_id=user.id if user else None,
        action="match.convert",
        target=match,
        after={"job_value_cents": cents},
    )
    publish_after_commit(
        session, "match", business_id=business.id, match_id=match.id, lead_id=lead.id, consumer_id=lead.consumer_id
    )
    return conversion
