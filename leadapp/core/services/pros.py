"""A business's public page (`/pros/<id>-<name>`): what anyone, logged in or not, may read about a business.

Guarantees:
- Only a business that gets leads (verified by an admin and active) has a page; a missing, unverified or disabled
  one is the same `None` (ids reveal nothing).
- The page shows its public profile only: name, description, categories, service area (city, state, ZIP and
  radius), licensed / insured, the verified rating (the Bayesian average matching uses, `reviews.rating_for`) and
  its count. Never an address, phone number, email, plan or anything of its owner.
- Its visible verified reviews, newest first, with the business's reply; a hidden review is never read. A
  reviewer is named by first name and last initial at most ("Casey C."), else "A verified customer": never an
  email, a phone number or a full name.
- A visitor may not read a business row or a request (row-level security): the one step that reads them runs as
  the system and returns only the fields above.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from leadapp.core import labels, localtime
from leadapp.core.models import Business, Lead, Review
from leadapp.core.services import access, reviews, rules

REVIEWS_SHOWN = 50
ANONYMOUS_REVIEWER = "A verified customer"


def reviewer_name(contact_name: str) -> str:
    """ "Casey C." from "Casey Consumer"; a lone first name as it is; anything that is not plainly a name (an
    email, digits, nothing) is "A verified customer"."""
    words = [w for w in (contact_name or "").split() if w]
    if not words:
        return ANONYMOUS_REVIEWER

    def is_name(word: str) -> bool:
        return word.replace("-", "").replace("'", "").isalpha() and len(word) <= 30

    first = words[0]
    if not is_name(first):
        return ANONYMOUS_REVIEWER
    first = first[:1].upper() + first[1:]
    last = words[-1] if len(words) > 1 else ""
    return f"{first} {last[0].upper()}." if last and is_name(last) else first


def _listed(business: Business | None) -> bool:
    return business is not None and business.is_active and business.verified_at is not None


def _service_area(business: Business) -> str:
    place = ", ".join(part for part in (business.city.strip(), business.state.strip()) if part)
    around = f"{place} {business.zip}".strip() if place else business.zip
    return f"Within {business.radius_miles:g} miles of {around}"


def public_profile(session: Session, business_id: int) -> dict[str, Any] | None:
    """The public page of one business (see the module's guarantees), or None when it has none."""
    if business_id <= 0:
        return None
    with access.as_system(session, "pros: a business's public page and its visible reviews"):
        business = session.get(Business, business_id)
        if not _listed(business):
            return None
        assert business is not None
        snapshot = rules.current_rules(session)
        rows = session.exec(
            select(Review, Lead.contact_name)
            .join(Lead, col(Lead.id) == col(Review.lead_id))
            .where(Review.business_id == business.id, col(Review.hidden_at).is_(None))
            .order_by(col(Review.id).desc())
            .limit(REVIEWS_SHOWN)
        ).all()
        profile: dict[str, Any] = {
            "id": str(business.id),
            "name": business.name,
            "description": business.description,
            "categories": [labels.category(c) for c in business.categories or [] if labels.category(c)],
            "service_area": _service_area(business),
            "licensed": "yes" if business.licensed else "",
            "insured": "yes" if business.insured else "",
            **reviews.rating_for(business, snapshot),
        }
    zone = localtime.business_zone(business)
    profile["reviews"] = [
        {
            "id": str(review.id),
            "stars": str(review.stars),
            "stars_label": "★" * review.stars + "☆" * (5 - review.stars),
            "text": review.text,
            "when": localtime.day_text(review.created_at, zone),
            "reply": review.reply,
            "reviewer": reviewer_name(contact_name),
        }
        for review, contact_name in rows
    ]
    return profile
