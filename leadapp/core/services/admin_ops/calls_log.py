"""The AI calls log and what the calls cost, month by month."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy.types import String
from sqlmodel import Session, col, select

from leadapp.core import labels, localtime
from leadapp.core.crypto import decrypt_phone, mask_phone
from leadapp.core.errors import UserError
from leadapp.core.models import Business, Call, User
from leadapp.core.observability import get_logger
from leadapp.core.providers import telephony
from leadapp.core.services import access
from leadapp.core.services.admin_ops.common import COST_MONTHS, Page, _dollars, _paged, _when
from leadapp.core.sql_functions import dialect_function

log = get_logger(__name__)

# --- calls log and costs --------------------------------------------------------------------------


utc_month = dialect_function(
    "utc_month",
    String(),
    # SQLite stores our timestamps as UTC text, so strftime reads the month off it; PostgreSQL's `timestamptz`
    # is read in UTC whatever the session's TimeZone.
    sqlite=lambda at: f"strftime('%Y-%m', {at})",
    postgresql=lambda at: f"to_char(({at}) AT TIME ZONE 'UTC', 'YYYY-MM')",
    doc='The UTC month of a timestamp column as text "YYYY-MM".',
)


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """ "YYYY-MM" → [first instant of the month, first instant of the next) in UTC; UserError otherwise."""
    try:
        start = datetime.strptime(month.strip(), "%Y-%m").replace(tzinfo=UTC)
    except ValueError as exc:
        raise UserError("Write the month as YYYY-MM, e.g. 2026-03.", field="month") from exc
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


def _call_row(call: Call, business_name: str | None, zone: ZoneInfo | None = None) -> dict[str, str]:
    number = decrypt_phone(call.to_number_enc)
    return {
        "id": str(call.id),
        "created_at": _when(call.created_at, zone),
        "business_id": str(call.business_id or ""),
        "business": business_name
        or ("LeadApp concierge" if call.business_id is None and call.call_type == "consumer_callback" else "—"),
        "lead_id": str(call.lead_id or ""),
        "call_type": call.call_type,
        "type_label": labels.call_type(call.call_type)
        + (" (simulated)" if call.provider == telephony.PROVIDER_SIMULATED else ""),
        "direction": call.direction,
        "number": mask_phone(number) if number else "",
        "status": call.status,
        "status_label": labels.call_status(call.status),
        "outcome": call.outcome or "",
        "outcome_label": labels.call_outcome(call.outcome),
        "duration": f"{call.duration_seconds // 60}:{call.duration_seconds % 60:02d}" if call.duration_seconds else "",
        "cost": _dollars(call.cost_total_cents),
        "human_callback": "yes" if call.human_callback_requested else "",
        "error": call.error[:200],
    }


def calls_log(
    session: Session, actor: User | None, business_id: int | None = None, month: str | None = None, page: int = 1
) -> Page:
    """Every call, newest first, with outcome and cost; optionally one business and/or one UTC month
    ("YYYY-MM"). Admins only; raises UserError for a malformed month."""
    access.require_admin(actor)
    conditions = []
    if business_id:
        conditions.append(col(Call.business_id) == business_id)
    if month:
        start, end = month_bounds(month)
        conditions += [col(Call.created_at) >= start, col(Call.created_at) < end]
    rows, total, page = _paged(
        session,
        select(Call, Business.name)
        .join(Business, col(Business.id) == col(Call.business_id), isouter=True)
        .where(*conditions)
        .order_by(col(Call.created_at).desc(), col(Call.id).desc()),
        select(func.count()).select_from(Call).where(*conditions),
        page,
    )
    zone = localtime.viewer_zone(session, actor)
    return Page([_call_row(call, name, zone) for call, name in rows], total, page)


def call_businesses(session: Session, actor: User | None) -> list[tuple[int, str]]:
    """(id, name) of every business that has calls, by name (the calls log's business filter). Admins only."""
    access.require_admin(actor)
    query = (
        select(Business.id, Business.name)
        .where(col(Business.id).in_(select(Call.business_id).where(col(Call.business_id).is_not(None))))
        .order_by(Business.name, col(Business.id))
    )
    return [(int(i), name) for i, name in session.exec(query).all() if i is not None]


@dataclass(frozen=True)
class CostTotal:
    """Calls and their cost (in cents) for one month, and one business or (business_id None) all of them."""

    month: str
    business_id: int | None
    business_name: str
    calls: int
    carrier_cents: float
    realtime_cents: float
    summary_cents: float
    total_cents: float


@dataclass(frozen=True)
class CallCosts:
    per_business: list[CostTotal] = field(default_factory=list)
    """Newest month first, then the costliest business first."""
    per_month: list[CostTotal] = field(default_factory=list)
    """Every business together, newest month first."""


def _cost_sums() -> list[Any]:
    return [
        func.count(col(Call.id)),
        func.coalesce(func.sum(Call.cost_carrier_cents), 0.0),
        func.coalesce(func.sum(Call.cost_realtime_cents), 0.0),
        func.coalesce(func.sum(Call.cost_summary_cents), 0.0),
        func.coalesce(func.sum(Call.cost_total_cents), 0.0),
    ]


def call_costs(session: Session, actor: User | None, months: int = COST_MONTHS) -> CallCosts:
    """Call counts and costs per business and UTC month, and per month, over the last `months` months
    (the current one included), summed by the database. Admins only."""
    access.require_admin(actor)
    months = max(1, min(int(months), 120))
    now = datetime.now(UTC)
    index = now.year * 12 + now.month - 1 - (months - 1)
    since = datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)
    month = utc_month(col(Call.created_at))
    per_business = session.exec(
        select(month, col(Call.business_id), Business.name, *_cost_sums())
        .join(Business, col(Business.id) == col(Call.business_id), isouter=True)
        .where(col(Call.created_at) >= since)
        .group_by(month, col(Call.business_id), Business.name)
        .order_by(month.desc(), func.sum(Call.cost_total_cents).desc(), Business.name)
    ).all()
    per_month = session.exec(
        select(month, *_cost_sums()).where(col(Call.created_at) >= since).group_by(month).order_by(month.desc())
    ).all()
    return CallCosts(
        per_business=[
            CostTotal(m, b, name or "—", int(n), float(c), float(r), float(s), float(t))
            for m, b, name, n, c, r, s, t in per_business
        ],
        per_month=[
            CostTotal(m, None, "All businesses", int(n), float(c), float(r), float(s), float(t))
            for m, n, c, r, s, t in per_month
        ],
    )


def cost_row(total: CostTotal) -> dict[str, str]:
    """A cost total formatted for a table."""
    return {
        "month": total.month,
        "business_id": str(total.business_id or ""),
        "business": total.business_name,
        "calls": str(total.calls),
        "carrier": _dollars(total.carrier_cents),
        "realtime": _dollars(total.realtime_cents),
        "summary": _dollars(total.summary_cents),
        "total": _dollars(total.total_cents),
    }
