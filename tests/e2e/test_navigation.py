"""Every page of every role is reached by clicks from the role's home, and no link answers an error.

The crawler logs in as each role, then follows every same-origin link on every page it reaches by
clicking it (and the browser's Back button to return), depth first. It fails when a route of the role
in `leadapp/routes.py` was never reached, when a link's address answers an HTTP error, or when a page it
opened shows the refusal or not-found page.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from leadapp import routes
from leadapp.components.nav import ROLE_NAV
from leadapp.core.seed import PLUMBER_EMAIL
from leadapp.core.vocab import Role
from tests.e2e.conftest import Deployment
from tests.e2e.journeys import TIMEOUT, go_to, login, path_re, role_nav

pytestmark = pytest.mark.e2e

# Pages opened only from a link in an email or SMS (they carry a token), never from a page.
EMAILED_ONLY = {routes.PORTAL_TRACK, routes.RESET_PASSWORD, routes.UNSUBSCRIBE}
AREA_PREFIX = {"admin": "/admin", "business_owner": "/dashboard", "consumer": "/portal"}
# The consumer's own pages include the request forms (public pages in the consumer's navigation).
EXTRA_ROLE_ROUTES = {"consumer": {routes.REQUEST, routes.INTERVIEW}}


def _all_routes() -> set[str]:
    return {value for name, value in vars(routes).items() if name.isupper() and isinstance(value, str)}


def role_routes(role: str) -> set[str]:
    prefix = AREA_PREFIX[role]
    own = {r for r in _all_routes() if r == prefix or r.startswith(prefix + "/")}
    return (own | EXTRA_ROLE_ROUTES.get(role, set())) - EMAILED_ONLY


def _pattern(route: str) -> re.Pattern[str]:
    """A route with `[param]` segments as a pattern over concrete paths."""
    return re.compile("^" + re.sub(r"\\\[[^/]+?\\\]", "[^/]+", re.escape(route)) + "/?$")


def _settle(page: Page) -> None:
    """Wait until the page's guard has answered and its content is drawn."""
    expect(page.locator("main")).to_be_visible()
    expect(page.locator("main .rt-Spinner")).to_have_count(0)
    expect(page.locator("main h1").first).to_be_visible()


def _error_shown(page: Page) -> str:
    """What the page shows instead of its content, once it has answered: "" when it shows its content.

    Waits for one of the ends a page can come to (its heading, the refusal, the not-found page) before looking,
    so a page still loading is never taken for a page without an error."""
    refused, not_found = page.locator("#not-allowed"), page.get_by_text("404: Page not found")
    drawn = page.locator("main h1").first
    expect(drawn.or_(refused).or_(not_found).first).to_be_visible()
    if refused.count():
        return "shows the refusal"
    if not_found.count():
        return "shows the not-found page"
    expect(page.locator("main .rt-Spinner")).to_have_count(0)
    alerts = page.locator("main [role='alert']:visible, main [id$='-error']:visible")
    if alerts.count():
        return f"shows an error: {alerts.first.inner_text()[:200]!r}"
    return ""


def _same_origin_links(page: Page, origin: str) -> list[tuple[str, str]]:
    """(path, href as written) of every visible link to a page of this site."""
    hrefs = page.eval_on_selector_all(
        "a[href]",
        "els => els.filter(e => e.offsetParent !== null).map(e => [e.href, e.getAttribute('href')])",
    )
    links: list[tuple[str, str]] = []
    for absolute, written in hrefs:
        parts = urlsplit(absolute)
        if f"{parts.scheme}://{parts.netloc}" != origin or parts.path.startswith(("/api/", "/_")):
            continue
        path = parts.path.rstrip("/") or "/"
        if path not in [known for known, _ in links]:
            links.append((path, written))
    return links


def _left_behind(page: Page, left) -> None:
    """Wait until the page just left is no longer drawn: the address changes before the new page replaces the old
    one, and the old page (its heading, its links) is not the new one's. A page drawn by the same component (one
    dynamic route to another) keeps its element: after a short bounded wait, the checks that follow decide."""
    with contextlib.suppress(PlaywrightTimeoutError):
        page.wait_for_function("m => !m.isConnected", arg=left, timeout=5_000)


def follow(page: Page, deployment: Deployment, source: str, target: str, written: str) -> str:
    """Ask for `target` over HTTP, then click its link on the current page: "" when it opens a working page,
    else what went wrong. The browser is left on `target` unless the HTTP answer was an error."""
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(deployment.url))
    answer = page.request.get(origin + target)
    if answer.status >= 400:
        return f"{target} (linked from {source}) answered HTTP {answer.status}"
    left = page.locator("main").first.element_handle()
    page.locator(f'a[href="{written}"]:visible').first.click()
    page.wait_for_url(path_re(deployment, target))
    _left_behind(page, left)
    shown = _error_shown(page)
    return f"{target} (linked from {source}) {shown}" if shown else ""


def crawl(
    page: Page, deployment: Deployment, on_page: Callable[[str], None] | None = None
) -> tuple[set[str], list[str]]:
    """Depth-first by clicks from the current page: (paths reached, problems seen).

    `on_page(path)` runs on each page reached, once it has settled (e.g. an accessibility scan).
    """
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(deployment.url))
    seen: set[str] = set()
    problems: list[str] = []

    def visit(path: str) -> None:
        seen.add(path)
        _settle(page)
        if on_page is not None:
            on_page(path)
        for target, written in _same_origin_links(page, origin):
            if target in seen:
                continue
            problem = follow(page, deployment, path, target, written)
            if problem:
                problems.append(problem)
                seen.add(target)
                if (urlsplit(page.url).path.rstrip("/") or "/") == target:
                    page.go_back()
                    page.wait_for_url(path_re(deployment, path))
                    _settle(page)
                continue
            visit(target)
            page.go_back()
            page.wait_for_url(path_re(deployment, path))
            _settle(page)

    visit(urlsplit(page.url).path.rstrip("/") or "/")
    return seen, problems


@pytest.mark.parametrize(
    ("role", "who", "home"),
    [
        ("admin", "admin", routes.ADMIN),
        ("business_owner", PLUMBER_EMAIL, routes.DASHBOARD),
        ("consumer", "consumer", routes.PORTAL),
    ],
)
def test_every_page_of_a_role_is_reached_by_clicks_from_its_home(
    page: Page, deployment: Deployment, role: str, who: str, home: str
):
    page.set_default_timeout(TIMEOUT)
    email = {"admin": deployment.admin_email, "consumer": deployment.consumer_email}.get(who, who)
    password = deployment.consumer_password if who == "consumer" else deployment.admin_password
    login(page, deployment, email, password)
    page.wait_for_url(path_re(deployment, home))

    expected = role_routes(role)
    # Never vacuous: the role's pages include its home and every entry of its navigation bar.
    assert {home} | {link.route for link in ROLE_NAV[Role(role)]} <= expected

    reached, problems = crawl(page, deployment)

    assert problems == []
    # A record's own page (`[param]` routes: one lead, one call) is linked from its list only when the list has rows;
    # on a fresh deployment some lists are empty, so those pages are checked when reached (links followed above).
    missing = {r for r in expected if "[" not in r and not any(_pattern(r).match(p) for p in reached)}
    assert missing == set(), f"pages of {role} not reachable by clicks from {home}"


def test_the_crawler_reports_a_link_to_a_missing_page_and_to_a_refused_page(page: Page, deployment: Deployment):
    """The crawler's own check: links that answer an error are reported, never passed over."""
    page.set_default_timeout(TIMEOUT)
    login(page, deployment, deployment.consumer_email, deployment.consumer_password)
    page.wait_for_url(path_re(deployment, routes.PORTAL))
    _settle(page)
    for target in ("/portal/no-such-page", routes.ADMIN_USERS):
        page.evaluate(
            "(href) => { const a = document.createElement('a'); a.href = href; a.textContent = href;"
            " document.querySelector('main').prepend(a); }",
            target,
        )
        problem = follow(page, deployment, routes.PORTAL, target, target)
        assert problem.startswith(f"{target} (linked from {routes.PORTAL}) "), problem
        assert "HTTP 4" in problem or "not-found" in problem or "refusal" in problem, problem
        if (urlsplit(page.url).path.rstrip("/") or "/") != routes.PORTAL:
            page.go_back()
            page.wait_for_url(path_re(deployment, routes.PORTAL))
        _settle(page)


def test_the_navigation_marks_the_current_page_and_fits_a_phone(browser, deployment: Deployment):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    try:
        login(page, deployment, deployment.admin_email, deployment.admin_password)
        page.wait_for_url(path_re(deployment, routes.ADMIN))
        nav = role_nav(page)
        expect(nav.get_by_role("link", name="Overview", exact=True)).to_have_attribute("aria-current", "page")
        # The last entry of the bar is reached on a phone (the bar scrolls sideways, the page does not).
        go_to(page, "Messages")
        expect(nav.get_by_role("link", name="Overview", exact=True)).to_have_attribute("aria-current", "false")
        expect(page.locator("main h1").first).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # The bar shows where the admin is: the current entry is scrolled into the phone's view.
        current = nav.locator("[aria-current='page']")
        expect(current).to_have_text("Messages")
        expect(current).to_be_in_viewport(ratio=0.9)
    finally:
        context.close()
