"""Screenshots of the key pages, for a reviewer to look at (not compared pixel by pixel).

Each run walks the main journeys by clicks — a visitor asks for help, the business owner opens the lead,
the consumer follows the request, the admin opens the outbox — on a 1280 px screen, a 390 px phone and a
1280 px screen in the dark theme, and saves a full-page PNG of each page under
`test-results/screenshots/<theme>-<width>/` (git-ignored). Each page must have drawn its content (its h1,
no spinner or skeleton left) and must not scroll sideways.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from leadapp import routes
from leadapp.core.seed import PLUMBER_EMAIL
from tests.e2e.conftest import Deployment
from tests.e2e.journeys import TIMEOUT, click_link, go_to, login, path_re, start

pytestmark = pytest.mark.e2e

SHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"


def _shoot(page: Page, folder: Path, name: str, width: int) -> None:
    expect(page.locator("main h1").first).to_be_visible()
    expect(page.locator("main .rt-Spinner")).to_have_count(0)
    expect(page.locator("main .skeleton-row")).to_have_count(0)
    page.wait_for_load_state("networkidle")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}px"
    page.evaluate("window.scrollTo(0, 0)")  # a full-page shot of a scrolled page draws the sticky header mid-page
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


@pytest.mark.parametrize(("width", "height", "theme"), [(1280, 800, "light"), (390, 844, "light"), (1280, 800, "dark")])
def test_key_pages_are_drawn_and_saved_as_screenshots(
    browser: Browser, deployment: Deployment, width: int, height: int, theme: str
):
    folder = SHOTS / f"{theme}-{width}"
    marker = f"shot-{secrets.token_hex(3)}"
    phone = width < 600

    def context_page() -> Page:
        context = browser.new_context(
            viewport={"width": width, "height": height}, color_scheme=theme, is_mobile=phone, has_touch=phone
        )
        page = context.new_page()
        page.set_default_timeout(TIMEOUT)
        return page

    # A visitor: the home page, the request form, the request sent.
    visitor = context_page()
    start(visitor, deployment)
    _shoot(visitor, folder, "01-home", width)
    click_link(visitor, deployment, "Get help", routes.REQUEST)
    _shoot(visitor, folder, "02-request-form", width)
    visitor.get_by_label("What do you need help with?").fill(
        f"Water is dripping from the ceiling under our upstairs bathroom, need a plumber this week ({marker})"
    )
    visitor.get_by_label("ZIP code").fill("46032")
    visitor.locator("#field-email").fill("screens@example.com")
    visitor.locator("#field-phone").fill("(317) 846-2200")
    visitor.locator("#request-submit").click()
    expect(visitor.locator("#request-status")).to_be_visible(timeout=30_000)
    _shoot(visitor, folder, "03-request-sent", width)
    click_link(visitor, deployment, "Log in", routes.LOGIN)
    _shoot(visitor, folder, "04-login", width)
    visitor.context.close()

    # The business owner: the inbox, the new lead, the settings.
    owner = context_page()
    login(owner, deployment, PLUMBER_EMAIL, deployment.admin_password)
    owner.wait_for_url(path_re(deployment, routes.DASHBOARD))
    # A table row on a wide screen, a card on a phone (the other one is hidden).
    lead = owner.locator(".lead-row:visible, .lead-card:visible", has_text=marker).first
    expect(lead).to_be_visible(timeout=30_000)
    _shoot(owner, folder, "05-owner-inbox", width)
    lead.click()
    expect(owner.locator("#lead-detail")).to_be_visible()
    expect(owner.locator("#lead-detail")).to_contain_text(marker)
    _shoot(owner, folder, "06-lead-detail", width)
    go_to(owner, "Settings")
    _shoot(owner, folder, "07-owner-settings", width)
    owner.context.close()

    # The consumer: their requests.
    consumer = context_page()
    login(consumer, deployment, deployment.consumer_email, deployment.consumer_password)
    consumer.wait_for_url(path_re(deployment, routes.PORTAL))
    _shoot(consumer, folder, "08-portal", width)
    consumer.context.close()

    # The admin: the overview and the outbox (where the visitor's confirmation is).
    admin = context_page()
    login(admin, deployment, deployment.admin_email, deployment.admin_password)
    admin.wait_for_url(path_re(deployment, routes.ADMIN))
    _shoot(admin, folder, "09-admin-home", width)
    go_to(admin, "Outbox")
    expect(admin.locator("#outbox-table")).to_be_visible()
    _shoot(admin, folder, "10-admin-outbox", width)
    admin.context.close()

    assert len(list(folder.glob("*.png"))) >= 10
