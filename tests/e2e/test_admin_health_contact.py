"""The admin's side of issue 10, item 9, by clicks: Health lists every provider as configured or local stand-in
with its last error; a visitor's contact message arrives in the admin's email (the outbox) and the sixth message
in an hour from one network is refused with a clear message."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import TIMEOUT, click_link, go_to, login, new_marker, start

pytestmark = pytest.mark.e2e
PROVIDERS = ["anthropic", "openai_realtime", "twilio", "email", "google_places", "turnstile", "photo_storage"]


def _admin(browser: Browser, deployment: Deployment) -> Page:
    page = browser.new_context().new_page()
    page.set_default_timeout(TIMEOUT)
    login(page, deployment, deployment.admin_email, deployment.admin_password)
    page.wait_for_url(re.compile(r".*/admin/?$"))
    expect(page.locator("#admin-heading")).to_be_visible()
    return page


def test_health_shows_each_provider_configured_or_local(browser: Browser, deployment: Deployment):
    admin = _admin(browser, deployment)
    go_to(admin, "Health")
    table = admin.locator("#providers-table")
    for name in PROVIDERS:
        expect(table.locator(f'[data-provider="{name}"]')).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(len(PROVIDERS))
    if deployment.local:  # the local stack runs without any provider key
        for name in PROVIDERS:
            expect(table.locator(f'[data-provider="{name}"]')).to_have_attribute("data-configured", "no")
            expect(table.locator(f'[data-provider="{name}"]')).to_have_text("local stand-in")
        expect(table).to_contain_text("local outbox")


def _forget_contact_limit(deployment: Deployment) -> None:
    """Start the hour afresh for this browser's network: earlier tests of the session also wrote to us."""
    import redis

    client = redis.Redis.from_url(deployment.redis_url)
    try:
        stale = list(client.scan_iter(match="*LIMITER/contact/*", count=500))
        if stale:
            client.delete(*stale)
    finally:
        client.close()


def _send(page: Page, marker: str, n: int) -> None:
    page.get_by_label("Your name").fill("Vera Visitor")
    page.get_by_label("Email").fill("vera@example.com")
    page.get_by_label("Subject").fill(f"Question {n} {marker}")
    page.get_by_label("Message").fill(f"Do you cover Zionsville too? Message {n} ({marker})")
    page.locator("#contact-submit").click()


def test_a_contact_message_reaches_the_admins_email_and_the_sixth_in_an_hour_is_refused(
    browser: Browser, deployment: Deployment
):
    if not deployment.local:
        pytest.skip("sends six messages and resets the hourly limit: local deployment only")
    _forget_contact_limit(deployment)
    try:
        _contact_journey(browser, deployment)
    finally:  # the other browser tests of the session write to us from the same network
        _forget_contact_limit(deployment)


def _contact_journey(browser: Browser, deployment: Deployment) -> None:
    marker = new_marker()
    visitor = browser.new_context().new_page()
    visitor.set_default_timeout(TIMEOUT)
    start(visitor, deployment)
    click_link(visitor, deployment, "Contact", "/contact")
    _send(visitor, marker, 1)
    expect(visitor.locator("#contact-sent")).to_be_visible()

    admin = _admin(browser, deployment)
    go_to(admin, "Outbox")
    row = admin.locator(".outbox-row", has_text=f"Question 1 {marker}").filter(has_text=deployment.admin_email)
    expect(row).to_be_visible()
    for _ in range(20):  # the worker sends it through the local outbox
        if row.get_attribute("data-status") == "sent":
            break
        admin.wait_for_timeout(500)
        admin.reload()
    expect(row).to_have_attribute("data-status", "sent")

    for n in range(2, 6):
        visitor.get_by_role("button", name="Send another message").click()
        _send(visitor, marker, n)
        expect(visitor.locator("#contact-sent")).to_be_visible()
    visitor.get_by_role("button", name="Send another message").click()
    _send(visitor, marker, 6)
    expect(visitor.get_by_text("5 messages in the last hour")).to_be_visible()
    expect(visitor.locator("#contact-sent")).to_have_count(0)

    admin.reload()
    expect(admin.locator(".outbox-row", has_text=f"Question 5 {marker}").first).to_be_visible()
    expect(admin.locator(".outbox-row", has_text=f"Question 6 {marker}")).to_have_count(0)
