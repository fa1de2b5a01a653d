"""Verified reviews: the consumer of a converted job rates its business once, the business replies once, an admin
may hide one with a reason; matching reads the business's Bayesian rating of its visible reviews.

Guarantees:
- A review exists only for a conversion (a job the business marked converted, or a quote the consumer accepted:
  both through `inbox.record_conversion`, which emails the review link, `invite_after_conversion`). It is written
  by the holder of that conversion's signed link (`links.review_token`: forged, expired or another purpose's token
  is refused) or by the consumer account that made the request (`access.is_lead_owner`); anyone else, a business
  or an admin is refused with nothing stored.
- One review per conversion: the row's unique `conversion_id` makes the link single-use even against two
  submissions at the same moment (the loser is told the job is already reviewed).
- Bad input (no stars, stars outside 1-5, text over 2,000 characters) is a FieldErrors naming each field, in the
  request's language (`core.languages`), as is "already reviewed".
- Only the owner of the reviewed business replies, once (`access.require_business`; a second reply is refused).
- Only an admin hides a review, with a reason; the hide is audited and a hidden review is shown nowhere (not to the
  consumer's neighbours, not on the business's public page) and leaves the rating.
- After every review or hide, `refresh_business_rating` stores the visible reviews' count and sum of stars on the
  business, so the matcher's candidate query stays one query and applies the rules' prior itself (`rating`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from leadapp.core import crypto, languages, localtime
from leadapp.core.errors import FieldErrors, NotAllowed, UserError, written_text
from leadapp.core.events import publish_after_commit, run_after_commit
from leadapp.core.languages import english
from leadapp.core.links import REVIEW_PURPOSE
from leadapp.core.models import Business, Conversion, Lead, Match, Review, User, utcnow
from leadapp.core.models.reviews import REASON_MAX, TEXT_MAX
from leadapp.core.services import access, audit, notify, rules
from leadapp.core.services.reviews import notices
from leadapp.core.services.reviews.rating import rating_label, verified_rating
from leadapp.core.vocab import MatchStatus, Role

BAD_LINK = english.REVIEW_BAD_LINK
NOT_YOUR_JOB = english.NOT_YOUR_JOB  # the portal says it in the consumer's language
ALREADY_REVIEWED = english.ALREADY_REVIEWED
NOT_YOUR_REVIEW = "This review is not about your business."
FIELDS = ("stars", "text")


@dataclass(frozen=True)
class ReviewLink:
    """What the holder of an emailed review link presents: the token, checked on every call, and the language the
    page speaks until the token names the request (the link's `lang`, else the browser's): a bad link is refused
    in it."""

    token: str
    language: str = ""


Reviewer = User | ReviewLink | None


# --- the form -------------------------------------------------------------------------------------


def read_review(form: Mapping[str, Any], language: str | None = None) -> tuple[int, str]:
    """(stars, text) of a review form, or FieldErrors (in `language`, English by default): stars a whole number 1-5,
    text at most 2,000 characters."""
    w = languages.phrases(language)
    errors: dict[str, str] = {}
    raw = str(form.get("stars", "") or "").strip()[:10]
    stars = 0
    if not raw:
        errors["stars"] = w.STARS_MISSING
    else:
        try:
            stars = int(raw)
        except ValueError:
            stars = 0
        if not 1 <= stars <= 5:
            errors["stars"] = w.STARS_RANGE
    text = ""
    try:
        text = written_text(form.get("text"), "text", most=TEXT_MAX, too_long=w.TOO_LONG)
    except UserError as exc:
        errors["text"] = exc.message
    if errors:
        raise FieldErrors({name: errors[name] for name in FIELDS if name in errors})
    return stars, text


# --- who may review which job -----------------------------------------------------------------------


CLOCK_SLACK_SECONDS = 300
"""A token older than its conversion (beyond clock skew) was made for another row that had the same id."""


def _token_claims(token: str) -> tuple[int, int, int] | None:
    """(conversion id, lead id, issued-at) of a genuine, unexpired review token; None for anything else."""
    payload = crypto.unsign(REVIEW_PURPOSE, (token or "").strip()[:500])
    if payload is None:
        return None
    claims = payload.get("conversion"), payload.get("lead"), payload.get("iat")
    if not all(isinstance(c, int) and c > 0 for c in claims):
        return None
    return claims  # type: ignore[return-value]


def _job(session: Session, reviewer: Reviewer, conversion_id: int | None) -> tuple[Conversion, Lead, Business]:
    """The conversion, its lead and business when `reviewer` may review it; NotAllowed otherwise (one refusal for
    a missing job and someone else's)."""
    if isinstance(reviewer, ReviewLink):
        claims = _token_claims(reviewer.token)
        if claims is None:
            raise NotAllowed(languages.phrases(reviewer.language).REVIEW_BAD_LINK)
        access.allow_leads(session, [claims[1]])  # a genuine link reaches its own job, and only that one
        conversion = session.get(Conversion, claims[0])
        if conversion is not None and (
            conversion.lead_id != claims[1] or conversion.created_at.timestamp() > claims[2] + CLOCK_SLACK_SECONDS
        ):
            conversion = None
    else:
        access.require_area(reviewer, access.Area.CONSUMER)
        if reviewer is None or reviewer.role != Role.CONSUMER.value:
            raise NotAllowed(NOT_YOUR_JOB)
        conversion = session.get(Conversion, conversion_id) if conversion_id else None
    lead = session.get(Lead, conversion.lead_id) if conversion is not None else None
    business = session.get(Business, conversion.business_id) if conversion is not None else None
    if conversion is None or lead is None or business is None or lead.deleted_at is not None:
        raise NotAllowed(
            languages.phrases(reviewer.language).REVIEW_BAD_LINK if isinstance(reviewer, ReviewLink) else NOT_YOUR_JOB
        )
    if isinstance(reviewer, User) and not access.is_lead_owner(reviewer, lead):
        raise NotAllowed(NOT_YOUR_JOB)
    match = session.get(Match, conversion.match_id) if conversion.match_id is not None else None
    if match is None or match.status != MatchStatus.CONVERTED.value:
        raise NotAllowed(NOT_YOUR_JOB)
    return conversion, lead, business


def review_page(session: Session, reviewer: Reviewer, conversion_id: int | None = None) -> dict[str, str]:
    """What the review page shows for a link (or a consumer's own job): the business, the job, and whether it is
    already reviewed (then the review as written). NotAllowed as `submit_review` would refuse."""
    conversion, lead, business = _job(session, reviewer, conversion_id)
    existing = session.exec(select(Review).where(Review.conversion_id == conversion.id)).first()
    view = {
        "conversion_id": str(conversion.id),
        "business_name": business.name,
        "business_id": str(business.id),
        "lead_id": str(lead.id),
        "language": languages.known(lead.language),
        "reviewed": "yes" if existing is not None else "",
        "stars": str(existing.stars) if existing is not None else "",
        "text": existing.text if existing is not None else "",
    }
    return view


def submit_review(
    session: Session, reviewer: Reviewer, form: Mapping[str, Any], conversion_id: int | None = None
) -> Review:
    """Store the review of one converted job (see the module's guarantees); returns it. A ReviewLink names its job
    itself; a logged-in consumer names it by `conversion_id`. Commits nothing but the review's own savepoint."""
    conversion, lead, business = _job(session, reviewer, conversion_id)
    stars, text = read_review(form, lead.language)
    already = languages.phrases(lead.language).ALREADY_REVIEWED
    if session.exec(select(Review.id).where(Review.conversion_id == conversion.id)).first() is not None:
        raise UserError(already, field="stars")
    review = Review(
        conversion_id=conversion.id,  # type: ignore[arg-type]
        lead_id=lead.id,  # type: ignore[arg-type]
        business_id=business.id,  # type: ignore[arg-type]
        consumer_id=lead.consumer_id,
        stars=stars,
        text=text,
    )
    try:
        with session.begin_nested():  # the unique conversion_id decides a race between two submissions
            session.add(review)
    except IntegrityError:
        raise UserError(already, field="stars") from None
    actor_id = reviewer.id if isinstance(reviewer, User) else None
    audit.record(
        session, actor_id=actor_id, action="review.create", target=review, after={"stars": stars, "lead_id": lead.id}
    )
    refresh_business_rating(session, business.id)  # type: ignore[arg-type]
    _changed(session, review, lead)
    return review


# --- the business's reply, the admin's hide -----------------------------------------------------------


def reply_to_review(session: Session, user: User | None, review_id: int, text: str) -> Review:
    """The reviewed business's owner answers a review, once (a second reply is refused). Does not commit."""
    access.require_area(user, access.Area.BUSINESS)
    assert user is not None
    review = session.get(Review, review_id)
    business = session.get(Business, review.business_id) if review is not None else None
    if review is None or business is None or not access.can_manage_business(user, business):
        raise NotAllowed(NOT_YOUR_REVIEW)
    if user.role != Role.BUSINESS_OWNER.value:
        raise NotAllowed("Only the business's owner can answer its reviews.")
    if review.hidden_at is not None:
        raise UserError("This review was hidden by LeadApp: it takes no reply.", field="reply")
    if review.replied_at is not None:
        raise UserError("You have already answered this review (one reply per review).", field="reply")
    text = written_text(text, "reply", most=TEXT_MAX, missing="Write your reply first.")
    review.reply, review.replied_at, review.replied_by_id = text, utcnow(), user.id
    session.add(review)
    session.flush()
    audit.record(session, actor_id=user.id, action="review.reply", target=review, after={"chars": len(text)})
    lead = session.get(Lead, review.lead_id)
    if lead is not None:
        _changed(session, review, lead)
    return review


def hide_review(session: Session, user: User | None, review_id: int, reason: str) -> Review:
    """An admin hides a review, saying why (audited); the business's rating is recomputed. Does not commit."""
    admin = access.require_admin(user)
    review = session.get(Review, review_id)
    if review is None:
        raise UserError("No such review.", field="hide_reason")
    reason = written_text(
        reason,
        "hide_reason",
        most=REASON_MAX,
        missing="Say why the review is hidden.",
        too_long="Keep the reason to {most} characters.",
    )
    if review.hidden_at is not None:
        raise UserError("This review is already hidden.", field="hide_reason")
    review.hidden_at, review.hidden_reason, review.hidden_by_id = utcnow(), reason, admin.id
    session.add(review)
    session.flush()
    audit.record(session, actor_id=admin.id, action="review.hide", target=review, after={"reason": reason})
    refresh_business_rating(session, review.business_id)
    lead = session.get(Lead, review.lead_id)
    if lead is not None:
        _changed(session, review, lead)
    return review


# --- the stored rating --------------------------------------------------------------------------------


def refresh_business_rating(session: Session, business_id: int) -> tuple[int, int]:
    """Store the count and the sum of stars of the business's visible reviews on it; returns them. Run after every
    review or hide, in the same transaction (the one home of those two columns)."""
    # The consumer who just reviewed may not write a business row (row-level security): this one step, which only
    # counts the business's visible reviews and stores two numbers on it, runs as the system.
    with access.as_system(session, "reviews: a business's verified rating from its visible reviews"):
        count, total = session.exec(
            select(func.count(col(Review.id)), func.coalesce(func.sum(col(Review.stars)), 0)).where(
                Review.business_id == business_id, col(Review.hidden_at).is_(None)
            )
        ).one()
        business = session.get(Business, business_id)
        if business is not None:
            business.verified_review_count, business.verified_stars_total = int(count), int(total)
            session.add(business)
            session.flush()
    return int(count), int(total)


# --- after a conversion -------------------------------------------------------------------------------


def invite_after_conversion(session: Session, lead: Lead, business: Business, conversion: Conversion) -> None:
    """Email the consumer the review link of this conversion (once per conversion), sent after the commit."""
    session.flush()  # the conversion's id goes into the link
    ids = notices.review_invite(session, lead, business, conversion)
    if ids:
        run_after_commit(session, notify.enqueue_sends, ids)


# --- views ----------------------------------------------------------------------------------------


def review_view(review: Review, zone: Any = None) -> dict[str, str]:
    """A review as anyone may read it (no contact detail; the reviewer is "A verified customer")."""
    return {
        "id": str(review.id),
        "stars": str(review.stars),
        "stars_label": "★" * review.stars + "☆" * (5 - review.stars),
        "text": review.text,
        "when": localtime.exact(review.created_at, zone) if zone is not None else f"{review.created_at:%b %d, %Y}",
        "reply": review.reply,
        "can_reply": "" if review.replied_at is not None or review.hidden_at is not None else "yes",
        "hidden": "yes" if review.hidden_at is not None else "",
        "hidden_reason": review.hidden_reason,
    }


def business_reviews(session: Session, business_id: int, *, limit: int = 50) -> list[dict[str, str]]:
    """A business's visible reviews, newest first (hidden ones never), for its public page."""
    rows = session.exec(
        select(Review)
        .where(Review.business_id == business_id, col(Review.hidden_at).is_(None))
        .order_by(col(Review.id).desc())
        .limit(limit)
    ).all()
    return [review_view(r) for r in rows]


def own_reviews(session: Session, user: User | None, *, limit: int = 100) -> list[dict[str, str]]:
    """Every review of the businesses `user` owns (hidden ones marked as such), newest first, for the dashboard."""
    access.require_area(user, access.Area.BUSINESS)
    assert user is not None
    rows = session.exec(
        select(Review, Business.name)
        .join(Business, col(Business.id) == col(Review.business_id))
        .where(Business.owner_id == user.id)
        .order_by(col(Review.id).desc())
        .limit(limit)
    ).all()
    return [{**review_view(review), "business_name": name, "lead_id": str(review.lead_id)} for review, name in rows]


def reviews_of_lead(session: Session, user: User | None, lead_id: int) -> list[dict[str, str]]:
    """Every review of one lead's jobs, hidden ones included (with why), for the admin's lead page."""
    access.require_admin(user)
    rows = session.exec(
        select(Review, Business.name)
        .join(Business, col(Business.id) == col(Review.business_id))
        .where(Review.lead_id == lead_id)
        .order_by(col(Review.id))
    ).all()
    return [{**review_view(review), "business_name": name} for review, name in rows]


def review_for_match(session: Session, user: User | None, match_id: int) -> dict[str, str] | None:
    """The review of the job on one of the business's matches, if any (read like the lead itself)."""
    match, _, _ = access.business_match(session, user, match_id, act=False)
    review = session.exec(
        select(Review)
        .join(Conversion, col(Conversion.id) == col(Review.conversion_id))
        .where(Conversion.match_id == match.id)
    ).first()
    return review_view(review) if review is not None else None


def reviews_by_lead(session: Session, leads: Sequence[Lead]) -> dict[int, dict[str, str]]:
    """For each converted lead: its conversion to review and its review if written, for the consumer's portal (the
    caller has checked that the viewer may read these leads). Keys: lead id; values: conversion_id, business_name,
    and the review's fields when there is one ("reviewed": "yes")."""
    ids = [lead.id for lead in leads if lead.id is not None]
    found: dict[int, dict[str, str]] = {}
    if not ids:
        return found
    rows = session.exec(
        select(Conversion, Business.name, Review)
        .join(Business, col(Business.id) == col(Conversion.business_id))
        .join(Match, col(Match.id) == col(Conversion.match_id))
        .outerjoin(Review, col(Review.conversion_id) == col(Conversion.id))
        .where(col(Conversion.lead_id).in_(ids), Match.status == MatchStatus.CONVERTED.value)
        .order_by(col(Conversion.id))
    ).all()
    for conversion, name, review in rows:
        view = {"conversion_id": str(conversion.id), "business_name": name, "reviewed": ""}
        if review is not None and review.hidden_at is None:
            view.update(review_view(review))
            view["reviewed"] = "yes"
        elif review is not None:
            view.update({"reviewed": "yes", "hidden": "yes", "stars": str(review.stars), "text": "", "reply": ""})
        found[conversion.lead_id] = view
    return found


def rating_for(business: Business, snapshot: rules.RulesSnapshot, language: str | None = None) -> dict[str, str]:
    """A business's verified rating as a consumer sees it next to its name (its words in `language`)."""
    count, total = business.verified_review_count, business.verified_stars_total
    return {
        "rating": f"{verified_rating(count, total, snapshot):.1f}",
        "review_count": str(count),
        "rating_label": rating_label(count, total, snapshot, language),
    }


def _changed(session: Session, review: Review, lead: Lead) -> None:
    """Push the change to the business's open lead page and dashboards and the consumer's portal (as a change of
    the job's match, which those pages already follow) after the commit."""
    match_id = session.exec(select(Conversion.match_id).where(Conversion.id == review.conversion_id)).first()
    publish_after_commit(
        session,
        "match",
        business_id=review.business_id,
        match_id=match_id,
        lead_id=lead.id,
        consumer_id=lead.consumer_id,
    )
