"""Business settings as an owner uses them: create the profile, fix a field error, see it saved, pause leads."""

from __future__ import annotations

import secrets

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import TIMEOUT, go_to, log_in_to_portal, register_owner, type_address

pytestmark = pytest.mark.e2e
PASSWORD = "a long enough password"
SETTINGS = "/dashboard/settings"


def _register_owner(page: Page, deployment: Deployment) -> str:
    email = f"owner-{secrets.token_hex(4)}@example.com"
    register_owner(page, deployment, email, "Sam Settings", PASSWORD)
    return email


def test_owner_creates_fixes_saves_reloads_and_pauses(page: Page, deployment: Deployment):
    page.set_default_timeout(TIMEOUT)
    _register_owner(page, deployment)
    go_to(page, "Settings")
    expect(page.locator("#settings-heading")).to_have_text("Create your business profile")
    expect(page.locator("#pause-toggle")).to_have_count(0)

    page.get_by_label("Business name").fill("Sam's Drain & Pipe")
    page.get_by_role("checkbox", name="Plumbing", exact=True).check()
    page.get_by_role("checkbox", name="Heating & cooling (HVAC)").check()
    page.get_by_label("ZIP code").fill("00000")
    page.get_by_label("Service radius (miles)").fill("20")
    page.get_by_label("Mobile number for texts").fill("(317) 846-2200")
    page.get_by_role("checkbox", name="Text message (SMS)").check()
    page.get_by_label("Monday").fill("8:00-16:30")
    page.get_by_label("Sunday").fill("closed")
    page.get_by_label("Tags").fill("drains, water heaters")
    page.locator("#field-voice").click()
    page.get_by_role("option", name="Sage").click()
    english, spanish = (page.get_by_role("checkbox", name=name) for name in ("English", "Spanish (Español)"))
    expect(english).to_be_checked()  # English only, until the owner says otherwise
    expect(spanish).not_to_be_checked()
    english.uncheck()
    page.locator("#settings-save").click()

    expect(page.locator("#error-zip")).to_contain_text("We don't know the ZIP code 00000")
    expect(page.locator("#error-languages")).to_have_text("Choose at least one language you serve.")
    expect(page.locator("#settings-saved")).to_have_count(0)
    expect(page.locator("#settings-heading")).to_have_text("Create your business profile")

    # The other fields kept what was typed; fixing the ZIP is enough.
    expect(page.get_by_label("Business name")).to_have_value("Sam's Drain & Pipe")
    page.get_by_label("ZIP code").fill("46032")
    spanish.check()  # Spanish-speaking customers only
    page.locator("#settings-save").click()
    expect(page.locator("#settings-saved")).to_be_visible()
    expect(page.locator("#error-zip")).to_have_count(0)
    expect(page.locator("#settings-heading")).to_have_text("Business settings")
    expect(page.locator("#settings-location")).to_contain_text("Carmel, IN")

    page.reload()
    expect(page.locator("#settings-heading")).to_have_text("Business settings")
    expect(page.get_by_label("Business name")).to_have_value("Sam's Drain & Pipe")
    expect(page.get_by_label("ZIP code")).to_have_value("46032")
    expect(page.get_by_label("Service radius (miles)")).to_have_value("20")
    expect(page.get_by_label("Mobile number for texts")).to_have_value("+13178462200")
    expect(page.get_by_label("Monday")).to_have_value("08:00-16:30")
    expect(page.get_by_label("Sunday")).to_have_value("closed")
    expect(page.get_by_label("Tags")).to_have_value("drains, water heaters")
    expect(page.get_by_role("checkbox", name="Plumbing", exact=True)).to_be_checked()
    expect(page.get_by_role("checkbox", name="Heating & cooling (HVAC)")).to_be_checked()
    expect(page.get_by_role("checkbox", name="Roofing")).not_to_be_checked()
    expect(page.get_by_role("checkbox", name="Text message (SMS)")).to_be_checked()
    expect(page.locator("#field-voice")).to_have_text("Sage")
    expect(page.locator("#settings-location")).to_contain_text("Carmel, IN")
    expect(spanish).to_be_checked()
    expect(english).not_to_be_checked()

    expect(page.locator("#pause-state")).to_contain_text("Active")
    page.locator("#pause-toggle").click()
    expect(page.locator("#pause-state")).to_have_text("Paused: you receive no new leads")
    expect(page.locator("#pause-toggle")).to_have_text("Resume new leads")
    page.reload()
    expect(page.locator("#pause-state")).to_have_text("Paused: you receive no new leads")
    page.locator("#pause-toggle").click()
    expect(page.locator("#pause-state")).to_contain_text("Active")


def test_every_settings_field_has_a_visible_label_and_fits_a_phone(browser, deployment: Deployment):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    _register_owner(page, deployment)
    go_to(page, "Settings")
    expect(page.locator("#settings-save")).to_be_visible()
    unlabeled = page.evaluate(
        """() => [...document.querySelectorAll('form input:not([type=hidden]), form textarea, form button[role]')]
             .filter(el => el.getAttribute('aria-hidden') !== 'true')
             .filter(el => {
               const label = (el.id && document.querySelector(`label[for="${el.id}"]`)) || el.closest('label');
               return !label || label.offsetParent === null || !label.textContent.trim();
             }).map(el => el.name || el.id)"""
    )
    assert unlabeled == [], f"fields without a visible label: {unlabeled}"
    page.wait_for_load_state("networkidle")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the settings page scrolls sideways by {overflow}px on a 390px screen"
    context.close()


def test_a_consumer_is_refused_the_settings_page(page: Page, deployment: Deployment):
    page.set_default_timeout(TIMEOUT)
    log_in_to_portal(page, deployment)
    type_address(page, deployment, SETTINGS)
    expect(page.locator("#not-allowed")).to_be_visible()
    expect(page.locator("#settings-heading")).to_have_count(0)
    expect(page.locator("form")).to_have_count(0)
