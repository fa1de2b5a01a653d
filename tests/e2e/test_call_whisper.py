"""The owner whispers to the assistant of a running call, by clicks: a consumer's request (phone verified), the
plumber accepts it and asks for an AI call; without phone accounts the call is simulated through the real bridge
session; while it runs, the owner types a hint under its live transcript and sends it, and sees it appear in the
transcript as their hint (the bridge handed it to the realtime session as a system message)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import ai_call_requested

pytestmark = pytest.mark.e2e
HINT = "Offer Thursday 9 am"
PHONE = "(317) 846-2215"  # its own number: calls count towards a per-number daily limit


def test_the_owner_sends_a_hint_to_a_running_simulated_call_and_sees_it_in_the_transcript(
    browser: Browser, deployment: Deployment
):
    if not deployment.local:
        pytest.skip("a deployment with a phone account dials real phones: nothing to simulate")
    owner = ai_call_requested(
        browser,
        deployment,
        "Kitchen sink drain is clogged and the trap drips under the cabinet, need a plumber this week ({marker})",
        PHONE,
        "Confirm the clog and book a visit",
    )
    panel = owner.locator(".call-panel").first
    expect(panel).to_be_visible()

    # While the call runs, its panel offers the hint form under the live transcript.
    form = panel.locator(".call-hint-form")
    expect(form).to_be_visible(timeout=60_000)
    expect(panel.locator(".transcript-line").first).to_contain_text("AI assistant", timeout=60_000)
    form.get_by_label("Hint for the assistant").fill(HINT)
    form.locator(".send-hint").click()
    hint = panel.locator('.transcript-line[data-speaker="hint"]')
    expect(hint).to_contain_text(HINT, timeout=30_000)
    expect(hint).to_contain_text("Your hint")
    expect(panel.locator(".hint-error")).to_have_count(0)
    # The call goes on to its end; the hint stays in the transcript, and the form goes with the call.
    expect(panel.locator(".call-status")).to_have_text("Finished", timeout=120_000)
    expect(form).to_have_count(0)
    expect(hint).to_contain_text(HINT)
