"""The walking skeleton as a person uses it: sign up, log in, role gates, health, contact, phone screens."""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from leadapp.core.seed import PLUMBER_EMAIL
from tests.e2e.conftest import Deployment
from tests.e2e.journeys import TIMEOUT, click_link, go_to, login, send_registration, start, type_address
from tests.e2e.journeys import path_re as _path

pytestmark = pytest.mark.e2e
__all__ = ["TIMEOUT", "login"]  # other browser tests still import these from here


def test_business_owner_registers_logs_in_sees_dashboard_and_is_refused_admin(page: Page, deployment: Deployment):
    page.set_default_timeout(TIMEOUT)
    email = f"owner-{secrets.token_hex(4)}@example.com"
    password = "a long enough password"
    start(page, deployment)
    click_link(page, deployment, "For businesses", "/for-businesses")
    page.get_by_role("link", name="Create a business account").first.click()
    page.wait_for_url(re.compile(r".*/register\?role=business_owner$"))
    expect(page.locator("#role-business")).to_be_checked()
    page.get_by_label("Full name").fill("Olive Owner")
    send_registration(page, email, password)
    page.wait_for_url(_path(deployment, "/dashboard"))
    expect(page.locator("#dashboard-heading")).to_be_visible()

    # Log out, then log in again with the new account.
    page.locator("#logout-button").click()
    page.wait_for_url(_path(deployment, "/"))
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    login(page, deployment, email, password)
    page.wait_for_url(_path(deployment, "/dashboard"))
    expect(page.locator("#dashboard-heading")).to_be_visible()

    # The admin area refuses a business owner who types its address, and shows none of its content.
    type_address(page, deployment, "/admin/health")
    expect(page.locator("#not-allowed")).to_be_visible()
    expect(page.locator("#health-table")).to_have_count(0)
    type_address(page, deployment, "/admin")
    expect(page.locator("#not-allowed")).to_be_visible()
    expect(page.locator("#admin-heading")).to_have_count(0)


def test_registration_shows_field_errors(page: Page, deployment: Deployment):
    page.set_default_timeout(TIMEOUT)
    start(page, deployment)
    click_link(page, deployment, "Sign up", "/register")
    page.get_by_label("Email").fill(f"someone-{secrets.token_hex(3)}@example.com")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Repeat the password").fill("short")
    page.locator("#register-submit").click()
    expect(page.locator("#error-password")).to_contain_text("at least 10 characters")
    assert "/register" in page.url


def test_wrong_password_is_refused(page: Page, deployment: Deployment):
    page.set_default_timeout(TIMEOUT)
    login(page, deployment, deployment.consumer_email, "not the password at all")
    expect(page.locator("#error-password")).to_contain_text("incorrect")
    assert "/login" in page.url


def test_anonymous_visitor_is_sent_to_login(page: Page, deployment: Deployment):
    page.set_default_timeout(TIMEOUT)
    type_address(page, deployment, "/admin/health")
    page.wait_for_url(re.compile(r".*/login/?\?next=.*admin.*health.*"))
    expect(page.locator("#health-table")).to_have_count(0)


def test_admin_sees_every_health_check_green(page: Page, deployment: Deployment):
    page.set_default_timeout(TIMEOUT)
    login(page, deployment, deployment.admin_email, deployment.admin_password)
    page.wait_for_url(_path(deployment, "/admin"))
    go_to(page, "Health")
    for name in ("database", "redis", "worker", "voice_bridge"):
        expect(page.locator(f'[data-check="{name}"]')).to_have_attribute("data-ok", "yes", timeout=40_000)
    expect(page.locator("#health-all-ok")).to_be_visible()


def test_consumer_lands_in_portal_and_is_refused_business_and_admin(page: Page, deployment: Deployment):
    page.set_default_timeout(TIMEOUT)
    login(page, deployment, deployment.consumer_email, deployment.consumer_password)
    page.wait_for_url(_path(deployment, "/portal"))
    expect(page.locator("#portal-heading")).to_be_visible()
    for path in ("/dashboard", "/admin", "/admin/messages"):
        type_address(page, deployment, path)
        expect(page.locator("#not-allowed")).to_be_visible()


def test_contact_message_validated_stored_and_read_by_admin(
    page: Page, context: BrowserContext, deployment: Deployment
):
    page.set_default_timeout(TIMEOUT)
    marker = f"marker-{secrets.token_hex(4)}"
    start(page, deployment)
    click_link(page, deployment, "Contact", "/contact")
    page.get_by_label("Your name").fill("Vera Visitor")
    page.get_by_label("Email").fill("not-an-email@")
    page.get_by_label("Message").fill(f"Do you cover Zionsville? {marker}")
    page.locator("#contact-submit").click()
    expect(page.locator("#error-email")).to_be_visible()
    page.get_by_label("Email").fill("vera@example.com")
    page.locator("#contact-submit").click()
    expect(page.locator("#contact-sent")).to_be_visible()

    admin = context.new_page()
    admin.set_default_timeout(TIMEOUT)
    login(admin, deployment, deployment.admin_email, deployment.admin_password)
    admin.wait_for_url(_path(deployment, "/admin"))
    go_to(admin, "Messages")
    expect(admin.get_by_text(marker)).to_be_visible()


@pytest.mark.parametrize("path", ["/", "/pricing", "/contact", "/login"])
def test_phone_sized_screen_has_no_sideways_scroll_and_a_menu(browser, deployment: Deployment, path: str):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    start(page, deployment, path)
    expect(page.locator("#mobile-menu")).to_be_visible()
    page.wait_for_load_state("networkidle")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a 390px screen"
    page.locator("#mobile-menu").click()
    expect(page.get_by_role("menuitem", name="Pricing")).to_be_visible()
    context.close()


_UNLABELED_FIELDS = """() => [...document.querySelectorAll('form input:not([type=hidden]), form textarea')]
     .filter(el => !el.closest('[role=radiogroup]') && el.getAttribute('aria-hidden') !== 'true')
     .filter(el => {
       const label = el.id && document.querySelector(`label[for="${el.id}"]`);
       return !label || label.offsetParent === null || !label.textContent.trim();
     }).map(el => el.name || el.id)"""


def test_every_form_field_has_a_visible_label(page: Page, deployment: Deployment):
    page.set_default_timeout(TIMEOUT)
    start(page, deployment)
    for name, path in (
        ("Log in", "/login"),
        ("Sign up", "/register"),
        ("Contact", "/contact"),
        ("Get help", "/request"),
    ):
        click_link(page, deployment, name, path)
        page.wait_for_selector("form input")
        unlabeled = page.evaluate(_UNLABELED_FIELDS)
        assert unlabeled == [], f"{path}: fields without a visible label: {unlabeled}"


def test_business_settings_form_fields_have_visible_labels(page: Page, deployment: Deployment):
    if not deployment.local:
        pytest.skip("logs in as the demo plumber: local deployment only")
    page.set_default_timeout(TIMEOUT)
    login(page, deployment, PLUMBER_EMAIL, deployment.consumer_password)
    page.wait_for_url(_path(deployment, "/dashboard"))
    go_to(page, "Settings")
    expect(page.locator("#settings-heading")).to_be_visible()
    page.wait_for_selector("form input")
    unlabeled = page.evaluate(_UNLABELED_FIELDS)
    assert unlabeled == [], f"/dashboard/settings: fields without a visible label: {unlabeled}"


def test_pricing_shows_each_plan_and_its_ai_call_quota(page: Page, deployment: Deployment):
    page.set_default_timeout(TIMEOUT)
    start(page, deployment)
    click_link(page, deployment, "Pricing", "/pricing")
    for plan, label, quota in (
        ("free", "Free", "Notifications only"),
        ("starter", "Starter", "20 AI calls a month"),
        ("pro", "Pro", "100 AI calls a month"),
    ):
        card = page.locator(f"#plan-{plan}")
        expect(card).to_contain_text(label)
        expect(card).to_contain_text(quota)


@pytest.mark.parametrize(
    ("link", "path", "heading", "text"),
    [
        ("For businesses", "/for-businesses", "Leads that are ready to talk", "Create a business account"),
        ("About", "/about", "About LeadApp", "Privacy"),
    ],
)
def test_public_information_pages_render(
    page: Page, deployment: Deployment, link: str, path: str, heading: str, text: str
):
    page.set_default_timeout(TIMEOUT)
    start(page, deployment)
    click_link(page, deployment, link, path)
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect(page.get_by_text(text, exact=True).first).to_be_visible()


@pytest.mark.parametrize(
    ("path", "who", "heading"),
    [
        ("/portal", "consumer", "#portal-heading"),
        ("/dashboard", "owner", "#dashboard-heading"),
        ("/admin", "admin", "#admin-heading"),
    ],
)
def test_signed_in_pages_fit_a_phone_sized_screen(browser, deployment: Deployment, path: str, who: str, heading: str):
    email, password = {
        "consumer": (deployment.consumer_email, deployment.consumer_password),
        "owner": (PLUMBER_EMAIL, deployment.consumer_password),
        "admin": (deployment.admin_email, deployment.admin_password),
    }[who]
    if who == "owner" and not deployment.local:
        pytest.skip("logs in as the demo plumber: local deployment only")
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    login(page, deployment, email, password)
    page.wait_for_url(_path(deployment, path))
    expect(page.locator(heading)).to_be_visible()
    expect(page.locator("#mobile-menu")).to_be_visible()
    page.wait_for_load_state("networkidle")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a 390px screen"
    context.close()


def test_the_favicon_is_served(page: Page, deployment: Deployment):
    response = page.request.get(f"{deployment.url}/favicon.ico")
    assert response.status == 200
    assert response.body()[:4] == b"\x00\x00\x01\x00"  # an ICO file (assets/favicon.ico)


def test_dark_theme_switch(page: Page, deployment: Deployment):
    page.set_default_timeout(TIMEOUT)
    page.emulate_media(color_scheme="light")
    start(page, deployment)
    expect(page.locator("#home-hero")).to_be_visible()
    html = page.locator("html")
    before = "dark" in (html.get_attribute("class") or "")
    page.get_by_role("button", name="Switch light/dark theme").first.click()
    expect(html).to_have_class(re.compile(r"\blight\b") if before else re.compile(r"\bdark\b"))


def test_a_disabled_user_loses_access_at_once_open_tab_included(page: Page, deployment: Deployment, monkeypatch):
    if not deployment.local:
        pytest.skip("disables an account through the services: local deployment only")
    page.set_default_timeout(TIMEOUT)
    email = f"soon-disabled-{secrets.token_hex(4)}@example.com"
    password = "a long enough password"
    start(page, deployment)
    click_link(page, deployment, "Sign up", "/register")
    send_registration(page, email, password)
    page.wait_for_url(_path(deployment, "/portal"))
    expect(page.locator("#portal-heading")).to_be_visible()

    monkeypatch.setenv("DATABASE_URL", deployment.database_url)
    monkeypatch.setenv("REDIS_URL", deployment.redis_url)
    from sqlmodel import select

    from leadapp.core.db import session_scope
    from leadapp.core.models import User
    from leadapp.core.services import accounts
    from tests.conftest import clear_app_caches

    clear_app_caches()
    try:
        with session_scope() as session:
            admin = session.exec(select(User).where(User.email == deployment.admin_email)).one()
            user = session.exec(select(User).where(User.email == email)).one()
            accounts.set_active(session, admin, user.id, False)
    finally:
        clear_app_caches()
    # The open tab drops the portal without any click or reload.
    expect(page.locator("#not-allowed")).to_be_visible(timeout=10_000)
    expect(page.locator("#portal-heading")).to_have_count(0)
    page.reload()
    page.wait_for_url(re.compile(r".*/login.*"))
