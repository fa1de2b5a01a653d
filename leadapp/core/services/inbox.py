"""A business's lead inbox: its matches, paged and filtered in SQL, and the actions on them.

Every function takes the acting user and checks, through `access.business_match`, that the match belongs to a
business this user manages (or that the user is an admin); ids from a URL or a form are never trusted alone: to
a business owner, a missing match, another business's match and a request that is closed (withdrawn, rejected,
deleted) get the same refusal, so ids reveal nothing and a closed request cannot be accepted.

Guarantees:
- Before the business accepts, it sees the request's text with every contact detail hidden
  (`Lead.redacted_text`, made by `redaction.redact_contact`) — in the rows, the detail, the requirements and
  the search (which matches the hidden text only, so it is no oracle for a phone number or a street); the
  consumer's name, email and phone appear once it accepted (`access.business_sees_contact`).
- A request closed before the business took it leaves the inbox; one closed after it stays, marked closed,
  read-only and without the contact details.
- A human callback the consumer asked for on a call shows on the row and the detail until marked handled.
The inbox's date filter is in whole UTC days, like the stats page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, exists, func, or_, update
from sqlmodel import Session, col, select

from leadapp.core import crypto, labels, localtime
from leadapp.core.errors import NotAllowed, NotFound, UserError
from leadapp.core.events import publish_after_commit
from leadapp.core.models import Business, Call, Conversion, Lead, Match, User, utcnow
from leadapp.core.redaction import redact_contact, redact_values
from leadapp.core.services import access, audit, calls, reviews, webhooks
from leadapp.core.services import match as match_service
from leadapp.core.vocab import CATEGORY_LABELS, Category, Language, LeadStatus, MatchStatus, Role

PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
CONTACT_VISIBLE = tuple(sorted(access.TAKEN_MATCH_STATUSES))
NOT_YOUR_LEAD = access.NOT_YOUR_LEAD
"""The one refusal a business owner gets for a match id that is missing, another business's, or closed."""
CLOSED_LABELS = {
    LeadStatus.WITHDRAWN.value: "The consumer withdrew this request.",
    LeadStatus.REJECTED.value: "This request was rejected by LeadApp.",
    LeadStatus.DELETED.value: "The consumer deleted this request.",
}
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
    # Whole days of the business's own time zone (the form's "from" / "to"), turned into `since` / `until` by
    # `inbox` with that zone; `received_days` checks them.
    first_day: date | None = None
    last_day: date | None = None


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


def received_days(since: str, until: str) -> tuple[date | None, date | None]:
    """The inbox's date filter from the form's "from" and "to" days (YYYY-MM-DD, both included; either may be
    empty). A day that is not a date, is outside 2000-2100, or a "to" before "from" is a UserError on its field
    (`since` or `until`)."""
    first, last = _filter_day(since, "since"), _filter_day(until, "until")
    if first and last and last < first:
        raise UserError("The last day must be on or after the first day.", field="until")
    return first, last


def received_between(
    since: str, until: str, zone: ZoneInfo = localtime.UTC_ZONE
) -> tuple[datetime | None, datetime | None]:
    """`received_days` as `InboxFilters.since` / `until`: [since 00:00, the day after `until` 00:00) of `zone`."""
    return localtime.day_bounds(*received_days(since, until), zone)


def _managed_match(session: Session, user: User | None, match_id: int, *, act: bool) -> tuple[Match, Lead, Business]:
    """`access.business_match`: the match, its lead and business, or the one refusal."""
    return access.business_match(session, user, match_id, act=act)


def match_id_for_lead(session: Session, user: User | None, lead_id: int) -> int:
    """The id of the match that puts `lead_id` in the inbox of a business `user` owns (the lead's own address,
    `/dashboard/leads/<lead id>`), checked like every look at a match (`access.business_match`).

    A missing lead, another business's lead and a closed one all get the same NotAllowed(NOT_YOUR_LEAD): the
    address reveals nothing about leads that are not the user's.
    """
    access.require_area(user, access.Area.BUSINESS)
    assert user is not None
    match_id = session.exec(
        select(Match.id)
        .join(Business, col(Business.id) == col(Match.business_id))
        .where(col(Match.lead_id) == lead_id, col(Business.owner_id) == user.id)
        .order_by(col(Match.id))
    ).first()
    if match_id is None:
        raise NotAllowed(NOT_YOUR_LEAD)
    _managed_match(session, user, int(match_id), act=False)
    return int(match_id)


def _visible_text_sql() -> Any:
    """The request text a business may see (and search), per row: all of it once it took an open lead, the
    redacted text otherwise."""
    taken = and_(
        col(Match.status).in_(access.TAKEN_MATCH_STATUSES), col(Lead.status).not_in(access.CLOSED_LEAD_STATUSES)
    )
    return case((taken, col(Lead.raw_text)), else_=col(Lead.redacted_text))


def _callback_pending_sql() -> Any:
    """True when a call about the row's lead for the row's business asked for a person and nobody marked it
    handled yet."""
    return exists().where(
        col(Call.lead_id) == col(Match.lead_id),
        col(Call.business_id) == col(Match.business_id),
        col(Call.human_callback_requested).is_(True),
        col(Call.human_callback_handled_at).is_(None),
    )


def _text(match: Match, lead: Lead) -> str:
    if access.business_sees_contact(match, lead):
        return lead.raw_text
    return lead.redacted_text or redact_contact(lead.raw_text, lead.contact_email)


def _row(
    match: Match, lead: Lead, callback_pending: bool = False, zone: ZoneInfo = localtime.UTC_ZONE
) -> dict[str, str]:
    """One inbox row; times in `zone` (the business's), received as "3 min ago" with the exact time apart."""
    category = lead.category or ""
    received = localtime.when(match.created_at, zone, utcnow())
    label = CATEGORY_LABELS.get(Category(category), category) if category in Category._value2member_map_ else ""
    text = _text(match, lead)
    return {
        "match_id": str(match.id),
        "lead_id": str(lead.id),
        "created_at": received.ago,
        "created_exact": received.exact,
        "category": label,
        "urgency": lead.urgency or "",
        "urgency_label": labels.urgency(lead.urgency) if lead.urgency else "",
        # "Spanish (Español)" for a request in Spanish (its AI calls speak Spanish); "" for English.
        "language_label": labels.word("language", lead.language) if lead.language != Language.ENGLISH.value else "",
        "zip": lead.location_zip or lead.zip,
        "distance": f"{match.distance_miles:.1f} mi" if match.distance_miles is not None else "",
        "score": f"{match.score:.0f}",
        "status": match.status,
        "status_label": labels.match_status(match.status),
        "budget": _budget(lead),
        "snippet": text[:140] + ("…" if len(text) > 140 else ""),
        "called_you": "yes" if lead.business_id is not None and lead.business_id == match.business_id else "",
        # "withdrawn" / "rejected" when the request is closed (the row is then read-only), else "".
        "closed": lead.status if access.lead_is_closed(lead) else "",
        "closed_label": labels.lead_status(lead.status) if access.lead_is_closed(lead) else "",
        "callback": "yes" if callback_pending else "",
        "received_ago": received.ago,  # the phone's cards say only this
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
    conditions: list[Any] = [
        col(Match.business_id) == business_id,
        col(Lead.deleted_at).is_(None),
        # A request closed before this business took it leaves the inbox (`access.business_sees_match`).
        or_(
            col(Lead.status).not_in(access.CLOSED_LEAD_STATUSES),
            col(Match.status).in_(access.TAKEN_MATCH_STATUSES),
        ),
    ]
    if filters.status:
        conditions.append(col(Match.status) == filters.status)
    if filters.urgency:
        conditions.append(col(Lead.urgency) == filters.urgency)
    if filters.category:
        conditions.append(col(Lead.category) == filters.category)
    zone = localtime.business_zone(business)
    since, until = filters.since, filters.until
    if filters.first_day or filters.last_day:
        since, until = localtime.day_bounds(filters.first_day, filters.last_day, zone)
    if since:
        conditions.append(col(Match.created_at) >= since)
    if until:
        conditions.append(col(Match.created_at) < until)
    if filters.search.strip():
        pattern = f"%{filters.search.strip()[:100]}%"
        conditions.append(or_(_visible_text_sql().ilike(pattern), col(Lead.zip).ilike(pattern)))
    base = (
        select(Match, Lead, _callback_pending_sql().label("callback"))
        .join(Lead, col(Lead.id) == col(Match.lead_id))
        .where(*conditions)
    )
    total = session.exec(
        select(func.count()).select_from(Match).join(Lead, col(Lead.id) == col(Match.lead_id)).where(*conditions)
    ).one()
    rows = session.exec(
        base.order_by(col(Match.created_at).desc(), col(Match.id).desc())
        .offset((max(1, page) - 1) * page_size)
        .limit(page_size)
    ).all()
    return [_row(m, lead, bool(callback), zone) for m, lead, callback in rows], int(total)


def human_callbacks(session: Session, match: Match) -> list[Call]:
    """The calls about this match's lead, for its business, on which the consumer asked for a person and that
    nobody marked handled yet (oldest first)."""
    return list(
        session.exec(
            select(Call)
            .where(
                Call.lead_id == match.lead_id,
                Call.business_id == match.business_id,
                col(Call.human_callback_requested).is_(True),
                col(Call.human_callback_handled_at).is_(None),
            )
            .order_by(col(Call.id))
        ).all()
    )


def lead_detail(session: Session, user: User | None, match_id: int) -> dict[str, Any]:
    """Everything the business may see about one of its matches; marks it viewed the first time.

    Before it accepted (or once the request closed): the text with contact details hidden, no name, email or
    phone. A closed request is read-only: `closed` holds why, and no AI call is allowed.
    """
    match, lead, business = _managed_match(session, user, match_id, act=False)
    closed = access.lead_is_closed(lead)
    if match.viewed_at is None and user is not None and user.role != Role.ADMIN.value and not closed:
        match.viewed_at = utcnow()
        if match.status in (MatchStatus.NEW.value, MatchStatus.NOTIFIED.value):
            match.status = MatchStatus.VIEWED.value
        session.add(match)
    pending = human_callbacks(session, match)
    visible = access.business_sees_contact(match, lead)
    zone = localtime.business_zone(business)
    requirements = [str(r) for r in lead.key_requirements]
    reasons = [str(r) for r in match.reasons]
    detail: dict[str, Any] = {
        **_row(match, lead, bool(pending), zone),
        "text": _text(match, lead),
        "reasons": reasons if visible else redact_values(reasons, lead.contact_email),
        "requirements": ", ".join(requirements if visible else redact_values(requirements, lead.contact_email)),
        "sentiment": labels.word("sentiment", lead.sentiment),
        "quality": f"{lead.quality_score:.1f}" if lead.quality_score is not None else "",
        "consent": "yes" if lead.consent_ai_calls else "no",
        "preferred_contact": lead.preferred_contact,
        "preferred_contact_label": labels.word("contact_preference", lead.preferred_contact),
        "contact_visible": visible,
        "contact_name": "",
        "contact_email": "",
        "contact_phone": "",
        "closed_reason": CLOSED_LABELS.get(lead.status, "This request is closed.") if closed else "",
        "decline_message": match.decline_message,
        "business_name": business.name,
        "callback_since": localtime.exact(pending[0].ended_at, zone) if pending else "",
        "points": match_service.points_shown(match.points, match.score),
        "score_exact": f"{match.score:.1f}",
        "released_at": localtime.exact(lead.released_at, zone),
    }
    detail["can_release"] = (
        detail["called_you"] == "yes" and not lead.released_at and match.status not in CONTACT_VISIBLE and not closed
    )
    if closed:
        detail["call_allowed"], detail["call_reason"] = False, detail["closed_reason"]
    else:
        verdict = calls.eligibility(session, lead, business, match)
        detail["call_allowed"], detail["call_reason"] = verdict.allowed, verdict.reason
        detail["call_kinds"] = [
            {"value": k.value, "label": k.label} for k in calls.available_kinds(session, lead, business)
        ]
        detail["call_zone"] = calls.zone_label(lead)
    left = calls.quota_left(session, business)
    detail["calls_left"] = str(left)
    detail["calls_left_label"] = f"{labels.count(left, 'AI call')} left this month"
    if visible:
        detail["contact_name"] = lead.contact_name
        detail["contact_email"] = lead.contact_email
        detail["contact_phone"] = crypto.decrypt_phone(lead.contact_phone_enc)
    return detail


def calls_for_match(session: Session, user: User | None, match_id: int) -> list[dict[str, Any]]:
    """The AI calls about this match's lead placed for its business (`calls.calls_for_lead`), with the contact
    details said on them hidden from the summary and transcript while the business may not see the contact (a
    request closed after it was accepted)."""
    match, lead, business = _managed_match(session, user, match_id, act=False)
    zone = localtime.business_zone(business)
    views = calls.calls_for_lead(session, user, lead.id, business.id, zone)  # type: ignore[arg-type]
    if access.business_sees_contact(match, lead):
        return views
    known = (lead.contact_email,)
    for view in views:
        view["summary"] = redact_contact(view["summary"], *known)
        view["transcript"] = [{**line, "text": redact_contact(line["text"], *known)} for line in view["transcript"]]
    return views


def mark_callback_handled(session: Session, user: User | None, match_id: int) -> int:
    """Mark the consumer's request for a person (asked on an AI call about this lead) handled: every pending one
    of this business's calls about the lead, stamped now. Returns how many; 0 when none was pending (marking
    twice changes nothing). Audited, pushed live to the business's open dashboards. Refused like every look at
    a match that is not the business's; allowed on a closed request it had taken (its badge must be clearable).
    """
    match, lead, business = _managed_match(session, user, match_id, act=False)
    pending = [c.id for c in human_callbacks(session, match)]
    if not pending:
        return 0
    now = utcnow()
    # Compare-and-set: a second tab marking at the same moment stamps nothing twice.
    marked = session.execute(
        update(Call)
        .where(col(Call.id).in_(pending), col(Call.human_callback_handled_at).is_(None))
        .values(human_callback_handled_at=now, updated_at=now)
    ).rowcount  # type: ignore[attr-defined]
    if marked:
        audit.record(
            session,
            actor_id=user.id if user else None,
            action="call.human_callback_handled",
            target=match,
            after={"calls": pending, "lead_id": lead.id},
        )
        publish_after_commit(session, "match", business_id=business.id, match_id=match.id, lead_id=lead.id)
    return int(marked)


def respond(session: Session, user: User | None, match_id: int, accept: bool, message: str = "") -> Match:
    """Accept or decline a lead (once; a declined lead can still be accepted, an accepted one not declined).

    Accepting reveals the consumer's contact to this business, moves the lead to `accepted` and tells
    the consumer; the change is pushed live to every open dashboard of the business and to the consumer.
    The business's response rate and median response time are recomputed in the same transaction.
    """
    match, lead, business = _managed_match(session, user, match_id, act=True)
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
        webhooks.lead_status_changed(session, lead)
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


def job_value_cents(job_value_dollars: str, *, field: str = "job_value", what: str = "job value") -> int:
    """A value typed in dollars ("450", "$1,200", "99.95") in whole cents (half a cent rounds up).

    Anything else (empty, words, "inf", "nan") is a UserError on `field` (`job_value` by default; a quote's
    amount names its own field and says `what` it is), and so is a value outside $0 to $1,000,000.
    """
    text = str(job_value_dollars).replace(",", "").replace("$", "").strip()
    try:
        dollars = Decimal(text)
    except InvalidOperation:
        dollars = Decimal("NaN")
    if not dollars.is_finite():
        raise UserError(f"Enter the {what} in dollars, e.g. 450.", field=field)
    # Bounded before any arithmetic: multiplying or rounding "1e999999" would overflow Decimal.
    if not 0 <= dollars <= Decimal(MAX_JOB_VALUE_CENTS) / 100:
        raise UserError(f"Enter a {what} from $0 to $1,000,000.", field=field)
    return int((dollars * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def mark_converted(session: Session, user: User | None, match_id: int, job_value_dollars: str) -> Conversion:
    """Record that an accepted lead became a job, with its value in cents (see `job_value_cents`).

    Refused (UserError on `job_value`) until the business has accepted the lead; marking it again replaces
    the value. The match and the lead become `converted`, which the stats count from then on.
    """
    match, lead, business = _managed_match(session, user, match_id, act=True)
    if match.status not in CONTACT_VISIBLE:
        raise UserError("Accept the lead before marking it converted.", field="job_value")
    cents = job_value_cents(job_value_dollars)
    return record_conversion(session, match, lead, business, cents, actor_id=user.id if user else None)


def record_conversion(
    session: Session, match: Match, lead: Lead, business: Business, cents: int, *, actor_id: int | None
) -> Conversion:
    """The one home of a conversion, once the caller authorized it: the business marking its accepted lead
    converted (`mark_converted`), or the consumer accepting its quote (`quotes.accept_quote`).

    One conversion per match (again: its value is replaced); the match and the lead become `converted`, the
    partner's webhook records the change, it is audited and pushed live to the business and the consumer after
    the commit; the consumer is emailed the conversion's review link once (`reviews.invite_after_conversion`,
    sent after the commit). Does not commit.
    """
    existing = session.exec(select(Conversion).where(Conversion.match_id == match.id)).first()
    conversion = existing or Conversion(lead_id=lead.id, business_id=business.id, match_id=match.id)  # type: ignore[arg-type]
    conversion.job_value_cents, conversion.created_by_id = cents, actor_id
    match.status = MatchStatus.CONVERTED.value
    lead.status, lead.updated_at = LeadStatus.CONVERTED.value, utcnow()
    session.add_all([conversion, match, lead])
    webhooks.lead_status_changed(session, lead)
    audit.record(
        session,
        actor_id=actor_id,
        action="match.convert",
        target=match,
        after={"job_value_cents": cents},
    )
    reviews.invite_after_conversion(session, lead, business, conversion)
    publish_after_commit(
        session, "match", business_id=business.id, match_id=match.id, lead_id=lead.id, consumer_id=lead.consumer_id
    )
    return conversion
