"""The admin retries a failed notification from the outbox; the worker sends it; the audit trail shows it."""

from __future__ import annotations

import secrets

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import TIMEOUT, go_to, log_in_to_admin, planted_email

pytestmark = pytest.mark.e2e


def test_admin_retries_a_failed_notification_and_the_audit_trail_records_it(page: Page, deployment: Deployment):
    if not deployment.local:
        pytest.skip("plants a failed notification in the database: local deployment only")
    page.set_default_timeout(TIMEOUT)
    marker = f"retry-{secrets.token_hex(3)}"
    notification_id = planted_email(
        deployment,
        marker,
        f"Undelivered {marker}",
        "A message whose provider kept failing.",
        status="failed",
        attempts=5,
        last_error="sendgrid: 503 Service Unavailable",
    )

    log_in_to_admin(page, deployment)
    go_to(page, "Outbox")
    row = page.locator(f'.outbox-row[data-notification="{notification_id}"]')
    expect(row).to_have_attribute("data-status", "failed")
    expect(row.locator(".notification-error")).to_contain_text("503")
    row.locator(".retry-notification").click()
    # The worker sends it through the local outbox; a reload shows it sent.
    for _ in range(20):
        page.reload()
        row = page.locator(f'.outbox-row[data-notification="{notification_id}"]')
        expect(row).to_be_visible()
        if row.get_attribute("data-status") == "sent":
            break
        page.wait_for_timeout(500)
    expect(row).to_have_attribute("data-status", "sent")

    go_to(page, "Audit trail")
    entry = page.locator('.audit-row[data-action="notification.retry"]', has_text=str(notification_id)).first
    expect(entry).to_be_visible()
    expect(entry.locator(".audit-actor")).to_contain_text(deployment.admin_email)
    expect(entry.locator(".audit-before")).to_contain_text("failed")
