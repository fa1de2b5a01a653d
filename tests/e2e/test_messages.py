"""Messages by clicks, in two browsers: once the plumber accepted a lead, the consumer writes from the portal's
request card (an empty message is refused under its field first); the plumber's open lead page shows it without a
reload and answers; the consumer's portal shows the answer without a reload; the owner sends a photo and the
consumer sees it, served to them alone, and sends one back."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import accepted_in_two_browsers, go_to, new_marker
from tests.e2e.test_accessibility import scan

pytestmark = pytest.mark.e2e

# A 1×1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8ffff3f0005fe02fea7d6a6d40000000049454e44ae426082"
)


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

    # The owner sends a photo; the consumer sees it in the thread, served to them through their own link.
    owner_thread.locator(".thread-photo-picker input[type=file]").set_input_files(
        files=[{"name": "leak.png", "mimeType": "image/png", "buffer": PNG}]
    )
    expect(owner_thread.locator(".thread-photo-name")).to_have_text("leak.png")
    owner_thread.locator(".send-photo").click()
    expect(received).to_have_count(3)
    photo = mine.nth(2).locator(".thread-photo img")
    expect(photo).to_be_visible(timeout=10_000)
    src = photo.get_attribute("src") or ""
    assert src.startswith("/api/v1/photos/"), src
    served = consumer.request.get(deployment.url + src)
    assert (served.status, served.headers["content-type"], served.body()) == (200, "image/png", PNG)
    assert consumer.evaluate("(img) => img.naturalWidth", photo.element_handle()) == 1

    # The consumer sends one back from the portal; it lands in this thread and the owner sees it live.
    thread.locator(".thread-photo-picker input[type=file]").set_input_files(
        files=[{"name": "valve.png", "mimeType": "image/png", "buffer": PNG}]
    )
    thread.locator(".send-photo").click()
    expect(mine).to_have_count(4)
    expect(mine.nth(3)).to_have_attribute("data-mine", "yes")
    expect(received.nth(3).locator(".thread-photo img")).to_be_visible(timeout=10_000)
    expect(received.nth(3).locator(".thread-author")).to_have_text("Consumer")

    # Both pages, with their conversation, photos and photo pickers, pass the accessibility scan.
    assert scan(consumer, "portal with a conversation") + scan(owner, "lead with a conversation") == []
    for p in (owner, consumer):
        p.context.close()
