"""Plans and the admins' hold on businesses: the verification queue, plans and lead caps beyond the plan.

Guarantees:
- a business registered by its owner waits in the admins' verification queue and receives no leads until an
  admin verifies it (`match.candidate_businesses` skips `verified_at IS NULL`); an admin can verify it only
  once its owner's email address is verified, so a verified business always has a proven owner;
- plans are changed by admins only (`set_plan`); the owner sees the plan card (`plan_card`): plan, quotas and
  this month's use;
- an owner may lower the monthly lead cap or set it up to the plan's cap; a cap beyond the plan is the
  admins' (an owner saving the form keeps the cap an admin set);
- every admin change is audited with before/after; every function checks its caller first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from leadapp.core.errors import FieldErrors, UserError
from leadapp.core.models import Business, Match, User, utcnow
from leadapp.core.services import access, audit, calls
from leadapp.core.services.businesses import get_business, locked
from leadapp.core.vocab import PLAN_CALL_QUOTA, PLAN_LABELS, Plan

QUEUE_PAGE = 50
LEAD_CAP_MAX = 10_000


class PlanInvalid(FieldErrors):
    """The plan or lead cap an admin typed is wrong; `errors` names each field."""


def plan_of(business: Business) -> Plan:
    return Plan(business.plan) if business.plan in Plan._value2member_map_ else Plan.FREE


# --- the owner's plan card ------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanCard:
    plan: str
    plan_label: str
    call_quota: int
    lead_cap: int
    leads_this_month: int
    calls_this_month: int
    verified: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan,
            "plan_label": self.plan_label,
            "call_quota": self.call_quota,
            "lead_cap": self.lead_cap,
            "leads_this_month": self.leads_this_month,
            "calls_this_month": self.calls_this_month,
            "verified": self.verified,
        }


def plan_card(session: Session, actor: User | None, business_id: int) -> PlanCard:
    """The plan, its quotas and this month's use (leads received, AI calls used) of a business its owner or an
    admin may see."""
    business = get_business(session, actor, business_id)
    month_start = utcnow().astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    leads = session.exec(
        select(func.count())
        .select_from(Match)
        .where(col(Match.business_id) == business.id, col(Match.created_at) >= month_start)
    ).one()
    plan = plan_of(business)
    return PlanCard(
        plan=plan.value,
        plan_label=PLAN_LABELS[plan],
        call_quota=PLAN_CALL_QUOTA[plan],
        lead_cap=int(business.monthly_lead_cap),
        leads_this_month=int(leads),
        calls_this_month=calls.calls_this_month(session, business.id),  # type: ignore[arg-type]
        verified=business.verified_at is not None,
    )


# --- admins: plans and caps ------------------------------------------------------------------------


def set_plan(session: Session, actor: User | None, business_id: int, plan: str, lead_cap: str) -> Business:
    """Give a business a plan and a monthly lead cap (admins only; the cap may exceed the plan's). Audited;
    PlanInvalid naming each bad field, writing nothing. Does not commit."""
    admin = access.require_admin(actor)
    errors: dict[str, str] = {}
    plan = (plan or "").strip().lower()
    if plan not in Plan._value2member_map_:
        errors["plan"] = "Choose the Free, Starter or Pro plan."
    try:
        cap = int((lead_cap or "").strip())
    except ValueError:
        cap = 0
    if not 1 <= cap <= LEAD_CAP_MAX:
        errors["monthly_lead_cap"] = f"Enter a whole number of leads from 1 to {LEAD_CAP_MAX:,}."
    if errors:
        raise PlanInvalid(errors)
    business = locked(session, business_id)
    values = {"plan": plan, "monthly_lead_cap": cap}
    audit.apply_change(session, actor_id=admin.id, action="business.plan", target=business, values=values)
    return business


# --- admins: the verification queue ----------------------------------------------------------------


def business_rows(session: Session, actor: User | None, *, waiting_only: bool, query: str = "") -> list[dict[str, str]]:
    """Businesses for the admins' page (waiting ones first, then newest), up to QUEUE_PAGE: name, owner, whether
    the owner's email and the business are verified, plan and cap."""
    access.require_admin(actor)
    conditions: list[Any] = []
    if waiting_only:
        conditions.append(col(Business.verified_at).is_(None))
    text = (query or "").strip().lower()[:100]
    if text:
        conditions.append(func.lower(col(Business.name)).contains(text, autoescape=True))
    rows = session.exec(
        select(Business, User)
        .join(User, col(User.id) == col(Business.owner_id))
        .where(*conditions)
        .order_by(col(Business.verified_at).is_not(None), col(Business.created_at).desc(), col(Business.id).desc())
        .limit(QUEUE_PAGE)
    ).all()
    return [
        {
            "id": str(business.id),
            "name": business.name,
            "place": f"{business.city}, {business.state} {business.zip}".strip(", "),
            "owner": owner.email,
            "email_verified": "yes" if owner.email_verified_at is not None else "no",
            "verified": "yes" if business.verified_at is not None else "no",
            "plan": plan_of(business).value,
            "lead_cap": str(business.monthly_lead_cap),
            "created": business.created_at.strftime("%Y-%m-%d"),
        }
        for business, owner in rows
    ]


def waiting_count(session: Session, actor: User | None) -> int:
    access.require_admin(actor)
    return int(
        session.exec(select(func.count()).select_from(Business).where(col(Business.verified_at).is_(None))).one()
    )


def verify_business(session: Session, actor: User | None, business_id: int) -> Business:
    """Let a waiting business receive leads (admins only), once its owner's email address is verified. Audited;
    verifying a verified business changes nothing. Does not commit."""
    admin = access.require_admin(actor)
    business = locked(session, business_id)
    if business.verified_at is not None:
        return business
    owner = session.get(User, business.owner_id)
    if owner is None or owner.email_verified_at is None:
        raise UserError("Its owner has not confirmed their email address yet; verify the business after that.")
    business.verified_at, business.verified_by_id, business.updated_at = utcnow(), admin.id, utcnow()
    session.add(business)
    audit.record(
        session,
        actor_id=admin.id,
        action="business.verify",
        target=business,
        before={"verified": False},
        after={"verified": True},
    )
    return business
