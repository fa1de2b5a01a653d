"""The owner's inbox on a phone and on a laptop (issue 12, item 1), by taps: inbox → lead → Accept → AI call, the
simulated call ending successfully. On a 390 px phone the inbox is cards (no table), the filters fold into one
"Filter" sheet, a tapped card opens the lead as its own page with Accept / Decline / AI call stuck to the bottom
of the screen, and going back lands at the same place in the list. At 1280 px the inbox stays a table."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import (
    TIMEOUT,
    click_link,
    login,
    new_marker,
    path_re,
    planted_match,
    send_request,
    stack_database,
    start,
    verify_phone,
)

pytestmark = pytest.mark.e2e
PLUMBER = "plumber@leadapp.demo"
PHONE, LAPTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 800}
# Numbers no other browser test uses: each AI call counts towards the per-number daily limit.
PHONES = {390: "(317) 846-2213", 1280: "(317) 846-2214"}
CALL_TIMEOUT = 150_000


def _plant_leads(deployment: Deployment, marker: str, count: int) -> None:
    """Enough older requests matched to the demo plumber that the phone's inbox scrolls."""
    with stack_database(deployment) as s:
        for i in range(count):
            planted_match(
                s,
                f"The bathroom faucet drips all night and the handle is stiff, please fix ({marker}-{i})",
                f"older-{marker}-{i}@example.com",
                60.0 + i,
            )
        s.commit()


def _submit_request(browser: Browser, deployment: Deployment, marker: str, phone: str) -> None:
    page = browser.new_context().new_page()
    page.set_default_timeout(TIMEOUT)
    start(page, deployment)
    click_link(page, deployment, "Get help", "/request")
    send_request(
        page,
        f"Water is leaking from the pipe under the kitchen sink and the cabinet floor is soaked, need a plumber "
        f"this week, budget about $400 ({marker})",
        phone,
    )
    expect(page.locator("#request-status")).to_have_text(re.compile("^matched$", re.I), timeout=30_000)
    # The consumer follows the request by its link and verifies the number (no AI call before that).
    page.locator("#tracking-link").click()
    page.wait_for_url(re.compile(r".*/portal/track/.*"))
    tracked = page.locator("#track-request .portal-request")
    verify_phone(page, deployment, tracked, "+1" + re.sub(r"\D", "", phone), "#track-notice")
    page.context.close()


def _call_in_db(deployment: Deployment, marker: str) -> tuple[str, str]:
    """(status, outcome) of the AI call about the request, from the database."""
    from sqlmodel import Session, create_engine, select

    from leadapp.core.models import Call, Lead

    engine = create_engine(deployment.database_url)
    try:
        with Session(engine) as s:
            lead = s.exec(select(Lead).where(Lead.raw_text.contains(marker))).one()  # type: ignore[attr-defined]
            call = s.exec(select(Call).where(Call.lead_id == lead.id)).one()
            return call.status, call.outcome or ""
    finally:
        engine.dispose()


def _tap(page: Page, selector: str) -> None:
    target = page.locator(selector).locator("visible=true").first
    if page.viewport_size and page.viewport_size["width"] <= 640:
        target.tap()
    else:
        target.click()


def _scroll_back_lands_in_place(page: Page, deployment: Deployment, marker: str) -> None:
    """Far down the phone's list, open a card and go back: the list is where it was."""
    card = page.locator(".lead-card", has_text=f"({marker}-2)")
    card.scroll_into_view_if_needed()
    page.mouse.wheel(0, 0)
    before = page.evaluate("window.scrollY")
    assert before > 300, f"the phone's inbox should scroll here (scrollY {before})"
    card.tap()
    page.wait_for_url(re.compile(re.escape(deployment.url) + r"/dashboard/leads/\d+/?$"))
    expect(page.locator("#lead-detail")).to_contain_text(f"{marker}-2")
    page.go_back()
    page.wait_for_url(path_re(deployment, "/dashboard"))
    expect(card).to_be_in_viewport()
    page.wait_for_function(f"Math.abs(window.scrollY - {before}) < 40", timeout=5_000)


@pytest.mark.parametrize("width", [390, 1280])
def test_inbox_to_lead_to_accept_to_ai_call_by_taps(browser: Browser, deployment: Deployment, width: int):
    if not deployment.local:
        pytest.skip("plants requests in the database and waits for the simulated call: local deployment only")
    marker = new_marker()
    phone = width == 390
    older = new_marker()  # the planted requests' own marker (the new request's must match it alone)
    if phone:
        _plant_leads(deployment, older, 12)
    _submit_request(browser, deployment, marker, PHONES[width])

    context = (
        browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        if phone
        else browser.new_context(viewport=LAPTOP)
    )
    owner = context.new_page()
    owner.set_default_timeout(TIMEOUT)
    login(owner, deployment, PLUMBER, deployment.consumer_password)
    owner.wait_for_url(path_re(deployment, "/dashboard"))
    expect(owner.locator("#inbox-count")).to_be_visible()

    if phone:
        # Cards, not a squeezed table; each says what, how urgent, how far, how good, where it stands, since when.
        expect(owner.locator("#lead-table")).to_be_hidden()
        card = owner.locator(".lead-card", has_text=marker)
        expect(card).to_be_visible()
        for part in (".lead-card-category", ".lead-card-urgency", ".lead-card-score", ".lead-status"):
            expect(card.locator(part)).to_be_visible()
        expect(card.locator(".lead-card-ago")).to_have_text(re.compile(r"ago|just now"))
        box = card.bounding_box()
        assert box is not None and box["width"] <= 390
        assert owner.evaluate("document.documentElement.scrollWidth") <= 390  # nothing sticks out sideways
        _scroll_back_lands_in_place(owner, deployment, older)

        # The filters fold into one sheet: open it, search, apply; it closes on the filtered list.
        expect(owner.locator("#filter-search")).to_be_hidden()
        _tap(owner, "#filter-toggle")
        expect(owner.locator("#filter-search")).to_be_visible()
        owner.locator("#filter-search").fill(marker)
        _tap(owner, "#filter-apply")
        expect(owner.locator("#filter-search")).to_be_hidden()
        expect(owner.locator(".lead-card")).to_have_count(1)
        _tap(owner, f".lead-card:has-text('{marker}')")
    else:
        expect(owner.locator(".lead-card").first).to_be_hidden()
        expect(owner.locator("#filter-toggle")).to_be_hidden()
        owner.locator("#filter-search").fill(marker)
        owner.locator("#filter-apply").click()
        expect(owner.locator(".lead-row")).to_have_count(1)
        owner.locator(".lead-row", has_text=marker).click()

    owner.wait_for_url(re.compile(re.escape(deployment.url) + r"/dashboard/leads/\d+/?$"))
    expect(owner.locator("#detail-text")).to_contain_text(marker)
    # The actions stay in reach at the bottom of the screen, whatever the scroll.
    actions = owner.locator("#lead-actions")
    owner.evaluate("window.scrollTo(0, 0)")
    box = actions.bounding_box()
    height = owner.viewport_size["height"] if owner.viewport_size else 0
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height + 1  # on screen
    if owner.evaluate("document.documentElement.scrollHeight") > height + 100:
        assert box["y"] + box["height"] >= height - 2, box  # a long lead: stuck to the bottom edge
    expect(owner.locator("#ai-call")).to_be_disabled()  # accept first

    _tap(owner, "#accept-lead")
    expect(owner.locator("#detail-status")).to_have_attribute("data-status", "accepted")
    expect(owner.locator("#accept-lead")).to_have_count(0)
    expect(owner.locator("#ai-call")).to_be_enabled()
    owner.locator("#call-objective").fill("Confirm the leak and book a visit")
    _tap(owner, "#ai-call")
    expect(owner.locator("#call-notice")).to_be_visible()

    # The simulated call runs through the real bridge and ends well: its summary appears live on the lead page.
    panel = owner.locator(".call-panel").first
    expect(panel.locator(".call-summary")).to_be_visible(timeout=CALL_TIMEOUT)
    expect(panel.locator(".call-status")).not_to_have_attribute("data-status", "failed")
    deadline = time.monotonic() + 30
    status, outcome = _call_in_db(deployment, marker)
    while status != "completed" and time.monotonic() < deadline:
        time.sleep(0.5)
        status, outcome = _call_in_db(deployment, marker)
    assert (status, outcome) == ("completed", "goal_achieved")
    expect(panel.locator(".call-status")).to_have_attribute("data-status", "completed")
    context.close()
