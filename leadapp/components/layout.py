"""The page frame: navigation per role, color-mode switch, footer; works from 390 px wide up."""

from __future__ import annotations

import reflex as rx

from leadapp import routes
from leadapp.components.cards import stacked_card
from leadapp.components.feedback import toast_outlet
from leadapp.components.nav import role_nav
from leadapp.components.text import note
from leadapp.state.auth import AuthState

PUBLIC_LINKS = [
    ("Home", routes.HOME),
    ("Get help", routes.REQUEST),
    ("For businesses", routes.FOR_BUSINESSES),
    ("Pricing", routes.PRICING),
    ("About", routes.ABOUT),
    ("Contact", routes.CONTACT),
]


def _role_links() -> list[tuple[str, str, rx.Var]]:
    """Each role's home; the role's other pages are in its own bar (`nav.role_nav`)."""
    return [
        ("My requests", routes.PORTAL, AuthState.user_role == "consumer"),
        ("Dashboard", routes.DASHBOARD, AuthState.user_role == "business_owner"),
        ("Admin", routes.ADMIN, AuthState.user_role == "admin"),
    ]


def _nav_link(label: str, href: str) -> rx.Component:
    return rx.link(label, href=href, size="3", weight="medium", underline="hover", high_contrast=True)


def _account_area() -> rx.Component:
    return rx.cond(
        AuthState.logged_in,
        rx.hstack(
            note(AuthState.display_name, id="nav-user"),
            rx.button("Log out", on_click=AuthState.logout, variant="soft", size="2", id="logout-button"),
            align="center",
            spacing="2",
        ),
        rx.hstack(
            rx.link(rx.button("Log in", variant="soft", size="2"), href=routes.LOGIN),
            rx.link(rx.button("Sign up", size="2"), href=routes.REGISTER),
            spacing="2",
        ),
    )


def _desktop_nav() -> rx.Component:
    return rx.hstack(
        *[_nav_link(label, href) for label, href in PUBLIC_LINKS],
        *[rx.cond(show, _nav_link(label, href)) for label, href, show in _role_links()],
        spacing="5",
        align="center",
    )


def _mobile_menu() -> rx.Component:
    items = [rx.menu.item(rx.link(label, href=href, width="100%")) for label, href in PUBLIC_LINKS]
    items += [
        rx.cond(show, rx.menu.item(rx.link(label, href=href, width="100%"))) for label, href, show in _role_links()
    ]
    items.append(rx.menu.separator())
    items.append(
        rx.cond(
            AuthState.logged_in,
            rx.menu.item("Log out", on_click=AuthState.logout),
            rx.menu.item(rx.link("Log in", href=routes.LOGIN, width="100%")),
        )
    )
    items.append(rx.cond(~AuthState.logged_in, rx.menu.item(rx.link("Sign up", href=routes.REGISTER, width="100%"))))
    return rx.menu.root(
        rx.menu.trigger(rx.icon_button(rx.icon("menu"), variant="soft", aria_label="Menu", id="mobile-menu")),
        rx.menu.content(*items),
    )


def theme_toggle() -> rx.Component:
    return rx.icon_button(
        rx.color_mode_cond(light=rx.icon("moon"), dark=rx.icon("sun")),
        on_click=rx.toggle_color_mode,
        variant="ghost",
        aria_label="Switch light/dark theme",
        title="Switch light/dark theme",
    )


def navbar() -> rx.Component:
    brand = rx.link(
        rx.hstack(
            rx.icon("zap", color=rx.color("accent", 9), aria_hidden="true"),
            rx.text("LeadApp", size="5", weight="bold"),
            align="center",
        ),
        href=routes.HOME,
        underline="none",
        high_contrast=True,
    )
    return rx.el.nav(
        rx.desktop_only(
            rx.hstack(
                brand,
                _desktop_nav(),
                rx.hstack(_account_area(), theme_toggle(), align="center", spacing="3"),
                justify="between",
                align="center",
                width="100%",
            ),
        ),
        rx.mobile_and_tablet(
            rx.hstack(
                brand,
                rx.hstack(theme_toggle(), _mobile_menu(), align="center", spacing="2"),
                justify="between",
                align="center",
                width="100%",
            ),
        ),
        aria_label="Site",
        padding_x=["1em", "1.5em", "2em"],
        padding_y="0.75em",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        background_color=rx.color("gray", 1),
    )


def footer() -> rx.Component:
    return rx.el.footer(
        rx.flex(
            note("© LeadApp — local services, matched in seconds."),
            rx.hstack(
                _nav_link("Privacy", routes.ABOUT),
                _nav_link("Contact", routes.CONTACT),
                spacing="4",
            ),
            direction=rx.breakpoints(initial="column", sm="row"),
            justify="between",
            spacing="2",
        ),
        padding="1.5em 2em",
        border_top=f"1px solid {rx.color('gray', 5)}",
        margin_top="3em",
    )


def verify_banner() -> rx.Component:
    """Tells a logged-in user whose address is not proven yet to open the emailed link, with a "resend" button."""
    return rx.cond(
        AuthState.logged_in & ~AuthState.email_verified,
        rx.callout.root(
            rx.callout.icon(rx.icon("mail-warning")),
            rx.callout.text(
                "Confirm your email address: open the link we emailed to ",
                rx.text.strong(AuthState.user_email),
                ". ",
                rx.cond(
                    AuthState.user_role == "business_owner",
                    "Your business receives no leads until then. ",
                    "",
                ),
                rx.button(
                    "Resend the link",
                    on_click=AuthState.resend_verification,
                    size="1",
                    variant="soft",
                    id="resend-verification",
                ),
                rx.cond(AuthState.verify_notice != "", rx.text(AuthState.verify_notice, size="2", id="verify-notice")),
            ),
            color_scheme="amber",
            id="verify-banner",
            margin_bottom="1em",
        ),
    )


def page(*children: rx.Component, max_width: str = "72em") -> rx.Component:
    """A page in the site frame."""
    return rx.box(
        rx.el.a("Skip to content", href="#main", class_name="skip-link"),
        rx.el.header(navbar(), role_nav(), position="sticky", top="0", z_index="10"),
        rx.el.main(
            verify_banner(),
            *children,
            id="main",
            tab_index=-1,  # the skip link moves the focus here
            padding_x=["1em", "1.5em", "2em"],
            padding_y="1.5em",
            max_width=max_width,
            margin_x="auto",
            width="100%",
        ),
        footer(),
        toast_outlet(),
        min_height="100vh",
    )


def back_link(label: str | rx.Var, href: str, link_id: str) -> rx.Component:
    """ "← <label>" at the top of a detail page, back to the list it was opened from."""
    return rx.link(
        rx.hstack(rx.icon("arrow-left", size=16), rx.text(label), align="center", spacing="1"),
        href=href,
        id=link_id,
        underline="hover",
    )


def page_header(title: str | rx.Var, *actions: rx.Component, heading_id: str = "") -> rx.Component:
    """A page's title with its actions at the other end of the line (under it on a narrow screen)."""
    heading = rx.heading(title, size="8", id=heading_id) if heading_id else rx.heading(title, size="8")
    return rx.hstack(heading, *actions, justify="between", align="center", wrap="wrap", width="100%")


def titled(title: str, heading_id: str, subtitle: rx.Var | str) -> rx.Component:
    """A page's title with a line under it saying whose it is (e.g. the business's name)."""
    return rx.vstack(rx.heading(title, size="8", id=heading_id), rx.text(subtitle, color_scheme="gray"), spacing="0")


def not_allowed() -> rx.Component:
    return rx.callout(
        "You are not allowed to open this page with your account.",
        icon="shield-alert",
        color_scheme="red",
        id="not-allowed",
        size="3",
    )


def guarded(area: str, *children: rx.Component) -> rx.Component:
    """Show the children only once the server-side guard admitted this tab to `area`."""
    return rx.cond(
        AuthState.allowed_area == area,
        rx.fragment(*children),
        rx.cond(AuthState.denied, not_allowed(), rx.center(rx.spinner(size="3"), padding="3em")),
    )


def guarded_page(area: str, *children: rx.Component, max_width: str = "72em") -> rx.Component:
    """A page of `area` (business, admin…) in the site frame: its children once the guard admitted the tab."""
    return page(guarded(area, *children), max_width=max_width)


def record_panel(shown: rx.Var, refused: rx.Component, ok: rx.Component) -> rx.Component:
    """One record's page below its title (a lead, a call, a user, a request) as `shown` says: "refused" shows
    `refused` (no such record, or not yours), "ok" the record, anything else a spinner while it is looked up."""
    return rx.match(shown, ("refused", refused), ("ok", ok), rx.center(rx.spinner(size="3"), padding="3em"))


def link_page(
    title: str | rx.Var, prefix: str, status: rx.Var, *cases: tuple, invalid: rx.Var | str, way_on: rx.Component
):
    """The page a link in an email opens (a review, an unsubscribe): `title` (`#<prefix>-heading`), then what the
    link's `status` shows: `cases` as for `rx.match`, "invalid" (the message, `#<prefix>-invalid`, and `way_on`, a
    link to go on from there), and a spinner while the link is looked up."""
    return page(
        stacked_card(
            rx.heading(title, size="7", id=f"{prefix}-heading"),
            rx.match(
                status,
                *cases,
                (
                    "invalid",
                    rx.vstack(
                        rx.callout(invalid, icon="link-2-off", color_scheme="amber", id=f"{prefix}-invalid"),
                        way_on,
                        spacing="3",
                    ),
                ),
                rx.center(rx.spinner(size="3"), padding="2em"),
            ),
            spacing="4",
            max_width="32em",
            margin_x="auto",
        ),
        max_width="48em",
    )
