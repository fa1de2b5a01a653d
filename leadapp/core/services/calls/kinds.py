"""What kind of AI call a business may ask for about one of its leads, and for when.

- `qualify_lead`: once the lead is accepted (the first call's purpose).
- `confirm_appointment`: while the business has an accepted quote with a visit to come; the call goes over
  that visit time.
- `follow_up`: once the job is marked converted; the call asks how it went and invites a review.

A call may be placed now (the next calling window) or at a time the owner picks, in the consumer's own time
zone and within their calling hours, up to `MAX_AHEAD` ahead. The platform rules can also have the worker
schedule the last two by themselves (`auto_calls`: the day before the visit, a week after the job).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from leadapp.core import localtime
from leadapp.core.errors import UserError
from leadapp.core.models import Business, Conversion, Lead, Quote, utcnow
from leadapp.core.services.calls.window import _aware, _lead_zip, calling_hours, calling_window
from leadapp.core.vocab import CallType, QuoteStatus

KIND_LABELS: dict[str, str] = {
    CallType.QUALIFY_LEAD.value: "Qualify the job",
    CallType.CONFIRM_APPOINTMENT.value: "Confirm the appointment",
    CallType.FOLLOW_UP.value: "Follow up after the job",
}
OWNER_KINDS = tuple(KIND_LABELS)
"""The kinds an owner may ask for (a consumer's callback and an inbound call are not asked for)."""
MAX_AHEAD = timedelta(days=30)
WHEN_FIELD = "call_when"
KIND_FIELD = "call_type"


@dataclass(frozen=True)
class Kind:
    value: str
    label: str


def upcoming_visit(session: Session, lead_id: int | None, business_id: int | None, now: datetime) -> Quote | None:
    """The business's accepted quote on the lead with a visit still to come (the soonest), if any."""
    if lead_id is None or business_id is None:
        return None
    return session.exec(
        select(Quote)
        .where(
            Quote.lead_id == lead_id,
            Quote.business_id == business_id,
            Quote.status == QuoteStatus.ACCEPTED.value,
            col(Quote.visit_at).is_not(None),
            col(Quote.visit_at) > now,
        )
        .order_by(col(Quote.visit_at))
    ).first()


def conversion_of(session: Session, lead_id: int | None, business_id: int | None) -> Conversion | None:
    if lead_id is None or business_id is None:
        return None
    return session.exec(
        select(Conversion)
        .where(Conversion.lead_id == lead_id, Conversion.business_id == business_id)
        .order_by(col(Conversion.id).desc())
    ).first()


def available_kinds(session: Session, lead: Lead, business: Business, now: datetime | None = None) -> list[Kind]:
    """The kinds of call this business may ask for about `lead` now, in the order the form lists them."""
    now = _aware(now or utcnow())
    kinds = [Kind(CallType.QUALIFY_LEAD.value, KIND_LABELS[CallType.QUALIFY_LEAD.value])]
    if upcoming_visit(session, lead.id, business.id, now) is not None:
        kinds.append(Kind(CallType.CONFIRM_APPOINTMENT.value, KIND_LABELS[CallType.CONFIRM_APPOINTMENT.value]))
    if conversion_of(session, lead.id, business.id) is not None:
        kinds.append(Kind(CallType.FOLLOW_UP.value, KIND_LABELS[CallType.FOLLOW_UP.value]))
    return kinds


def check_kind(session: Session, lead: Lead, business: Business, call_type: str, now: datetime | None = None) -> str:
    """`call_type` if the business may ask for it now; a UserError naming why not otherwise."""
    value = (call_type or CallType.QUALIFY_LEAD.value).strip()
    if value not in OWNER_KINDS:
        raise UserError("Choose the kind of call.", field=KIND_FIELD)
    if value not in {k.value for k in available_kinds(session, lead, business, now)}:
        if value == CallType.CONFIRM_APPOINTMENT.value:
            raise UserError("There is no accepted quote with a visit to come to confirm.", field=KIND_FIELD)
        raise UserError("A follow-up call is for a job marked converted.", field=KIND_FIELD)
    return value


def default_objective(session: Session, lead: Lead, business: Business, call_type: str, now: datetime) -> str:
    """What the assistant is told this call is for when the owner wrote nothing (the visit's time for a
    confirmation, in the consumer's time)."""
    if call_type == CallType.CONFIRM_APPOINTMENT.value:
        visit = upcoming_visit(session, lead.id, business.id, now)
        if visit is not None:
            when = localtime.exact(visit.visit_at, localtime.lead_zone(lead))
            return f"Confirm the visit booked for {when} (the consumer's local time), or note a better time."
    if call_type == CallType.FOLLOW_UP.value:
        return (
            "The job is done. Ask how it went and whether they are happy with the work, note any problem for the "
            "business, and ask whether they would leave a short review (the review link is in their email)."
        )
    return business.call_objective_notes or "Qualify the job"


def parse_when(text: str, lead: Lead, now: datetime | None = None) -> datetime | None:
    """The owner's chosen time ("YYYY-MM-DDTHH:MM", the consumer's local time) in UTC; None for "as soon as
    possible". Refused when malformed, past, more than `MAX_AHEAD` away, or outside the consumer's calling
    hours (the message names the hours and the zone)."""
    text = (text or "").strip()[:40]
    if not text:
        return None
    now = _aware(now or utcnow())
    zone = localtime.lead_zone(lead)
    try:
        chosen = datetime.fromisoformat(text)
    except ValueError:
        raise UserError("Enter the time as a date and time, e.g. 2026-01-31T10:30.", field=WHEN_FIELD) from None
    chosen = (chosen if chosen.tzinfo else chosen.replace(tzinfo=zone)).astimezone(now.tzinfo)
    if chosen <= now:
        raise UserError("Pick a time in the future.", field=WHEN_FIELD)
    if chosen - now > MAX_AHEAD:
        raise UserError(f"Pick a time within the next {MAX_AHEAD.days} days.", field=WHEN_FIELD)
    is_open, _next = calling_window(_lead_zip(lead), chosen)
    if not is_open:
        start, end = calling_hours()
        until = "midnight" if end.hour == 23 and end.minute == 59 else f"{end.hour}:{end:%M}"
        raise UserError(
            f"Pick a time between {start.hour}:{start:%M} and {until}, the consumer's local time ({zone_label(lead)}).",
            field=WHEN_FIELD,
        )
    return chosen


def zone_label(lead: Lead) -> str:
    """The consumer's time zone as the form names it: "America/Indiana/Indianapolis, now 14:05"."""
    zone = localtime.lead_zone(lead)
    local = utcnow().astimezone(zone)
    return f"{zone.key}, now {local.hour}:{local:%M}"
