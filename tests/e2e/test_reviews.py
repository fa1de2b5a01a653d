"""Verified reviews by clicks, in two browsers: the plumber accepts a new lead and marks the job converted; the
consumer opens the review link from the emailed invitation (the outbox), is refused without stars, then leaves five
stars and a few words; the plumber sees the review on the lead's page and replies once (the form goes); the consumer
sees the reply on the request card in the portal."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import TIMEOUT, emailed_link, go_to, login, new_marker, open_emailed_link

pytestmark = pytest.mark.e2e
PLUMBER = "plumber@leadapp.demo"


def test_a_converted_job_is_reviewed_once_and_answered_once(browser: Browser, deployment: Deployment):
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

    # The owner opens the new lead from the inbox, accepts it, does the job and marks it converted.
    row = owner.locator(".lead-row", has_text=marker)
    expect(row).to_be_visible(timeout=30_000)
    row.click()
    owner.locator("#accept-lead").click()
    expect(owner.locator("#detail-email")).to_have_text("casey@example.com")
    owner.locator("#job-value").fill("450")
    owner.locator("#convert-lead").click()
    expect(owner.locator("#detail-status")).to_have_text("Won", timeout=10_000)

    # The consumer opens the review link from the invitation email; no stars is refused under the field.
    open_emailed_link(consumer, emailed_link(deployment, marker, "review_invite", "/review/"))
    expect(consumer.locator("#review-heading")).to_be_visible()
    consumer.locator("#review-text").fill(f"Fixed the valve in an hour, tidy and on time ({marker})")
    consumer.locator("#review-submit").click()
    expect(consumer.locator("#review-error-stars")).to_have_text("Choose from 1 to 5 stars.")
    consumer.locator("#review-stars").select_option("5")
    consumer.locator("#review-submit").click()
    expect(consumer.locator("#review-done")).to_be_visible()
    expect(consumer.locator("#review-posted-stars")).to_have_text("5 of 5 stars")

    # The owner sees it on the lead's page (back through the inbox) and replies once: the form goes.
    go_to(owner, "Inbox")
    owner.locator(".lead-row", has_text=marker).click()
    review = owner.locator("#lead-review")
    expect(review.locator("#lead-review-text")).to_contain_text(marker)
    expect(review.locator("#lead-review-stars")).to_have_text("★★★★★")
    review.locator("#review-reply-text").fill(f"Thank you, Casey! ({marker})")
    review.locator("#post-reply").click()
    expect(review.locator("#review-reply")).to_contain_text(f"Thank you, Casey! ({marker})")
    expect(owner.locator("#reply-form")).to_have_count(0)

    # The consumer sees the reply under their review on the request card.
    go_to(consumer, "My requests")
    card = consumer.locator(".portal-request", has_text=marker)
    expect(card.locator(".my-review-stars")).to_have_text("5 of 5 stars")
    expect(card.locator(".review-reply")).to_contain_text(f"Thank you, Casey! ({marker})")
    expect(card.locator(".review-form")).to_have_count(0)
    for c in contexts:
        c.close()
