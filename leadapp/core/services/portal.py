"""What a consumer sees of their own requests: status, classification, matched businesses.

Never a business's phone or email; never another consumer's request.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from leadapp.core.models import Business, Lead, Match, User
from leadapp.core.services import access
from leadapp.core.vocab import CATEGORY_LABELS, Category

STATUS_LABELS = {
    "received": "Received",
    "classified": "Being matched",
    "matched": "Matched",
    "no_match": "No match yet",
    "low_quality": "Needs more detail",
    "flagged": "Under review",
    "rejected": "Rejected",
    "accepted": "Accepted",
    "converted": "Done",
    "withdrawn": "Withdrawn",
}


def lead_view(lead: Lead) -> dict[str, str]:
    view = {
        "id": str(lead.id),
        "status": lead.status,
        "status_label": STATUS_LABELS.get(lead.status, lead.status),
        "text": lead.raw_text,
        "zip": lead.zip,
        "created_at": lead.created_at.strftime("%Y-%m-%d %H:%M UTC"),
    }
    if lead.category:
        view["category"] = lead.category
        view["category_label"] = CATEGORY_LABELS.get(Category(lead.category), lead.category)
        view["urgency"] = lead.urgency or ""
    return view


def matched_businesses(session: Session, lead_id: int) -> list[dict[str, str]]:
    rows = session.exec(
        select(Match, Business)
        .join(Business, Business.id == Match.business_id)
        .where(Match.lead_id == lead_id)
        .order_by(Match.score.desc())  # type: ignore[attr-defined]
    ).all()
    return [
        {
            "business_id": str(b.id),
            "name": b.name,
            "city": f"{b.city}, {b.state}".strip(", "),
            "rating": f"{b.rating:.1f}",
            "distance": f"{m.distance_miles:.1f} mi" if m.distance_miles is not None else "",
            "status": m.status,
        }
        for m, b in rows
    ]


def lead_status_for_submitter(session: Session, lead_id: int) -> dict[str, Any] | None:
    """The status view of a lead the caller just submitted (its id is held server-side, never from a URL)."""
    lead = session.get(Lead, lead_id)
    if lead is None or lead.deleted_at is not None:
        return None
    return {"lead": lead_view(lead), "matches": matched_businesses(session, lead_id)}


def consumer_leads(session: Session, user: User | None, limit: int = 50) -> list[dict[str, Any]]:
    """A consumer's own requests, newest first, each with its matched businesses."""
    access.require_area(user, access.Area.CONSUMER)
    assert user is not None
    leads = session.exec(
        select(Lead)
        .where(Lead.consumer_id == user.id, Lead.deleted_at.is_(None))  # type: ignore[union-attr]
        .order_by(Lead.created_at.desc())  # type: ignore[attr-defined]
        .limit(min(limit, 100))
    ).all()
    return [{"lead": lead_view(lead), "matches": matched_businesses(session, lead.id)} for lead in leads]  # type: ignore[arg-type]
