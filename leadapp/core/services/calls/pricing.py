"""A call's carrier cost as the provider reports it: Twilio's price, from the status callback when it carries
one, else from the REST call resource once Twilio has priced the call (usually shortly after it ended), in place
of the per-minute estimate.

Guarantees:
- A price is only taken in USD and as a plausible figure (Twilio writes it negative, as a charge: "-0.01400");
  anything else leaves the estimate, so a strange field never breaks the status callback it came with.
- Once a reported price is recorded (`calls.cost_carrier_reported`), nothing replaces it; the total is recomputed
  in the same statement (carrier + realtime + summary).
- The REST look-up is a job (`refresh_carrier_price`) for Twilio calls that ended without a reported price; while
  Twilio has not priced the call it raises `PriceNotYet`, and RQ's Retry asks again later (a few times).
"""

from __future__ import annotations

import math

from rq import Retry
from sqlalchemy import update
from sqlmodel import col

from leadapp.core.db import session_scope
from leadapp.core.models import Call, utcnow
from leadapp.core.observability import get_logger
from leadapp.core.providers import telephony
from leadapp.core.services.calls.states import _publish_call
from leadapp.core.tasks import CALLS, enqueue

log = get_logger(__name__)

CARRIER_PRICE_JOB = "worker.jobs.refresh_carrier_price"
PRICE_RETRY = Retry(max=4, interval=[60, 300, 900, 3600])
MAX_PRICE_CENTS = 100_000.0  # $1,000: more than any phone call costs; a larger figure is not a price


class PriceNotYet(Exception):
    """Twilio has not priced the call yet (its `price` is still null): ask again later."""


def price_cents(price: object, unit: object = "USD") -> float | None:
    """Twilio's price (a string or number, negative for a charge) in USD → cents; None when absent, in another
    currency, not a number, or implausible."""
    if price is None or price == "" or str(unit or "USD").upper() != "USD":
        return None
    try:
        value = abs(float(str(price).strip()))
    except ValueError:
        return None
    cents = round(value * 100, 4)
    return cents if math.isfinite(cents) and cents <= MAX_PRICE_CENTS else None


def record_carrier_price(call_id: int, cents: float) -> bool:
    """Make `cents` the call's carrier cost, reported by the provider (total recomputed); False when the call is
    unknown or already has a reported price (nothing changed)."""
    with session_scope() as session:
        changed = session.execute(
            update(Call)
            .where(col(Call.id) == call_id, col(Call.cost_carrier_reported).is_(False))
            .values(
                cost_carrier_cents=cents,
                cost_carrier_reported=True,
                cost_total_cents=cents + col(Call.cost_realtime_cents) + col(Call.cost_summary_cents),
                updated_at=utcnow(),
            )
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            return False
        call = session.get(Call, call_id)
        if call is not None:
            _publish_call(session, call)
    log.info("carrier_price_recorded", call_id=call_id, cents=cents)
    return True


def enqueue_price_check(call_id: int) -> bool:
    """Ask Twilio for the call's price in a job (once per call; retried while it is not priced yet)."""
    return enqueue(CALLS, CARRIER_PRICE_JOB, call_id, job_id=f"carrier-price-{call_id}", retry=PRICE_RETRY)


def refresh_carrier_price(call_id: int) -> str:
    """Record the price Twilio's REST API gives for the call: "reported", or why not ("unknown_call",
    "already_reported", "not_twilio"); raises `PriceNotYet` while Twilio has not priced it. Safe to run twice."""
    with session_scope() as session:
        call = session.get(Call, call_id)
        if call is None:
            return "unknown_call"
        if call.cost_carrier_reported:
            return "already_reported"
        sid = call.provider_call_sid or ""
        if call.provider != "twilio" or not sid:
            return "not_twilio"
    price, unit = telephony.call_price(sid)
    cents = price_cents(price, unit)
    if cents is None:
        raise PriceNotYet(f"call {call_id}: Twilio has not priced {sid} yet")
    return "reported" if record_carrier_price(call_id, cents) else "already_reported"
