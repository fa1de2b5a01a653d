"""Links that open what they name (issue 12, item 2): the new-lead email's "View and respond" link, opened in a
fresh browser, asks for a log-in and then opens that lead; a competitor who logs in from the same link gets
the refusal page, word for word the one a made-up lead number gets; a hostile `next` on the log-in page never
leaves the site."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import (
    TIMEOUT,
    click_link,
    go_to,
    login,
    new_marker,
    new_page,
    open_emailed_link,
    path_re,
    send_request,
    start,
    type_address,
)

pytestmark = pytest.mark.e2e
PLUMBER = "plumber@leadapp.demo"
ELECTRICIAN = "electrician@leadapp.demo"  # another business, in New York: never matched to a Carmel request


def _submit_request(page: Page, deployment: Deployment, marker: str) -> None:
    start(page, deployment)
    click_link(page, deployment, "Get help", "/request")
    text = f"The kitchen sink drain is clogged and water backs up into the other basin, need a plumber ({marker})"
    send_request(page, text, "", consent=False)
    expect(page.locator("#request-status")).to_have_text(re.compile("^matched$", re.I), timeout=30_000)


def _emailed_links(deployment: Deployment, marker: str) -> tuple[int, str, str]:
    """(lead id, the link in the plumber's new-lead email, the link in its SMS) from the local outbox."""
    from sqlmodel import Session, create_engine, select

    from leadapp.core.models import Business, Lead, Notification
    from leadapp.core.vocab import NotificationKind

    engine = create_engine(deployment.database_url)
    try:
        with Session(engine) as s:
            lead = s.exec(select(Lead).where(Lead.raw_text.contains(marker))).one()  # type: ignore[attr-defined]
            business = s.exec(select(Business).where(Business.name == "Carmel Plumbing Co")).one()
            notes = s.exec(
                select(Notification).where(
                    Notification.lead_id == lead.id,
                    Notification.business_id == business.id,
                    Notification.kind == NotificationKind.BUSINESS_NEW_LEAD.value,
                )
            ).all()
            bodies = {n.channel: n.body_text for n in notes}
            lead_id = int(lead.id)  # type: ignore[arg-type]
    finally:
        engine.dispose()
    pattern = re.compile(r"https?://\S+/dashboard/leads/\d+")
    email, sms = pattern.search(bodies["email"]), pattern.search(bodies.get("sms", bodies["email"]))
    assert email and sms, bodies
    return lead_id, email.group(0), sms.group(0)


def _log_in_here(page: Page, email: str, password: str) -> None:
    """Fill in the log-in page the link led to."""
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.locator("#login-submit").click()


def _logged_in_from_link(browser: Browser, deployment: Deployment, link: str, email: str, lead_path: str) -> Page:
    """A browser that is not logged in opens `link`: the log-in page asks first (and keeps where the link led);
    logged in as `email`, the browser is back at `lead_path`."""
    page = new_page(browser)
    open_emailed_link(page, link)
    page.wait_for_url(re.compile(re.escape(deployment.url) + r"/login\?next=.*leads.*"))
    _log_in_here(page, email, deployment.consumer_password)
    page.wait_for_url(path_re(deployment, lead_path))
    return page


def test_the_emailed_link_opens_the_lead_after_log_in_and_refuses_a_competitor(
    browser: Browser, deployment: Deployment
):
    if not deployment.local:
        pytest.skip("reads the emailed link from the local outbox (the database)")
    marker = new_marker()
    consumer = new_page(browser)
    _submit_request(consumer, deployment, marker)
    lead_id, email_link, sms_link = _emailed_links(deployment, marker)
    lead_path = f"/dashboard/leads/{lead_id}"
    assert email_link == sms_link == f"{deployment.url}{lead_path}"

    # The plumber opens the email's link on a browser that is not logged in: log in first, then the lead.
    owner = _logged_in_from_link(browser, deployment, email_link, PLUMBER, lead_path)
    expect(owner.locator("#lead-detail")).to_be_visible()
    expect(owner.locator("#detail-text")).to_contain_text(marker)
    expect(owner.locator("#accept-lead")).to_be_visible()
    expect(owner.locator("#lead-refused")).to_have_count(0)
    # Back to the inbox, where the lead is listed; its row opens the same page.
    owner.locator("#back-to-inbox").click()
    owner.wait_for_url(path_re(deployment, "/dashboard"))
    owner.locator(".lead-row", has_text=marker).locator(".lead-link").click()
    owner.wait_for_url(path_re(deployment, lead_path))
    expect(owner.locator("#detail-text")).to_contain_text(marker)

    # A competitor who gets hold of the link logs in from it and gets the refusal page, nothing of the lead.
    rival = _logged_in_from_link(browser, deployment, sms_link, ELECTRICIAN, lead_path)
    refusal = rival.locator("#lead-refused")
    expect(refusal).to_be_visible()
    expect(rival.locator("#lead-detail")).to_have_count(0)
    expect(rival.locator("main")).not_to_contain_text(marker)
    foreign_text = refusal.inner_text()
    # The same words for a lead that does not exist: the page tells an attacker nothing.
    type_address(rival, deployment, f"/dashboard/leads/{lead_id + 100000}")
    expect(refusal).to_be_visible()
    assert refusal.inner_text() == foreign_text
    type_address(rival, deployment, "/dashboard/leads/not-a-number")
    expect(refusal).to_be_visible()
    assert refusal.inner_text() == foreign_text
    for p in (consumer, owner, rival):
        p.context.close()


def test_a_hostile_next_after_log_in_stays_on_the_site(browser: Browser, deployment: Deployment):
    page = new_page(browser)
    for hostile in ("//example.org/phish", "/%09/example.org/phish", "https://example.org/phish"):
        type_address(page, deployment, f"/login?next={hostile}")
        _log_in_here(page, PLUMBER, deployment.consumer_password)
        page.wait_for_url(path_re(deployment, "/dashboard"))
        assert page.url.startswith(deployment.url)
        page.locator("#logout-button").locator("visible=true").first.click()
        page.wait_for_url(path_re(deployment, "/"))
    page.context.close()


def test_the_consumer_and_the_admin_open_a_request_at_its_own_address(browser: Browser, deployment: Deployment):
    marker = new_marker()
    consumer = new_page(browser)
    login(consumer, deployment, deployment.consumer_email, deployment.consumer_password)
    consumer.wait_for_url(path_re(deployment, "/portal"))
    go_to(consumer, "New request")
    consumer.get_by_label("What do you need help with?").fill(
        f"The outdoor faucet on the back wall drips constantly and the handle spins freely, need a plumber ({marker})"
    )
    consumer.get_by_label("ZIP code").fill("46032")
    consumer.locator("#field-email").fill("casey@example.com")
    consumer.locator("#request-submit").click()
    expect(consumer.locator("#request-received")).to_be_visible()

    # The portal's card opens the request's own page; back returns to the list.
    go_to(consumer, "My requests")
    card = consumer.locator(".portal-request", has_text=marker)
    card.locator(".open-request").click()
    consumer.wait_for_url(re.compile(re.escape(deployment.url) + r"/portal/requests/\d+/?$"))
    request_path = consumer.url.removeprefix(deployment.url)
    lead_id = int(request_path.rstrip("/").rsplit("/", 1)[1])
    expect(consumer.locator(".portal-request")).to_have_count(1)
    expect(consumer.locator(".portal-request")).to_contain_text(marker)
    consumer.locator("#back-to-requests").click()
    consumer.wait_for_url(path_re(deployment, "/portal"))
    type_address(consumer, deployment, f"/portal/requests/{lead_id + 100000}")
    expect(consumer.locator("#request-refused")).to_be_visible()
    expect(consumer.locator(".portal-request")).to_have_count(0)

    # The admin finds it in the leads list, opens its page, and from there the consumer's page.
    admin = browser.new_context().new_page()
    admin.set_default_timeout(TIMEOUT)
    login(admin, deployment, deployment.admin_email, deployment.admin_password)
    admin.wait_for_url(path_re(deployment, "/admin"))
    go_to(admin, "Leads")
    admin.locator(f'.admin-lead-row[data-lead-id="{lead_id}"] .open-lead').click()
    admin.wait_for_url(path_re(deployment, f"/admin/leads/{lead_id}"))
    expect(admin.locator("#admin-lead-text")).to_contain_text(marker)
    admin.locator("#admin-lead-consumer").click()
    admin.wait_for_url(re.compile(re.escape(deployment.url) + r"/admin/users/\d+/?$"))
    expect(admin.locator("#user-detail-email")).to_have_text(deployment.consumer_email)
    expect(admin.locator(f'.user-lead[data-lead-id="{lead_id}"]')).to_be_visible()
    # The calls log links each call to its page (when this deployment has placed any).
    go_to(admin, "Calls")
    # The log has loaded: its pager, or its empty state when no test before this one placed a call.
    expect(admin.locator("#calls-count").or_(admin.get_by_text("No calls match."))).to_be_visible()
    if admin.locator(".call-row").count():
        call_id = admin.locator(".call-row").first.get_attribute("data-call")
        admin.locator(".call-row").first.locator(".open-call").click()
        admin.wait_for_url(path_re(deployment, f"/admin/calls/{call_id}"))
        expect(admin.locator("#admin-call-detail")).to_be_visible()
    type_address(admin, deployment, "/admin/calls/999999")
    expect(admin.locator("#admin-call-refused")).to_be_visible()
    type_address(admin, deployment, "/admin/leads/999999")
    expect(admin.locator("#admin-lead-refused")).to_be_visible()
    for p in (consumer, admin):
        p.context.close()
