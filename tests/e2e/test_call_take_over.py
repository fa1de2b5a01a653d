"""The owner takes over a running AI call, by clicks: the plumber puts a mobile number in Settings (the phone a
take-over rings), accepts a consumer's request and asks for an AI call; without phone accounts the call is
simulated through the real bridge session; while it runs, "Take over" rings the owner (the simulated owner
answers), the caller is put through, and the call's panel says so: a transcript line, the outcome "Transferred"."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import TIMEOUT, ai_call_requested, go_to, login

pytestmark = pytest.mark.e2e
PHONE = "(317) 846-2217"  # its own number: calls count towards a per-number daily limit
OWNER_MOBILE = "(317) 846-2299"


def _owner_phone_in_settings(browser: Browser, deployment: Deployment) -> None:
    page = browser.new_context().new_page()
    page.set_default_timeout(TIMEOUT)
    login(page, deployment, "plumber@leadapp.demo", deployment.consumer_password)
    page.wait_for_url(re.compile(r".*/dashboard/?$"))
    go_to(page, "Settings")
    expect(page.locator("#settings-heading")).to_have_text("Business settings")
    page.get_by_label("Mobile number for texts").fill(OWNER_MOBILE)
    page.locator("#settings-save").click()
    expect(page.locator("#settings-saved")).to_be_visible()
    page.context.close()


def test_the_owner_takes_over_a_running_simulated_call_and_the_caller_is_put_through(
    browser: Browser, deployment: Deployment
):
    if not deployment.local:
        pytest.skip("a deployment with a phone account dials real phones: nothing to simulate")
    _owner_phone_in_settings(browser, deployment)
    owner = ai_call_requested(
        browser,
        deployment,
        "Water heater pilot keeps going out and there is no hot water in the house, need a plumber ({marker})",
        PHONE,
        "Find out the water heater's age and book a visit",
    )
    panel = owner.locator(".call-panel").first
    expect(panel.locator(".transcript-line").first).to_contain_text("AI assistant", timeout=60_000)
    take_over = panel.locator(".take-over")
    expect(take_over).to_be_visible()
    take_over.click()
    expect(owner.locator("[data-sonner-toast]", has_text="Taking over: your phone will ring")).to_be_visible()

    system = panel.locator('.transcript-line[data-speaker="system"]')
    expect(system.filter(has_text="the caller was put through")).to_have_count(1, timeout=60_000)
    expect(panel.locator(".call-status")).to_have_text("Finished", timeout=120_000)
    expect(panel.locator(".call-outcome")).to_have_attribute("data-outcome", "transferred")
    expect(panel.locator(".hint-error")).to_have_count(0)
    expect(take_over).to_have_count(0)  # the form goes with the call
