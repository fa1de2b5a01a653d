"""Every page of every role passes an axe-core scan with no serious or critical violation, has exactly one
`h1`, and its landmarks (header, nav, main).

Pages are reached the way their users reach them: the crawler of `test_navigation.py` logs in as the role
(or stays a visitor) and follows every link by clicks; each page it settles on is scanned. axe-core comes
with `axe-playwright-python` (pinned in requirements.txt), injected into the page under test.
"""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from leadapp import routes
from leadapp.core.seed import PLUMBER_EMAIL
from tests.e2e.conftest import Deployment
from tests.e2e.journeys import TIMEOUT, click_link, go_to, login, path_re, start
from tests.e2e.test_navigation import crawl

pytestmark = pytest.mark.e2e

BLOCKING = {"serious", "critical"}
AXE = Axe()

_LANDMARKS = """() => ({
    h1: document.querySelectorAll('h1').length,
    header: document.querySelectorAll('header').length,
    nav: document.querySelectorAll('nav').length,
    main: document.querySelectorAll('main').length,
})"""


# A toast fades in and out over a few hundred milliseconds; read mid-fade its text is blended with the background,
# which no colour survives. The page is scanned once every toast on it is still (shown, or gone).
_TOASTS_STILL = """() => [...document.querySelectorAll('[data-sonner-toast]')].every(
    (toast) => toast.getAnimations({subtree: true}).every((a) => a.playState !== 'running'))"""


def scan(page: Page, where: str) -> list[str]:
    """The serious and critical axe violations of the page as it is now, plus missing landmarks / h1s."""
    found: list[str] = []
    page.wait_for_function(_TOASTS_STILL, timeout=5_000)
    results = AXE.run(page)
    for violation in results.response["violations"]:
        if violation["impact"] in BLOCKING:
            nodes = violation["nodes"]
            targets = [" ".join(map(str, node["target"])) for node in nodes[:4]]
            why = (nodes[0].get("failureSummary") or "").replace("\n", " ")[:300] if nodes else ""
            found.append(f"{where}: {violation['id']} ({violation['impact']}) {violation['help']}: {targets} — {why}")
    shape = page.evaluate(_LANDMARKS)
    if shape["h1"] != 1:
        found.append(f"{where}: {shape['h1']} h1 elements (one is expected)")
    for landmark in ("header", "nav", "main"):
        if shape[landmark] < 1:
            found.append(f"{where}: no <{landmark}>")
    return found


def _scan_every_page(page: Page, deployment: Deployment) -> list[str]:
    problems: list[str] = []

    def on_page(path: str) -> None:
        problems.extend(scan(page, path))

    reached, crawl_problems = crawl(page, deployment, on_page)
    assert crawl_problems == []
    assert len(reached) > 1
    return problems


@pytest.mark.parametrize(
    ("who", "home"),
    [
        ("visitor", routes.HOME),
        ("admin", routes.ADMIN),
        ("business_owner", routes.DASHBOARD),
        ("consumer", routes.PORTAL),
    ],
)
def test_every_page_of_a_role_has_no_serious_accessibility_violation(
    page: Page, deployment: Deployment, who: str, home: str
):
    page.set_default_timeout(TIMEOUT)
    if who == "visitor":
        start(page, deployment)
    else:
        email = {"admin": deployment.admin_email, "consumer": deployment.consumer_email}.get(who, PLUMBER_EMAIL)
        password = deployment.consumer_password if who == "consumer" else deployment.admin_password
        login(page, deployment, email, password)
    page.wait_for_url(path_re(deployment, home))
    problems = _with_a_report(page) if who == "admin" else []

    problems += _scan_every_page(page, deployment)
    assert problems == [], "\n".join(problems)


def _with_a_report(page: Page) -> list[str]:
    """Pages with content are scanned too: a weekly report on its page (its Markdown once brought a second h1,
    seen only when another test had run the audit first), then back to the admin's home."""
    go_to(page, "Weekly audit")
    page.locator("#run-audit").click()
    expect(page.locator("#report-markdown")).to_be_visible(timeout=60_000)
    # Its "report written" toast is scanned here; the admin closes it before going on.
    toast = page.locator("[data-sonner-toast]")
    expect(toast).to_have_count(1)
    toast.hover()  # as a reader does: the toast stays while the pointer is on it
    page.wait_for_function(
        "() => { const t = document.querySelector('[data-sonner-toast]');"
        " return t && getComputedStyle(t).opacity === '1'; }"
    )
    problems = scan(page, "/admin/reports with its toast")
    toast.locator("[data-close-button]").click()
    expect(toast).to_have_count(0)
    go_to(page, "Overview")
    return problems


def test_the_dark_theme_has_no_serious_accessibility_violation(browser, deployment: Deployment):
    context = browser.new_context(color_scheme="dark")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    try:
        login(page, deployment, deployment.admin_email, deployment.admin_password)
        page.wait_for_url(path_re(deployment, routes.ADMIN))
        expect(page.locator("html")).to_have_class(re.compile(r"\bdark\b"))
        problems = _scan_every_page(page, deployment)
        assert problems == [], "\n".join(problems)
    finally:
        context.close()


def test_a_form_error_is_announced_and_tied_to_its_field(page: Page, deployment: Deployment):
    """The log-in form with a wrong password: the error is an alert, the field is marked invalid and
    described by the message, and the focus ring is visible on the field a keyboard user reaches."""
    page.set_default_timeout(TIMEOUT)
    start(page, deployment)
    click_link(page, deployment, "Log in", routes.LOGIN)
    page.get_by_label("Email").fill(deployment.admin_email)
    page.get_by_label("Password").fill("not-the-password")
    page.locator("#login-submit").click()

    error = page.locator("#error-password")
    expect(error).to_have_attribute("role", "alert")
    password = page.get_by_label("Password")
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(password).to_have_attribute("aria-describedby", re.compile(r"\berror-password\b"))

    # Keyboard: Tab from the e-mail field reaches the password field, whose focus ring shows.
    page.get_by_label("Email").focus()
    page.keyboard.press("Tab")
    expect(password).to_be_focused()
    outline = page.evaluate(
        """() => {
            const el = document.activeElement;
            const styles = [el, el.parentElement].map(e => getComputedStyle(e));
            return styles.some(s => s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)
                || styles.some(s => s.boxShadow && s.boxShadow !== 'none');
        }"""
    )
    assert outline, "the focused field shows no focus ring"
