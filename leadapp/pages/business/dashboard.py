"""The business dashboard: a live lead inbox (paged and filtered on the server), lead detail, actions."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses

import reflex as rx

from leadapp import routes
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
    # The date filter as typed (YYYY-MM-DD, days of the business's time zone, both included) and what is wrong with it.
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
    # Why the open detail closed by itself (its request closed meanwhile); shown above the inbox.
    gone: str = ""

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
        try:
            self._fetch()
        except NotAllowed:
            self.rows, self.detail = [], {}
            return
        remember_business_tab(self.business_id, self.router.session.client_token)

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
                rx.text(row["category"], weight="medium"),
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
        rx.table.cell(
            rx.flex(
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
        ),
        on_click=DashboardState.open_detail(row["match_id"]),
        cursor="pointer",
        class_name="lead-row",
        data_lead=row["lead_id"],
    )


def _call_panel(call: CallView) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon("phone", size=16),
                rx.text("AI call", weight="bold"),
                rx.cond(
                    call.simulated == "yes",
                    rx.badge(
                        "Simulation",
                        color_scheme="amber",
                        class_name="call-simulated",
                        title="No phone account is configured: a scripted caller answered from the request",
                    ),
                ),
                rx.badge(call.status_label, class_name="call-status", data_status=call.status),
                rx.cond(
                    call.outcome != "",
                    rx.badge(
                        call.outcome_label, color_scheme="green", class_name="call-outcome", data_outcome=call.outcome
                    ),
                ),
                rx.cond(call.scheduled_for != "", rx.text("scheduled for ", call.scheduled_for, size="1")),
                rx.spacer(),
                rx.cond(
                    (call.status == "requested") | (call.status == "scheduled"),
                    rx.button("Cancel", size="1", variant="soft", on_click=DashboardState.cancel_call(call.id)),
                ),
                rx.cond(
                    (call.has_recording == "yes") & ~DashboardState.recording_links.contains(call.id),
                    rx.button(
                        rx.icon("play", size=14),
                        "Recording",
                        size="1",
                        variant="soft",
                        on_click=DashboardState.open_recording(call.id),
                        class_name="open-recording",
                    ),
                ),
                wrap="wrap",
                width="100%",
                align="center",
            ),
            rx.cond(
                DashboardState.recording_links.contains(call.id),
                rx.el.audio(
                    src=DashboardState.recording_links[call.id],
                    controls=True,
                    preload="auto",
                    class_name="call-recording",
                    aria_label="Call recording",
                    style={"width": "100%"},
                ),
            ),
            rx.foreach(
                call.transcript,
                lambda line: rx.text(
                    rx.text.strong(line.speaker_label, ": "), line.text, size="2", class_name="transcript-line"
                ),
            ),
            rx.cond(
                call.summary != "",
                rx.text(rx.text.strong("Summary: "), call.summary, size="2", class_name="call-summary"),
            ),
            spacing="1",
            width="100%",
        ),
        width="100%",
        class_name="call-panel",
    )


def _point_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row["label"]),
        rx.table.cell(row["points"], class_name="factor-points", text_align="right"),
        rx.table.cell(rx.cond(row["max"] != "", rx.text("of ", row["max"], color_scheme="gray"), "")),
        class_name="score-factor",
        data_factor=row["factor"],
    )


def _points_table() -> rx.Component:
    return rx.vstack(
        rx.text("Score, factor by factor", weight="bold", size="2"),
        rx.table.root(
            rx.table.body(
                rx.foreach(DashboardState.points, _point_row),
                rx.table.row(
                    rx.table.row_header_cell("Match score"),
                    rx.table.cell(
                        DashboardState.detail["score_exact"], id="score-total", text_align="right", font_weight="bold"
                    ),
                    rx.table.cell("of 100.0", color_scheme="gray"),
                ),
            ),
            size="1",
            variant="ghost",
            id="score-breakdown",
        ),
        spacing="1",
    )


def _detail() -> rx.Component:
    d = DashboardState.detail
    closed = d["closed_reason"] != ""
    contact = rx.cond(
        d["contact_visible"] == "yes",
        rx.vstack(
            rx.text("Contact", weight="bold"),
            rx.text(d["contact_name"]),
            rx.text(d["contact_email"], id="detail-email"),
            rx.text(d["contact_phone"], id="detail-phone"),
            rx.text("Prefers: ", d["preferred_contact_label"], size="2", color_scheme="gray"),
            spacing="1",
        ),
        rx.cond(
            closed,
            rx.callout(d["closed_reason"], icon="archive", color_scheme="gray", id="detail-closed"),
            rx.callout(
                "The consumer's name, email, phone and street address appear once you accept.",
                icon="lock",
                id="detail-contact-hidden",
            ),
        ),
    )
    callback = rx.cond(
        d["callback"] == "yes",
        rx.callout(
            rx.hstack(
                rx.text(
                    "The consumer asked to speak with a person on the AI call",
                    rx.cond(d["callback_since"] != "", rx.text.span(" (", d["callback_since"], ")")),
                    ". Call them back.",
                ),
                rx.button(
                    "Mark handled",
                    size="1",
                    variant="soft",
                    on_click=DashboardState.mark_callback_handled,
                    id="mark-callback-handled",
                ),
                align="center",
                wrap="wrap",
            ),
            icon="phone-incoming",
            color_scheme="orange",
            id="detail-callback",
        ),
    )
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(d["category"], as_="h2", size="5"),
                rx.badge(d["urgency_label"]),
                rx.badge(d["status_label"], id="detail-status", data_status=d["status"]),
                rx.cond(
                    d["called_you"] == "yes",
                    rx.badge(
                        rx.icon("phone-incoming", size=12), "called you", color_scheme="iris", id="detail-called-you"
                    ),
                ),
                rx.spacer(),
                rx.icon_button(rx.icon("x"), on_click=DashboardState.close_detail, variant="ghost", aria_label="Close"),
                width="100%",
                wrap="wrap",
            ),
            rx.text(d["text"], white_space="pre-wrap", id="detail-text"),
            rx.text(
                "ZIP ",
                d["zip"],
                " · ",
                d["distance"],
                " · budget ",
                d["budget"],
                " · score ",
                d["score"],
                size="2",
                color_scheme="gray",
            ),
            rx.cond(d["requirements"] != "", rx.text("Needs: ", d["requirements"], size="2")),
            rx.cond(
                d["called_you"] == "yes",
                rx.callout(
                    rx.cond(
                        d["released_at"] != "",
                        rx.text(
                            "You released this call to the marketplace on ", d["released_at"], "; it stays yours too."
                        ),
                        "This caller phoned your number: the request is yours alone until you release it.",
                    ),
                    icon="phone-incoming",
                    color_scheme="iris",
                    id="detail-call-origin",
                    data_released=rx.cond(d["released_at"] != "", "yes", "no"),
                ),
            ),
            rx.vstack(
                rx.text("Why it matched you", weight="bold", size="2"),
                rx.foreach(DashboardState.reasons, lambda r: rx.text("• ", r, size="2")),
                spacing="0",
            ),
            rx.cond(DashboardState.points.length() > 0, _points_table()),
            callback,
            contact,
            rx.cond(
                d["can_release"] == "yes",
                rx.flex(
                    rx.button(
                        rx.icon("share-2"),
                        "Release to the marketplace",
                        on_click=DashboardState.release,
                        variant="soft",
                        id="release-lead",
                    ),
                    rx.text(
                        "Other businesses nearby are offered it too; you keep it in your inbox.",
                        size="1",
                        color_scheme="gray",
                    ),
                    spacing="3",
                    align="center",
                    wrap="wrap",
                ),
            ),
            rx.cond(
                (d["status"] != "accepted") & (d["status"] != "converted") & ~closed,
                rx.flex(
                    rx.button("Accept", on_click=DashboardState.accept, id="accept-lead", color_scheme="green"),
                    rx.form(
                        rx.hstack(
                            rx.el.label(
                                "Message (optional)",
                                html_for="decline-message",
                                class_name="rt-Text",
                                style={"fontSize": "0.85em"},
                            ),
                            rx.input(name="message", id="decline-message"),
                            rx.button("Decline", type="submit", variant="soft", color_scheme="red", id="decline-lead"),
                            align="center",
                            wrap="wrap",
                        ),
                        on_submit=DashboardState.decline,
                        no_validate=True,
                    ),
                    spacing="3",
                    wrap="wrap",
                ),
            ),
            rx.cond(
                ~closed,
                rx.form(
                    rx.hstack(
                        rx.el.label("Call objective", html_for="call-objective"),
                        rx.input(
                            name="objective", id="call-objective", placeholder="e.g. confirm the leak and book a visit"
                        ),
                        rx.button(
                            rx.icon("phone-call"),
                            "AI call",
                            type="submit",
                            id="ai-call",
                            disabled=d["call_allowed"] != "yes",
                            title=d["call_reason"],
                        ),
                        align="center",
                        wrap="wrap",
                    ),
                    rx.cond(
                        d["call_allowed"] != "yes",
                        rx.text(d["call_reason"], size="2", color_scheme="gray", id="ai-call-reason"),
                    ),
                    rx.text(d["calls_left_label"], size="1", color_scheme="gray"),
                    on_submit=DashboardState.request_call,
                    no_validate=True,
                ),
            ),
            rx.cond(DashboardState.notice != "", rx.callout(DashboardState.notice, icon="check", id="call-notice")),
            rx.foreach(DashboardState.calls, _call_panel),
            rx.cond(
                (d["status"] == "accepted") & ~closed,
                rx.form(
                    rx.hstack(
                        rx.el.label("Job value ($)", html_for="job-value"),
                        rx.input(name="job_value", id="job-value", width="8em"),
                        rx.button("Mark converted", type="submit", id="convert-lead"),
                        align="center",
                        wrap="wrap",
                    ),
                    on_submit=DashboardState.convert,
                    no_validate=True,
                ),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="lead-detail",
    )


def dashboard_page() -> rx.Component:
    return page(
        guarded(
            "business",
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
                    _filters(),
                    rx.cond(DashboardState.detail.contains("match_id"), _detail()),
                    rx.box(
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
                    ),
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
