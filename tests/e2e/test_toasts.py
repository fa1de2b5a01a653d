"""Actions answer with a toast as well as the page's own notice: an owner saves their settings (first refused,
then saved), an admin tries to verify that business (refused: its email is not confirmed) and sets its plan.

A toast is matched by its kind (sonner's `data-type`) and its words, so an error toast never passes for a
success. The page's Content-Security-Policy must let the toaster style itself (sonner writes a style element):
no policy violation is reported and the toaster is laid out as a fixed overlay.
"""

from __future__ import annotations

import secrets

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import TIMEOUT, go_to, log_in_to_admin, register_owner, save_business_settings

pytestmark = pytest.mark.e2e
PASSWORD = "a long enough password"


def _toast(page: Page, kind: str, text: str):
    return page.locator(f"[data-sonner-toast][data-type='{kind}']", has_text=text)


def _csp_violations(page: Page) -> list[str]:
    seen: list[str] = []
    page.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None)
    return seen


def test_owner_and_admin_actions_answer_with_toasts(browser: Browser, deployment: Deployment):
    owner_context, admin_context = browser.new_context(), browser.new_context()
    owner, admin = owner_context.new_page(), admin_context.new_page()
    for p in (owner, admin):
        p.set_default_timeout(TIMEOUT)
    owner_violations, admin_violations = _csp_violations(owner), _csp_violations(admin)
    name = f"Toast Plumbing {secrets.token_hex(3)}"
    register_owner(owner, deployment, f"toast-{secrets.token_hex(4)}@example.com", "Tess Toast", PASSWORD)

    save_business_settings(owner, name, "00000")
    expect(owner.locator("#error-zip")).to_contain_text("We don't know the ZIP code 00000")
    expect(_toast(owner, "error", "Not saved")).to_be_visible()
    expect(_toast(owner, "success", "Saved.")).to_have_count(0)
    # The toaster is styled (its stylesheet was not blocked): a fixed overlay, not a list in the page's flow.
    position = owner.locator("[data-sonner-toaster]").first.evaluate("el => getComputedStyle(el).position")
    assert position == "fixed", f"the toaster is not styled (position {position!r}): is its style blocked?"

    owner.get_by_label("ZIP code").fill("46032")
    owner.locator("#settings-save").click()
    expect(owner.locator("#settings-saved")).to_be_visible()
    expect(_toast(owner, "success", "Saved.")).to_be_visible()

    log_in_to_admin(admin, deployment)
    go_to(admin, "Verification")
    row = admin.locator(".business-row", has_text=name)
    row.locator(".verify-business").click()
    expect(admin.locator("#verification-error")).to_contain_text("not confirmed their email")
    expect(_toast(admin, "error", "not confirmed their email")).to_be_visible()
    expect(_toast(admin, "success", name)).to_have_count(0)

    row = admin.locator(".business-row", has_text=name)
    row.locator(".lead-cap-input input").fill("7")
    row.locator(".plan-save").click()
    expect(admin.locator("#verification-notice")).to_contain_text(f"{name}: plan and lead cap saved.")
    expect(_toast(admin, "success", f"{name}: plan and lead cap saved.")).to_be_visible()

    assert owner_violations == [] and admin_violations == [], owner_violations + admin_violations
    owner_context.close()
    admin_context.close()
