"""What an admin sees on one lead's page (`/admin/leads/<id>`) and one call's page (`/admin/calls/<id>`).

Admins only (`access.require_admin`, checked first). A missing or deleted record is NotFound with one message
per kind, whatever the reason. Phone numbers are shown masked, as in the admin lists.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from leadapp.core.crypto import decrypt_phone, mask_phone
from leadapp.core.errors import NotFound
from leadapp.core.models import Business, Call, CallMetrics, Lead, Match, TranscriptLine, User
from leadapp.core.services import access, call_quality
from leadapp.core.vocab import CATEGORY_LABELS, Category

NO_SUCH_LEAD = "No such lead."
NO_SUCH_CALL = "No such call."


def _when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def _category(value: str | None) -> str:
    if value and value in Category._value2member_map_:
        return CATEGORY_LABELS.get(Category(value), value)
    return value or ""


def _call_summary_row(call: Call, business_name: str | None) -> dict[str, str]:
    return {
        "id": str(call.id),
        "created_at": _when(call.created_at),
        "business": business_name or ("LeadApp concierge" if call.business_id is None else "—"),
        "call_type": call.call_type,
        "status": call.status,
        "outcome": call.outcome or "",
    }


def lead_record(session: Session, actor: User | None, lead_id: int) -> dict[str, Any]:
    """One lead for an admin: the request as written, its classification and moderation state, the businesses it
    was matched to and the calls about it (each linking to its own page)."""
    access.require_admin(actor)
    lead = session.get(Lead, lead_id) if lead_id > 0 else None
    if lead is None or lead.deleted_at is not None:
        raise NotFound(NO_SUCH_LEAD)
    matches = session.exec(
        select(Match, Business)
        .join(Business, col(Business.id) == col(Match.business_id))
        .where(Match.lead_id == lead.id)
        .order_by(col(Match.score).desc(), col(Match.id))
    ).all()
    calls = session.exec(
        select(Call, Business.name)
        .join(Business, col(Business.id) == col(Call.business_id), isouter=True)
        .where(Call.lead_id == lead.id)
        .order_by(col(Call.created_at).desc(), col(Call.id).desc())
        .limit(50)
    ).all()
    phone = decrypt_phone(lead.contact_phone_enc)
    return {
        "lead": {
            "id": str(lead.id),
            "created_at": _when(lead.created_at),
            "status": lead.status,
            "category": _category(lead.category),
            "urgency": lead.urgency or "",
            "zip": lead.location_zip or lead.zip,
            "quality": f"{lead.quality_score:.1f}" if lead.quality_score is not None else "",
            "source": lead.source,
            "flagged": lead.flag_reason if lead.flagged else "",
            "spam": lead.spam_reason if lead.is_spam else "",
            "contact": lead.contact_name or lead.contact_email,
            "phone": mask_phone(phone) if phone else "",
            "consumer_id": str(lead.consumer_id or ""),
            "text": lead.raw_text,
        },
        "matches": [
            {
                "business": b.name,
                "status": m.status,
                "score": f"{m.score:.0f}",
                "distance": f"{m.distance_miles:.1f} mi" if m.distance_miles is not None else "",
            }
            for m, b in matches
        ],
        "calls": [_call_summary_row(call, name) for call, name in calls],
    }


def call_record(session: Session, actor: User | None, call_id: int) -> dict[str, Any]:
    """One call for an admin: who it was for, how it went, what it cost, its summary and transcript."""
    access.require_admin(actor)
    call = session.get(Call, call_id) if call_id > 0 else None
    if call is None:
        raise NotFound(NO_SUCH_CALL)
    business = session.get(Business, call.business_id) if call.business_id else None
    lines = session.exec(
        select(TranscriptLine).where(TranscriptLine.call_id == call.id).order_by(col(TranscriptLine.seq))
    ).all()
    number = decrypt_phone(call.to_number_enc)
    return {
        "call": {
            **_call_summary_row(call, business.name if business else None),
            "lead_id": str(call.lead_id or ""),
            "direction": call.direction,
            "number": mask_phone(number) if number else "",
            "objective": call.objective,
            "duration": f"{call.duration_seconds // 60}:{call.duration_seconds % 60:02d}"
            if call.duration_seconds
            else "",
            "cost": f"${call.cost_total_cents / 100:.2f}",
            "summary": call.summary,
            "error": call.error,
            "human_callback": "yes" if call.human_callback_requested else "",
            **call_quality.quality_facts(call, session.get(CallMetrics, call.id)),
        },
        "transcript": [{"speaker": line.speaker, "text": line.text} for line in lines],
    }
