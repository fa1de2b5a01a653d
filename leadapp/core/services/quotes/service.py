"""Quotes on accepted leads: a business sends one, the consumer compares them and accepts one.

Guarantees:
- Only the owner of a business whose match is accepted quotes it (`access.business_match`, the same one refusal
  for a missing, another business's or a closed lead; an admin may read but not quote). One open quote per
  match at a time; none once the consumer accepted a quote on the request.
- Bad terms are a FieldErrors naming each wrong field (`read_terms`), and nothing is stored.
- Only the consumer who made the request accepts one of its quotes: their account, or the holder of that
  request's magic link (`access.require_lead_actor`: a link covers its own request only); a missing quote, another
  consumer's and another request's link get the same refusal. An expired, declined or past-its-day quote is
  refused, checked at accept time and not only by the worker's expiry sweep (`expire_quotes`).
- Accepting is the conversion (`inbox.record_conversion`, its one home) with the quote's value (the top of a
  range); every other open quote on the request is declined, and each business hears which way its quote went
  through a notification row (sent after the commit). Accepts of two quotes of one request at the same moment
  are serialized on the request's row: one wins, the other is refused.
- A quote sent is told to the consumer (email, and SMS when they prefer texts) by notification rows written with
  it, one per quote and channel, sent after the commit (`notices.quote_sent`).
- Every change is pushed live after the commit: the business's dashboards ("match") and the consumer's portal.
Times are read and shown in the lead's zone (where the job is).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import Session, col, select

from leadapp.core import labels, languages, localtime
from leadapp.core.errors import FieldErrors, NotAllowed, UserError, written_text
from leadapp.core.events import publish_after_commit, run_after_commit
from leadapp.core.languages import english
from leadapp.core.models import Business, Lead, Match, Quote, User, utcnow
from leadapp.core.models.quotes import INCLUDED_MAX
from leadapp.core.services import access, audit, inbox, notify
from leadapp.core.services.quotes import notices
from leadapp.core.vocab import MatchStatus, QuoteStatus, Role

MAX_VALID_DAYS = 90
NOT_YOUR_QUOTE = english.NOT_YOUR_QUOTE
"""The one refusal a consumer gets for a quote id that is missing, deleted, or on another consumer's request (the
portal says it in the consumer's language)."""
FIELDS = ("amount_min", "amount_max", "included", "valid_until", "visit_at")


@dataclass(frozen=True)
class QuoteTerms:
    """A quote's terms, checked: cents (min == max for a fixed price), the text, the last valid day, the visit."""

    amount_min_cents: int
    amount_max_cents: int
    included: str
    valid_until: date
    visit_at: datetime | None


def _amount(text: str, field: str, errors: dict[str, str]) -> int | None:
    try:
        cents = inbox.job_value_cents(text, field=field, what="amount")
    except UserError as exc:
        errors[field] = exc.message
        return None
    if cents <= 0:
        errors[field] = "Enter an amount above $0."
        return None
    return cents


def read_terms(form: Mapping[str, Any], *, zone: ZoneInfo, now: datetime | None = None) -> QuoteTerms:
    """The terms of a quote form (`amount_min`, `amount_max` in dollars: one of them for a fixed price, both for
    a range; `included`; `valid_until` YYYY-MM-DD, today to +90 days in `zone`; `visit_at` YYYY-MM-DDTHH:MM in
    `zone`, optional, in the future), or FieldErrors with a message for each wrong field."""
    now = now or utcnow()
    today = now.astimezone(zone).date()
    errors: dict[str, str] = {}
    low_text, high_text = (str(form.get(name, "") or "").strip()[:40] for name in ("amount_min", "amount_max"))
    low = high = None
    if not low_text and not high_text:
        errors["amount_min"] = "Enter the price, or a range from the lowest to the highest."
    else:
        low = _amount(low_text, "amount_min", errors) if low_text else None
        high = _amount(high_text, "amount_max", errors) if high_text else None
        if low is not None and high is not None and low > high:
            errors["amount_max"] = "The highest amount must be at least the lowest."
        low, high = (low if low is not None else high), (high if high is not None else low)
    included = ""
    try:
        included = written_text(
            form.get("included"),
            "included",
            most=INCLUDED_MAX,
            missing="Say what the price includes (parts, labour, disposal…).",
        )
    except UserError as exc:
        errors["included"] = exc.message
    valid_until = None
    day_text = str(form.get("valid_until", "") or "").strip()[:20]
    try:
        valid_until = date.fromisoformat(day_text) if day_text else None
    except ValueError:
        errors["valid_until"] = "Enter a date as YYYY-MM-DD, e.g. 2026-01-31."
    if valid_until is None and "valid_until" not in errors:
        errors["valid_until"] = "Enter the last day this quote holds."
    elif valid_until is not None and valid_until < today:
        errors["valid_until"] = "The quote must be valid until today or a later day."
    elif valid_until is not None and valid_until > today + timedelta(days=MAX_VALID_DAYS):
        last = today + timedelta(days=MAX_VALID_DAYS)
        errors["valid_until"] = f"A quote holds for {MAX_VALID_DAYS} days at most (until {last.isoformat()})."
    visit_at = None
    visit_text = str(form.get("visit_at", "") or "").strip()[:30]
    if visit_text:
        try:
            visit = datetime.fromisoformat(visit_text)
        except ValueError:
            errors["visit_at"] = "Enter the visit as a date and time, e.g. 2026-01-31T09:30."
        else:
            visit_at = (visit if visit.tzinfo else visit.replace(tzinfo=zone)).astimezone(now.tzinfo)
            if visit_at <= now:
                errors["visit_at"] = "Pick a visit time in the future."
    if errors:
        raise FieldErrors({name: errors[name] for name in FIELDS if name in errors})
    assert low is not None and high is not None and valid_until is not None
    return QuoteTerms(low, high, included, valid_until, visit_at)


def _changed(session: Session, lead: Lead, *business_matches: tuple[int, int]) -> None:
    """Push the change to the businesses' dashboards and the consumer's portal after the commit."""
    for business_id, match_id in business_matches:
        publish_after_commit(
            session, "match", business_id=business_id, match_id=match_id, lead_id=lead.id, consumer_id=lead.consumer_id
        )


def send_quote(session: Session, user: User | None, match_id: int, form: Mapping[str, Any]) -> Quote:
    """Send a quote on an accepted lead (see the module's guarantees); returns it. Does not commit."""
    match, lead, business = access.business_match(session, user, match_id, act=True)
    assert user is not None
    if user.role != Role.BUSINESS_OWNER.value:
        raise NotAllowed("Only the business's owner can send a quote.")
    if match.status == MatchStatus.CONVERTED.value:
        raise UserError("This job is already won: no quote is needed.", field="quote")
    if match.status != MatchStatus.ACCEPTED.value:
        raise UserError("Accept the lead before sending a quote.", field="quote")
    terms = read_terms(form, zone=localtime.lead_zone(lead))
    open_quotes = session.exec(
        select(Quote.match_id, Quote.status).where(
            Quote.lead_id == lead.id, col(Quote.status).in_([QuoteStatus.SENT.value, QuoteStatus.ACCEPTED.value])
        )
    ).all()
    if any(status == QuoteStatus.ACCEPTED.value for _, status in open_quotes):
        raise UserError("The consumer already accepted a quote on this request.", field="quote")
    if any(quoted == match.id for quoted, _ in open_quotes):
        raise UserError("Your quote on this request is still open: wait for the consumer's answer.", field="quote")
    zone = localtime.lead_zone(lead)
    _, expires_at = localtime.day_bounds(terms.valid_until, terms.valid_until, zone)
    quote = Quote(
        lead_id=lead.id,  # type: ignore[arg-type]
        business_id=business.id,  # type: ignore[arg-type]
        match_id=match.id,  # type: ignore[arg-type]
        amount_min_cents=terms.amount_min_cents,
        amount_max_cents=terms.amount_max_cents,
        included=terms.included,
        valid_until=terms.valid_until,
        expires_at=expires_at,  # type: ignore[arg-type]
        visit_at=terms.visit_at,
        created_by_id=user.id,
    )
    session.add(quote)
    session.flush()
    audit.record(
        session,
        actor_id=user.id,
        action="quote.send",
        target=quote,
        after={"lead_id": lead.id, "min_cents": quote.amount_min_cents, "max_cents": quote.amount_max_cents},
    )
    ids = notices.quote_sent(session, lead, quote, business.name, amount_label(quote))
    if ids:
        run_after_commit(session, notify.enqueue_sends, ids)
    _changed(session, lead, (business.id, match.id))  # type: ignore[arg-type]
    return quote


def amount_label(quote: Quote) -> str:
    """ "$450" or "$400–$600" (cents shown only when there are some)."""

    def dollars(cents: int) -> str:
        return f"${cents // 100:,}" if cents % 100 == 0 else f"${cents / 100:,.2f}"

    if quote.amount_min_cents == quote.amount_max_cents:
        return dollars(quote.amount_max_cents)
    return f"{dollars(quote.amount_min_cents)}–{dollars(quote.amount_max_cents)}"


def _is_past(quote: Quote, now: datetime) -> bool:
    expires = quote.expires_at if quote.expires_at.tzinfo else quote.expires_at.replace(tzinfo=now.tzinfo)
    return expires <= now


def quote_view(quote: Quote, business_name: str, zone: ZoneInfo, now: datetime | None = None) -> dict[str, str]:
    """A quote as both sides read it (no contact detail of either side)."""
    now = now or utcnow()
    status = quote.status
    if status == QuoteStatus.SENT.value and _is_past(quote, now):
        status = QuoteStatus.EXPIRED.value  # the worker's sweep has not run yet: it reads as it is
    return {
        "id": str(quote.id),
        "business_id": str(quote.business_id),
        "business_name": business_name,
        "amount": amount_label(quote),
        "value_cents": str(quote.amount_max_cents),
        "included": quote.included,
        "valid_until": f"{quote.valid_until:%b} {quote.valid_until.day}, {quote.valid_until.year}",
        "visit": localtime.exact(quote.visit_at, zone),
        "status": status,
        "status_label": labels.word("quote_status", status),
        "sent": localtime.relative(quote.created_at, now, zone),
        "can_accept": "yes" if status == QuoteStatus.SENT.value else "",
    }


def quotes_for_match(session: Session, user: User | None, match_id: int) -> list[dict[str, str]]:
    """The quotes a business sent on one of its matches, newest first (read like the lead itself)."""
    match, lead, business = access.business_match(session, user, match_id, act=False)
    rows = session.exec(select(Quote).where(Quote.match_id == match.id).order_by(col(Quote.id).desc())).all()
    zone = localtime.lead_zone(lead)
    return [quote_view(q, business.name, zone) for q in rows]


def quotes_by_lead(session: Session, leads: Sequence[Lead]) -> dict[int, list[dict[str, str]]]:
    """Every quote on each of these leads, side by side (lowest value first), for the consumer's portal; the
    caller has checked that the viewer may read these leads. One query."""
    found: dict[int, list[dict[str, str]]] = {lead.id: [] for lead in leads if lead.id is not None}
    if not found:
        return found
    zones = {lead.id: localtime.lead_zone(lead) for lead in leads}
    rows = session.exec(
        select(Quote, Business.name)
        .join(Business, col(Business.id) == col(Quote.business_id))
        .where(col(Quote.lead_id).in_(list(found)))
        .order_by(col(Quote.amount_max_cents), col(Quote.id))
    ).all()
    now = utcnow()
    closed = {lead.id for lead in leads if access.lead_is_closed(lead)}
    for quote, name in rows:
        view = quote_view(quote, name, zones[quote.lead_id], now)
        if quote.lead_id in closed:
            view["can_accept"] = ""  # a withdrawn or rejected request takes no quote
        found[quote.lead_id].append(view)
    return found


Accepter = User | access.MagicGrant | None
"""Who accepts a quote: the consumer's account, or the holder of the request's magic link."""


def _quote_for_consumer(session: Session, actor: Accepter, quote_id: int) -> tuple[Quote, Lead]:
    if isinstance(actor, access.MagicGrant):
        access.magic_lead(session, actor)  # a genuine link lets this transaction reach its own request, only it
    else:
        access.require_area(actor, access.Area.CONSUMER)
    quote = session.get(Quote, quote_id)
    lead = session.get(Lead, quote.lead_id) if quote is not None else None
    if quote is None or lead is None:
        raise NotAllowed(NOT_YOUR_QUOTE)
    access.require_lead_actor(session, actor, lead, NOT_YOUR_QUOTE)
    return quote, lead


def accept_quote(session: Session, user: Accepter, quote_id: int, now: datetime | None = None) -> Quote:
    """The consumer accepts one quote on their request (see the module's guarantees), from their account or
    from the request's magic link (`access.MagicGrant`: that one request's quotes only); accepting it again
    changes nothing. Does not commit."""
    now = now or utcnow()
    quote, lead = _quote_for_consumer(session, user, quote_id)
    actor_id = user.id if isinstance(user, User) else None
    # One accept at a time per request: a second one waits here, then sees the first one's outcome (and a
    # withdrawal committed meanwhile).
    session.exec(select(Lead.id).where(Lead.id == lead.id).with_for_update()).first()
    session.refresh(lead)
    session.refresh(quote)
    w = languages.phrases(lead.language)  # the consumer is told in the request's language
    if access.lead_is_closed(lead):
        raise UserError(w.QUOTE_REQUEST_CLOSED, field="quote")
    if quote.status == QuoteStatus.ACCEPTED.value:
        return quote
    if quote.status in w.QUOTE_REFUSALS:
        raise UserError(w.QUOTE_REFUSALS[quote.status], field="quote")
    if _is_past(quote, now):
        raise UserError(w.QUOTE_REFUSALS[QuoteStatus.EXPIRED.value], field="quote")
    accepted_before = select(Quote.id).where(Quote.lead_id == lead.id, Quote.status == QuoteStatus.ACCEPTED.value)
    if session.exec(accepted_before).first():
        raise UserError(w.QUOTE_ANOTHER_ACCEPTED, field="quote")
    match = session.get(Match, quote.match_id)
    business = session.get(Business, quote.business_id)
    if match is None or business is None or match.status not in access.TAKEN_MATCH_STATUSES:
        raise UserError(w.QUOTE_BUSINESS_GONE, field="quote")
    quote.status, quote.decided_at = QuoteStatus.ACCEPTED.value, now
    session.add(quote)
    declined = session.exec(
        select(Quote).where(Quote.lead_id == lead.id, Quote.status == QuoteStatus.SENT.value, Quote.id != quote.id)
    ).all()
    session.execute(
        update(Quote)
        .where(col(Quote.id).in_([q.id for q in declined]), col(Quote.status) == QuoteStatus.SENT.value)
        .values(status=QuoteStatus.DECLINED.value, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    for other in declined:
        session.refresh(other)
    inbox.record_conversion(session, match, lead, business, quote.amount_max_cents, actor_id=actor_id)
    notification_ids = notices.quote_decided(session, lead, quote, amount_label(quote), accepted=True)
    for other in declined:
        notification_ids += notices.quote_decided(session, lead, other, amount_label(other), accepted=False)
    if notification_ids:
        run_after_commit(session, notify.enqueue_sends, notification_ids)
    audit.record(
        session,
        actor_id=actor_id,
        action="quote.accept",
        target=quote,
        after={
            "lead_id": lead.id,
            "value_cents": quote.amount_max_cents,
            "declined": [q.id for q in declined],
            "via": "magic_link" if isinstance(user, access.MagicGrant) else "account",
        },
    )
    _changed(session, lead, *((q.business_id, q.match_id) for q in declined))
    return quote


def expire_quotes(session: Session, now: datetime | None = None) -> int:
    """Mark every open quote past its valid-until day expired; returns how many. Safe to run twice (a second
    run finds only what has passed since). Pushes the change to both sides. Does not commit."""
    now = now or utcnow()
    expired = session.execute(
        update(Quote)
        .where(col(Quote.status) == QuoteStatus.SENT.value, col(Quote.expires_at) <= now)
        .values(status=QuoteStatus.EXPIRED.value, decided_at=now)
        .returning(Quote.lead_id, Quote.business_id, Quote.match_id)
        .execution_options(synchronize_session=False)
    ).all()
    if not expired:
        return 0
    leads = {lead.id: lead for lead in session.exec(select(Lead).where(col(Lead.id).in_({r[0] for r in expired})))}
    for lead_id, business_id, match_id in expired:
        if lead_id in leads:
            _changed(session, leads[lead_id], (business_id, match_id))
    return len(expired)
