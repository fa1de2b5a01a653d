"""Moderation: the admins' view of every lead and business, and the spam/flag queue.

Guarantees:
- admins only: anyone else, anonymous included, gets NotLoggedIn / NotAllowed before anything is read;
- deleted leads (`deleted_at`) are never listed; every list is paged in SQL (at most `MAX_PAGE_SIZE`);
- every action is in the audit trail with actor and before/after, and lead statuses change by
  compare-and-set, so an action racing the pipeline (or another admin) is refused, never half-applied;
- `flag` holds a lead back for review (status `flagged`); a lead a business already accepted, or one
  that is closed, cannot be flagged;
- `unflag` approves a flagged or `low_quality` lead and RE-RUNS MATCHING: the lead goes back to
  `classified` (or `received` if it was never classified), the change is COMMITTED and the pipeline job
  (`worker.jobs.process_lead`, via `intake.enqueue_pipeline`) is enqueued, so matching and notifying
  run in the worker as for any new lead. If Redis is down the lead still waits in `classified` and the
  stuck-lead sweeper enqueues it within minutes;
- `reject` closes a lead for good (status `rejected`): the pipeline never moves a rejected lead on,
  and anything not yet delivered is stopped (open matches expire, unsent notifications are held back,
  calls not yet dialled are cancelled), so it is never sent anywhere again;
- a deactivated business is never matched (`match.candidate_businesses` keeps active ones only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from leadapp.core import labels, localtime
from leadapp.core.errors import FieldErrors, NotFound, UserError
from leadapp.core.events import publish_after_commit
from leadapp.core.models import Business, Lead, Match, User, utcnow
from leadapp.core.services import access, audit, businesses, intake
from leadapp.core.services.admin_users import like_pattern
from leadapp.core.services.portal import stop_pending_work  # the same "stop what is not delivered yet" as withdraw
from leadapp.core.vocab import CATEGORY_LABELS, Category, LeadStatus

PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
MAX_REASON = 500
QUEUE_STATUSES = (LeadStatus.FLAGGED.value, LeadStatus.LOW_QUALITY.value)
FLAGGABLE = (
    LeadStatus.RECEIVED.value,
    LeadStatus.CLASSIFIED.value,
    LeadStatus.MATCHED.value,
    LeadStatus.NO_MATCH.value,
    LeadStatus.LOW_QUALITY.value,
)
REJECTABLE = (*FLAGGABLE, LeadStatus.FLAGGED.value)
REFUSALS = {
    LeadStatus.ACCEPTED.value: "A business already accepted this request.",
    LeadStatus.CONVERTED.value: "This request is done: a business took the job.",
    LeadStatus.WITHDRAWN.value: "The consumer withdrew this request.",
    LeadStatus.REJECTED.value: "This request is already rejected.",
    LeadStatus.DELETED.value: "This request was deleted.",
    LeadStatus.FLAGGED.value: "This request is already flagged.",
}
FLAGGED_CHOICES = ("", "yes", "no")


@dataclass(frozen=True)
class LeadFilters:
    """What the lead browser shows: "" / None means "any". `until` is inclusive (the whole day)."""

    status: str = ""
    category: str = ""
    flagged: str = ""  # "", "yes" or "no"
    since: date | None = None
    until: date | None = None
    search: str = ""


def _day(value: str, field: str) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError("Enter a date as YYYY-MM-DD.", field=field) from None


def lead_filters(
    *, status: str = "", category: str = "", flagged: str = "", since: str = "", until: str = "", search: str = ""
) -> LeadFilters:
    """Filters from a form's strings; UserError naming the field for an unknown value or a bad date."""
    if status and status not in LeadStatus._value2member_map_:
        raise UserError("Choose a known status.", field="status")
    if category and category not in Category._value2member_map_:
        raise UserError("Choose a known service.", field="category")
    if flagged not in FLAGGED_CHOICES:
        raise UserError("Choose yes, no or any.", field="flagged")
    start, end = _day(since, "since"), _day(until, "until")
    if start and end and end < start:
        raise UserError("The end date is before the start date.", field="until")
    return LeadFilters(status, category, flagged, start, end, search.strip()[:100])


def _page(page: int, page_size: int) -> tuple[int, int]:
    size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    return (max(1, int(page)) - 1) * size, size


def _category_label(category: str | None) -> str:
    if not category:
        return ""
    return CATEGORY_LABELS.get(Category(category), category) if category in Category._value2member_map_ else category


def _match_counts(session: Session, lead_ids: list[int]) -> dict[int, int]:
    if not lead_ids:
        return {}
    rows = session.exec(
        select(Match.lead_id, func.count()).where(col(Match.lead_id).in_(lead_ids)).group_by(col(Match.lead_id))
    ).all()
    return {int(lead_id): int(n) for lead_id, n in rows}


def _lead_row(lead: Lead, matches: int, zone: ZoneInfo = localtime.UTC_ZONE) -> dict[str, str]:
    """One lead as the admin lists show it; its time in the admin's `zone`, how long ago and exactly."""
    received = localtime.when(lead.created_at, zone, utcnow())
    return {
        "id": str(lead.id),
        "created_at": received.ago,
        "created_exact": received.exact,
        "category": _category_label(lead.category),
        "zip": lead.location_zip or lead.zip,
        "status": lead.status,
        "status_label": labels.lead_status(lead.status),
        "quality": f"{lead.quality_score:.1f}" if lead.quality_score is not None else "",
        "flagged": "yes" if lead.flagged else "",
        "flag_reason": lead.flag_reason,
        "spam": "yes" if lead.is_spam else "",
        "spam_reason": lead.spam_reason,
        "contact": lead.contact_name or lead.contact_email,
        "source": lead.source,
        "matches": str(matches),
        "snippet": lead.raw_text[:160] + ("…" if len(lead.raw_text) > 160 else ""),
    }


def _lead_page(
    session: Session, actor: User | None, conditions: list[Any], page: int, page_size: int
) -> tuple[list[dict[str, str]], int]:
    offset, size = _page(page, page_size)
    total = session.exec(select(func.count()).select_from(Lead).where(*conditions)).one()
    leads = session.exec(
        select(Lead)
        .where(*conditions)
        .order_by(col(Lead.created_at).desc(), col(Lead.id).desc())
        .offset(offset)
        .limit(size)
    ).all()
    counts = _match_counts(session, [lead.id for lead in leads if lead.id is not None])
    zone = localtime.viewer_zone(session, actor)
    return [_lead_row(lead, counts.get(lead.id or 0, 0), zone) for lead in leads], int(total)


def list_leads(
    session: Session, actor: User | None, filters: LeadFilters, page: int = 1, page_size: int = PAGE_SIZE
) -> tuple[list[dict[str, str]], int]:
    """One page of leads (newest first) and the total, filtered in SQL; deleted leads never appear.

    `search` matches part of the request text, the ZIP, the contact's name or email (ignoring case), or
    a lead id ("#12" or "12").
    """
    access.require_admin(actor)
    conditions: list[Any] = [col(Lead.deleted_at).is_(None)]
    if filters.status:
        conditions.append(col(Lead.status) == filters.status)
    if filters.category:
        conditions.append(col(Lead.category) == filters.category)
    if filters.flagged:
        conditions.append(col(Lead.flagged).is_(filters.flagged == "yes"))
    # Whole days of the admin's own zone (UTC unless they chose another).
    since, until = localtime.day_bounds(filters.since, filters.until, localtime.viewer_zone(session, actor))
    if since:
        conditions.append(col(Lead.created_at) >= since)
    if until:
        conditions.append(col(Lead.created_at) < until)
    text = filters.search.strip()[:100]
    if text:
        pattern = like_pattern(text.lower())
        matches: list[Any] = [
            func.lower(col(column)).like(pattern, escape="\\")
            for column in (Lead.raw_text, Lead.zip, Lead.contact_name, Lead.contact_email)
        ]
        if text.lstrip("#").isdigit() and len(text) < 12:
            matches.append(col(Lead.id) == int(text.lstrip("#")))
        conditions.append(or_(*matches))
    return _lead_page(session, actor, conditions, page, page_size)


def flag_queue(
    session: Session, actor: User | None, page: int = 1, page_size: int = PAGE_SIZE
) -> tuple[list[dict[str, str]], int]:
    """One page of the leads waiting for an admin's decision (flagged or low quality), with their reasons."""
    access.require_admin(actor)
    conditions: list[Any] = [col(Lead.deleted_at).is_(None), col(Lead.status).in_(QUEUE_STATUSES)]
    return _lead_page(session, actor, conditions, page, page_size)


def _lead(session: Session, lead_id: int) -> Lead:
    """The lead as the database has it now (row-locked on PostgreSQL), so "before" in the audit is exact."""
    lead = session.get(Lead, lead_id, populate_existing=True, with_for_update=True)
    if lead is None or lead.deleted_at is not None:
        raise NotFound("No such lead.")
    return lead


def _admin_and_lead(session: Session, actor: User | None, lead_id: int) -> tuple[User, Lead]:
    """The acting admin (NotAllowed for anyone else) and the lead, locked."""
    return access.require_admin(actor), _lead(session, lead_id)


def _reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise UserError("Give a reason (admins and the weekly audit read it).", field="reason")
    if len(reason) > MAX_REASON:
        raise UserError(f"Use at most {MAX_REASON} characters.", field="reason")
    return reason


def _snapshot(lead: Lead) -> dict[str, Any]:
    return {
        "status": lead.status,
        "flagged": lead.flagged,
        "flag_reason": lead.flag_reason,
        "is_spam": lead.is_spam,
        "spam_reason": lead.spam_reason,
    }


def _set_status(
    session: Session, lead: Lead, allowed: tuple[str, ...], refusal: str, *, explained: bool = True, **values: Any
) -> dict[str, Any]:
    """UPDATE the lead only while its status is one of `allowed`; UserError (with the reason: the status's own
    when `explained`) otherwise. Returns the lead's snapshot from before, for the audit."""
    if lead.status not in allowed:
        raise UserError(REFUSALS.get(lead.status, refusal) if explained else refusal, field="lead")
    before = _snapshot(lead)
    changed = session.execute(
        update(Lead)
        .where(col(Lead.id) == lead.id, col(Lead.status).in_(allowed), col(Lead.deleted_at).is_(None))
        .values(updated_at=utcnow(), **values)
    )
    session.refresh(lead)
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise UserError(REFUSALS.get(lead.status, refusal), field="lead")
    return before


def _publish(session: Session, lead: Lead) -> None:
    publish_after_commit(session, "lead", lead_id=lead.id, status=lead.status, consumer_id=lead.consumer_id)


def flag(session: Session, actor: User | None, lead_id: int, reason: str) -> Lead:
    """Hold a lead back for review: flagged with the admin's reason, status `flagged` (admins only; audited).

    Allowed while the lead is received, classified, matched, without match or of low quality; a lead
    already sent to businesses stays with them. Does not commit.
    """
    admin, lead = _admin_and_lead(session, actor, lead_id)
    before = _set_status(
        session,
        lead,
        FLAGGABLE,
        "This request cannot be flagged now.",
        status=LeadStatus.FLAGGED.value,
        flagged=True,
        flag_reason=_reason(reason),
    )
    audit.record(session, actor_id=admin.id, action="lead.flag", target=lead, before=before, after=_snapshot(lead))
    _publish(session, lead)
    return lead


def unflag(session: Session, actor: User | None, lead_id: int) -> Lead:
    """Approve a flagged or low-quality lead and re-run matching (admins only; audited).

    Clears the flag and the spam verdict, puts the lead back to `classified` (to `received` if it was
    never classified, so the pipeline classifies it first), COMMITS, then enqueues the pipeline job
    (see the module docstring). Returns the lead as committed.
    """
    admin, lead = _admin_and_lead(session, actor, lead_id)
    restart = LeadStatus.CLASSIFIED.value if lead.classified_at is not None else LeadStatus.RECEIVED.value
    before = _set_status(
        session,
        lead,
        QUEUE_STATUSES,
        "Only a flagged or low-quality request can be unflagged.",
        explained=False,
        status=restart,
        flagged=False,
        flag_reason="",
        is_spam=False,
        spam_reason="",
    )
    audit.record(
        session,
        actor_id=admin.id,
        action="lead.unflag",
        target=lead,
        before=before,
        after={**_snapshot(lead), "rematch": True},
    )
    _publish(session, lead)
    session.commit()
    intake.enqueue_pipeline(lead.id)  # type: ignore[arg-type]
    return lead


def reject(session: Session, actor: User | None, lead_id: int, reason: str) -> Lead:
    """Close a lead for good: status `rejected` with the reason; nothing of it is sent any more (admins only).

    Open matches expire, unsent notifications are held back and calls not yet dialled are cancelled.
    Refused once a business accepted it, or when it is already closed. Audited. Does not commit.
    """
    admin, lead = _admin_and_lead(session, actor, lead_id)
    before = _set_status(
        session,
        lead,
        REJECTABLE,
        "This request cannot be rejected now.",
        status=LeadStatus.REJECTED.value,
        flag_reason=_reason(reason),
    )
    businesses = stop_pending_work(session, [lead.id], "request rejected by an admin")  # type: ignore[list-item]
    audit.record(
        session,
        actor_id=admin.id,
        action="lead.reject",
        target=lead,
        before=before,
        after={**_snapshot(lead), "businesses_stopped": sorted(businesses)},
    )
    for business_id in sorted(businesses):
        publish_after_commit(session, "match", business_id=business_id, lead_id=lead.id)
    _publish(session, lead)
    return lead


# --- businesses -----------------------------------------------------------------------------------


def _business_row(business: Business, owner_email: str) -> dict[str, str]:
    return {
        "id": str(business.id),
        "name": business.name,
        "owner_email": owner_email,
        "categories": ", ".join(_category_label(c) for c in business.categories),
        "zip": business.zip,
        "city": business.city,
        "plan": business.plan,
        "rating": f"{business.rating:.1f}" if business.review_count else "",
        "review_count": str(business.review_count),
        "active": "yes" if business.is_active else "",
        "paused": "yes" if business.paused else "",
    }


def list_businesses(
    session: Session, actor: User | None, search: str = "", page: int = 1, page_size: int = PAGE_SIZE
) -> tuple[list[dict[str, str]], int]:
    """One page of businesses (by name) and the total; `search` matches the name, city, ZIP or owner's email."""
    access.require_admin(actor)
    offset, size = _page(page, page_size)
    conditions: list[Any] = []
    text = search.strip()[:100]
    if text:
        pattern = like_pattern(text.lower())
        conditions.append(
            or_(
                *[
                    func.lower(col(column)).like(pattern, escape="\\")
                    for column in (Business.name, Business.city, Business.zip, User.email)
                ]
            )
        )
    joined = select(Business, User.email).join(User, col(User.id) == col(Business.owner_id))
    total = session.exec(
        select(func.count()).select_from(Business).join(User, col(User.id) == col(Business.owner_id)).where(*conditions)
    ).one()
    rows = session.exec(
        joined.where(*conditions).order_by(func.lower(col(Business.name)), col(Business.id)).offset(offset).limit(size)
    ).all()
    return [_business_row(b, email) for b, email in rows], int(total)


def set_business_active(session: Session, actor: User | None, business_id: int, active: bool) -> Business:
    """Deactivate (never matched again) or reactivate a business (admins only); audited. Does not commit.

    Setting the state it already has changes nothing and records nothing.
    """
    admin = access.require_admin(actor)
    business = businesses.locked(session, business_id)
    action = "business.activate" if active else "business.deactivate"
    audit.apply_change(session, actor_id=admin.id, action=action, target=business, values={"is_active": active})
    session.flush()
    return business


RATING_STARS = (1.0, 5.0)
MAX_REVIEWS = 1_000_000


class RatingInvalid(FieldErrors):
    """The rating or the review count typed by an admin is wrong; `errors` names each field."""


def set_business_rating(session: Session, actor: User | None, business_id: int, rating: str, reviews: str) -> Business:
    """Set a business's rating and review count (admins only; owners never set their own); audited. Does not commit.

    Until verified reviews exist, this is where the matcher's rating factor comes from. `rating` is 1 to 5
    stars (one decimal kept) when `reviews` is at least 1; with 0 reviews the rating must be 0 (a rating
    nobody gave is not a rating). Raises RatingInvalid naming the bad field, writing nothing; setting the
    values the business already has changes and records nothing.
    """
    admin = access.require_admin(actor)
    errors: dict[str, str] = {}
    try:
        count = int((reviews or "").strip())
    except ValueError:
        count = -1
    if not 0 <= count <= MAX_REVIEWS:
        errors["review_count"] = f"Enter a whole number of reviews from 0 to {MAX_REVIEWS:,}."
    try:
        stars = float((rating or "").strip() or "0")
    except ValueError:
        stars = float("nan")
    stars_text = f"Enter a rating from {RATING_STARS[0]:g} to {RATING_STARS[1]:g} stars."
    if not (stars == 0 or RATING_STARS[0] <= stars <= RATING_STARS[1]):  # also refuses nan and inf
        errors["rating"] = stars_text
    elif count == 0 and stars != 0:
        errors["review_count"] = "A rating needs the number of reviews it comes from (or set the rating to 0)."
    elif count > 0 and stars == 0:
        errors["rating"] = stars_text
    if errors:
        raise RatingInvalid(errors)
    business = businesses.locked(session, business_id)
    values = {"rating": round(stars, 1), "review_count": count}
    audit.apply_change(session, actor_id=admin.id, action="business.rating", target=business, values=values)
    session.flush()
    return business
