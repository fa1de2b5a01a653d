"""Admin operations pages: notification outbox, queue health, calls log and costs, do-not-call list, audit trail.

Each state only calls `services.admin_ops` (and `notify.retry_notification`) as the logged-in admin and holds
what its page shows; lists are paged on the server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import reflex as rx
from sqlmodel import Session

from leadapp.components import feedback
from leadapp.components.layout import guarded, page
from leadapp.components.pager import PagedState, pager
from leadapp.components.table import Column, data_table, empty_state
from leadapp.core import labels
from leadapp.core.db import session_scope
from leadapp.core.errors import UserError
from leadapp.core.models import User
from leadapp.core.services import access, admin_ops, notify
from leadapp.core.tasks import ALL_QUEUES, NOTIFICATIONS
from leadapp.state.auth import AuthState

T = TypeVar("T")

ALL = "all"


def _as_admin(state: AuthState, action: Callable[[Session, User], T]) -> tuple[T | None, str]:
    """Run `action(session, admin)` in one transaction (committed on success): (result, "") or (None, why)."""
    try:
        with session_scope() as session:
            user = state._require(session, access.Area.ADMIN)
            assert user is not None
            return action(session, user), ""
    except UserError as exc:  # NotAllowed included: the guard shows "not allowed" anyway
        return None, exc.message
    except ValueError as exc:  # a malformed id from the page
        return None, f"Invalid request: {exc}"


def _choice(value: Any) -> str:
    """A select's value from a form, "" for "all"."""
    text = str(value or "").strip()
    return "" if text == ALL else text


# --- shared pieces --------------------------------------------------------------------------------


def _label(text: str, html_for: str) -> rx.Component:
    return rx.el.label(text, html_for=html_for, style={"fontWeight": "500", "fontSize": "0.9em"})


def _field(text: str, html_for: str, control: rx.Component) -> rx.Component:
    return rx.vstack(_label(text, html_for), control, spacing="1")


def _select(name: str, label: str, options: list[tuple[str, str]], value: rx.Var | str = ALL) -> rx.Component:
    return _field(
        label,
        f"filter-{name}",
        rx.select.root(
            rx.select.trigger(id=f"filter-{name}", placeholder="All"),
            rx.select.content(rx.select.item("All", value=ALL), *[rx.select.item(t, value=v) for v, t in options]),
            name=name,
            default_value=value,
        ),
    )


def _messages(error: rx.Var, notice: rx.Var | None = None) -> rx.Component:
    shown = [rx.cond(error != "", rx.callout(error, color_scheme="red", role="alert", id="ops-error"))]
    if notice is not None:
        shown.append(rx.cond(notice != "", rx.callout(notice, icon="check", color_scheme="green", id="ops-notice")))
    return rx.fragment(*shown)


def _header(title: str, heading_id: str, *actions: rx.Component) -> rx.Component:
    return rx.vstack(
        rx.hstack(rx.heading(title, size="7", id=heading_id), *actions, justify="between", align="center", wrap="wrap"),
        spacing="1",
        width="100%",
    )


# --- notification outbox --------------------------------------------------------------------------


class OutboxState(PagedState, AuthState):
    status_filter: str = ""
    channel_filter: str = ""
    detail: dict[str, str] = {}
    detail_open: bool = False
    error: str = ""
    notice: str = ""

    def _fetch(self) -> None:
        result, error = _as_admin(
            self,
            lambda s, u: admin_ops.list_notifications(s, u, self.status_filter, self.channel_filter, self.page),
        )
        if result is None:
            self._show_failure()
            self.error = error
            return
        self._show_page(result)

    @rx.event
    def load(self):
        self.error, self.notice = "", ""
        self._fetch()

    @rx.event
    def apply_filters(self, form_data: dict):
        self.status_filter = _choice(form_data.get("status"))
        self.channel_filter = _choice(form_data.get("channel"))
        self.page = 1
        self.error, self.notice = "", ""
        self._fetch()

    @rx.event
    def open_detail(self, notification_id: str):
        self.error = ""
        detail, error = _as_admin(self, lambda s, u: admin_ops.notification_detail(s, u, int(notification_id)))
        if detail is None:
            self.error = error
            return
        self.detail, self.detail_open = detail, True

    @rx.event
    def set_detail_open(self, is_open: bool):
        self.detail_open = is_open
        if not is_open:
            self.detail = {}

    @rx.event
    def retry(self, notification_id: str):
        self.error, self.notice = "", ""
        row, error = _as_admin(self, lambda s, u: notify.retry_notification(s, u, int(notification_id)))
        if row is None:
            self.error = error
        else:
            self.notice = f"Notification {notification_id} is queued for another attempt."
        self._fetch()
        if self.detail.get("id") == notification_id:
            detail, _ = _as_admin(self, lambda s, u: admin_ops.notification_detail(s, u, int(notification_id)))
            self.detail = detail or {}
        return feedback.outcome(self.notice, self.error)


def _status_badge(status: rx.Var, label: rx.Var) -> rx.Component:
    color = rx.match(status, ("sent", "green"), ("failed", "red"), ("suppressed", "gray"), "amber")
    return rx.badge(label, color_scheme=color, variant="soft", class_name="notification-status")


def _outbox_message(row: rx.Var) -> list[rx.Component]:
    return [
        rx.link(
            row["subject"],
            on_click=OutboxState.open_detail(row["id"]),
            class_name="open-notification",
            cursor="pointer",
            size="2",
            weight="medium",
        ),
        rx.text(row["recipient"], size="1", word_break="break-all"),
        rx.text(row["created_at"], " · ", row["kind_label"], size="1", color_scheme="gray"),
    ]


def _outbox_status(row: rx.Var) -> rx.Component:
    return rx.vstack(
        _status_badge(row["status"], row["status_label"]),
        rx.text(row["attempts_label"], size="1", color_scheme="gray"),
        rx.cond(
            row["retryable"] == "yes",
            rx.button(
                "Retry",
                size="1",
                on_click=OutboxState.retry(row["id"]),
                class_name="retry-notification",
                data_notification=row["id"],
            ),
        ),
        spacing="1",
    )


# What an admin acts on (the message, its status, Retry) comes first: it stays in view at 390 px.
OUTBOX_COLUMNS = [
    Column("Message", _outbox_message, min_width="12em"),
    Column("Status", _outbox_status),
    Column("Channel", lambda row: rx.badge(row["channel_label"], variant="outline", class_name="notification-channel")),
    Column(
        "Last error",
        lambda row: rx.text(row["last_error"], size="1", color_scheme="red", class_name="notification-error"),
    ),
    Column(
        "Provider",
        lambda row: [rx.text(row["provider"], size="1"), rx.text(row["provider_id"], size="1", color_scheme="gray")],
    ),
]


def _outbox_row_props(row: rx.Var) -> dict[str, Any]:
    return {"class_name": "outbox-row", "data_notification": row["id"], "data_status": row["status"]}


def _outbox_filters() -> rx.Component:
    statuses = labels.options("notification_status")
    channels = labels.options("channel")
    return rx.form(
        rx.flex(
            _select("status", "Status", statuses),
            _select("channel", "Channel", channels),
            rx.button("Apply", type="submit", id="outbox-apply"),
            spacing="3",
            wrap="wrap",
            align="end",
        ),
        on_submit=OutboxState.apply_filters,
        reset_on_submit=False,
        no_validate=True,
    )


def _detail_line(label: str, value: rx.Var, value_id: str = "") -> rx.Component:
    return rx.hstack(
        rx.text(label, weight="medium", size="2", min_width="7em"),
        rx.text(value, size="2", id=value_id or None, word_break="break-all"),
        spacing="2",
        align="start",
    )


def _outbox_detail() -> rx.Component:
    d = OutboxState.detail
    return rx.dialog.root(
        rx.dialog.content(
            rx.vstack(
                rx.hstack(
                    rx.dialog.title(rx.cond(d["subject"] != "", d["subject"], "SMS"), size="5", margin="0"),
                    rx.dialog.close(rx.icon_button(rx.icon("x"), variant="ghost", aria_label="Close")),
                    justify="between",
                    align="start",
                    width="100%",
                ),
                rx.dialog.description(
                    d["channel_label"], " to ", d["recipient"], " · ", d["kind_label"], size="2", color_scheme="gray"
                ),
                _detail_line("Status", d["status_label"], "detail-status"),
                _detail_line("Attempts", d["attempts"]),
                _detail_line("Created", d["created_at"]),
                _detail_line("Sent", d["sent_at"]),
                _detail_line("Provider", d["provider"]),
                _detail_line("Provider id", d["provider_id"]),
                rx.cond(d["last_error"] != "", _detail_line("Last error", d["last_error"], "detail-error")),
                rx.cond(
                    d["retryable"] == "yes",
                    rx.button(
                        "Retry", on_click=OutboxState.retry(d["id"]), class_name="retry-notification", id="detail-retry"
                    ),
                ),
                rx.cond(
                    d["html_document"] != "",
                    rx.vstack(
                        rx.text("Rendered e-mail", weight="bold", size="2"),
                        # Sandboxed (no scripts, forms or same-origin) and with a CSP in the document: the
                        # message is shown as the recipient sees it, never injected into this page.
                        rx.el.iframe(
                            src_doc=d["html_document"],
                            sandbox="",
                            title="Rendered e-mail",
                            id="message-html",
                            style={
                                "width": "100%",
                                "height": "22em",
                                "border": "1px solid var(--gray-6)",
                                "borderRadius": "6px",
                                "background": "white",
                            },
                        ),
                        spacing="1",
                        width="100%",
                    ),
                ),
                rx.text("Text", weight="bold", size="2"),
                rx.el.pre(
                    d["text"],
                    id="message-text",
                    style={"whiteSpace": "pre-wrap", "wordBreak": "break-word", "fontSize": "0.85em", "margin": "0"},
                ),
                rx.cond(
                    d["html"] != "",
                    rx.el.details(
                        rx.el.summary("HTML source"),
                        rx.el.pre(
                            d["html"],
                            id="message-html-source",
                            style={"whiteSpace": "pre-wrap", "wordBreak": "break-all", "fontSize": "0.8em"},
                        ),
                    ),
                ),
                spacing="2",
                width="100%",
            ),
            max_width="46em",
            width="calc(100vw - 1em)",
            id="notification-detail",
        ),
        open=OutboxState.detail_open,
        on_open_change=OutboxState.set_detail_open,
    )


def outbox_page() -> rx.Component:
    return page(
        guarded(
            "admin",
            _header(
                "Notification outbox",
                "outbox-heading",
                rx.button(rx.icon("refresh-cw"), "Reload", on_click=OutboxState.load, variant="soft", size="2"),
            ),
            rx.text(
                "Every e-mail and SMS, with its delivery record. Without provider keys this is also the local "
                "mail and SMS viewer: open a row to read the message.",
                size="2",
                color_scheme="gray",
            ),
            _messages(OutboxState.error, OutboxState.notice),
            rx.vstack(
                _outbox_filters(),
                data_table(
                    OUTBOX_COLUMNS,
                    OutboxState.rows,
                    table_id="outbox-table",
                    label="Notifications",
                    row_props=_outbox_row_props,
                    loaded=OutboxState.loaded,
                    empty=empty_state(
                        "No notifications here.",
                        rx.cond(
                            (OutboxState.status_filter != "") | (OutboxState.channel_filter != ""),
                            "None match these filters: choose “All” to see every message.",
                            "Every e-mail and SMS LeadApp sends appears here as soon as it is queued.",
                        ),
                        icon="mail",
                        empty_id="outbox-empty",
                    ),
                ),
                pager(OutboxState, "notifications", "outbox-count"),
                _outbox_detail(),
                spacing="3",
                width="100%",
                margin_top="0.5em",
            ),
        )
    )


# --- queues ---------------------------------------------------------------------------------------


class QueuesState(AuthState):
    queues: list[dict[str, str]] = []
    selected_queue: str = NOTIFICATIONS
    jobs: list[dict[str, str]] = []
    error: str = ""
    notice: str = ""

    def _fetch(self) -> None:
        counts, error = _as_admin(self, lambda s, u: admin_ops.queue_overview(u))
        if counts is None:
            self.queues, self.jobs, self.error = [], [], error
            return
        self.queues = [
            {
                "name": c.name,
                "queued": str(c.queued),
                "started": str(c.started),
                "failed": str(c.failed),
                "scheduled": str(c.scheduled),
                "deferred": str(c.deferred),
            }
            for c in counts
        ]
        jobs, error = _as_admin(self, lambda s, u: admin_ops.failed_jobs(u, self.selected_queue))
        if jobs is None:
            self.jobs, self.error = [], error
            return
        self.jobs = [
            {
                "id": j.id,
                "func": j.func,
                "args": j.args,
                "enqueued_at": j.enqueued_at,
                "ended_at": j.ended_at,
                "error_summary": j.error_summary,
                "error": j.error,
            }
            for j in jobs
        ]

    @rx.event
    def load(self):
        self.error, self.notice = "", ""
        self._fetch()

    @rx.event
    def select_queue(self, name: str):
        self.selected_queue = name if name in ALL_QUEUES else NOTIFICATIONS
        self.error, self.notice = "", ""
        self._fetch()

    @rx.event
    def retry_job(self, job_id: str):
        self.error, self.notice = "", ""
        queue = self.selected_queue
        _, error = _as_admin(self, lambda s, u: admin_ops.retry_failed_job(s, u, queue, job_id))
        self.error = error
        if not error:
            self.notice = f"Job {job_id} is back on the {queue} queue."
        self._fetch()
        return feedback.outcome(self.notice, self.error)

    @rx.event
    def delete_job(self, job_id: str):
        self.error, self.notice = "", ""
        queue = self.selected_queue
        _, error = _as_admin(self, lambda s, u: admin_ops.delete_failed_job(s, u, queue, job_id))
        self.error = error
        if not error:
            self.notice = f"Job {job_id} was deleted."
        self._fetch()
        return feedback.outcome(self.notice, self.error)


def _failed_count(row: rx.Var) -> rx.Component:
    return rx.link(
        rx.badge(row["failed"], color_scheme=rx.cond(row["failed"] != "0", "red", "gray")),
        on_click=QueuesState.select_queue(row["name"]),
        cursor="pointer",
        aria_label="Show failed jobs of " + row["name"],
    )


QUEUE_COLUMNS = [
    Column("Queue", lambda row: rx.text(row["name"], weight="medium")),
    Column("Queued", lambda row: row["queued"], cell_props={"class_name": "count-queued"}),
    Column("Running", lambda row: row["started"], cell_props={"class_name": "count-started"}),
    Column("Failed", _failed_count, cell_props={"class_name": "count-failed"}),
    Column("Scheduled", lambda row: row["scheduled"], cell_props={"class_name": "count-scheduled"}),
    Column("Deferred", lambda row: row["deferred"], cell_props={"class_name": "count-deferred"}),
]


def _failed_job_card(job: rx.Var) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.code(job["func"], size="2"),
                rx.text(job["args"], size="1", color_scheme="gray"),
                spacing="2",
                wrap="wrap",
                align="center",
            ),
            rx.text(job["error_summary"], size="2", color_scheme="red", class_name="job-error"),
            rx.text(
                "Job ", job["id"], " · failed ", job["ended_at"], size="1", color_scheme="gray", word_break="break-all"
            ),
            rx.el.details(
                rx.el.summary("Traceback", style={"fontSize": "0.8em", "cursor": "pointer"}),
                rx.el.pre(
                    job["error"],
                    style={"whiteSpace": "pre-wrap", "wordBreak": "break-word", "fontSize": "0.75em", "margin": "0"},
                ),
            ),
            rx.hstack(
                rx.button("Retry", size="1", on_click=QueuesState.retry_job(job["id"]), class_name="retry-job"),
                rx.button(
                    "Delete",
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    on_click=QueuesState.delete_job(job["id"]),
                    class_name="delete-job",
                ),
                spacing="2",
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
        class_name="failed-job-row",
        data_job=job["id"],
    )


def queues_page() -> rx.Component:
    return page(
        guarded(
            "admin",
            _header(
                "Queues",
                "queues-heading",
                rx.button(rx.icon("refresh-cw"), "Reload", on_click=QueuesState.load, variant="soft", size="2"),
            ),
            _messages(QueuesState.error, QueuesState.notice),
            data_table(
                QUEUE_COLUMNS,
                QueuesState.queues,
                table_id="queue-table",
                label="Queues",
                row_props=lambda row: {"class_name": "queue-row", "data_queue": row["name"]},
                empty=empty_state(
                    "No queue answered.", "Check Redis and the worker on the Health page.", icon="layers"
                ),
            ),
            rx.hstack(
                _label("Failed jobs of", "failed-queue"),
                rx.select.root(
                    rx.select.trigger(id="failed-queue"),
                    rx.select.content(*[rx.select.item(name, value=name) for name in ALL_QUEUES]),
                    value=QueuesState.selected_queue,
                    on_change=QueuesState.select_queue,
                ),
                align="center",
                wrap="wrap",
                margin_top="1.5em",
            ),
            rx.vstack(rx.foreach(QueuesState.jobs, _failed_job_card), spacing="3", width="100%", id="failed-job-list"),
            rx.cond(
                QueuesState.jobs.length() == 0,
                empty_state(
                    "No failed jobs on this queue.",
                    "Jobs that fail after their retries wait here to be retried or deleted.",
                    icon="circle-check",
                    empty_id="failed-empty",
                ),
            ),
        )
    )


# --- calls log and costs --------------------------------------------------------------------------


class CallsState(PagedState, AuthState):
    business_filter: str = ""
    month_filter: str = ""
    businesses: list[list[str]] = []
    costs: list[dict[str, str]] = []
    month_totals: list[dict[str, str]] = []
    error: str = ""

    @rx.var
    def business_filter_name(self) -> str:
        """The filtered business by name, as the select showed it (its id means nothing to an admin)."""
        return next((name for i, name in self.businesses if i == self.business_filter), self.business_filter)

    def _fetch(self) -> None:
        business_id = int(self.business_filter) if self.business_filter.isdigit() else None
        result, error = _as_admin(
            self, lambda s, u: admin_ops.calls_log(s, u, business_id, self.month_filter or None, self.page)
        )
        if result is None:
            self._show_failure()
            self.error = error
            return
        self._show_page(result)

    @rx.event
    def load(self):
        self.error = ""

        def everything(session: Session, user: User) -> tuple[Any, Any]:
            return admin_ops.call_businesses(session, user), admin_ops.call_costs(session, user)

        result, error = _as_admin(self, everything)
        if result is None:
            self.error = error
            return
        businesses, costs = result
        self.businesses = [[str(i), name] for i, name in businesses]
        self.costs = [admin_ops.cost_row(t) for t in costs.per_business]
        self.month_totals = [admin_ops.cost_row(t) for t in costs.per_month]
        self._fetch()

    @rx.event
    def apply_filters(self, form_data: dict):
        self.business_filter = _choice(form_data.get("business"))
        self.month_filter = str(form_data.get("month", "")).strip()[:7]
        self.page = 1
        self.error = ""
        self._fetch()

    @rx.event
    def show(self, business_id: str, month: str):
        """Filter the log to one row of the cost totals."""
        self.business_filter, self.month_filter, self.page, self.error = business_id, month, 1, ""
        self._fetch()

    @rx.event
    def clear_filters(self):
        self.business_filter, self.month_filter, self.page, self.error = "", "", 1, ""
        self._fetch()


CALL_COLUMNS = [
    Column(
        "When",
        lambda row: rx.link(
            row["created_at"],
            href=rx.Var.create(f"/admin/calls/{row['id']}"),
            size="1",
            white_space="nowrap",
            class_name="open-call",
        ),
    ),
    Column("Business", lambda row: rx.text(row["business"], size="2")),
    Column(
        "Type / number",
        lambda row: [rx.text(row["type_label"], size="1"), rx.text(row["number"], size="1", color_scheme="gray")],
    ),
    Column("Status", lambda row: rx.badge(row["status_label"], variant="soft", data_status=row["status"])),
    Column(
        "Outcome",
        lambda row: rx.text(row["outcome_label"], class_name="call-outcome", size="2", data_outcome=row["outcome"]),
    ),
    Column("Length", lambda row: row["duration"]),
    Column("Cost", lambda row: rx.text(row["cost"], class_name="call-cost")),
    Column("Error", lambda row: rx.text(row["error"], size="1", color_scheme="red")),
]

COST_COLUMNS = [
    Column("Calls", lambda row: row["calls"]),
    Column("Carrier", lambda row: row["carrier"]),
    Column("Realtime", lambda row: row["realtime"]),
    Column("Summary", lambda row: row["summary"]),
    Column("Total", lambda row: rx.text(row["total"], weight="bold", class_name="cost-total")),
]

MONTH_TOTAL_COLUMNS = [Column("Month", lambda row: row["month"]), *COST_COLUMNS]

BUSINESS_COST_COLUMNS = [
    Column("Month", lambda row: row["month"]),
    Column(
        "Business",
        lambda row: rx.link(
            row["business"], on_click=CallsState.show(row["business_id"], row["month"]), cursor="pointer"
        ),
    ),
    *COST_COLUMNS,
]


def _calls_filters() -> rx.Component:
    return rx.form(
        rx.flex(
            _field(
                "Business",
                "filter-business",
                rx.select.root(
                    rx.select.trigger(id="filter-business", placeholder="All"),
                    rx.select.content(
                        rx.select.item("All", value=ALL),
                        rx.foreach(CallsState.businesses, lambda b: rx.select.item(b[1], value=b[0])),
                    ),
                    name="business",
                    default_value=ALL,
                ),
            ),
            _field("Month", "filter-month", rx.input(type="month", name="month", id="filter-month")),
            rx.button("Apply", type="submit", id="calls-apply"),
            rx.button("Clear", type="button", variant="soft", on_click=CallsState.clear_filters),
            spacing="3",
            wrap="wrap",
            align="end",
        ),
        on_submit=CallsState.apply_filters,
        reset_on_submit=False,
        no_validate=True,
    )


def calls_page() -> rx.Component:
    no_calls = empty_state(
        "No calls in the last 12 months.",
        "A business places an AI call from a lead it accepted; its cost shows here.",
        icon="phone",
    )
    return page(
        guarded(
            "admin",
            _header("Calls", "calls-heading"),
            _messages(CallsState.error),
            rx.heading("Costs per month", as_="h2", size="4", margin_top="0.5em"),
            data_table(
                MONTH_TOTAL_COLUMNS,
                CallsState.month_totals,
                table_id="month-totals",
                label="Costs per month",
                row_props=lambda row: {"class_name": "month-total-row", "data_month": row["month"]},
                loaded=CallsState.loaded,
            ),
            rx.heading("Costs per business and month", as_="h2", size="4", margin_top="1em"),
            data_table(
                BUSINESS_COST_COLUMNS,
                CallsState.costs,
                table_id="cost-table",
                label="Costs per business and month",
                row_props=lambda row: {
                    "class_name": "cost-row",
                    "data_month": row["month"],
                    "data_business": row["business_id"],
                },
                empty=no_calls,
                loaded=CallsState.loaded,
            ),
            rx.heading("Calls log", as_="h2", size="4", margin_top="1em"),
            rx.vstack(
                _calls_filters(),
                rx.cond(
                    (CallsState.business_filter != "") | (CallsState.month_filter != ""),
                    rx.text(
                        "Filtered: business ",
                        rx.cond(CallsState.business_filter != "", CallsState.business_filter_name, "any"),
                        ", month ",
                        rx.cond(CallsState.month_filter != "", CallsState.month_filter, "any"),
                        size="2",
                        color_scheme="gray",
                        id="calls-filtered",
                    ),
                ),
                data_table(
                    CALL_COLUMNS,
                    CallsState.rows,
                    table_id="calls-table",
                    label="Calls log",
                    row_props=lambda row: {"class_name": "call-row", "data_call": row["id"]},
                    empty=empty_state(
                        "No calls match.",
                        "Clear the filters to see every call.",
                        icon="phone",
                        action=rx.button("Clear filters", variant="soft", on_click=CallsState.clear_filters),
                    ),
                    loaded=CallsState.loaded,
                ),
                pager(CallsState, "calls", "calls-count"),
                spacing="3",
                width="100%",
            ),
        )
    )


# --- do-not-call list -----------------------------------------------------------------------------


class DncState(PagedState, AuthState):
    search: str = ""
    error: str = ""
    notice: str = ""
    add_error: str = ""
    import_error: str = ""

    def _fetch(self) -> None:
        result, error = _as_admin(self, lambda s, u: admin_ops.list_dnc(s, u, self.search, self.page))
        if result is None:
            self._show_failure()
            self.error = error
            return
        self._show_page(result)

    def _clear(self) -> None:
        self.error, self.notice, self.add_error, self.import_error = "", "", "", ""

    @rx.event
    def load(self):
        self._clear()
        self._fetch()

    @rx.event
    def add(self, form_data: dict):
        self._clear()
        phone, reason = str(form_data.get("phone", "")), str(form_data.get("reason", ""))
        entry, error = _as_admin(self, lambda s, u: admin_ops.add_dnc(s, u, phone, reason).phone_display)
        if entry is None:
            self.add_error = error
            return feedback.failed(self.add_error)
        self.notice = f"{entry} is on the do-not-call list."
        self.search, self.page = "", 1
        self._fetch()
        return feedback.outcome(self.notice, self.error)

    @rx.event
    def remove(self, dnc_id: str):
        self._clear()
        _, error = _as_admin(self, lambda s, u: admin_ops.remove_dnc(s, u, int(dnc_id)))
        self.error = error
        if not error:
            self.notice = "Number removed from the do-not-call list."
        self._fetch()
        return feedback.outcome(self.notice, self.error)

    @rx.event
    def import_csv(self, form_data: dict):
        self._clear()
        text, reason = str(form_data.get("csv", "")), str(form_data.get("reason", ""))
        result, error = _as_admin(self, lambda s, u: admin_ops.import_dnc_csv(s, u, text, reason))
        if result is None:
            self.import_error = error
            return feedback.failed(self.import_error)
        if result.applied:
            self.notice = result.summary()
        else:
            self.import_error = result.summary()
        self.page = 1
        self._fetch()
        return feedback.outcome(self.notice, self.error or self.import_error)

    @rx.event
    def find(self, form_data: dict):
        self._clear()
        self.search, self.page = str(form_data.get("phone", "")).strip()[:40], 1
        self._fetch()


def _dnc_source(row: rx.Var) -> list[rx.Component]:
    return [
        rx.badge(row["source_label"], variant="soft", class_name="dnc-source", data_source=row["source"]),
        rx.cond(row["wording"] != "", rx.text("“", row["wording"], "”", size="1", class_name="dnc-wording")),
        rx.cond(row["where"] != "", rx.text(row["where"], size="1", color_scheme="gray", class_name="dnc-where")),
    ]


def _dnc_remove(row: rx.Var) -> rx.Component:
    return rx.button(
        "Remove",
        size="1",
        variant="soft",
        color_scheme="red",
        on_click=DncState.remove(row["id"]),
        class_name="remove-dnc",
        aria_label="Remove " + row["phone"],
    )


DNC_COLUMNS = [
    Column("Number", lambda row: rx.text(row["phone"], class_name="dnc-phone", white_space="nowrap")),
    Column("Reason", lambda row: rx.text(row["reason"], size="2")),
    Column("Came from", _dnc_source),
    Column(
        "Added",
        lambda row: [rx.text(row["added_by"], size="1"), rx.text(row["created_at"], size="1", color_scheme="gray")],
    ),
    Column("Actions", _dnc_remove, hide_header=True),
]


def _dnc_forms() -> rx.Component:
    add_form = rx.form(
        rx.vstack(
            rx.heading("Add a number", as_="h3", size="3"),
            _field("Phone number", "dnc-phone", rx.input(name="phone", id="dnc-phone", placeholder="(317) 846-2200")),
            _field("Reason (optional)", "dnc-reason", rx.input(name="reason", id="dnc-reason")),
            rx.cond(
                DncState.add_error != "", rx.text(DncState.add_error, color_scheme="red", size="2", id="dnc-add-error")
            ),
            rx.button("Add to the list", type="submit", id="dnc-add"),
            spacing="2",
            width="100%",
        ),
        on_submit=DncState.add,
        reset_on_submit=False,
        no_validate=True,
    )
    import_form = rx.form(
        rx.vstack(
            rx.heading("Import (CSV)", as_="h3", size="3"),
            _field(
                "One number per line; an optional reason after a comma",
                "dnc-csv",
                rx.text_area(
                    name="csv", id="dnc-csv", rows="6", placeholder="phone,reason\n(317) 846-2200,asked by phone"
                ),
            ),
            _field(
                "Reason for lines without one", "dnc-import-reason", rx.input(name="reason", id="dnc-import-reason")
            ),
            rx.cond(
                DncState.import_error != "",
                rx.text(DncState.import_error, color_scheme="red", size="2", id="dnc-import-error"),
            ),
            rx.button("Import", type="submit", id="dnc-import"),
            spacing="2",
            width="100%",
        ),
        on_submit=DncState.import_csv,
        reset_on_submit=False,
        no_validate=True,
    )
    return rx.grid(
        rx.card(add_form), rx.card(import_form), columns=rx.breakpoints(initial="1", md="2"), spacing="4", width="100%"
    )


def dnc_page() -> rx.Component:
    return page(
        guarded(
            "admin",
            _header("Do-not-call list", "dnc-heading"),
            rx.text(
                "No AI call is placed to a number on this list. "
                "Numbers are stored only as a keyed hash and a masked form.",
                size="2",
                color_scheme="gray",
            ),
            _messages(DncState.error, DncState.notice),
            rx.box(_dnc_forms(), margin_y="1em", width="100%"),
            rx.form(
                rx.flex(
                    _field("Find a number", "dnc-search", rx.input(name="phone", id="dnc-search")),
                    rx.button("Find", type="submit", variant="soft", id="dnc-find"),
                    spacing="3",
                    wrap="wrap",
                    align="end",
                ),
                on_submit=DncState.find,
                reset_on_submit=False,
                no_validate=True,
            ),
            data_table(
                DNC_COLUMNS,
                DncState.rows,
                table_id="dnc-table",
                label="Do-not-call numbers",
                row_props=lambda row: {"class_name": "dnc-row", "data_dnc": row["id"]},
                loaded=DncState.loaded,
                empty=empty_state(
                    rx.cond(DncState.search != "", "No number matches.", "No numbers on the list."),
                    "Add a number or import a CSV above; numbers a caller asks to stop are added by themselves.",
                    icon="phone-off",
                    empty_id="dnc-empty",
                ),
            ),
            pager(DncState, "numbers", "dnc-count"),
        )
    )


# --- audit trail ----------------------------------------------------------------------------------


class AuditState(PagedState, AuthState):
    action_filter: str = ""
    actor_filter: str = ""
    target_filter: str = ""
    since_filter: str = ""
    actions: list[str] = []
    error: str = ""

    def _fetch(self) -> None:
        def trail(session: Session, user: User) -> tuple[Any, list[str]]:
            found = admin_ops.audit_trail(
                session,
                user,
                action=self.action_filter,
                actor_email=self.actor_filter,
                target_type=self.target_filter,
                since=self.since_filter or None,
                page=self.page,
            )
            return found, admin_ops.audit_actions(session, user)

        result, error = _as_admin(self, trail)
        if result is None:
            self._show_failure()
            self.error = error
            return
        found, self.actions = result
        self._show_page(found)

    @rx.event
    def load(self):
        self.error = ""
        self._fetch()

    @rx.event
    def apply_filters(self, form_data: dict):
        self.action_filter = str(form_data.get("action", "")).strip()[:64]
        self.actor_filter = str(form_data.get("actor", "")).strip()[:320]
        self.target_filter = str(form_data.get("target_type", "")).strip()[:32]
        self.since_filter = str(form_data.get("since", "")).strip()[:10]
        self.page, self.error = 1, ""
        self._fetch()


def _json_block(title: str, value: rx.Var, class_name: str) -> rx.Component:
    return rx.cond(
        value != "",
        rx.el.details(
            rx.el.summary(title, style={"fontSize": "0.8em", "cursor": "pointer"}),
            rx.el.pre(
                value,
                class_name=class_name,
                style={"whiteSpace": "pre-wrap", "wordBreak": "break-word", "fontSize": "0.75em", "margin": "0"},
            ),
        ),
    )


def _audit_row(row: rx.Var) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.code(row["action"], size="2", class_name="audit-action"),
                rx.text(row["target_type"], " ", row["target_id"], size="2", class_name="audit-target"),
                spacing="2",
                wrap="wrap",
                align="center",
            ),
            rx.text(
                row["created_at"],
                " · ",
                rx.el.span(row["actor"], class_name="audit-actor"),
                rx.cond(row["ip"] != "", " · " + row["ip"], ""),
                size="1",
                color_scheme="gray",
                word_break="break-all",
            ),
            _json_block("Before", row["before"], "audit-before"),
            _json_block("After", row["after"], "audit-after"),
            spacing="1",
            width="100%",
        ),
        width="100%",
        class_name="audit-row",
        data_action=row["action"],
    )


def _audit_filters() -> rx.Component:
    return rx.form(
        rx.flex(
            _field(
                "Action",
                "audit-action",
                rx.fragment(
                    rx.input(name="action", id="audit-action", list="audit-actions", placeholder="e.g. dnc"),
                    rx.el.datalist(rx.foreach(AuditState.actions, lambda a: rx.el.option(value=a)), id="audit-actions"),
                ),
            ),
            _field("Actor e-mail", "audit-actor", rx.input(name="actor", id="audit-actor")),
            _field(
                "Target type",
                "audit-target",
                rx.input(name="target_type", id="audit-target", placeholder="e.g. notifications"),
            ),
            _field("Since", "audit-since", rx.input(type="date", name="since", id="audit-since")),
            rx.button("Apply", type="submit", id="audit-apply"),
            spacing="3",
            wrap="wrap",
            align="end",
        ),
        on_submit=AuditState.apply_filters,
        reset_on_submit=False,
        no_validate=True,
    )


def audit_page() -> rx.Component:
    return page(
        guarded(
            "admin",
            _header("Audit trail", "audit-heading"),
            _messages(AuditState.error),
            rx.vstack(
                _audit_filters(),
                rx.vstack(rx.foreach(AuditState.rows, _audit_row), spacing="2", width="100%", id="audit-list"),
                rx.cond(
                    AuditState.loaded & (AuditState.total == 0),
                    empty_state(
                        "No audit events match.",
                        "Widen the filters: every privileged action is recorded here.",
                        icon="scroll-text",
                        empty_id="audit-empty",
                    ),
                ),
                pager(AuditState, "events", "audit-count"),
                spacing="3",
                width="100%",
                margin_top="0.5em",
            ),
        )
    )
