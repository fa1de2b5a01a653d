"""A consumer's day, by clicks from the portal: file a request → the tracking link from the confirmation email →
the request's page → ask for a callback (told first that, with no business accepted yet, it is LeadApp's
concierge call) → the call runs on the simulated line and completes, live → "No AI calls" on that page, then in
the portal → a further callback is refused, on the portal and on the tracking page.

Local stack only: the email is read from the local outbox and the call is placed on the simulated line.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import (
    NO_AI_CALLS,
    TIMEOUT,
    emailed_link,
    file_marked_request,
    go_to,
    open_emailed_link,
    switch_ai_calls_off,
    verify_phone,
)

pytestmark = pytest.mark.e2e
PHONE = "(317) 846-2266"  # its own number: callbacks count towards a per-number daily limit
CALL_TIMEOUT = 150_000  # the simulated conversation is spoken in real time


def test_consumer_day_request_tracking_link_callback_then_no_ai_calls(page: Page, deployment: Deployment) -> None:
    if not deployment.local:
        pytest.skip("reads the confirmation email from the local outbox; a real deployment would phone a number")
    page.set_default_timeout(TIMEOUT)
    job = "Water is dripping from the ceiling under our upstairs bathroom, need a plumber this week"
    marker = file_marked_request(page, deployment, job, PHONE)

    # The confirmation email carries a link to follow the request; it opens the request's own page.
    link = emailed_link(deployment, marker, "consumer_matched", "/portal/track/")
    open_emailed_link(page, link)
    tracked = page.locator("#track-request .portal-request")
    expect(tracked).to_contain_text(marker)
    expect(tracked.locator(".request-status")).to_have_text("Matched")
    expect(tracked.locator(".matched-business").first).to_have_text("Carmel Plumbing Co")
    # The consent counts once the number is verified: the code texted to it, typed on the request's page.
    verify_phone(page, deployment, tracked, "+1" + re.sub(r"\D", "", PHONE), "#track-notice")
    expect(tracked.locator(".callback-reason")).to_have_count(0)

    # Asked first, and told whose call it will be.
    tracked.locator(".request-callback").click()
    dialog = page.locator(".callback-dialog")
    expect(dialog).to_have_attribute("data-kind", "concierge")
    expect(dialog).to_contain_text("A call from LeadApp's assistant")
    expect(dialog.locator(".callback-explanation")).to_contain_text("LeadApp concierge call")
    dialog.locator(".confirm-callback").click()
    expect(page.locator("#track-notice")).to_contain_text("Callback requested")
    expect(page.locator("#track-error")).to_have_count(0)

    # The call runs on the simulated line; the page follows it live to its success (never "failed").
    line = tracked.locator(".request-call")
    expect(line).to_contain_text("LeadApp concierge call", timeout=30_000)
    expect(line).to_have_text(
        re.compile(r"LeadApp concierge call( \(simulated\))? finished: your request was completed"),
        timeout=CALL_TIMEOUT,
    )
    expect(line).not_to_contain_text("failed")

    # "No AI calls" right on the tracking page (no account needed): a further callback is refused; and back on.
    switch = switch_ai_calls_off(page, "#track-notice", tracked)
    switch.click()
    expect(page.locator("#track-notice")).to_contain_text("AI calls are back on")
    expect(switch).to_have_attribute("aria-checked", "false")
    expect(tracked.locator(".callback-reason", has_text=NO_AI_CALLS)).to_have_count(0)

    # "No AI calls" in the portal (the navigation): a further callback is refused, with the reason.
    go_to(page, "My requests")
    card = page.locator(".portal-request", has_text=marker)
    switch = switch_ai_calls_off(page, "#portal-notice", card)

    # The tracking link says the same.
    open_emailed_link(page, link)
    expect(tracked).to_contain_text(marker)
    expect(tracked.locator(".request-callback")).to_be_disabled()
    expect(tracked.locator(".callback-reason")).to_have_text(NO_AI_CALLS)
    expect(page.locator("#no-ai-calls")).to_have_attribute("aria-checked", "true")

    # Back on, for the other journeys of this consumer (the switch covers every number of their requests).
    go_to(page, "My requests")
    page.locator("#no-ai-calls").click()
    expect(page.locator("#portal-notice")).to_contain_text("AI calls are back on")
