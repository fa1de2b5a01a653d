"""An admin's day, by clicks from `/admin`: every admin page is reached through the navigation bar (the
Overview's cards lead to them too) and one real action is taken on each, its result read on the page:

Health (check again) · Users (email a password reset) · Leads (flag a lead, then unflag it: matched again) ·
Businesses (set a rating) · Platform rules (a new spam keyword: a new version) · Weekly audit (run it now) ·
Discovery (find businesses, invite one) · Outbox (read the reset email, its link hidden) · Queues (a queue's
failed jobs) · Calls (filter the log) · Do-not-call (add a number, remove it) · Audit trail (find today's
changes) · Messages (mark a visitor's message answered).

Every table on the way has as many headers as its rows have cells.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from leadapp.components.nav import ADMIN_NAV
from leadapp.core.seed import ELECTRICIAN_EMAIL
from tests.e2e.conftest import Deployment
from tests.e2e.journeys import (
    TIMEOUT,
    click_link,
    flag_then_unflag,
    go_to,
    lead_row_with_status,
    login,
    path_re,
    role_nav,
    search_list,
    start,
)

pytestmark = pytest.mark.e2e
DNC_PHONE = "(317) 846-2288"


def _tables_are_whole(page: Page) -> None:
    """Each table of the page has one header per cell of each of its rows (no shifted or missing column)."""
    expect(page.locator("main .rt-Spinner")).to_have_count(0)
    uneven = page.evaluate(
        """() => [...document.querySelectorAll('main table')].flatMap((t) => {
            const head = t.querySelector('thead tr');
            if (!head) return [];
            const width = (row) => [...row.children].reduce((n, c) => n + (c.colSpan || 1), 0);
            const columns = width(head);
            return [...t.querySelectorAll('tbody tr')].filter((r) => width(r) !== columns)
                .map((r) => `${t.id || 'table'}: ${width(r)} cells under ${columns} headers`);
        })"""
    )
    assert uneven == [], f"{page.url}: {uneven}"


def _send_contact_message(browser: Browser, deployment: Deployment, marker: str) -> None:
    visitor = browser.new_context().new_page()
    visitor.set_default_timeout(TIMEOUT)
    start(visitor, deployment)
    click_link(visitor, deployment, "Contact", "/contact")
    visitor.get_by_label("Your name").fill("Vera Visitor")
    visitor.get_by_label("Email").fill("vera@example.com")
    visitor.get_by_label("Subject").fill(f"Service area {marker}")
    visitor.get_by_label("Message").fill(f"Do you cover Westfield as well? ({marker})")
    visitor.locator("#contact-submit").click()
    expect(visitor.locator("#contact-sent")).to_be_visible()
    visitor.context.close()


def _submit_lead(deployment: Deployment, marker: str) -> None:
    reply = httpx.post(
        f"{deployment.url}/api/v1/leads",
        json={
            "text": "The basement floor drain backs up every time the washer runs, need a plumber this week, "
            f"budget about $300 (ref {marker})",
            "zip": "46032",
            "email": "casey@example.com",
        },
        timeout=20,
    )
    assert reply.status_code == 201, reply.text


def test_admin_day_every_page_by_the_navigation_with_one_action_each(browser: Browser, deployment: Deployment):
    marker = f"day{secrets.token_hex(3)}"
    _send_contact_message(browser, deployment, marker)
    _submit_lead(deployment, marker)
    page = browser.new_context().new_page()
    page.set_default_timeout(TIMEOUT)
    login(page, deployment, deployment.admin_email, deployment.admin_password)
    page.wait_for_url(path_re(deployment, "/admin"))

    # Overview: a card per admin page, each the same page as the bar's entry; the Health card opens Health.
    cards = page.locator("#admin-sections a")
    expect(cards).to_have_count(len(ADMIN_NAV) - 1)
    assert [c.get_attribute("href") for c in cards.all()] == [link.route for link in ADMIN_NAV[1:]]
    expect(role_nav(page).get_by_role("link", name="Overview", exact=True)).to_have_attribute("aria-current", "page")
    cards.filter(has_text="Health").click()
    page.wait_for_url(path_re(deployment, "/admin/health"))
    go_to(page, "Overview")
    expect(page.locator("#admin-sections")).to_be_visible()

    # Health: check again; the local stack is all green.
    go_to(page, "Health")
    page.locator("#health-refresh").click()
    expect(page.locator("#health-all-ok")).to_be_visible()
    expect(page.locator('#health-table [data-ok="no"]')).to_have_count(0)
    _tables_are_whole(page)

    # Users: email a password reset to the electrician.
    search_list(page, "Users", ELECTRICIAN_EMAIL, "users")
    page.locator(f'.user-row[data-email="{ELECTRICIAN_EMAIL}"] .open-user').click()
    expect(page.locator("#user-detail-email")).to_have_text(ELECTRICIAN_EMAIL)
    page.locator("#send-reset").click()
    expect(page.locator("#users-notice")).to_contain_text(f"A password reset link was emailed to {ELECTRICIAN_EMAIL}")
    _tables_are_whole(page)

    # Leads: flag the new lead, then unflag it from the flag queue: it is matched again.
    search_list(page, "Leads", marker, "leads")
    row = lead_row_with_status(page, marker, "matched")
    _tables_are_whole(page)
    flag_then_unflag(page, row, marker, f"looks like a duplicate ({marker})")
    page.locator("#tab-all-leads").click()
    lead_row_with_status(page, marker, "matched")

    # Businesses: set a rating with its review count.
    go_to(page, "Businesses")
    page.locator("#businesses-search").fill("Midtown Electric")
    page.locator("#businesses-apply").click()
    expect(page.locator(".business-row")).to_have_count(1)  # the search applied: no row moves while typing
    business = page.locator(".business-row", has_text="Midtown Electric")
    business.get_by_label("Stars").fill("4.6")
    business.get_by_label("Reviews").fill("101")
    business.locator(".save-rating").click()
    expect(page.locator("#businesses-notice")).to_contain_text("rated 4.6 from 101 reviews")
    expect(business.get_by_label("Stars")).to_have_value("4.6")
    _tables_are_whole(page)

    # Platform rules: one more spam keyword makes a new version, in force at once.
    go_to(page, "Platform rules")
    version = int(re.search(r"\d+", page.locator("#rules-version").inner_text()).group(0))
    keywords = page.locator("#field-spam_keywords")
    keywords.fill(f"{keywords.input_value().rstrip()}\n{marker}")
    page.locator("#field-note").fill(f"spam wave {marker}")
    page.locator("#rules-save").click()
    expect(page.locator("#rules-saved")).to_contain_text(f"Saved as version {version + 1}")
    expect(page.locator("#rules-version")).to_have_text(f"version {version + 1} in force")
    newest = page.locator(".rules-version").first
    expect(newest).to_contain_text(f"spam wave {marker}")
    expect(newest).to_contain_text(marker)

    # Weekly audit: run it now; the report opens.
    go_to(page, "Weekly audit")
    page.locator("#run-audit").click()
    expect(page.locator("#reports-message")).to_contain_text(re.compile(r"Report #\d+ written"), timeout=60_000)
    expect(page.locator("#report-title")).to_be_visible()
    expect(page.locator("#report-markdown")).not_to_be_empty()
    expect(page.locator("#reports-error")).to_have_count(0)
    _tables_are_whole(page)

    # Discovery: plumbers around Carmel, the first qualified one invited.
    go_to(page, "Discovery")
    page.locator("#field-zip").fill("46032")
    page.locator("#discovery-search").click()
    expect(page.locator("#discovery-summary")).to_contain_text(re.compile(r"[1-9]\d* found, [1-9]\d* qualified"))
    invite = page.locator("[data-testid^='invite-']").first
    prospect = invite.locator("xpath=ancestor::form")
    prospect.get_by_label("Owner's email").fill(f"owner-{marker}@example.com")
    invite.click()
    expect(page.locator("#discovery-notice")).to_contain_text(f"Invitation sent to owner-{marker}@example.com")
    expect(page.locator("#discovery-error")).to_have_count(0)
    _tables_are_whole(page)

    # Outbox: the reset email sent this morning, readable, with its link hidden.
    go_to(page, "Outbox")
    reset = page.locator(".outbox-row", has_text=ELECTRICIAN_EMAIL).filter(has_text="Password reset").first
    expect(reset).to_be_visible()
    _tables_are_whole(page)
    reset.locator(".open-notification").click()
    detail = page.locator("#notification-detail")
    expect(detail).to_contain_text("Reset your LeadApp password")
    expect(detail.locator("#message-text")).to_contain_text("/reset-password/[hidden]")
    page.keyboard.press("Escape")
    expect(detail).to_have_count(0)

    # Queues: the failed jobs of the calls queue.
    go_to(page, "Queues")
    expect(page.locator(".queue-row")).to_have_count(4)
    _tables_are_whole(page)
    page.locator('.queue-row[data-queue="calls"] .count-failed a').click()
    expect(page.locator("#failed-queue")).to_have_text("calls")
    expect(page.locator("#failed-empty").or_(page.locator(".failed-job-row").first)).to_be_visible()

    # Calls: the log filtered to this month.
    go_to(page, "Calls")
    month = datetime.now(UTC).strftime("%Y-%m")
    page.locator("#filter-month").fill(month)
    page.locator("#calls-apply").click()
    expect(page.locator("#calls-filtered")).to_have_text(f"Filtered: business any, month {month}")
    expect(page.locator("#ops-error")).to_have_count(0)
    _tables_are_whole(page)

    # Do-not-call: add a number (shown masked, as an admin's entry), then take it off again.
    go_to(page, "Do-not-call")
    page.locator("#dnc-phone").fill(DNC_PHONE)
    page.locator("#dnc-reason").fill(f"asked by letter ({marker})")
    page.locator("#dnc-add").click()
    expect(page.locator("#ops-notice")).to_contain_text("is on the do-not-call list")
    entry = page.locator(".dnc-row", has_text=marker)
    expect(entry.locator(".dnc-source")).to_have_text("Added by an admin")
    expect(entry.locator(".dnc-phone")).to_contain_text("2288")
    expect(entry).not_to_contain_text(DNC_PHONE)
    _tables_are_whole(page)
    entry.locator(".remove-dnc").click()
    expect(page.locator("#ops-notice")).to_contain_text("removed")
    expect(page.locator(".dnc-row", has_text=marker)).to_have_count(0)

    # Audit trail: today's rule change, by this admin.
    go_to(page, "Audit trail")
    page.locator("#audit-action").fill("rules.edit")
    page.locator("#audit-actor").fill(deployment.admin_email)
    page.locator("#audit-apply").click()
    change = page.locator('.audit-row[data-action="rules.edit"]').first
    expect(change).to_be_visible()
    expect(change.locator(".audit-actor")).to_have_text(deployment.admin_email)
    expect(page.locator('.audit-row:not([data-action="rules.edit"])')).to_have_count(0)

    # Messages: the visitor's message, marked answered.
    go_to(page, "Messages")
    message = page.locator(".contact-message", has_text=marker)
    expect(message).to_have_attribute("data-status", "new")
    message.get_by_role("button", name="Mark answered").click()
    expect(message).to_have_attribute("data-status", "answered")
    toast = page.locator("[data-sonner-toast][data-type='success']", has_text="Message marked answered.")
    expect(toast).to_be_visible()
    expect(message.get_by_role("button", name="Reopen")).to_be_visible()
    page.context.close()
