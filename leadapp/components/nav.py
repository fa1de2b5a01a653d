"""Every role's navigation, in one place: the pages of each role, in the order its users meet them.

`layout.page` renders the logged-in user's list as a bar under the site header (a sidebar would cost a
phone its width; the bar scrolls sideways there), with the current page marked `aria-current="page"`.
The admin home lists the admin pages as cards from the same list. A page that is not in its role's list
can only be reached by typing its URL, which the crawler test (`tests/e2e/test_navigation.py`) refuses.
"""

from __future__ import annotations

from dataclasses import dataclass

import reflex as rx

from leadapp import routes
from leadapp.components.text import note
from leadapp.core.vocab import Role
from leadapp.state.auth import AuthState


@dataclass(frozen=True)
class NavLink:
    label: str
    route: str
    icon: str
    description: str = ""
    # Deeper paths that belong to this entry (e.g. a lead's own page under the inbox).
    prefixes: tuple[str, ...] = ()


CONSUMER_NAV: list[NavLink] = [
    NavLink("My requests", routes.PORTAL, "inbox", "Follow your requests, ask for a callback, withdraw."),
    NavLink("New request", routes.REQUEST, "square-pen", "Describe what you need in a few words."),
    NavLink("Guided request", routes.INTERVIEW, "message-circle", "Answer a few questions, one at a time."),
]

BUSINESS_NAV: list[NavLink] = [
    NavLink("Inbox", routes.DASHBOARD, "inbox", "New leads, live.", prefixes=(routes.DASHBOARD + "/leads",)),
    NavLink("Stats", routes.DASHBOARD_STATS, "chart-column", "Leads, response time, conversions, calls."),
    NavLink(
        "Settings", routes.DASHBOARD_SETTINGS, "settings", "Profile, phone line, service area, notifications, AI voice."
    ),
]

ADMIN_NAV: list[NavLink] = [
    NavLink("Overview", routes.ADMIN, "layout-dashboard", "Every admin page."),
    NavLink("Health", routes.ADMIN_HEALTH, "heart-pulse", "Database, Redis, worker, voice bridge, providers."),
    NavLink("Users", routes.ADMIN_USERS, "users", "Roles, access, password resets."),
    NavLink("Leads", routes.ADMIN_LEADS, "list-checks", "Every request and the flag queue."),
    NavLink("Businesses", routes.ADMIN_BUSINESSES, "store", "Ratings, deactivation and reactivation."),
    NavLink("Verification", routes.ADMIN_VERIFICATION, "badge-check", "New businesses to verify; plans and lead caps."),
    NavLink("Platform rules", routes.ADMIN_RULES, "sliders-horizontal", "Spam keywords, thresholds, boosts, weights."),
    NavLink("Weekly audit", routes.ADMIN_REPORTS, "file-text", "Reports, flags, proposed rule changes."),
    NavLink("Discovery", routes.ADMIN_DISCOVERY, "search", "Find, qualify and invite local businesses."),
    NavLink("Outbox", routes.ADMIN_OUTBOX, "mail", "Every email and SMS; retry failures."),
    NavLink("API keys", routes.ADMIN_API_KEYS, "key-round", "Partners' keys for the public API: create, revoke."),
    NavLink("Queues", routes.ADMIN_QUEUES, "layers", "Queued, running and failed jobs."),
    NavLink("Calls", routes.ADMIN_CALLS, "phone", "Calls log, outcomes and costs."),
    NavLink("Do-not-call", routes.ADMIN_DNC, "phone-off", "Numbers the AI never calls."),
    NavLink("Audit trail", routes.ADMIN_AUDIT, "scroll-text", "Every privileged action."),
    NavLink("Messages", routes.ADMIN_MESSAGES, "message-square", "What visitors wrote to us."),
]

ROLE_NAV: dict[Role, list[NavLink]] = {
    Role.CONSUMER: CONSUMER_NAV,
    Role.BUSINESS_OWNER: BUSINESS_NAV,
    Role.ADMIN: ADMIN_NAV,
}

ROLE_TITLES: dict[Role, str] = {
    Role.CONSUMER: "My LeadApp",
    Role.BUSINESS_OWNER: "Business",
    Role.ADMIN: "Admin",
}


_SCROLL_CURRENT_INTO_VIEW = """
useEffect(() => {
  const bar = document.querySelector("nav[id^='role-nav-']");
  if (!bar) return;
  const here = location.pathname.replace(/\\/$/, "");
  const links = [...bar.querySelectorAll("a[href]")];
  const link = links.find((a) => a.getAttribute("href") === here) || bar.querySelector("[aria-current='page']");
  link?.scrollIntoView({inline: "center", block: "nearest"});
}, []);
"""


class ScrollCurrentIntoView(rx.Fragment):
    """Renders nothing; once mounted, scrolls the role bar so the current page's entry is in view.

    Compiled into the page's own script (a React effect), not sent as `rx.call_script`: the latter runs
    through `eval`, which the pages' Content-Security-Policy does not allow (leadapp/api/headers.py)."""

    def add_imports(self) -> dict[str, str]:
        return {"react": "useEffect"}

    def add_hooks(self) -> list[str | rx.Var]:
        return [_SCROLL_CURRENT_INTO_VIEW]


def is_current(link: NavLink) -> rx.Var[bool]:
    """True in the browser while the address shows this link's page (or one of its deeper pages)."""
    path = rx.State.router.url.path
    current = (path == link.route) | (path == link.route + "/")
    for prefix in link.prefixes:
        current = current | path.startswith(prefix)
    return current


def _bar_link(link: NavLink) -> rx.Component:
    current = is_current(link)
    return rx.link(
        rx.hstack(rx.icon(link.icon, size=16, aria_hidden="true"), rx.text(link.label), spacing="2", align="center"),
        href=link.route,
        aria_current=rx.cond(current, "page", "false"),
        underline="none",
        size="2",
        weight=rx.cond(current, "bold", "medium"),
        high_contrast=True,
        white_space="nowrap",
        padding_x="0.7em",
        padding_y="0.45em",
        border_radius="var(--radius-3)",
        background_color=rx.cond(current, rx.color("accent", 4), "transparent"),
        color=rx.cond(current, rx.color("accent", 12), rx.color("gray", 12)),
        _hover={"background_color": rx.color("accent", 3)},
        class_name="role-nav-link",
    )


def _bar(role: Role) -> rx.Component:
    return rx.el.nav(
        rx.flex(
            note(ROLE_TITLES[role], weight="bold", white_space="nowrap"),
            *[_bar_link(link) for link in ROLE_NAV[role]],
            # On a phone the bar scrolls sideways: bring the current page's entry into view (found by its
            # address: at mount time the router var behind aria-current may still hold the previous page).
            ScrollCurrentIntoView.create(),
            spacing="1",
            align="center",
            # One line that scrolls sideways on a phone; wraps on a wide screen.
            wrap=rx.breakpoints(initial="nowrap", md="wrap"),
        ),
        aria_label=f"{ROLE_TITLES[role]} pages",
        id=f"role-nav-{role.value.replace('_', '-')}",
        overflow_x="auto",
        padding_x=["0.75em", "1.5em", "2em"],
        padding_y="0.4em",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        background_color=rx.color("gray", 2),
    )


def role_nav() -> rx.Component:
    """The logged-in user's pages (nothing for visitors)."""
    return rx.match(
        AuthState.user_role,
        *[(role.value, _bar(role)) for role in ROLE_NAV],
        rx.fragment(),
    )


def section_cards(links: list[NavLink]) -> rx.Component:
    """A role home's overview: one card per page, with what it is for."""
    return rx.grid(
        *[
            rx.link(
                rx.card(
                    rx.hstack(
                        rx.icon(link.icon, size=18, aria_hidden="true"),
                        rx.heading(link.label, as_="h2", size="4"),
                        align="center",
                    ),
                    note(link.description),
                    height="100%",
                ),
                href=link.route,
                underline="none",
            )
            for link in links
        ],
        columns=rx.breakpoints(initial="1", sm="2", md="3"),
        spacing="4",
        margin_top="1em",
    )
