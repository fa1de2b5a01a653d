"""A consumer's request, from the browser to the matched plumber's outbox."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import (
    TIMEOUT,
    answer_interview,
    choose_interview,
    click_link,
    go_to,
    log_in_to_portal,
    send_request,
    start,
)

pytestmark = pytest.mark.e2e
WATER_HEATER = (
    "My water heater is leaking all over the garage floor, need someone today in Carmel 46032, budget around $500"
)


def test_demo_consumer_request_is_matched_to_the_carmel_plumber(page: Page, deployment: Deployment):
    page.set_default_timeout(TIMEOUT)
    log_in_to_portal(page, deployment)
    go_to(page, "New request")
    send_request(page, WATER_HEATER, "(317) 846-2200")
    expect(page.locator("#request-received")).to_be_visible()
    expect(page.locator("#request-status")).to_have_text("Matched", timeout=30_000)
    expect(page.locator("#request-matches")).to_contain_text("Carmel Plumbing Co")
    expect(page.locator("#request-classification")).to_contain_text("Plumbing")

    # The portal lists it too, with the matched business and never its phone or email.
    go_to(page, "My requests")
    first = page.locator(".portal-request").first
    expect(first).to_contain_text("Carmel Plumbing Co")
    expect(first).not_to_contain_text("plumber@leadapp.demo")

    if deployment.local:
        from sqlmodel import Session, create_engine, select

        from leadapp.core.models import Lead, Notification

        engine = create_engine(deployment.database_url)
        with Session(engine) as session:
            lead = session.exec(select(Lead).order_by(Lead.id.desc())).first()
            notes = session.exec(select(Notification).where(Notification.lead_id == lead.id)).all()
            outbox = [(n.recipient, n.provider, n.status) for n in notes if n.kind == "business_new_lead"]
            assert ("plumber@leadapp.demo", "outbox", "sent") in outbox
        engine.dispose()


def test_form_errors_are_shown_next_to_their_fields(page: Page, deployment: Deployment):
    page.set_default_timeout(TIMEOUT)
    start(page, deployment)
    click_link(page, deployment, "Get help", "/request")
    page.get_by_label("What do you need help with?").fill("help me")
    page.get_by_label("ZIP code").fill("00000")
    page.locator("#field-email").fill("nope@")
    page.locator("#request-submit").click()
    expect(page.locator("#error-text")).to_contain_text("at least 10 words")
    expect(page.locator("#error-zip")).to_be_visible()
    expect(page.locator("#error-email")).to_be_visible()


def test_guided_interview_collects_the_fields_then_submits(page: Page, deployment: Deployment):
    page.set_default_timeout(TIMEOUT)
    start(page, deployment, "/request")
    choose_interview(page)
    submit_button = page.locator("#interview-submit")
    expect(submit_button).to_be_disabled()
    answers = [
        "My air conditioner stopped cooling and makes a grinding noise when it runs",
        "It's a 12 year old Carrier unit, not cooling at all",
        "The grinding comes from the outside unit whenever it starts",
        "46032",
        "This week would be great",
        "not sure",
        "Weekdays after 5pm",
        "casey@example.com",
    ]
    answer_interview(page, answers)
    expect(page.locator("#interview-error")).to_have_count(0)
    expect(page.locator("#panel-category")).to_contain_text("HVAC")
    expect(page.locator("#panel-zip")).to_have_text("46032")
    expect(page.locator("#panel-contact")).to_have_text("casey@example.com")
    expect(submit_button).to_be_enabled()
    submit_button.click()
    page.wait_for_url(re.compile(r".*/request/?$"))
    expect(page.locator("#request-received")).to_be_visible()
    expect(page.locator("#request-status")).not_to_have_text("Received", timeout=30_000)


def test_interview_answer_box_empties_on_send_and_keeps_a_rejected_answer(page: Page, deployment: Deployment):
    page.set_default_timeout(TIMEOUT)
    start(page, deployment, "/request")
    choose_interview(page)
    box = page.get_by_label("Your answer")

    # Nothing typed: a clear message, no new question.
    page.locator("#interview-send").click()
    expect(page.locator("#interview-error")).to_contain_text("Type an answer first")
    expect(page.locator(".chat-assistant")).to_have_count(1)

    # Too long: rejected with the reason, and what was typed is given back rather than lost.
    too_long = "leak " * 401
    box.fill(too_long)
    page.locator("#interview-send").click()
    expect(page.locator("#interview-error")).to_contain_text("under 2000 characters")
    expect(box).to_have_value(too_long)
    expect(page.locator(".chat-assistant")).to_have_count(1)

    # Accepted: the box is empty at once, the next answer typed straight away is not wiped by the reply.
    box.fill("My kitchen sink drain is clogged and the water will not go down at all")
    page.locator("#interview-send").click()
    box.fill("46032")
    expect(page.locator(".chat-assistant")).to_have_count(2)
    expect(page.locator("#interview-error")).to_have_count(0)
    expect(box).to_have_value("46032")
    page.locator("#interview-send").click()
    expect(page.locator(".chat-assistant")).to_have_count(3)
    expect(page.locator("#panel-zip")).to_have_text("46032")
    expect(box).to_have_value("")
