"""The business dashboard: a live lead inbox (paged and filtered on the server), lead detail, actions."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses

import reflex as rx

from leadapp import live, routes
from leadapp.components.layout import guarded, page
from leadapp.core import labels
from leadapp.core.db import session_scope
from leadapp.core.errors import NotAllowed, UserError
from leadapp.core.services import access, calls, inbound, inbox
from leadapp.core.vocab import CATEGORY_LABELS
from leadapp.live import remember_business_tab
from leadapp.state.auth import AuthState


@dataclasses.dataclass
class TranscriptView:
    speaker: str = ""
    speaker_label: str = ""
    text: str = ""


@dataclasses.dataclass
class CallView:
    id: str = ""
    type: str = ""
    type_label: str = ""
    status: str = ""
    status_label: str = ""
    outcome: str = ""
    outcome_label: str = ""
    scheduled_for: str = ""
    summary: str = ""
    has_recording: str = ""
    simulated: str = ""
    transcript: list[TranscriptView] = dataclasses.field(default_factory=list)


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


GONE = "That request is no longer in your inbox: the consumer withdrew or deleted it, or LeadApp closed it."


class DashboardState(AuthState):
    business_id: int = 0
    business_name: str = ""
    paused: bool = False
    rows: list[dict[str, str]] = []
    total: int = 0
    page: int = 1
    status_filter: str = ""
    urgency_filter: str = ""
    category_filter: str = ""
    search: str = ""
    # The date filter as typed (YYYY-MM-DD, UTC days, both included) and what is wrong with it.
    since_filter: str = ""
    until_filter: str = ""
    since_error: str = ""
    until_error: str = ""
    detail: dict[str, str] = {}
    reasons: list[str] = []
    points: list[dict[str, str]] = []
    calls: list[CallView] = []
    # Signed, expiring links to the recordings the owner chose to play, by call id (kept while the detail is
    # open, so a live refresh never reloads a playing recording).
    recording_links: dict[str, str] = {}
    error: str = ""
    notice: str = ""
    # Why the open detail closed by itself (its request closed meanwhile); shown on the lead's page.
    gone: str = ""
    # The lead page (`/dashboard/leads/<id>`): "" until it looked, then "ok" or "refused" (one refusal for a
    # missing, foreign or closed lead).
    lead_view: str = ""
    # The filter sheet on a phone (on wider screens the filters are always shown).
    filters_open: bool = False

    @rx.var
    def total_label(self) -> str:
        return labels.count(self.total, "lead")

    @rx.var
    def pages(self) -> int:
        return max(1, -(-self.total // inbox.PAGE_SIZE))

    def _filters(self) -> inbox.InboxFilters:
        first, last = inbox.received_days(self.since_filter, self.until_filter)
        return inbox.InboxFilters(
            status=self.status_filter,
            urgency=self.urgency_filter,
            category=self.category_filter,
            first_day=first,  # whole days of the business's own time zone
            last_day=last,
            search=self.search,
        )

    def _fetch(self) -> None:
        """Reload the visible page (and the open detail) from the database, as the current user."""
        with session_scope() as session:
            user = self._require(session, access.Area.BUSINESS)
            business = inbox.business_of(session, user)
            if business is None:
                self.business_id, self.business_name, self.rows, self.total = 0, "", [], 0
                return
            self.business_id, self.business_name, self.paused = business.id or 0, business.name, business.paused
            self.rows, self.total = inbox.inbox(session, user, self.business_id, self._filters(), self.page)
            if self.detail.get("match_id"):
                try:
                    detail = inbox.lead_detail(session, user, int(self.detail["match_id"]))
                except (NotAllowed, ValueError):
                    # The request closed (withdrawn, rejected, deleted) while its detail was open: the detail
                    # goes, the rest of the inbox stays.
                    self.detail, self.reasons, self.points, self.calls = {}, [], [], []
                    self.gone = GONE
                    return
                self._show_detail(session, user, detail)

    def _show_detail(self, session, user, detail: dict) -> None:
        self.reasons = list(detail.pop("reasons", []))
        self.points = list(detail.pop("points", []))
        self.detail = {k: str(v) if not isinstance(v, bool) else ("yes" if v else "") for k, v in detail.items()}
        self.calls = [
            CallView(
                **{k: v for k, v in c.items() if k != "transcript"},
                transcript=[TranscriptView(**line) for line in c["transcript"]],
            )
            for c in inbox.calls_for_match(session, user, int(detail["match_id"]))
        ]

    def refresh_from_event(self) -> None:
        """Called by the live listener when something changed for this business."""
        try:
            self._fetch()
        except (NotAllowed, UserError):
            self.rows, self.detail = [], {}

    @rx.event
    def load(self):
        self.error = ""
        # The inbox shows no detail: a lead opens on its own page.
        self.detail, self.reasons, self.points, self.calls, self.recording_links = {}, [], [], [], {}
        self.gone = ""
        try:
            self._fetch()
        except NotAllowed:
            self.rows, self.detail = [], {}
            return None
        remember_business_tab(self.business_id, self.router.session.client_token)
        return None

    @rx.event
    def open_lead(self):
        """on_load of `/dashboard/leads/<lead id>`: the lead's detail, or the one refusal (a missing lead, another
        business's, a closed one and a malformed address look the same)."""
        self.error = self.notice = self.gone = ""
        self.detail, self.reasons, self.points, self.calls, self.recording_links = {}, [], [], [], {}
        self.lead_view = ""
        lead_id = routes.id_from_path(self.router.url.path)
        try:
            with session_scope() as session:
                user = self._require(session, access.Area.BUSINESS)
                business = inbox.business_of(session, user)
                match_id = inbox.match_id_for_lead(session, user, lead_id)
                self._show_detail(session, user, inbox.lead_detail(session, user, match_id))
                self.business_id = (business.id or 0) if business is not None else 0
        except (UserError, ValueError):
            self.lead_view = "refused"
            return
        self.lead_view = "ok"
        remember_business_tab(self.business_id, self.router.session.client_token)

    @rx.event
    def toggle_filters(self):
        self.filters_open = not self.filters_open

    @rx.event
    def apply_filters(self, form_data: dict):
        since, until = str(form_data.get("since", ""))[:20], str(form_data.get("until", ""))[:20]
        self.since_error = self.until_error = ""
        try:
            inbox.received_days(since, until)
        except UserError as exc:
            # Keep showing the last good page; the message goes under the field that is wrong.
            if exc.field == "until":
                self.until_error = exc.message
            else:
                self.since_error = exc.message
            return None
        self.since_filter, self.until_filter = since, until
        self.status_filter = str(form_data.get("status", "")).replace("all", "")
        self.urgency_filter = str(form_data.get("urgency", "")).replace("all", "")
        self.category_filter = str(form_data.get("category", "")).replace("all", "")
        self.search = str(form_data.get("search", ""))[:100]
        self.page = 1
        self.filters_open = False
        return DashboardState.load

    @rx.event
    def go_page(self, delta: int):
        self.page = max(1, min(self.pages, self.page + delta))
        return DashboardState.load

    @rx.event
    def open_detail(self, match_id: str):
        self.error = self.notice = self.gone = ""
        try:
            with session_scope() as session:
                user = self._require(session, access.Area.BUSINESS)
                self._show_detail(session, user, inbox.lead_detail(session, user, int(match_id)))
        except (UserError, ValueError) as exc:
            self.error = str(getattr(exc, "message", exc))

    @rx.event
    def close_detail(self):
        self.detail, self.reasons, self.points, self.calls, self.notice = {}, [], [], [], ""
        self.recording_links = {}

    @rx.event
    def release(self):
        match_id = int(self.detail.get("match_id", "0"))
        self._act(lambda s, u: inbound.release_lead(s, u, match_id))
        if not self.error:
            self.notice = "Released: other businesses nearby are offered this request too. It stays in your inbox."

    @rx.event
    def cancel_call(self, call_id: str):
        self._act(lambda s, u: calls.cancel_call(s, u, int(call_id)))

    @rx.event
    def open_recording(self, call_id: str):
        """Put the call's recording in a player: a signed link streamed by the app, for this owner only."""
        self.error = ""
        try:
            with session_scope() as session:
                user = self._require(session, access.Area.BUSINESS)
                link = calls.recording_link(session, user, int(call_id))
        except (UserError, ValueError) as exc:
            self.error = str(getattr(exc, "message", exc))
            return
        self.recording_links = {**self.recording_links, str(int(call_id)): link}

    def _act(self, action) -> None:
        self.error = ""
        try:
            with session_scope() as session:
                user = self._require(session, access.Area.BUSINESS)
                action(session, user)
        except NotAllowed as exc:
            self.error = exc.message
            # Refused because the lead is no longer this business's to act on (e.g. withdrawn meanwhile): show
            # the inbox as it is now, which closes a detail that is gone.
            with contextlib.suppress(UserError):
                self._fetch()
            return
        except (UserError, ValueError) as exc:
            self.error = str(getattr(exc, "message", exc))
            return
        self._fetch()

    @rx.event
    def accept(self):
        match_id = int(self.detail.get("match_id", "0"))
        self._act(lambda s, u: inbox.respond(s, u, match_id, accept=True))

    @rx.event
    def decline(self, form_data: dict):
        match_id = int(self.detail.get("match_id", "0"))
        self._act(lambda s, u: inbox.respond(s, u, match_id, accept=False, message=str(form_data.get("message", ""))))

    @rx.event
    def request_call(self, form_data: dict):
        match_id = int(self.detail.get("match_id", "0"))
        self._act(lambda s, u: calls.request_call(s, u, match_id, objective=str(form_data.get("objective", ""))))
        if not self.error:
            self.notice = "AI call requested. It will be placed within the consumer's calling hours."

    @rx.event
    def mark_callback_handled(self):
        """The owner called the consumer back (they asked for a person on an AI call): clear the badge."""
        match_id = int(self.detail.get("match_id", "0") or 0)
        self._act(lambda s, u: inbox.mark_callback_handled(s, u, match_id))
        if not self.error:
            self.notice = "Marked handled."

    @rx.event
    def convert(self, form_data: dict):
        match_id = int(self.detail.get("match_id", "0"))
        self._act(lambda s, u: inbox.mark_converted(s, u, match_id, str(form_data.get("job_value", ""))))


def _select(name: str, label: str, options: list[tuple[str, str]]) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=f"filter-{name}", style={"fontWeight": "500", "fontSize": "0.9em"}),
        rx.select.root(
            rx.select.trigger(id=f"filter-{name}", placeholder="All"),
            rx.select.content(rx.select.item("All", value="all"), *[rx.select.item(t, value=v) for v, t in options]),
            name=name,
            default_value="all",
        ),
        spacing="1",
    )


def _date_input(name: str, label: str, error: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=f"filter-{name}", style={"fontWeight": "500", "fontSize": "0.9em"}),
        rx.input(
            name=name,
            id=f"filter-{name}",
            type="date",
            aria_invalid=rx.cond(error != "", "true", "false"),
            aria_describedby=f"filter-{name}-error",
        ),
        rx.cond(error != "", rx.text(error, size="1", color_scheme="red", id=f"filter-{name}-error", role="alert")),
        spacing="1",
    )


def _filters() -> rx.Component:
    return rx.form(
        rx.flex(
            _select("status", "Status", labels.options("match_status")),
            _select("urgency", "Urgency", labels.options("urgency")),
            _select("category", "Service", [(c.value, label) for c, label in CATEGORY_LABELS.items()]),
            _date_input("since", "Received from", DashboardState.since_error),
            _date_input("until", "Received to", DashboardState.until_error),
            rx.vstack(
                rx.el.label("Search", html_for="filter-search", style={"fontWeight": "500", "fontSize": "0.9em"}),
                rx.input(name="search", id="filter-search", placeholder="words or ZIP"),
                spacing="1",
            ),
            rx.button("Apply", type="submit", id="filter-apply"),
            spacing="3",
            wrap="wrap",
            align="end",
        ),
        on_submit=DashboardState.apply_filters,
        reset_on_submit=False,
        no_validate=True,
    )


def _called_you_badge(**props: str) -> rx.Component:
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
                    rx.badge(
                        rx.icon("phone-incoming", size=12), "called you", color_scheme="iris", class_name="called-you"
                    ),
                ),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
            rx.text(row["snippet"], size="1", color_scheme="gray"),
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
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.text(row["category"], weight="bold", class_name="lead-card-category"),
                    rx.cond(row["called_you"] == "yes", _called_you_badge(class_name="called-you")),
                    rx.spacer(),
                    rx.text(row["received_ago"], size="1", color_scheme="gray", class_name="lead-card-ago"),
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
                spacing="2",
                width="100%",
            ),
            width="100%",
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
    return rx.box(
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    *[
                        rx.table.column_header_cell(h)
                        for h in ("Received", "Request", "Urgency", "Distance", "Score", "Status")
                    ]
                )
            ),
            rx.table.body(rx.foreach(DashboardState.rows, _lead_row)),
            width="100%",
            id="lead-table",
        ),
        overflow_x="auto",
        width="100%",
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
    return page(
        guarded(
            "business",
            KeepInboxScroll.create(),
            rx.hstack(
                rx.vstack(
                    rx.heading("Dashboard", size="8", id="dashboard-heading"),
                    rx.text(DashboardState.business_name, color_scheme="gray"),
                    spacing="0",
                ),
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
            rx.cond(DashboardState.error != "", rx.callout(DashboardState.error, color_scheme="red", role="alert")),
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
                    rx.hstack(
                        rx.button(
                            "Previous",
                            on_click=DashboardState.go_page(-1),
                            variant="soft",
                            disabled=DashboardState.page <= 1,
                        ),
                        rx.text(
                            "Page ",
                            DashboardState.page,
                            " of ",
                            DashboardState.pages,
                            " · ",
                            DashboardState.total_label,
                            id="inbox-count",
                        ),
                        rx.button(
                            "Next",
                            on_click=DashboardState.go_page(1),
                            variant="soft",
                            disabled=DashboardState.page >= DashboardState.pages,
                        ),
                        align="center",
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
    )


async def refresh_tab(app, token: str) -> None:
    """Push a fresh inbox page into one open dashboard tab (from the live listener)."""
    async with app.modify_state(rx.BaseStateToken(ident=token, cls=DashboardState)) as root:
        dashboard = await root.get_state(DashboardState)
        if dashboard.business_id:
            await asyncio.to_thread(dashboard.refresh_from_event)


@live.on("match", "call", "transcript")
async def push_to_business_tabs(app, event: dict) -> None:
    """A lead, call or transcript of a business changed: its open dashboard tabs refresh."""
    if event.get("business_id"):
        tabs = live.business_tabs_key(int(event["business_id"]))
        await live.refresh_tabs(app, event, tabs, refresh_tab, "business")
