"""Quotes by clicks, in two browsers: the plumber accepts a new lead and sends a quote from the lead's page (a
wrong range is refused under its field first); the consumer sees it in the portal without a reload, opens the
quoting business's public page from the quote card, then accepts the quote from the link in the email that told
them of it (the tracking page, no log-in: a phone); the portal and the plumber's open lead page show the job won
and the quote accepted, without a reload."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import TIMEOUT, accepted_in_two_browsers, emailed_link, go_to, new_marker, open_emailed_link

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

    # The consumer compares it in the portal (it arrived without a reload).
    go_to(consumer, "My requests")
    card = consumer.locator(".portal-request", has_text=marker)
    quote = card.locator(".consumer-quote")
    expect(quote.locator(".quote-amount")).to_have_text("$400–$650", timeout=10_000)
    expect(quote.locator(".quote-business")).not_to_have_text("")
    expect(quote.locator(".quote-included")).to_contain_text(marker)

    # The quoting business's name opens its public page.
    quote.locator(".quote-business").click()
    consumer.wait_for_url(re.compile(r".*/pros/\d+-[a-z0-9-]+/?$"))
    expect(consumer.locator("#pro-heading")).to_be_visible()
    expect(consumer.locator("#pro-rating")).not_to_have_text("")
    consumer.go_back()
    expect(quote.locator(".accept-quote")).to_be_visible()

    # The consumer was emailed about the quote; its link opens the request on a phone without logging in, and the
    # quote is accepted there.
    phone = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    phone.set_default_timeout(TIMEOUT)
    open_emailed_link(phone, emailed_link(deployment, marker, "quote_sent", "/portal/track/"))
    tracked = phone.locator(".consumer-quote")
    expect(tracked.locator(".quote-amount")).to_have_text("$400–$650")
    tracked.locator(".accept-quote").click()
    expect(phone.locator("#track-notice")).to_contain_text("Quote accepted")
    expect(tracked.locator(".quote-status")).to_have_text("Accepted")
    expect(tracked.locator(".accept-quote")).to_have_count(0)

    # The logged-in portal shows it too, without a reload.
    expect(quote.locator(".quote-status")).to_have_text("Accepted", timeout=10_000)
    expect(quote.locator(".accept-quote")).to_have_count(0)
    expect(card.locator(".request-status")).to_have_text("Done")

    # The owner's open lead page shows the job won and the quote accepted, without a reload.
    expect(owner.locator("#detail-status")).to_have_text("Won", timeout=10_000)
    expect(sent.locator(".quote-status")).to_have_text("Accepted")
    for p in (owner, consumer, phone):
        p.context.close()
