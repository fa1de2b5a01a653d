"""Admin notification outbox: every e-mail and SMS LeadApp sends, filtered by status and channel, with its
detail and a retry for a failed one. The state only calls `services.admin_ops` (and `notify.retry_notification`)
as the logged-in admin; the list is paged on the server.

Below it, partners' webhook deliveries (`WebhookOutboxState`, its own state: it loads when the section mounts):
the newest, each with its status, attempts and last error, and a re-send that enqueues it again with the same
webhook-id (`webhooks.resend`)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from leadapp.components import feedback
from leadapp.components.filters import choice, choice_select, filter_row
from leadapp.components.layout import guarded_page
from leadapp.components.pager import PagedState, paged_table
from leadapp.components.table import Column, empty_state, plain_list, row_action
from leadapp.components.text import note
from leadapp.core import labels
from leadapp.core.services import admin_ops, notify, webhooks
from leadapp.pages.admin.ops_frame import OpsState, as_admin, messages, ops_header, reload_button, show_as_admin
from leadapp.state.auth import AuthState


class OutboxState(PagedState, OpsState, AuthState):
    status_filter: str = ""
    channel_filter: str = ""
    detail: dict[str, str] = {}
    detail_open: bool = False

    def _fetch(self) -> None:
        show_as_admin(
            self, lambda s, u: admin_ops.list_notifications(s, u, self.status_filter, self.channel_filter, self.page)
        )

    @rx.event
    def apply_filters(self, form_data: dict):
        self.status_filter = choice(form_data.get("status"))
        self.channel_filter = choice(form_data.get("channel"))
        self.page = 1
        self._refetch()

    @rx.event
    def open_detail(self, notification_id: str):
        self.error = ""
        detail, error = as_admin(self, lambda s, u: admin_ops.notification_detail(s, u, int(notification_id)))
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
        row, error = as_admin(self, lambda s, u: notify.retry_notification(s, u, int(notification_id)))
        if row is None:
            self.error = error
        else:
            self.notice = f"Notification {notification_id} is queued for another attempt."
        self._fetch()
        if self.detail.get("id") == notification_id:
            detail, _ = as_admin(self, lambda s, u: admin_ops.notification_detail(s, u, int(notification_id)))
            self.detail = detail or {}
        return feedback.outcome(self.notice, self.error)


class WebhookOutboxState(AuthState):
    """Partners' webhook deliveries, newest first, and an admin's re-send."""

    webhook_rows: list[dict[str, str]] = []
    webhook_error: str = ""
    webhook_notice: str = ""

    def _fetch_webhooks(self) -> None:
        rows, error = as_admin(self, lambda s, u: webhooks.list_deliveries(s, u))
        self.webhook_rows = rows or []
        if rows is None:
            self.webhook_error = error

    @rx.event
    def load(self):
        self.webhook_error, self.webhook_notice = "", ""
        self._fetch_webhooks()

    @rx.event
    def resend(self, delivery_id: str):
        self.webhook_error, self.webhook_notice = "", ""
        wanted = int(delivery_id) if str(delivery_id).isdigit() else 0
        row, error = as_admin(self, lambda s, u: webhooks.resend(s, u, wanted))
        if row is None:
            self.webhook_error = error
        else:
            self.webhook_notice = f"Webhook {row.webhook_id} is queued again (same id: the partner drops a copy)."
        self._fetch_webhooks()
        return feedback.outcome(self.webhook_notice, self.webhook_error)


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
        note(row["created_at"], " · ", row["kind_label"], size="1"),
    ]


def _outbox_status(row: rx.Var) -> rx.Component:
    return rx.vstack(
        _status_badge(row["status"], row["status_label"]),
        note(row["attempts_label"], size="1"),
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
        lambda row: [rx.text(row["provider"], size="1"), note(row["provider_id"], size="1")],
    ),
]


def _outbox_row_props(row: rx.Var) -> dict[str, Any]:
    return {"class_name": "outbox-row", "data_notification": row["id"], "data_status": row["status"]}


def _outbox_filters() -> rx.Component:
    statuses = labels.options("notification_status")
    channels = labels.options("channel")
    return filter_row(
        OutboxState.apply_filters,
        choice_select("status", "Status", statuses),
        choice_select("channel", "Channel", channels),
        rx.button("Apply", type="submit", id="outbox-apply"),
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
                    class_name="code-block",
                ),
                rx.cond(
                    d["html"] != "",
                    rx.el.details(
                        rx.el.summary("HTML source"),
                        rx.el.pre(
                            d["html"],
                            id="message-html-source",
                            class_name="code-block",
                            style={"wordBreak": "break-all"},
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


WEBHOOK_HEADERS = ("Event", "Partner", "Lead", "Status", "Attempts", "Last error", "Next try", "")


def _webhook_row(row: rx.Var) -> rx.Component:
    color = rx.match(row["status"], ("delivered", "green"), ("failed", "red"), "amber")
    return rx.table.row(
        rx.table.cell(rx.text(row["event"], weight="medium", size="2"), rx.text(row["created"], size="1")),
        rx.table.cell(row["partner"]),
        rx.table.cell(row["lead_id"]),
        rx.table.cell(rx.badge(row["status_label"], color_scheme=color, variant="soft", class_name="webhook-status")),
        rx.table.cell(row["attempts"]),
        rx.table.cell(rx.text(row["last_error"], size="1", color_scheme="red", word_break="break-all")),
        rx.table.cell(rx.text(row["next_try"], size="1")),
        rx.table.cell(
            rx.cond(
                row["resendable"] == "yes",
                row_action(
                    "Re-send",
                    on_click=WebhookOutboxState.resend(row["id"]),
                    class_name="resend-webhook",
                    data_delivery=row["id"],
                ),
            )
        ),
        class_name="webhook-row",
        data_delivery=row["id"],
        data_status=row["status"],
    )


def _webhooks_section() -> rx.Component:
    state = WebhookOutboxState
    return rx.vstack(
        rx.heading("Partner webhooks", as_="h2", size="5", id="webhooks-heading"),
        note(
            "Each lead status change sent to a partner's webhook, signed, retried for up to a day. A re-send keeps "
            "the webhook-id, so the partner can drop a copy it already has."
        ),
        feedback.outcome_callouts(state.webhook_error, state.webhook_notice, "webhooks"),
        plain_list(
            WEBHOOK_HEADERS,
            state.webhook_rows,
            _webhook_row,
            table_id="webhooks-table",
            none="No webhook delivery yet.",
            none_id="webhooks-empty",
            size="2",
        ),
        spacing="2",
        width="100%",
        margin_top="1.5em",
        on_mount=state.load,
        id="webhooks-section",
    )


def outbox_page() -> rx.Component:
    return guarded_page(
        "admin",
        ops_header(
            "Notification outbox",
            "outbox-heading",
            reload_button(OutboxState.load),
        ),
        note(
            "Every e-mail and SMS, with its delivery record. Without provider keys this is also the local "
            "mail and SMS viewer: open a row to read the message."
        ),
        messages(OutboxState.error, OutboxState.notice),
        rx.vstack(
            _outbox_filters(),
            paged_table(
                OutboxState,
                OUTBOX_COLUMNS,
                "outbox",
                label="Notifications",
                noun="notifications",
                row_props=_outbox_row_props,
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
            _outbox_detail(),
            _webhooks_section(),
            spacing="3",
            width="100%",
            margin_top="0.5em",
        ),
    )
