"""The business dashboard's page (`/dashboard`): the live lead inbox as a table (as cards on a phone), its
filters (a sheet on a phone) and pager, and the inbox's scroll position kept while a lead is open. The state it
shows, its event handlers and its live refresh are `leadapp.pages.business.dashboard`."""

from __future__ import annotations

import reflex as rx

from leadapp import routes
from leadapp.components import feedback
from leadapp.components.cards import stacked_card
from leadapp.components.filters import ALL, choice_select, filter_input, filter_row, labelled
from leadapp.components.layout import guarded_page, titled
from leadapp.components.pager import page_buttons
from leadapp.components.table import plain_table
from leadapp.components.text import note
from leadapp.core import labels
from leadapp.core.vocab import CATEGORY_LABELS
from leadapp.pages.business.dashboard import DashboardState

# The inbox's scroll position, kept while a lead is open on its own page, so coming back lands where it left.
# Compiled into the page's own script (a React effect), never sent as `rx.call_script`: that runs through
# `eval`, which the pages' Content-Security-Policy refuses (leadapp/api/headers.py).
SCROLL_KEY = "leadapp-inbox-scroll"
_KEEP_INBOX_SCROLL = f"""
useEffect(() => {{
  const save = (event) => {{
    const target = event.target;
    if (target && target.closest && target.closest(".lead-row, .lead-card, .lead-link")) {{
      sessionStorage.setItem("{SCROLL_KEY}", String(window.scrollY));
    }}
  }};
  document.addEventListener("click", save, true);
  const y = Number(sessionStorage.getItem("{SCROLL_KEY}"));
  sessionStorage.removeItem("{SCROLL_KEY}");
  let tries = 0;
  let timer = null;
  const go = () => {{
    const room = document.documentElement.scrollHeight - window.innerHeight;
    if (room >= y || tries++ > 40) window.scrollTo(0, Math.min(y, room));
    else timer = setTimeout(go, 50);
  }};
  if (y > 0) go();
  return () => {{
    document.removeEventListener("click", save, true);
    if (timer) clearTimeout(timer);
  }};
}}, []);
"""


class KeepInboxScroll(rx.Fragment):
    """Renders nothing; remembers the inbox's scroll position when a lead is opened and returns to it when
    the inbox is shown again (once its rows are there)."""

    def add_imports(self) -> dict[str, str]:
        return {"react": "useEffect"}

    def add_hooks(self) -> list[str | rx.Var]:
        return [_KEEP_INBOX_SCROLL]


# The filters are plain form fields, read when "Apply" is pressed; each starts from the filter in force, so a
# form drawn again (a reconnect re-renders the page) shows what the list is filtered by.
def _select(name: str, label: str, options: list[tuple[str, str]], current: rx.Var) -> rx.Component:
    return choice_select(name, label, options, rx.cond(current != "", current, ALL))


def _date_input(name: str, label: str, error: rx.Var, current: rx.Var) -> rx.Component:
    return filter_input(name, label, error, type="date", default_value=current)


def _filters() -> rx.Component:
    return filter_row(
        DashboardState.apply_filters,
        _select("status", "Status", labels.options("match_status"), DashboardState.status_filter),
        _select("urgency", "Urgency", labels.options("urgency"), DashboardState.urgency_filter),
        _select(
            "category",
            "Service",
            [(c.value, label) for c, label in CATEGORY_LABELS.items()],
            DashboardState.category_filter,
        ),
        _date_input("since", "Received from", DashboardState.since_error, DashboardState.since_filter),
        _date_input("until", "Received to", DashboardState.until_error, DashboardState.until_filter),
        labelled(
            "Search",
            "filter-search",
            rx.input(
                name="search", id="filter-search", placeholder="words or ZIP", default_value=DashboardState.search
            ),
        ),
        rx.button("Apply", type="submit", id="filter-apply"),
    )


def called_you_badge(**props: str) -> rx.Component:
    """A lead that came from a call to the business's own number (also on the lead's page); `props` name it."""
    return rx.badge(rx.icon("phone-incoming", size=12), "called you", color_scheme="iris", **props)


def _lead_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row["created_at"], title=row["created_exact"], class_name="lead-received")),
        rx.table.cell(
            rx.hstack(
                rx.link(
                    row["category"],
                    href=_lead_href(row),
                    weight="medium",
                    class_name="lead-link",
                    on_click=rx.stop_propagation,
                ),
                rx.cond(
                    row["called_you"] == "yes",
                    called_you_badge(class_name="called-you"),
                ),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
            note(row["snippet"], size="1"),
        ),
        rx.table.cell(rx.badge(row["urgency_label"], data_urgency=row["urgency"])),
        rx.table.cell(row["distance"]),
        rx.table.cell(row["score"]),
        rx.table.cell(_status_badges(row)),
        on_click=rx.redirect(_lead_href(row)),
        cursor="pointer",
        class_name="lead-row",
        data_lead=row["lead_id"],
    )


NARROW = "@media (max-width: 640px)"
"""A phone: the inbox shows cards instead of the table, and the filters fold into a sheet."""


def _lead_href(row: rx.Var) -> rx.Var:
    return rx.Var.create(f"/dashboard/leads/{row['lead_id']}")


def _status_badges(row: rx.Var) -> rx.Component:
    return rx.flex(
        rx.badge(row["status_label"], class_name="lead-status", variant="soft", data_status=row["status"]),
        rx.cond(
            row["closed"] != "",
            rx.badge(row["closed_label"], color_scheme="gray", class_name="lead-closed"),
        ),
        rx.cond(
            row["callback"] == "yes",
            rx.badge(
                rx.icon("phone-incoming", size=12),
                "Call back",
                color_scheme="orange",
                class_name="callback-badge",
                title="The consumer asked to speak with a person on the AI call",
            ),
        ),
        spacing="1",
        wrap="wrap",
    )


def _lead_card(row: rx.Var) -> rx.Component:
    """One lead on a phone: what it is, how urgent, how far, how good a match, where it stands, its first words
    and how long ago it came; a tap opens the lead's own page."""
    return rx.link(
        stacked_card(
            rx.hstack(
                rx.text(row["category"], weight="bold", class_name="lead-card-category"),
                rx.cond(row["called_you"] == "yes", called_you_badge(class_name="called-you")),
                rx.spacer(),
                note(row["received_ago"], size="1", class_name="lead-card-ago"),
                width="100%",
                align="center",
                spacing="2",
            ),
            rx.text(
                row["snippet"],
                size="2",
                class_name="lead-card-text",
                style={
                    "display": "-webkit-box",
                    "WebkitLineClamp": "2",
                    "WebkitBoxOrient": "vertical",
                    "overflow": "hidden",
                },
            ),
            rx.flex(
                rx.badge(
                    row["urgency_label"],
                    variant="outline",
                    class_name="lead-card-urgency",
                    data_urgency=row["urgency"],
                ),
                rx.cond(row["distance"] != "", rx.text(row["distance"], size="1", class_name="lead-card-distance")),
                rx.text("score ", row["score"], size="1", class_name="lead-card-score"),
                _status_badges(row),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
        ),
        href=_lead_href(row),
        underline="none",
        color="inherit",
        class_name="lead-card",
        data_lead=row["lead_id"],
        width="100%",
    )


def _lead_cards() -> rx.Component:
    return rx.vstack(
        rx.foreach(DashboardState.rows, _lead_card),
        spacing="2",
        width="100%",
        id="lead-cards",
        display="none",
        style={NARROW: {"display": "flex"}},
    )


def _lead_table() -> rx.Component:
    return plain_table(
        ("Received", "Request", "Urgency", "Distance", "Score", "Status"),
        rx.foreach(DashboardState.rows, _lead_row),
        table_id="lead-table",
        style={NARROW: {"display": "none"}},
    )


def _filter_sheet() -> rx.Component:
    """The filters: a row above the table on wide screens; on a phone, one "Filter" button opening them as a
    sheet from the bottom of the screen."""
    return rx.fragment(
        rx.button(
            rx.icon("sliders-horizontal", size=16),
            "Filter",
            on_click=DashboardState.toggle_filters,
            variant="soft",
            id="filter-toggle",
            aria_expanded=rx.cond(DashboardState.filters_open, "true", "false"),
            aria_controls="inbox-filters",
            display="none",
            style={NARROW: {"display": "inline-flex"}},
        ),
        rx.box(
            rx.hstack(
                rx.heading("Filter", as_="h2", size="4"),
                rx.spacer(),
                rx.icon_button(
                    rx.icon("x"),
                    on_click=DashboardState.toggle_filters,
                    variant="ghost",
                    aria_label="Close the filters",
                    id="filter-close",
                ),
                width="100%",
                align="center",
                display="none",
                margin_bottom="0.5em",
                style={NARROW: {"display": "flex"}},
            ),
            _filters(),
            id="inbox-filters",
            class_name=rx.cond(DashboardState.filters_open, "inbox-filters open", "inbox-filters"),
            width="100%",
            style={
                NARROW: {
                    "display": "none",
                    "position": "fixed",
                    "left": "0",
                    "right": "0",
                    "bottom": "0",
                    "zIndex": "30",
                    "maxHeight": "85vh",
                    "overflowY": "auto",
                    "padding": "1em 1em 1.5em",
                    "background": "var(--color-panel-solid)",
                    "borderTop": "1px solid var(--gray-6)",
                    "borderRadius": "12px 12px 0 0",
                    "boxShadow": "0 -8px 24px rgba(0, 0, 0, 0.25)",
                    "&.open": {"display": "block"},
                }
            },
        ),
    )


def dashboard_page() -> rx.Component:
    return guarded_page(
        "business",
        KeepInboxScroll.create(),
        rx.hstack(
            titled("Dashboard", "dashboard-heading", DashboardState.business_name),
            rx.hstack(
                rx.link(rx.button("Stats", variant="soft"), href=routes.DASHBOARD_STATS),
                rx.link(rx.button("Business settings", variant="soft"), href=routes.DASHBOARD_SETTINGS),
            ),
            justify="between",
            align="center",
            wrap="wrap",
            width="100%",
        ),
        rx.cond(
            DashboardState.paused,
            rx.callout("Paused: you receive no new leads.", icon="pause", color_scheme="amber"),
        ),
        feedback.error_callout(DashboardState.error),
        rx.cond(
            DashboardState.gone != "",
            rx.callout(DashboardState.gone, icon="archive", color_scheme="gray", id="detail-gone"),
        ),
        rx.cond(
            DashboardState.business_id > 0,
            rx.vstack(
                _filter_sheet(),
                _lead_table(),
                _lead_cards(),
                rx.cond(
                    DashboardState.total == 0,
                    rx.text(
                        "No leads yet. Matched requests appear here as they arrive.",
                        color_scheme="gray",
                        id="inbox-empty",
                    ),
                ),
                page_buttons(
                    DashboardState.go_page,
                    DashboardState.page,
                    DashboardState.pages,
                    [DashboardState.total_label],
                    noun="leads",
                    pager_id="inbox-count",
                ),
                spacing="4",
                width="100%",
                margin_top="1em",
            ),
            rx.card(
                rx.text("Create your business profile to start receiving leads. "),
                rx.link("Set up your business", href=routes.DASHBOARD_SETTINGS, id="setup-business"),
                margin_top="1em",
                id="dashboard-no-business",
            ),
        ),
    )
