"""Messages by clicks, in two browsers: once the plumber accepted a lead, the consumer writes from the portal's
request card (an empty message is refused under its field first); the plumber's open lead page shows it without a
reload and answers; the consumer's portal shows the answer without a reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import accepted_in_two_browsers, go_to, new_marker

pytestmark = pytest.mark.e2e


def test_consumer_and_owner_write_to_each_other_live(browser: Browser, deployment: Deployment):
    marker = new_marker()
    owner, consumer = accepted_in_two_browsers(browser, deployment, marker)

    go_to(consumer, "My requests")
    card = consumer.locator(".portal-request", has_text=marker)
    thread = card.locator(".message-thread")
    expect(thread).to_have_count(1, timeout=10_000)
    expect(thread.locator(".thread-empty")).to_be_visible()

    # An empty message is refused under its field, and nothing is stored.
    thread.locator(".send-message").click()
    expect(thread.locator("[id$='-error']")).to_contain_text("Write a message first")
    expect(thread.locator(".thread-message")).to_have_count(0)

    question = f"Can you come Tuesday morning? ({marker})"
    thread.get_by_label("Your message").fill(question)
    thread.locator(".send-message").click()
    mine = thread.locator(".thread-message")
    expect(mine).to_have_count(1)
    expect(mine.locator(".thread-body")).to_have_text(question)
    expect(mine.locator(".thread-author")).to_have_text("You")
    expect(thread.get_by_label("Your message")).to_have_value("")

    # The owner's open lead page shows it without a reload, from "Consumer" (no contact detail in the thread).
    owner_thread = owner.locator(".message-thread")
    received = owner_thread.locator(".thread-message")
    expect(received).to_have_count(1, timeout=10_000)
    expect(received.locator(".thread-body")).to_have_text(question)
    expect(received.locator(".thread-author")).to_have_text("Consumer")
    answer = f"Yes, 9am Tuesday works. ({marker})"
    owner_thread.get_by_label("Your message").fill(answer)
    owner_thread.locator(".send-message").click()
    expect(received).to_have_count(2)
    expect(received.nth(1).locator(".thread-author")).to_have_text("You")

    # The consumer's portal shows the answer without a reload, from the business by name.
    expect(mine).to_have_count(2, timeout=10_000)
    expect(mine.nth(1).locator(".thread-body")).to_have_text(answer)
    expect(mine.nth(1).locator(".thread-author")).not_to_have_text("You")
    expect(mine.nth(1)).to_have_attribute("data-mine", "")
    for p in (owner, consumer):
        p.context.close()
