"""A visitor without an account follows their request: the confirmation page shows its tracking link, the
email leads with the same kind of link, and setting a password there turns it into an account (the portal then
lists the request)."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import TIMEOUT, click_link, login, new_marker, open_emailed_link, path_re, start

pytestmark = pytest.mark.e2e
PASSWORD = "a long enough password 7"
PLUMBER = "plumber@leadapp.demo"  # Carmel, IN 46032: Eastern time
EASTERN = re.compile(r"^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2} E[SD]T$")


def _emailed_links(deployment: Deployment, marker: str) -> list[str]:
    """The links of the "matched" email about the request carrying `marker`, in order (bounded wait)."""
    from sqlmodel import Session, create_engine, select

    from leadapp.core.models import Lead, Notification

    engine = create_engine(deployment.database_url)
    try:
        for _ in range(60):
            with Session(engine) as session:
                lead = session.exec(select(Lead).where(Lead.raw_text.contains(marker))).one()  # type: ignore[attr-defined]
                note = session.exec(
                    select(Notification).where(
                        Notification.lead_id == lead.id,
                        Notification.kind == "consumer_matched",
                        Notification.channel == "email",
                    )
                ).first()
                if note is not None:
                    return re.findall(r"https?://\S+", note.body_text)
            time.sleep(0.5)
    finally:
        engine.dispose()
    raise AssertionError("no matched email for the request")


def test_a_visitor_follows_the_request_by_its_link_and_keeps_it_in_a_new_account(
    page: Page, browser: Browser, deployment: Deployment
):
    if not deployment.local:
        pytest.skip("reads the emailed link from the local stack's outbox")
    page.set_default_timeout(TIMEOUT)
    marker = new_marker()
    email = f"follow-{marker}@example.com"
    start(page, deployment)
    click_link(page, deployment, "Get help", "/request")
    page.get_by_label("What do you need help with?").fill(
        f"The bathroom sink drain is leaking under the cabinet, need a plumber this week (ref {marker})"
    )
    page.get_by_label("ZIP code").fill("46032")
    page.locator("#field-email").fill(email)
    page.locator("#request-submit").click()
    expect(page.locator("#request-received")).to_be_visible()

    # The confirmation page shows the request's own link, and says it was also sent.
    shown = page.locator("#tracking-link")
    expect(shown).to_have_attribute("href", re.compile(re.escape(deployment.url) + r"/portal/track/\S+"))
    expect(page.locator("#tracking-link-sent")).to_contain_text("by email")
    expect(page.locator("#request-status")).to_have_text("Matched", timeout=30_000)

    # The email's first link is the tracking link (not the portal, which needs an account).
    links = _emailed_links(deployment, marker)
    assert links and "/portal/track/" in links[0], links
    assert not any(link.rstrip("/").endswith("/portal") for link in links), links

    visitor = browser.new_context().new_page()
    visitor.set_default_timeout(TIMEOUT)
    open_emailed_link(visitor, links[0])
    expect(visitor.locator("#track-request .portal-request")).to_contain_text(marker)
    claim = visitor.locator("#claim-account")
    claim.get_by_label("Password", exact=True).fill(PASSWORD)
    claim.get_by_label("Repeat the password").fill(PASSWORD + "x")
    claim.locator("#claim-submit").click()
    expect(visitor.locator("#error-password_confirm")).to_contain_text("differ")
    claim.get_by_label("Repeat the password").fill(PASSWORD)
    claim.locator("#claim-submit").click()

    # Logged in, in the portal, with the request there.
    visitor.wait_for_url(path_re(deployment, "/portal"))
    expect(visitor.locator(".portal-request", has_text=marker)).to_be_visible()
    expect(visitor.locator("#nav-user")).to_contain_text(email)

    # Times read in each viewer's zone: the consumer's request (Carmel, IN) and the Carmel plumber's inbox row
    # show how long ago, with the exact Eastern time on hover.
    expect(visitor.locator(".portal-request", has_text=marker).locator(".request-time")).to_have_attribute(
        "title", EASTERN
    )
    owner = browser.new_context().new_page()
    owner.set_default_timeout(TIMEOUT)
    login(owner, deployment, PLUMBER, deployment.consumer_password)
    row = owner.locator(".lead-row", has_text=marker)
    expect(row.locator(".lead-received")).to_have_attribute("title", EASTERN)
    expect(row.locator(".lead-received")).not_to_have_text(EASTERN)
