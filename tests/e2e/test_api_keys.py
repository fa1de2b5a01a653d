"""An admin creates a partner's API key from the navigation (its token shown once), the partner posts a lead
with it, the admin revokes it and the next call is refused with 401 JSON (issue 10, item 8)."""

from __future__ import annotations

import re
import secrets

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Deployment
from tests.e2e.journeys import TIMEOUT, go_to, login

pytestmark = pytest.mark.e2e
BODY = {
    "text": "The kitchen sink is clogged and the water will not drain at all, please help this week",
    "zip": "46032",
    "email": "partner-lead@example.com",
}


def test_admin_creates_and_revokes_an_api_key(browser: Browser, deployment: Deployment):
    page = browser.new_context().new_page()
    page.set_default_timeout(TIMEOUT)
    login(page, deployment, deployment.admin_email, deployment.admin_password)
    page.wait_for_url(re.compile(r".*/admin/?$"))
    go_to(page, "API keys")
    name = f"Partner {secrets.token_hex(3)}"
    page.get_by_label("Partner name").fill(name)
    page.get_by_label("Requests per minute").fill("30")
    page.locator("#api-key-create").click()
    expect(page.locator("#api-keys-notice")).to_contain_text("not shown again")
    token = page.locator("#api-key-token").inner_text()
    assert token.startswith("lak_")
    row = page.locator(".api-key-row", has_text=name)
    expect(row).to_have_attribute("data-status", "active")
    expect(row).not_to_contain_text(token)

    with httpx.Client(base_url=deployment.url, timeout=30) as partner:
        accepted = partner.post("/api/v1/leads", json=BODY, headers={"Authorization": f"Bearer {token}"})
        assert accepted.status_code == 201, accepted.text

        row.locator(".revoke-key").click()
        expect(page.locator("#api-keys-notice")).to_contain_text("revoked")
        expect(page.locator(".api-key-row", has_text=name)).to_have_attribute("data-status", "revoked")
        expect(page.locator("#api-key-token")).to_have_count(0)  # shown once only

        refused = partner.post("/api/v1/leads", json=BODY, headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 401
        assert refused.json()["error"] == "invalid_api_key" and "revoked" in refused.json()["message"]
    page.context.close()
