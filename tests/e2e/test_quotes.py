"""Quotes by clicks, in two browsers: the plumber accepts a new lead and sends a quote from the lead's page (a
wrong range is refused under its field first); the consumer sees it in the portal without a reload and accepts
it; the plumber's open lead page shows the job won and the quote accepted, without a reload."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import accepted_in_two_browsers, go_to, new_marker

pytestmark = pytest.mark.e2e


def test_a_quote_sent_by_the_owner_is_accepted_by_the_consumer(browser: Browser, deployment: Deployment):
    marker = new_marker()
    owner, consumer = accepted_in_two_browsers(browser, deployment, marker)

    # A range upside down is refused under its field, and nothing is sent.
    form = owner.locator("#quote-form")
    form.locator("#quote-amount_min").fill("700")
    form.locator("#quote-amount_max").fill("650")
    form.locator("#quote-valid_until").fill((date.today() + timedelta(days=7)).isoformat())
    form.locator("#quote-included").fill(f"Replace the drain valve, parts and labour ({marker})")
    form.locator("#send-quote").click()
    expect(owner.locator("#quote-error-amount_max")).to_contain_text("at least the lowest")
    expect(owner.locator(".sent-quote")).to_have_count(0)

    form.locator("#quote-amount_min").fill("400")
    form.locator("#send-quote").click()
    sent = owner.locator(".sent-quote")
    expect(sent.locator(".quote-amount")).to_have_text("$400–$650")
    expect(sent.locator(".quote-status")).to_have_text("Open")
    expect(owner.locator("#quote-form")).to_have_count(0)  # one open quote at a time

    # The consumer compares it in the portal (it arrived without a reload) and accepts it.
    go_to(consumer, "My requests")
    card = consumer.locator(".portal-request", has_text=marker)
    quote = card.locator(".consumer-quote")
    expect(quote.locator(".quote-amount")).to_have_text("$400–$650", timeout=10_000)
    expect(quote.locator(".quote-business")).not_to_have_text("")
    expect(quote.locator(".quote-included")).to_contain_text(marker)
    quote.locator(".accept-quote").click()
    expect(consumer.locator("#portal-notice")).to_contain_text("Quote accepted")
    expect(quote.locator(".quote-status")).to_have_text("Accepted")
    expect(quote.locator(".accept-quote")).to_have_count(0)
    expect(card.locator(".request-status")).to_have_text("Done")

    # The owner's open lead page shows the job won and the quote accepted, without a reload.
    expect(owner.locator("#detail-status")).to_have_text("Won", timeout=10_000)
    expect(sent.locator(".quote-status")).to_have_text("Accepted")
    for p in (owner, consumer):
        p.context.close()
