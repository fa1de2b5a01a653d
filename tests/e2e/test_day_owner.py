"""A business owner's day, by clicks from the inbox: Settings → connect the phone line (the simulated line, no
phone account here) → simulate an inbound call → the Inbox shows the caller's request, marked "called you" →
a marketplace request → its detail, contact details hidden → accept (they appear only now) → an AI call that
completes → its recording plays from the app's own address (200, audio) → mark converted.

Local stack only: both calls run through the real bridge session against the local realtime peer.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from leadapp.core.seed import PLUMBER_EMAIL
from tests.e2e.conftest import Deployment
from tests.e2e.journeys import (
    TIMEOUT,
    click_link,
    emailed_link,
    go_to,
    lead_of_the_simulated_call,
    login,
    new_marker,
    open_emailed_link,
    start,
    verify_phone,
)

pytestmark = pytest.mark.e2e
PHONE = "(317) 846-2277"  # its own number: calls count towards a per-number daily limit
CALL_TIMEOUT = 150_000  # a simulated call is a real-time conversation


def test_owner_day_phone_line_inbound_call_accept_ai_call_recording_convert(
    browser: Browser, deployment: Deployment
) -> None:
    if not deployment.local:
        pytest.skip("a deployment with a phone account connects real numbers and dials real phones")
    marker = new_marker()
    email = f"day-{marker}@example.com"
    owner = browser.new_context().new_page()
    owner.set_default_timeout(TIMEOUT)

    # --- Settings: the phone line, and a call to it -------------------------------------------------------------
    login(owner, deployment, PLUMBER_EMAIL, deployment.consumer_password)
    owner.wait_for_url(re.compile(r".*/dashboard/?$"))
    expect(owner.locator("#inbox-count")).to_be_visible()
    go_to(owner, "Settings")
    expect(owner.locator("#phone-line")).to_be_visible()
    if owner.locator("#disconnect-number").count():  # left connected by another journey of this deployment
        owner.locator("#disconnect-number").click()
        expect(owner.locator("#phone-line-notice")).to_contain_text("Disconnected")
    owner.locator("#connect-local-number").click()
    expect(owner.locator("#phone-line-notice")).to_contain_text("Connected")
    expect(owner.locator("#inbound-number")).to_have_text(re.compile(r"^\+1\d{3}55501\d{2}$"))
    owner.locator("#simulate-inbound-call").click()
    expect(owner.locator("#phone-line-notice")).to_contain_text("Your line is ringing")
    expect(owner.locator("#phone-line-error")).to_have_count(0)

    go_to(owner, "Inbox")
    expect(owner.locator("#inbox-count")).to_be_visible()
    lead_of_the_simulated_call(owner, CALL_TIMEOUT).click()  # live, when the call ends
    expect(owner.locator("#detail-called-you")).to_be_visible()
    expect(owner.locator("#lead-detail")).to_contain_text("Called your number")
    go_to(owner, "Inbox")  # the owner waits in the inbox for what comes next
    expect(owner.locator("#inbox-count")).to_be_visible()

    # --- A marketplace request, filed meanwhile by a visitor --------------------------------------------------
    visitor = browser.new_context().new_page()
    visitor.set_default_timeout(TIMEOUT)
    start(visitor, deployment)
    click_link(visitor, deployment, "Get help", "/request")
    visitor.get_by_label("What do you need help with?").fill(
        f"The kitchen faucet sprays water from its base whenever it is on, need a plumber this week (ref {marker})"
    )
    visitor.get_by_label("ZIP code").fill("46032")
    visitor.get_by_label("Your name").fill("Robin Day")
    visitor.locator("#field-email").fill(email)
    visitor.locator("#field-phone").fill(PHONE)
    visitor.locator("#field-consent_ai_calls").click()
    visitor.locator("#request-submit").click()
    expect(visitor.locator("#request-status")).to_have_text("Matched", timeout=30_000)
    expect(visitor.locator("#request-matches")).to_contain_text("Carmel Plumbing Co")
    # The visitor verifies the number on the request's page (the confirmation email's link): consent then counts.
    open_emailed_link(visitor, emailed_link(deployment, marker, "consumer_matched", "/portal/track/"))
    tracked = visitor.locator("#track-request .portal-request")
    verify_phone(visitor, deployment, tracked, "+1" + re.sub(r"\D", "", PHONE), "#track-notice")
    visitor.context.close()

    # It arrives in the inbox live; before accepting, who asked stays hidden.
    row = owner.locator(".lead-row", has_text=marker)
    expect(row).to_be_visible(timeout=30_000)
    expect(row.locator(".called-you")).to_have_count(0)
    row.click()
    detail = owner.locator("#lead-detail")
    expect(detail.locator("#detail-text")).to_contain_text(marker)
    expect(detail.locator("#detail-contact-hidden")).to_be_visible()
    expect(detail).not_to_contain_text(email)
    expect(detail).not_to_contain_text("Robin Day")
    expect(owner.locator("#ai-call")).to_be_disabled()
    expect(owner.locator("#ai-call-reason")).to_contain_text("Accept the lead first")

    owner.locator("#accept-lead").click()
    expect(detail.locator("#detail-status")).to_have_text("Accepted")
    expect(detail.locator("#detail-contact-hidden")).to_have_count(0)
    expect(detail.locator("#detail-email")).to_have_text(email)
    expect(detail.locator("#detail-phone")).to_contain_text("846")
    expect(detail).to_contain_text("Robin Day")

    # --- The AI call, live, to its success -----------------------------------------------------------------
    expect(owner.locator("#ai-call")).to_be_enabled()
    owner.locator("#call-objective").fill("Confirm the leak at the faucet base and book a visit")
    owner.locator("#ai-call").click()
    expect(owner.locator("#call-notice")).to_be_visible()
    panel = detail.locator(".call-panel").first
    expect(panel.locator(".call-status")).to_have_text("Finished", timeout=CALL_TIMEOUT)
    expect(panel.locator(".call-outcome")).to_have_text("Qualified")
    expect(panel.locator(".call-summary")).to_be_visible()
    expect(panel.locator(".transcript-line").first).to_contain_text("AI assistant")

    # The recording: a player in the detail, its address the app's own, answering with audio.
    panel.locator(".open-recording").click()
    audio = panel.locator("audio.call-recording")
    expect(audio).to_be_visible()
    src = audio.get_attribute("src") or ""
    assert src.startswith(f"{deployment.url}/api/v1/recordings/"), src
    answer = owner.request.get(src)
    assert answer.status == 200, answer.status
    assert answer.headers["content-type"].startswith("audio/"), answer.headers["content-type"]
    assert answer.body()[:4] == b"RIFF" and len(answer.body()) > 10_000

    # --- The job is won -------------------------------------------------------------------------------------
    owner.locator("#job-value").fill("450")
    owner.locator("#convert-lead").click()
    expect(detail.locator("#detail-status")).to_have_text("Won")
    expect(owner.get_by_role("alert")).to_have_count(0)
    go_to(owner, "Inbox")
    expect(owner.locator(".lead-row", has_text=marker).locator(".lead-status")).to_have_text("Won")
    owner.context.close()
