"""Verified reviews by clicks, in two browsers: the plumber accepts a new lead and marks the job converted; the
consumer opens the review link from the emailed invitation (the outbox), is refused without stars, then leaves five
stars and a few words; the plumber sees the review on the lead's page and replies once (the form goes); the consumer
sees the reply on the request card in the portal, then opens the business's public page from the card (the business
that took the job links to it), where the review, the reply and the verified rating show."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import accepted_in_two_browsers, emailed_link, go_to, new_marker, open_emailed_link

pytestmark = pytest.mark.e2e


def test_a_converted_job_is_reviewed_once_and_answered_once(browser: Browser, deployment: Deployment):
    marker = new_marker()
    owner, consumer = accepted_in_two_browsers(browser, deployment, marker)
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

    # The business that did the job links to its public page: the review and the reply are there for anyone.
    business = card.locator(".business-page-link")
    name = business.inner_text()
    business.click()
    consumer.wait_for_url(re.compile(r".*/pros/\d+-[a-z0-9-]+/?$"))
    expect(consumer.locator("#pro-heading")).to_have_text(name)
    expect(consumer.locator("#pro-rating")).to_contain_text("verified review")
    shown = consumer.locator(".pro-review", has_text=marker)
    expect(shown.locator(".pro-review-stars")).to_contain_text("★★★★★")
    expect(shown.locator(".pro-review-reply")).to_contain_text(f"Thank you, Casey! ({marker})")
    expect(shown.locator(".pro-reviewer")).not_to_contain_text("@")
    for p in (owner, consumer):
        p.context.close()
