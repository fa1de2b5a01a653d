"""The owner's inbox by clicks (issues 10 and 11): no contact detail before accepting — not on the page and not
in what the server sends the browser — and all of it after; a withdrawn request leaves the open inbox and
cannot be accepted; a consumer's request for a person on an AI call shows as a badge until marked handled."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, WebSocket, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import (
    TIMEOUT,
    answer_interview,
    go_to,
    log_in_to_inbox,
    new_marker,
    new_page,
    planted_match,
    post_request_from_portal,
    stack_database,
    start,
)

pytestmark = pytest.mark.e2e
PLUMBER = "plumber@leadapp.demo"
STREET = "742 Evergreen Terrace"


class Frames:
    """Every websocket frame the server sent this page (the Reflex state deltas), as text."""

    def __init__(self, page: Page) -> None:
        self.received: list[str] = []
        page.on("websocket", self._watch)

    def _watch(self, ws: WebSocket) -> None:
        ws.on("framereceived", lambda payload: self.received.append(str(payload)))

    def text(self) -> str:
        return "\n".join(self.received).lower()


def _owner(browser: Browser, deployment: Deployment) -> tuple[Page, Frames]:
    page = browser.new_context().new_page()
    page.set_default_timeout(TIMEOUT)
    frames = Frames(page)
    log_in_to_inbox(page, deployment, PLUMBER)
    return page, frames


def _interview(page: Page, deployment: Deployment, marker: str, email: str) -> None:
    """A visitor's guided interview, answered as people answer: the street in one answer, the contact in another."""
    start(page, deployment, "/request/interview")  # a visitor's journey starts on the guided request
    expect(page.locator(".chat-assistant").first).to_be_visible()
    submit = page.locator("#interview-submit")
    answers = [
        f"Water is dripping from the ceiling under the upstairs bathroom, ref {marker}",
        "It comes from the toilet supply line, still dripping, water is off now",
        "46032",
        "Today if possible, it's urgent",
        "Around $300",
        f"Weekdays after 4pm, the house is {STREET}",
        f"email or phone: {email} or (317) 846-2200",
    ]
    answer_interview(page, answers, until_ready=False)
    expect(submit).to_be_enabled()
    page.locator("#interview-consent").click()
    submit.click()
    expect(page.locator("#request-received")).to_be_visible()


def test_the_owner_sees_no_contact_detail_until_accepting(browser: Browser, deployment: Deployment):
    marker = new_marker()
    email = f"casey.{marker}@example.com"
    owner, frames = _owner(browser, deployment)
    visitor = browser.new_context().new_page()
    visitor.set_default_timeout(TIMEOUT)
    _interview(visitor, deployment, marker, email)

    row = owner.locator(".lead-row", has_text=marker)
    expect(row).to_be_visible(timeout=30_000)  # pushed live once the worker matched it
    for secret in (email, "846-2200", "Evergreen", "email or phone"):
        expect(owner.locator("#lead-table")).not_to_contain_text(secret)
    row.click()  # the lead opens on its own page
    detail = owner.locator("#lead-detail")
    expect(owner.locator("#detail-text")).to_contain_text("toilet supply line")
    expect(owner.locator("#detail-text")).to_contain_text("[address]")
    expect(owner.locator("#detail-contact-hidden")).to_be_visible()
    for secret in (email, "846-2200", "Evergreen", "email or phone"):
        expect(detail).not_to_contain_text(secret)
    # Nor anywhere in what the server sent this browser, hidden or not.
    sent = frames.text()
    assert marker in sent  # the frames are the ones that carried the lead
    assert email not in sent and "evergreen" not in sent and "846-2200" not in sent and "8462200" not in sent

    owner.locator("#accept-lead").click()
    expect(owner.locator("#detail-email")).to_have_text(email)
    expect(owner.locator("#detail-phone")).to_have_text("+13178462200")
    expect(owner.locator("#detail-text")).to_contain_text(STREET)


def test_a_withdrawn_request_leaves_the_open_inbox_and_cannot_be_accepted(browser: Browser, deployment: Deployment):
    marker = new_marker()
    owner, _ = _owner(browser, deployment)
    consumer = new_page(browser)
    job = f"The drain under my kitchen sink leaks into the cabinet, need a plumber this week, budget $300 ({marker})"
    post_request_from_portal(consumer, deployment, job)

    row = owner.locator(".lead-row", has_text=marker)
    expect(row).to_be_visible(timeout=30_000)
    row.click()
    expect(owner.locator("#accept-lead")).to_be_visible()  # the owner is about to accept...

    go_to(consumer, "My requests")
    card = consumer.locator(".portal-request", has_text=marker)
    card.locator(".withdraw-request").click()
    expect(card.locator(".request-status")).to_have_text("Withdrawn")

    # ...but the open lead closes with the reason, no Accept left, and the request is gone from the inbox.
    expect(owner.locator("#detail-gone")).to_be_visible(timeout=5_000)
    expect(owner.locator("#accept-lead")).to_have_count(0)
    owner.locator("#back-to-inbox").click()
    expect(owner.locator("#inbox-count")).to_be_visible()
    expect(row).to_have_count(0)
    owner.locator("#filter-search").fill(marker)
    owner.locator("#filter-apply").click()
    expect(owner.locator("#inbox-empty")).to_be_visible()
    expect(card.locator(".request-status")).to_have_text("Withdrawn")
    expect(card.locator(".match-accepted")).to_have_count(0)


def _lead_with_a_human_callback(deployment: Deployment, marker: str) -> None:
    """A request matched to the demo plumber whose AI call ended with the caller asking for a person (what the
    bridge's request_human tool records), planted in the deployment's database."""
    from leadapp.core.models import Call, utcnow

    with stack_database(deployment) as s:
        match = planted_match(
            s,
            f"Toilet keeps running all night and the handle is loose, please fix it soon ({marker})",
            f"callback-{marker}@example.com",
            82.0,
            lead_status="accepted",
            match_status="accepted",
        )
        s.add(
            Call(
                lead_id=match.lead_id,
                business_id=match.business_id,
                status="completed",
                outcome="declined",
                human_callback_requested=True,
                provider="simulated",
                ended_at=utcnow(),
            )
        )
        s.commit()


def test_a_request_for_a_person_shows_as_a_badge_until_marked_handled(browser: Browser, deployment: Deployment):
    if not deployment.local:
        pytest.skip("plants a finished call in the database: local deployment only")
    marker = new_marker()
    _lead_with_a_human_callback(deployment, marker)
    owner, _ = _owner(browser, deployment)
    row = owner.locator(".lead-row", has_text=marker)
    expect(row.locator(".callback-badge")).to_be_visible()
    row.click()
    expect(owner.locator("#detail-callback")).to_contain_text("asked to speak with a person")
    owner.locator("#mark-callback-handled").click()
    expect(owner.locator("#detail-callback")).to_have_count(0)
    owner.locator("#back-to-inbox").click()
    expect(row.locator(".callback-badge")).to_have_count(0)
    owner.reload()
    expect(owner.locator(".lead-row", has_text=marker)).to_be_visible()
    expect(owner.locator(".lead-row", has_text=marker).locator(".callback-badge")).to_have_count(0)
