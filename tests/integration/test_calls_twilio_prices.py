"""A call's carrier cost as Twilio reports it: the price on the status callback when there is one, else the call
resource's price fetched by a job once Twilio has priced the call, in place of the per-minute estimate. Through the
real `twilio` SDK against the fake Twilio on loopback and the real bridge, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from leadapp.core.services import calls
from leadapp.core.tasks import CALLS, queue
from tests.fakes.twilio_voice import CallSimulator, FakeTwilioVoice, fake_twilio_voice  # noqa: F401
from tests.integration.calls_world import World, after_callbacks, answered, fresh


def test_a_price_on_the_final_callback_is_the_carrier_cost(
    db_session: Session, world: World, simulator: CallSimulator
) -> None:
    s = db_session
    call, sim = answered(s, world, simulator)
    done = after_callbacks(s, call.id, [sim.status("completed", CallDuration="95", Price="-0.02650", PriceUnit="USD")])
    assert done.cost_carrier_reported and done.cost_carrier_cents == pytest.approx(2.65)  # not 2 minutes × 1.4
    assert done.cost_total_cents == pytest.approx(2.65 + done.cost_realtime_cents + done.cost_summary_cents)
    assert queue(CALLS).fetch_job(f"carrier-price-{call.id}") is None  # nothing to look up
    assert calls.refresh_carrier_price(call.id) == "already_reported"


def test_without_a_price_the_estimate_stands_until_the_job_reads_twilios_price(
    db_session: Session, world: World, twilio: FakeTwilioVoice, simulator: CallSimulator
) -> None:
    s = db_session
    call, sim = answered(s, world, simulator)
    done = after_callbacks(s, call.id, [sim.completed(95)])
    assert not done.cost_carrier_reported
    assert done.cost_carrier_cents == pytest.approx(2 * calls.CARRIER_CENTS_PER_MINUTE)
    job = queue(CALLS).fetch_job(f"carrier-price-{call.id}")
    assert job is not None and job.func_name == calls.CARRIER_PRICE_JOB and job.args == (call.id,)
    assert job.retries_left and job.retries_left > 0  # asked again later while Twilio has not priced it

    with pytest.raises(calls.PriceNotYet):  # the resource's price is still null
        calls.refresh_carrier_price(call.id)
    assert not fresh(s, call.id).cost_carrier_reported

    twilio.calls[sim.sid].price = "-0.03100"
    assert calls.refresh_carrier_price(call.id) == "reported"
    priced = fresh(s, call.id)
    assert priced.cost_carrier_reported and priced.cost_carrier_cents == pytest.approx(3.1)
    assert priced.cost_total_cents == pytest.approx(3.1 + priced.cost_realtime_cents + priced.cost_summary_cents)
    twilio.calls[sim.sid].price = "-9.00000"  # a later, different figure never replaces the reported one
    assert calls.refresh_carrier_price(call.id) == "already_reported"
    assert fresh(s, call.id).cost_carrier_cents == pytest.approx(3.1)
    assert any(r["method"] == "GET" and r["path"].endswith(f"/Calls/{sim.sid}.json") for r in twilio.requests)


@pytest.mark.parametrize(
    ("price", "unit", "cents"),
    [
        ("-0.01400", "USD", 1.4),
        ("0.014", "usd", 1.4),
        (None, "USD", None),
        ("", "USD", None),
        ("-0.01", "EUR", None),  # another currency: the estimate stays
        ("nan", "USD", None),
        ("abc", "USD", None),
        ("-5000", "USD", None),  # $5,000 for a phone call is not a price
    ],
)
def test_only_a_plausible_usd_price_is_taken(price: str | None, unit: str, cents: float | None) -> None:
    assert calls.price_cents(price, unit) == (None if cents is None else pytest.approx(cents))


def test_a_malformed_price_on_the_callback_keeps_the_estimate_and_the_callback_still_ends_the_call(
    db_session: Session, world: World, simulator: CallSimulator
) -> None:
    s = db_session
    call, sim = answered(s, world, simulator)
    done = after_callbacks(s, call.id, [sim.status("completed", CallDuration="30", Price="free!", PriceUnit="USD")])
    assert done.status == "completed" and not done.cost_carrier_reported
    assert done.cost_carrier_cents == pytest.approx(calls.CARRIER_CENTS_PER_MINUTE)
