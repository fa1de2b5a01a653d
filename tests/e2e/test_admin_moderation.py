"""The admin area in the browser: the demo admin changes a fresh user's role (after a confirmation
dialog; the user's open tab loses its access at once), flags a lead and unflags it (it is matched again
by the worker), deactivates and reactivates a business; a password reset link sets a new password once.
On a local stack the audit trail of each action is then read from the database."""

from __future__ import annotations

import re
import secrets
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import (
    TIMEOUT,
    click_link,
    flag_then_unflag,
    go_to,
    lead_row_with_status,
    log_in_to_admin,
    login,
    new_page,
    open_emailed_link,
    search_list,
    stack_database,
    start,
    type_address,
)

pytestmark = pytest.mark.e2e
PASSWORD = "a long enough password"


def _register(page: Page, deployment: Deployment, email: str) -> None:
    start(page, deployment)
    click_link(page, deployment, "Sign up", "/register")
    page.get_by_label("Full name").fill("Fresh User")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.locator("#register-submit").click()
    page.wait_for_url(re.compile(r".*/portal/?$"))
    expect(page.locator("#portal-heading")).to_be_visible()


def _admin(browser: Browser, deployment: Deployment) -> Page:
    page = new_page(browser)
    log_in_to_admin(page, deployment)
    return page


def _audit(session, action: str, target_id: int) -> list[Any]:
    from sqlmodel import select

    from leadapp.core.models import AuditEvent

    query = select(AuditEvent).where(AuditEvent.action == action, AuditEvent.target_id == str(target_id))
    return list(session.exec(query.order_by(AuditEvent.id)).all())


def test_admin_changes_a_role_with_confirmation_and_the_users_open_tab_loses_access(
    browser: Browser, deployment: Deployment
):
    email = f"fresh-{secrets.token_hex(4)}@example.com"
    user_page = new_page(browser)
    _register(user_page, deployment, email)

    admin = _admin(browser, deployment)
    search_list(admin, "Users", email, "users")
    row = admin.locator(f'.user-row[data-email="{email}"]')
    expect(row).to_have_count(1)
    expect(row.locator(".user-role")).to_have_text("Consumer")
    row.locator(".open-user").click()
    expect(admin.locator("#user-detail-email")).to_have_text(email)

    # Cancelling the confirmation changes nothing.
    admin.locator("#user-role-select").click()
    admin.get_by_role("option", name="Business owner").click()
    admin.locator("#change-role").click()
    expect(admin.get_by_role("alertdialog")).to_contain_text(email)
    admin.locator("#cancel-role-change").click()
    expect(admin.get_by_role("alertdialog")).to_have_count(0)
    expect(admin.locator("#user-detail-role")).to_have_text("Consumer")

    admin.locator("#user-role-select").click()
    admin.get_by_role("option", name="Business owner").click()
    admin.locator("#change-role").click()
    expect(admin.get_by_role("alertdialog")).to_contain_text("Business owner")
    admin.locator("#confirm-role-change").click()
    expect(admin.locator("#users-notice")).to_contain_text("Business owner")
    expect(admin.locator("#user-detail-role")).to_have_text("Business owner")
    admin.locator("#back-to-users").click()  # the list says so too
    expect(row.locator(".user-role")).to_have_text("Business owner")

    # The user's open portal tab loses its access without a reload; logging in again gives the new role.
    expect(user_page.locator("#not-allowed")).to_be_visible(timeout=10_000)
    expect(user_page.locator("#portal-heading")).to_have_count(0)
    login(user_page, deployment, email, PASSWORD)
    user_page.wait_for_url(re.compile(r".*/dashboard/?$"))

    if deployment.local:
        from sqlmodel import select

        from leadapp.core.models import User

        with stack_database(deployment) as session:
            user = session.exec(select(User).where(User.email == email)).one()
            admin_user = session.exec(select(User).where(User.email == deployment.admin_email)).one()
            [event] = _audit(session, "user.role_change", user.id)
            assert event.actor_id == admin_user.id
            assert event.before == {"role": "consumer"}
            assert event.after["role"] == "business_owner" and event.after["sessions_revoked"] >= 1
    user_page.context.close()
    admin.context.close()


def test_admin_flags_a_lead_then_unflags_it_and_it_is_matched_again(browser: Browser, deployment: Deployment):
    marker = f"adm{secrets.token_hex(3)}"
    text = (
        "The water heater in my garage is leaking from the bottom, need a plumber today please, "
        f"budget about $450 (ref {marker})"
    )
    reply = httpx.post(
        f"{deployment.url}/api/v1/leads",
        json={"text": text, "zip": "46032", "email": "casey@example.com", "phone": "(317) 846-2233"},
        timeout=20,
    )
    assert reply.status_code == 201, reply.text
    lead_id = reply.json()["id"]

    admin = _admin(browser, deployment)
    search_list(admin, "Leads", marker, "leads")
    row = lead_row_with_status(admin, marker, "matched")
    expect(row.locator(".lead-matches")).not_to_have_text("0")

    flag_then_unflag(admin, row, marker, f"e2e check {marker}")
    expect(admin.locator(".flag-row", has_text=marker)).to_have_count(0)

    admin.locator("#tab-all-leads").click()
    row = lead_row_with_status(admin, marker, "matched")
    expect(row.locator(".lead-matches")).not_to_have_text("0")

    if deployment.local:
        from sqlmodel import select

        from leadapp.core.models import Lead, Match

        with stack_database(deployment) as session:
            lead = session.get(Lead, lead_id)
            assert lead.status == "matched" and not lead.flagged
            assert session.exec(select(Match).where(Match.lead_id == lead_id)).all()
            [flag] = _audit(session, "lead.flag", lead_id)
            assert flag.before["status"] == "matched" and flag.after["status"] == "flagged"
            assert flag.after["flag_reason"] == f"e2e check {marker}"
            [unflag] = _audit(session, "lead.unflag", lead_id)
            assert unflag.before["flagged"] is True and unflag.after["status"] == "classified"
            assert unflag.after["rematch"] is True
    admin.context.close()


def test_admin_deactivates_and_reactivates_a_business(browser: Browser, deployment: Deployment):
    if not deployment.local:
        pytest.skip("deactivates a demo business for a moment: local stack only")
    admin = _admin(browser, deployment)
    search_list(admin, "Businesses", "Midtown Electric", "businesses")
    row = admin.locator(".business-row", has_text="Midtown Electric")
    expect(row).to_have_attribute("data-active", "yes")
    row.locator(".toggle-business").click()
    expect(row).to_have_attribute("data-active", "")
    expect(admin.locator("#businesses-notice")).to_contain_text("deactivated")
    row.locator(".toggle-business").click()
    expect(row).to_have_attribute("data-active", "yes")
    if True:  # local stack: read the audit trail
        from sqlmodel import select

        from leadapp.core.models import Business

        with stack_database(deployment) as session:
            business = session.exec(select(Business).where(Business.name == "Midtown Electric & Air")).one()
            assert business.is_active
            off, on = (
                _audit(session, "business.deactivate", business.id),
                _audit(session, "business.activate", business.id),
            )
            assert off and off[-1].before == {"is_active": True} and off[-1].after == {"is_active": False}
            assert on and on[-1].before == {"is_active": False} and on[-1].after == {"is_active": True}
    admin.context.close()


def test_a_password_reset_link_sets_a_new_password_once(browser: Browser, deployment: Deployment):
    if not deployment.local:
        pytest.skip("reads the emailed link from the local outbox (the database)")
    from sqlmodel import select

    from leadapp.core.models import Notification, User

    email = f"forgetful-{secrets.token_hex(4)}@example.com"
    user_page = new_page(browser)
    _register(user_page, deployment, email)

    admin = _admin(browser, deployment)
    search_list(admin, "Users", email, "users")
    admin.locator(f'.user-row[data-email="{email}"] .open-user').click()
    admin.locator("#send-reset").click()
    expect(admin.locator("#users-notice")).to_contain_text(email)

    with stack_database(deployment) as session:
        user = session.exec(select(User).where(User.email == email)).one()
        note = session.exec(
            select(Notification).where(Notification.user_id == user.id, Notification.kind == "password_reset")
        ).one()
    link = re.search(r"https?://\S+/reset-password/[A-Za-z0-9_-]+", note.body_text).group(0)

    page = new_page(browser)
    open_emailed_link(page, link)
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("Repeat the new password").fill("short")
    page.locator("#reset-submit").click()
    expect(page.locator("#error-password")).to_contain_text("at least 10 characters")
    new_password = "a brand new long password"
    page.get_by_label("New password", exact=True).fill(new_password)
    page.get_by_label("Repeat the new password").fill(new_password)
    page.locator("#reset-submit").click()
    expect(page.locator("#reset-done")).to_be_visible()

    # The user's other open tab is logged out; the old password no longer works, the new one does.
    expect(user_page.locator("#not-allowed")).to_be_visible(timeout=10_000)
    login(page, deployment, email, PASSWORD)
    expect(page.locator("#error-password")).to_contain_text("incorrect")
    login(page, deployment, email, new_password)
    page.wait_for_url(re.compile(r".*/portal/?$"))

    # The link works once.
    open_emailed_link(page, link)
    expect(page.locator("#reset-link-problem")).to_contain_text("already used")
    type_address(page, deployment, "/reset-password/not-a-real-token")
    expect(page.locator("#reset-link-problem")).to_contain_text("not valid")
    for p in (page, user_page, admin):
        p.context.close()


def test_admin_pages_fit_a_phone_and_label_every_field(browser: Browser, deployment: Deployment):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    log_in_to_admin(page, deployment)
    for label, ready in [
        ("Users", "#users-count"),
        ("Leads", "#leads-count"),
        ("Businesses", "#businesses-count"),
    ]:
        go_to(page, label)
        path = label
        expect(page.locator(ready)).to_be_visible()
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a 390px screen"
        unlabeled = page.evaluate(
            """() => [...document.querySelectorAll('input:not([type=hidden]), textarea, button[role=combobox]')]
                 .filter(el => el.getAttribute('aria-hidden') !== 'true')
                 .filter(el => {
                   const label = el.id && document.querySelector(`label[for="${el.id}"]`);
                   return !label || !label.textContent.trim();
                 }).map(el => el.name || el.id || el.outerHTML.slice(0, 80))"""
        )
        assert unlabeled == [], f"{path}: fields without a label: {unlabeled}"
    context.close()
