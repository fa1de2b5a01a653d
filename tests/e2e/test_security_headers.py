"""The built app under its own Content-Security-Policy (issue 11, item 9): the headers a browser receives, and
pages that still work with nothing the policy refuses (no CSP violation on the home page, the login page and
the dashboard). The in-process half (policy contents, every answer, the cookie) is
`tests/security/test_security_headers.py`. Scaled out, the pages come from the static front end through the
proxy, which sends the same headers (`tests/integration/test_proxy_headers.py`)."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, Response, expect

from leadapp.core.seed import PLUMBER_EMAIL
from tests.e2e.conftest import Deployment
from tests.e2e.journeys import TIMEOUT, login, path_re

pytestmark = pytest.mark.e2e

# Every `securitypolicyviolation` event of every page, kept where the test can read it.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__cspViolations.push(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"} (${where})`);
});
"""


def watch(page: Page) -> tuple[list[Response], list[str]]:
    """The documents the page loads, and every console message about the policy."""
    documents: list[Response] = []
    console: list[str] = []
    page.on("response", lambda r: documents.append(r) if r.request.resource_type == "document" else None)
    page.on(
        "console",
        lambda m: (
            console.append(m.text)
            if "Content Security Policy" in m.text or "Content-Security-Policy" in m.text or "EvalError" in m.text
            else None
        ),
    )
    page.add_init_script(RECORD_VIOLATIONS)
    return documents, console


def violations(page: Page) -> list[str]:
    return page.evaluate("window.__cspViolations || []")


def test_pages_work_under_a_strict_policy_with_no_violation(
    page: Page, context: BrowserContext, deployment: Deployment
) -> None:
    page.set_default_timeout(TIMEOUT)
    documents, console = watch(page)

    # The home page, then the login page by its link, then the owner's dashboard.
    login(page, deployment, PLUMBER_EMAIL, deployment.admin_password)
    page.wait_for_url(path_re(deployment, "/dashboard"))
    expect(page.locator("#dashboard-heading")).to_be_visible()
    # The page is live (its socket connected under `connect-src 'self'`): the inbox rendered from state.
    expect(page.locator("nav[id^='role-nav-']")).to_be_visible()
    assert violations(page) == [] and console == [], (violations(page), console)

    assert documents, "no page was loaded"
    first = documents[0]
    headers = first.all_headers()
    policy = headers.get("content-security-policy", "")
    script_src = next(part for part in policy.split(";") if part.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "'sha256-" in script_src  # the prerendered page's own inline scripts, by hash
    assert "frame-ancestors 'none'" in policy
    assert headers.get("x-content-type-options") == "nosniff"
    assert headers.get("x-frame-options") == "DENY"
    assert headers.get("referrer-policy") == "strict-origin-when-cross-origin"
    assert "camera=()" in headers.get("permissions-policy", "")

    # An inline script a page did not ship (what an injection would add) does not run.
    ran = page.evaluate(
        """() => new Promise((resolve) => {
            window.__injected = false;
            const s = document.createElement("script");
            s.textContent = "window.__injected = true";
            document.body.appendChild(s);
            setTimeout(() => resolve(window.__injected), 0);
        })"""
    )
    assert ran is False
    assert any("script-src" in v for v in violations(page))

    session = next(c for c in context.cookies() if c["name"] == "leadapp_session")
    assert session["sameSite"] == "Lax"
    assert session["secure"] is deployment.url.startswith("https://")
