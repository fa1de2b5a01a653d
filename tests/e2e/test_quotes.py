"""Quotes by clicks, in two browsers: the plumber accepts a new lead and sends a quote from the lead's page (a
wrong range is refused under its field first); the consumer sees it in the portal without a reload and accepts
it; the plumber's open lead page shows the job won and the quote accepted, without a reload."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import TIMEOUT, go_to, login, new_marker

pytestmark = pytest.mark.e2e
PLUMBER = "plumber@leadapp.demo"


def test_a_quote_sent_by_the_owner_is_accepted_by_the_consumer(browser: Browser, deployment: Deployment):
    marker = new_marker()
    contexts = [browser.new_context() for _ in range(2)]
    owner, consumer = (c.new_page() for c in contexts)
    for p in (owner, consumer):
        p.set_default_timeout(TIMEOUT)

    login(owner, deployment, PLUMBER, deployment.consumer_password)
    owner.wait_for_url(re.compile(r".*/dashboard/?$"))
    expect(owner.locator("#inbox-count")).to_be_visible()

    login(consumer, deployment, deployment.consumer_email, deployment.consumer_password)
    consumer.wait_for_url(re.compile(r".*/portal/?$"))
    go_to(consumer, "New request")
    consumer.get_by_label("What do you need help with?").fill(
        f"The water heater in my garage is leaking from the bottom valve, need a plumber this week (ref {marker})"
    )
    consumer.get_by_label("ZIP code").fill("46032")
    consumer.locator("#field-email").fill("casey@example.com")
    consumer.locator("#field-phone").fill("(317) 846-2200")
    consumer.locator("#request-submit").click()
    expect(consumer.locator("#request-received")).to_be_visible()

    # The owner opens the new lead from the inbox and accepts it.
    row = owner.locator(".lead-row", has_text=marker)
    expect(row).to_be_visible(timeout=30_000)
    row.click()
    owner.locator("#accept-lead").click()
    expect(owner.locator("#detail-email")).to_have_text("casey@example.com")

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
    for c in contexts:
        c.close()
