"""Every page of every role is reached by clicks from the role's home, and no link answers an error.

The crawler logs in as each role, then follows every same-origin link on every page it reaches by
clicking it (and the browser's Back button to return), depth first. It fails when a route of the role
in `leadapp/routes.py` was never reached, when a link's address answers an HTTP error, or when a page it
opened shows the refusal or not-found page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from leadapp import routes
from leadapp.core.seed import PLUMBER_EMAIL
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
            answer = page.request.get(origin + target)
            if answer.status >= 400:
                problems.append(f"{target} (linked from {path}) answered HTTP {answer.status}")
                seen.add(target)
                continue
            page.locator(f'a[href="{written}"]:visible').first.click()
            page.wait_for_url(path_re(deployment, target))
            if page.locator("#not-allowed").count() or page.get_by_text("404: Page not found").count():
                problems.append(f"{target} (linked from {path}) shows an error page")
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

    reached, problems = crawl(page, deployment)

    assert problems == []
    missing = {r for r in role_routes(role) if not any(_pattern(r).match(p) for p in reached)}
    assert missing == set(), f"pages of {role} not reachable by clicks from {home}"


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
