"""The consumer's callback journey by clicks: log in, file a request from the portal, ask for a callback before any
business accepted (the portal says it will be LeadApp's concierge call before the consumer confirms), follow the
call live to its success, then turn on "No AI calls" and see callbacks refused (and turn it off again).

Local stack only: the call is placed on the simulated line and the test reads the database to check the call.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import (
    go_to,
    log_in_to_admin,
    my_request_card,
    new_page,
    stack_database,
    stored_lead,
    switch_ai_calls_off,
    verify_phone,
)

pytestmark = pytest.mark.e2e
# A number of its own: a callback counts towards the per-number daily limit, and the switch lists it.
PHONE = "(317) 846-2244"
CALL_TIMEOUT = 150_000  # the simulated conversation is spoken in real time


def _calls_of(deployment: Deployment, marker: str) -> list[tuple[object, str, str | None, str]]:
    """(business id, status, outcome, type) of the calls about the request carrying `marker`."""
    from sqlmodel import select

    from leadapp.core.models import Call

    lead = stored_lead(deployment, marker)
    with stack_database(deployment) as session:
        rows = session.exec(select(Call).where(Call.lead_id == lead.id)).all()
        return [(c.business_id, c.status, c.outcome, c.call_type) for c in rows]


def test_a_callback_before_acceptance_is_a_concierge_call_that_succeeds_then_no_ai_calls(
    browser: Browser, deployment: Deployment
) -> None:
    if not deployment.local:
        pytest.skip("a real deployment would phone a real number")
    page = new_page(browser)
    job = "The pipe under my kitchen sink is leaking into the cabinet, need a plumber this week"
    marker, card = my_request_card(page, deployment, job, PHONE)
    expect(card.locator(".request-status")).to_have_text("Matched")
    # Consent counts once the number is verified: the callback waits for the code texted to it.
    expect(card.locator(".request-callback")).to_be_disabled()
    verify_phone(page, deployment, card, "+1" + re.sub(r"\D", "", PHONE), "#portal-notice")
    card.locator(".request-callback").click()
    dialog = page.locator(".callback-dialog")
    expect(dialog).to_contain_text("A call from LeadApp's assistant")
    expect(dialog.locator(".callback-explanation")).to_contain_text("No business has accepted this request yet")
    expect(dialog.locator(".callback-explanation")).to_contain_text("LeadApp concierge call")
    dialog.locator(".confirm-callback").click()
    expect(page.locator("#portal-notice")).to_contain_text("Callback requested")

    # Live, without a reload: the concierge call runs on the simulated line and ends as a success.
    line = card.locator(".request-call")
    expect(line).to_contain_text("LeadApp concierge call", timeout=30_000)
    expect(line).to_have_text(
        re.compile(r"LeadApp concierge call( \(simulated\))? finished: your request was completed"),
        timeout=CALL_TIMEOUT,
    )
    expect(page.locator("#portal-error")).to_have_count(0)
    calls = _calls_of(deployment, marker)
    assert calls == [(None, "completed", "goal_achieved", "consumer_callback")], calls  # one call, no retry

    # "No AI calls": every number of my requests withdraws consent; a callback is refused with the reason.
    switch_ai_calls_off(page, "#portal-notice", card)
    go_to(page, "New request")
    go_to(page, "My requests")
    expect(page.locator("#no-ai-calls")).to_have_attribute("aria-checked", "true")  # it stays

    # The admin's do-not-call list shows where the entry came from, with the words and the request.
    admin = new_page(browser)
    log_in_to_admin(admin, deployment)
    go_to(admin, "Do-not-call")
    entry = admin.locator(".dnc-row", has_text=PHONE[-4:])
    expect(entry.locator(".dnc-source")).to_have_text("Consumer portal switch")
    expect(entry.locator(".dnc-wording")).to_contain_text('Turned on "No AI calls" in the LeadApp portal')
    expect(entry.locator(".dnc-where")).to_contain_text("request #")
    expect(entry).not_to_contain_text(PHONE)  # masked
    admin.context.close()

    # And back on: callbacks are possible again (the consent given with each request counts again).
    page.locator("#no-ai-calls").click()
    expect(page.locator("#portal-notice")).to_contain_text("AI calls are back on")
    expect(page.locator("#no-ai-calls")).to_have_attribute("aria-checked", "false")
    expect(page.locator(".portal-request", has_text=marker).locator(".callback-reason")).to_have_count(0)
