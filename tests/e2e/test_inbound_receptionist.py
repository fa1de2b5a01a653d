"""The owner sets up the AI receptionist and takes a call, by clicks from the inbox: Settings (the navigation) →
connect the local number → simulate an inbound call → back to the Inbox → the caller's request appears there
without a reload, marked "called you" → its detail (the score factor by factor) → release it to the
marketplace, keeping it.

Without phone accounts the call runs through the real bridge session against the local realtime peer and a
scripted caller (the same path as a real call, minus the telephone network)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import TIMEOUT, go_to, lead_of_the_simulated_call, login

pytestmark = pytest.mark.e2e
PLUMBER = "plumber@leadapp.demo"
CALL_TIMEOUT = 120_000  # a simulated call is a real-time conversation of about half a minute


def test_owner_connects_the_line_takes_a_simulated_call_and_releases_the_lead(page: Page, deployment: Deployment):
    if not deployment.local:
        pytest.skip("a deployment with a phone account connects real numbers: nothing to simulate")
    page.set_default_timeout(TIMEOUT)
    login(page, deployment, PLUMBER, deployment.consumer_password)
    page.wait_for_url(re.compile(r".*/dashboard/?$"))
    expect(page.locator("#inbox-count")).to_be_visible()

    go_to(page, "Settings")
    line = page.locator("#phone-line")
    expect(line).to_be_visible()
    if page.locator("#disconnect-number").count():  # left connected by an earlier run against this deployment
        page.locator("#disconnect-number").click()
        expect(page.locator("#phone-line-notice")).to_contain_text("Disconnected")
    page.locator("#connect-local-number").click()
    expect(page.locator("#phone-line-notice")).to_contain_text("Connected")
    expect(page.locator("#inbound-number")).to_have_text(re.compile(r"^\+1\d{3}55501\d{2}$"))
    expect(page.locator("#inbound-mode")).to_have_attribute("data-mode", "local")
    # The owner's rating is shown, not typed.
    expect(page.locator("#settings-rating")).to_be_visible()
    expect(page.locator("#field-rating")).to_have_count(0)

    page.locator("#simulate-inbound-call").click()
    expect(page.locator("#phone-line-notice")).to_contain_text("Your line is ringing")
    expect(page.locator("#phone-line-error")).to_have_count(0)

    # Back to the inbox through the navigation, and wait there: the lead arrives live when the call ends.
    go_to(page, "Inbox")
    expect(page.locator("#inbox-count")).to_be_visible()
    newest = lead_of_the_simulated_call(page, CALL_TIMEOUT)
    expect(newest).to_contain_text("Plumbing")

    newest.click()
    detail = page.locator("#lead-detail")
    expect(detail.locator("#detail-called-you")).to_be_visible()
    expect(detail.locator("#detail-call-origin")).to_have_attribute("data-released", "no")
    expect(detail).to_contain_text("Called your number")
    expect(detail).to_contain_text("Alex Morgan")
    factors = detail.locator(".score-factor")
    expect(factors.first).to_be_visible()
    assert factors.count() >= 7
    shown = [float(text) for text in detail.locator(".factor-points").all_inner_texts()]
    total = float(detail.locator("#score-total").inner_text())
    assert round(sum(shown), 1) == total  # each factor's points add up to the match score

    page.locator("#release-lead").click()
    expect(detail.locator("#detail-call-origin")).to_have_attribute("data-released", "yes")
    expect(page.locator("#call-notice")).to_contain_text("Released")
    expect(page.locator("#release-lead")).to_have_count(0)
    expect(page.get_by_role("alert")).to_have_count(0)
    # Released, it stays in this owner's inbox, still marked as their call.
    page.locator("#back-to-inbox").click()
    page.reload()
    expect(newest.locator(".called-you")).to_have_text("called you")
