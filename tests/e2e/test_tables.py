"""Every admin table has as many cells in each row as it has headers (the outbox once showed 9 headers over
5 cells, its "Channel" column showing the status).

The admin reaches each page by its navigation bar; on each, every table's rows are counted against its
header once the first page of rows has arrived (no skeleton rows left).
"""

from __future__ import annotations

import secrets

import pytest
from playwright.sync_api import Page, expect

from leadapp.components.nav import ADMIN_NAV
from tests.e2e.conftest import Deployment
from tests.e2e.journeys import TIMEOUT, go_to, log_in_to_admin, planted_email

pytestmark = pytest.mark.e2e

_TABLE_SHAPES = """() => [...document.querySelectorAll('main table')].map(t => ({
    id: t.id || t.getAttribute('aria-label') || '(no id)',
    headers: t.querySelectorAll('thead tr:first-child > th').length,
    rows: [...t.querySelectorAll('tbody > tr')].map(r => r.querySelectorAll(':scope > td, :scope > th').length),
}))"""


def _tables_of(page: Page) -> list[dict]:
    expect(page.locator("main h1").first).to_be_visible()
    expect(page.locator("main .rt-Spinner")).to_have_count(0)
    expect(page.locator("main .skeleton-row")).to_have_count(0)
    return page.evaluate(_TABLE_SHAPES)


def test_every_admin_table_has_one_cell_per_header(page: Page, deployment: Deployment):
    if not deployment.local:
        pytest.skip("plants a notification in the database: local deployment only")
    page.set_default_timeout(TIMEOUT)
    marker = f"tables-{secrets.token_hex(3)}"
    # One sent e-mail, so the outbox has a row whatever ran before.
    body = "A message for the outbox's table."
    planted_email(deployment, marker, f"Table check {marker}", body, status="sent", attempts=1, provider="outbox")
    log_in_to_admin(page, deployment)

    # The outbox first: its rows must be there (an empty table would prove nothing).
    go_to(page, "Outbox")
    row = page.locator(".outbox-row", has_text=f"Table check {marker}")
    expect(row).to_be_visible()
    expect(row.locator(".notification-channel")).to_have_text("Email")
    headers = page.locator("#outbox-table thead th")
    expect(headers).to_have_count(row.locator("td").count())
    expect(headers.nth(2)).to_have_text("Channel")

    mismatched: list[str] = []
    checked_rows = 0
    for link in ADMIN_NAV:
        go_to(page, link.label)
        for table in _tables_of(page):
            assert table["headers"] > 0, f"{link.label}: table {table['id']} has no header"
            for n, cells in enumerate(table["rows"]):
                checked_rows += 1
                if cells != table["headers"]:
                    mismatched.append(f"{link.label} {table['id']} row {n}: {cells} cells, {table['headers']} headers")
    assert mismatched == []
    assert checked_rows > 0
