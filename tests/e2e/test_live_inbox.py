"""Live updates across browsers: a consumer's request appears in the plumber's open dashboard without a
reload; the plumber accepts; the consumer's open portal shows it; another business never sees it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import (
    TIMEOUT,
    go_to,
    log_in_to_inbox,
    new_marker,
    post_request_from_portal,
    start,
)

pytestmark = pytest.mark.e2e
ELECTRICIAN = "electrician@leadapp.demo"
PLUMBER = "plumber@leadapp.demo"


def test_new_lead_appears_live_and_acceptance_reaches_the_consumer(browser: Browser, deployment: Deployment):
    marker = new_marker()
    text = (
        f"The water heater in my basement is leaking from the bottom, need a plumber today please, "
        f"budget about $400 (ref {marker})"
    )
    contexts = [browser.new_context() for _ in range(3)]
    owner, consumer, other = (c.new_page() for c in contexts)
    for p in (owner, consumer, other):
        p.set_default_timeout(TIMEOUT)

    log_in_to_inbox(owner, deployment, PLUMBER)
    # A second tab of the same owner (same browser, same session) follows the same business.
    owner_tab2 = contexts[0].new_page()
    owner_tab2.set_default_timeout(TIMEOUT)
    start(owner_tab2, deployment, "/dashboard")  # a bookmark, in a second tab
    expect(owner_tab2.locator("#inbox-count")).to_be_visible()
    log_in_to_inbox(other, deployment, ELECTRICIAN)

    post_request_from_portal(consumer, deployment, text, "(317) 846-2200")

    # Without any reload, the plumber's open dashboard shows the new lead within 2 seconds.
    row = owner.locator(".lead-row", has_text=marker)
    expect(row).to_be_visible(timeout=2_000)
    go_to(consumer, "My requests")
    request_card = consumer.locator(".portal-request", has_text=marker)
    expect(request_card.locator(".request-status")).to_have_text("Matched")

    row2 = owner_tab2.locator(".lead-row", has_text=marker)
    expect(row2).to_be_visible(timeout=2_000)
    row.click()
    expect(owner.locator("#detail-contact-hidden")).to_be_visible()
    expect(owner.locator("#lead-detail")).not_to_contain_text("casey@example.com")
    owner.locator("#accept-lead").click()
    expect(owner.locator("#detail-email")).to_have_text("casey@example.com")
    expect(owner.locator("#detail-phone")).to_have_text("+13178462200")

    # The owner's other tab shows the new status without a reload.
    expect(row2.locator(".lead-status")).to_have_text("Accepted", timeout=5_000)
    # The consumer's open portal shows the acceptance without a reload.
    expect(request_card.locator(".request-status")).to_have_text("Accepted", timeout=5_000)

    # The electrician in New York never sees it, even after a reload.
    other.reload()
    expect(other.locator("#inbox-count")).to_be_visible()
    expect(other.locator(".lead-row", has_text=marker)).to_have_count(0)
    for c in contexts:
        c.close()
