"""A consumer's own actions in the browser: follow a request by magic link without logging in, ask for a
callback there, withdraw the request from the portal, a forged link opens nothing, delete my data.

Local stack only: the link is signed with the stack's SECRET_KEY, and deleting the demo consumer's data is
not something to do to a shared deployment."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import (
    TIMEOUT,
    file_request_from_portal,
    go_to,
    new_marker,
    open_emailed_link,
    stack_database,
    stored_lead,
    type_address,
    verify_phone,
)

pytestmark = pytest.mark.e2e
# Not the number the other browser tests use: a callback counts towards the per-number daily call limit.
PHONE = "(317) 846-2211"


def _request_state(deployment: Deployment, lead_id: int) -> tuple[str, list[str], list[tuple[str, str, bool]]]:
    """(lead status, its match statuses, its calls as (type, status, consent on file)) straight from the database."""
    from sqlmodel import select

    from leadapp.core.models import Call, Lead, Match

    with stack_database(deployment) as session:
        lead = session.get(Lead, lead_id)
        matches = session.exec(select(Match.status).where(Match.lead_id == lead_id)).all()
        calls = session.exec(select(Call).where(Call.lead_id == lead_id)).all()
        return lead.status, list(matches), [(c.call_type, c.status, c.consent_at is not None) for c in calls]


def test_magic_link_callback_withdraw_and_delete_my_data(
    browser: Browser, deployment: Deployment, monkeypatch: pytest.MonkeyPatch
):
    if not deployment.local:
        pytest.skip("the magic link is signed here with the local stack's SECRET_KEY")
    from leadapp.core import links
    from leadapp.core.settings import get_settings

    marker = new_marker()
    text = (
        "The drain under my kitchen sink is leaking into the cabinet and the floor is getting wet, "
        f"need a plumber this week, budget about $300 (ref {marker})"
    )
    contexts = [browser.new_context() for _ in range(2)]
    consumer, visitor = (c.new_page() for c in contexts)
    for p in (consumer, visitor):
        p.set_default_timeout(TIMEOUT)

    file_request_from_portal(consumer, deployment, text, PHONE)

    # The link from the confirmation email, made as the stack makes it (same SECRET_KEY, its APP_URL).
    lead_id = int(stored_lead(deployment, marker).id)  # type: ignore[arg-type]
    monkeypatch.setenv("APP_URL", deployment.url)
    get_settings.cache_clear()
    link = links.magic_link(lead_id)
    get_settings.cache_clear()

    # Someone who is not logged in follows the request with the link alone.
    open_emailed_link(visitor, link)
    tracked = visitor.locator("#track-request .portal-request")
    expect(tracked.locator(".request-status")).to_have_text("Matched")
    expect(tracked).to_contain_text(marker)
    expect(tracked.locator(".matched-business").first).to_have_text("Carmel Plumbing Co")
    expect(tracked).not_to_contain_text("plumber@leadapp.demo")
    expect(visitor.locator("#nav-user")).to_have_count(0)
    verify_phone(visitor, deployment, tracked, "+1" + re.sub(r"\D", "", PHONE), "#track-notice")
    tracked.locator(".request-callback").click()
    # Asked first, and told whose call it will be: no business accepted yet, so LeadApp's concierge.
    expect(visitor.locator(".callback-dialog .callback-explanation")).to_contain_text("LeadApp concierge call")
    visitor.locator(".callback-dialog .confirm-callback").click()
    expect(visitor.locator("#track-notice")).to_contain_text("Callback requested")
    expect(tracked.locator(".request-callback")).to_be_disabled()
    expect(tracked.locator(".callback-reason")).to_have_text("A callback is already requested.")

    # The consumer withdraws it from the portal.
    go_to(consumer, "My requests")
    card = consumer.locator(".portal-request", has_text=marker)
    expect(card.locator(".request-status")).to_have_text("Matched")
    card.locator(".withdraw-request").click()
    expect(card.locator(".request-status")).to_have_text("Withdrawn")
    expect(consumer.locator("#portal-notice")).to_contain_text("withdrawn")
    expect(card.locator(".withdraw-request")).to_be_disabled()

    visitor.reload()
    expect(tracked.locator(".request-status")).to_have_text("Withdrawn")
    expect(tracked.locator(".withdraw-request")).to_be_disabled()

    status, match_statuses, calls = _request_state(deployment, lead_id)
    assert status == "withdrawn"
    assert match_statuses and all(s == "expired" for s in match_statuses)
    # Asked for with consent on file; outside calling hours it was still waiting and the withdrawal stopped it,
    # inside them the (simulated) call may already have been placed before the withdrawal.
    assert [(kind, consent) for kind, _, consent in calls] == [("consumer_callback", True)]
    assert calls[0][1] in ("canceled", "dialing", "ringing", "in_progress", "completed", "failed")

    # A tampered link opens nothing.
    token = link.rsplit("/", 1)[1]
    type_address(visitor, deployment, f"/portal/track/{token[:-3]}{'AAA' if not token.endswith('AAA') else 'BBB'}")
    expect(visitor.locator("#track-invalid")).to_be_visible(timeout=20_000)
    expect(visitor.locator(".portal-request")).to_have_count(0)

    # Delete my data: asked to confirm, then every request is gone from the portal, and the link is dead.
    consumer.locator("#delete-my-data").click()
    consumer.locator("#confirm-delete").click()
    expect(consumer.locator("#portal-notice")).to_contain_text("deleted")
    expect(consumer.locator("#portal-empty")).to_be_visible()
    expect(consumer.locator(".portal-request")).to_have_count(0)
    open_emailed_link(visitor, link)
    expect(visitor.locator("#track-invalid")).to_be_visible(timeout=20_000)
    assert _request_state(deployment, lead_id)[0] == "deleted"
    for c in contexts:
        c.close()
