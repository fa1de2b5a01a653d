"""Consent to AI calls counts once the phone is verified, by clicks (issue 11, item 5): in the portal, a request
with consent waits for its number's code (the callback refused with the reason); a code that was never sent and
a wrong code are refused; the code texted to the number (read from the outbox SMS) verifies it and the callback
becomes possible. In the guided interview, "Send code" and the texted code verify the number before submitting.

Local stack only: the code is read from the stack's outbox.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import (
    answer_interview,
    choose_interview,
    click_link,
    my_request_card,
    new_page,
    start,
    stored_lead,
    texted_code,
)

pytestmark = pytest.mark.e2e
PHONE, PHONE_E164 = "(317) 846-2271", "+13178462271"
INTERVIEW_PHONE = "+13178462272"


def _verified(deployment: Deployment, marker: str) -> bool:
    return stored_lead(deployment, marker).phone_verified_at is not None


def test_the_texted_code_verifies_the_number_in_the_portal_and_the_interview(
    browser: Browser, deployment: Deployment
) -> None:
    if not deployment.local:
        pytest.skip("the code is read from the local stack's outbox")
    page = new_page(browser)
    job = "The hot water tank in the basement is dripping from the bottom valve, need a plumber soon"
    marker, card = my_request_card(page, deployment, job, PHONE)
    check = card.locator(".phone-check")
    expect(check).to_contain_text("ending 2271")
    expect(card.locator(".request-callback")).to_be_disabled()
    expect(card.locator(".callback-reason")).to_contain_text("Verify your phone number first")

    # A code nobody sent, then a wrong one: refused with the reason, nothing verified.
    card.locator("input[name='code']").fill("123456")
    card.locator(".verify-phone-code").click()
    expect(page.locator("#portal-error")).to_contain_text("No code is waiting")
    card.locator(".send-phone-code").click()
    expect(page.locator("#portal-notice")).to_contain_text("We texted you a 6-digit code")
    sms_id, code = texted_code(deployment, PHONE_E164)
    card.locator("input[name='code']").fill(f"{(int(code) + 1) % 10**6:06d}")
    card.locator(".verify-phone-code").click()
    expect(page.locator("#portal-error")).to_contain_text("That code is not right (4 tries left)")
    assert not _verified(deployment, marker)

    # The code from the text message.
    card.locator("input[name='code']").fill(code)
    card.locator(".verify-phone-code").click()
    expect(page.locator("#portal-notice")).to_contain_text("Your phone number is verified")
    expect(check).to_have_count(0)
    expect(card.locator(".request-callback")).to_be_enabled()
    assert _verified(deployment, marker)

    # The guided interview: the number given in an answer is verified before the request is sent.
    visitor = new_page(browser)
    start(visitor, deployment)
    click_link(visitor, deployment, "Get help", "/request")
    choose_interview(visitor)
    submit = visitor.locator("#interview-submit")
    answers = [
        f"The drain under the bathroom sink is blocked and the water backs up (ref i{marker})",
        "It started yesterday, the water does not go down at all",
        "46032",
        "This week",
        "not sure",
        "Weekdays after 5pm",
        "(317) 846-2272",
    ]
    answer_interview(visitor, answers)
    expect(submit).to_be_enabled()
    visitor.locator("#interview-send-code").click()
    expect(visitor.locator("#interview-notice")).to_contain_text("We texted you a 6-digit code")
    _, interview_code = texted_code(deployment, INTERVIEW_PHONE, after_id=sms_id)
    visitor.locator("input[name='code']").fill(interview_code)
    visitor.locator("#interview-verify-code").click()
    expect(visitor.locator("#interview-verified")).to_be_visible()
    visitor.locator("#interview-consent").click()
    submit.click()
    visitor.wait_for_url(re.compile(r".*/request/?$"))
    expect(visitor.locator("#request-received")).to_be_visible()
    assert _verified(deployment, f"i{marker}")
