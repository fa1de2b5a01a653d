"""Accounts by clicks (issue 10, item 6; issue 11, item 6): "Forgot password?" from the log-in page with the
link from the outbox; a new owner confirms their address from the banner's emailed link, creates a business
that waits for the admins, sees the plan card; the admin verifies it from the Verification page."""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import (
    click_link,
    go_to,
    log_in_to_admin,
    login,
    new_page,
    open_emailed_link,
    path_re,
    register_owner,
    save_business_settings,
    start,
)

pytestmark = pytest.mark.e2e
PASSWORD = "a long enough password"


def _emailed_link(deployment: Deployment, to: str, kind: str, path: str) -> str:
    """The newest link of `kind` emailed to `to`, from the local outbox (the database)."""
    from sqlmodel import Session, col, create_engine, select

    from leadapp.core.models import Notification

    engine = create_engine(deployment.database_url)
    try:
        with Session(engine) as session:
            notes = session.exec(
                select(Notification).where(Notification.kind == kind).order_by(col(Notification.id).desc())
            ).all()
    finally:
        engine.dispose()
    note = next(n for n in notes if n.recipient == to)
    found = re.search(rf"https?://\S+/{path}/[A-Za-z0-9_-]+", note.body_text)
    assert found, note.body_text
    return found.group(0)


def _open_forgot_password(page: Page, deployment: Deployment) -> None:
    """From the log-in page to an empty "Forgot your password?" form. Typing before it is there would type into
    the log-in page's own Email field (still on screen for a moment), and the form then sent nothing."""
    page.locator("#forgot-password").click()
    page.wait_for_url(path_re(deployment, "/forgot-password"))
    expect(page.locator("#forgot-submit")).to_be_visible()  # (not the last visit's "we sent a link")


def test_forgot_password_by_the_emailed_link(browser: Browser, deployment: Deployment):
    if not deployment.local:
        pytest.skip("reads the emailed link from the local outbox (the database)")
    page = new_page(browser)
    email = f"forgot-{secrets.token_hex(4)}@example.com"
    register_owner(page, deployment, email, "Vera Verify", PASSWORD)
    page.locator("#logout-button").click()

    start(page, deployment)
    click_link(page, deployment, "Log in", "/login")
    _open_forgot_password(page, deployment)
    page.get_by_label("Email").fill(f"nobody-{secrets.token_hex(4)}@example.com")
    page.locator("#forgot-submit").click()
    unknown_answer = page.locator("#forgot-sent").inner_text()
    page.locator("#back-to-login").click()
    page.wait_for_url(path_re(deployment, "/login"))
    _open_forgot_password(page, deployment)
    page.get_by_label("Email").fill(email)
    page.locator("#forgot-submit").click()
    expect(page.locator("#forgot-sent")).to_have_text(unknown_answer)  # the same answer either way

    open_emailed_link(page, _emailed_link(deployment, email, "password_reset", "reset-password"))
    new_password = "my new long password"
    page.get_by_label("New password", exact=True).fill(new_password)
    page.get_by_label("Repeat the new password").fill(new_password)
    page.locator("#reset-submit").click()
    expect(page.locator("#reset-done")).to_be_visible()
    login(page, deployment, email, new_password)
    page.wait_for_url(re.compile(r".*/dashboard/?$"))
    page.context.close()


def test_owner_verifies_their_email_and_the_admin_verifies_the_business(browser: Browser, deployment: Deployment):
    if not deployment.local:
        pytest.skip("reads the emailed link from the local outbox (the database)")
    owner = new_page(browser)
    email = f"vera-{secrets.token_hex(4)}@example.com"
    name = f"Vera Pipes {secrets.token_hex(3)}"
    register_owner(owner, deployment, email, "Vera Verify", PASSWORD)
    expect(owner.locator("#verify-banner")).to_contain_text("no leads until then")
    owner.locator("#resend-verification").click()
    expect(owner.locator("#verify-notice")).to_contain_text(email)

    save_business_settings(owner, name, "46032")
    expect(owner.locator("#settings-saved")).to_be_visible()
    expect(owner.locator("#plan-name")).to_have_text("Free")
    expect(owner.locator("#plan-leads")).to_have_text("0 of 50")
    expect(owner.locator("#plan-calls")).to_have_text("none on this plan")
    expect(owner.locator("#business-unverified")).to_be_visible()
    expect(owner.locator("#field-plan")).to_have_count(0)  # plans are the admins'

    admin = new_page(browser)
    log_in_to_admin(admin, deployment)
    go_to(admin, "Verification")
    row = admin.locator(".business-row", has_text=name)
    expect(row).to_contain_text("email not confirmed")
    row.locator(".verify-business").click()
    expect(admin.locator("#verification-error")).to_contain_text("not confirmed their email")

    open_emailed_link(owner, _emailed_link(deployment, email, "email_verification", "verify-email"))
    expect(owner.locator("#verify-done")).to_contain_text(email)
    expect(owner.locator("#verify-banner")).to_have_count(0)

    go_to(admin, "Overview")
    go_to(admin, "Verification")
    row = admin.locator(".business-row", has_text=name)
    expect(row).to_contain_text("email confirmed")
    row.locator(".verify-business").click()
    expect(admin.locator("#verification-notice")).to_contain_text(f"{name} is verified")
    admin.locator("#verification-search").fill(name)
    admin.locator("#verification-show").click()
    admin.get_by_role("option", name="All businesses").click()
    admin.locator("#verification-apply").click()
    row = admin.locator(".business-row", has_text=name)
    row.get_by_label("Plan").click()
    admin.get_by_role("option", name="Starter").click()
    row.get_by_label("Monthly lead cap").fill("300")
    row.locator(".plan-save").click()
    expect(admin.locator("#verification-notice")).to_contain_text("plan and lead cap saved")

    go_to(owner, "Settings")
    expect(owner.locator("#plan-name")).to_have_text("Starter")
    expect(owner.locator("#plan-leads")).to_have_text("0 of 300")
    expect(owner.locator("#plan-calls")).to_have_text("0 of 20")
    expect(owner.locator("#business-unverified")).to_have_count(0)
    owner.context.close()
    admin.context.close()
