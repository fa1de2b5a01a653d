"""Admin area: overview, service health and contact messages."""

from __future__ import annotations

import asyncio

import reflex as rx
from sqlmodel import Session

from leadapp.components import feedback
from leadapp.components.cards import stacked_card
from leadapp.components.filters import instant_select
from leadapp.components.layout import guarded_page, page_header
from leadapp.components.nav import ADMIN_NAV, section_cards
from leadapp.components.table import plain_table, row_action
from leadapp.components.text import note
from leadapp.core import labels, localtime
from leadapp.core.db import session_scope
from leadapp.core.errors import NotAllowed
from leadapp.core.models import User
from leadapp.core.services import access, contact, health
from leadapp.pages.admin.ops_frame import NOT_ALLOWED
from leadapp.state.auth import AuthState


class AdminZoneState(AuthState):
    """The time zone this admin reads times in (a setting on their account; UTC by default)."""

    time_zone: str = "UTC"
    zone_notice: str = ""
    zone_error: str = ""

    @rx.event
    def load(self):
        self.zone_notice = self.zone_error = ""
        try:
            with session_scope() as session:
                user = self._require(session, access.Area.ADMIN)
                self.time_zone = user.time_zone if user is not None else "UTC"
        except NotAllowed:
            self.time_zone = "UTC"

    @rx.event
    def choose(self, name: str):
        self.zone_notice = ""
        zone, self.zone_error = self._attempt(
            access.Area.ADMIN, lambda s, user: localtime.set_admin_zone(s, user, name), refused=lambda _: NOT_ALLOWED
        )
        if zone is not None:
            self.time_zone = zone
            self.zone_notice = f"Times now read in {localtime.ADMIN_ZONES[self.time_zone]} time."


def _zone_setting() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.el.label("Your time zone", html_for="admin-time-zone", class_name="form-label"),
            instant_select(
                "admin-time-zone", list(localtime.ADMIN_ZONES.items()), AdminZoneState.time_zone, AdminZoneState.choose
            ),
            note("Times in the admin pages are shown in this zone.", size="1"),
            rx.cond(AdminZoneState.zone_notice != "", rx.text(AdminZoneState.zone_notice, size="2", id="zone-notice")),
            feedback.error_text(AdminZoneState.zone_error, "zone-error"),
            spacing="1",
        ),
        max_width="24em",
    )


def admin_home_page() -> rx.Component:
    return guarded_page(
        "admin",
        rx.heading("Admin", size="8", id="admin-heading"),
        rx.text("Every admin page; the bar above reaches each of them from anywhere.", color_scheme="gray"),
        rx.box(section_cards(ADMIN_NAV[1:]), id="admin-sections"),
        _zone_setting(),
    )


class HealthState(AuthState):
    checks: list[dict[str, str]] = []
    providers: list[dict[str, str]] = []
    all_ok: bool = False
    loading: bool = False

    @rx.event
    async def load(self):
        try:
            with session_scope() as session:
                self._require(session, access.Area.ADMIN)
        except NotAllowed:
            self.checks, self.providers, self.all_ok = [], [], False
            return
        self.loading = True
        yield
        results = await asyncio.to_thread(health.run_all_checks)
        self.providers = await asyncio.to_thread(health.provider_rows)
        self.checks = [{"name": c.name, "ok": "yes" if c.ok else "no", "detail": c.detail} for c in results]
        self.all_ok = all(c.ok for c in results)
        self.loading = False


def _check_row(check: rx.Var) -> rx.Component:
    ok = check["ok"] == "yes"
    return rx.table.row(
        rx.table.cell(rx.text(check["name"], weight="medium")),
        rx.table.cell(
            rx.badge(rx.cond(ok, "OK", "FAILING"), color_scheme=rx.cond(ok, "green", "red"), size="2"),
            data_check=check["name"],
            data_ok=check["ok"],
        ),
        rx.table.cell(note(check["detail"])),
    )


def _provider_row(provider: rx.Var) -> rx.Component:
    configured = provider["configured"] == "yes"
    return rx.table.row(
        rx.table.cell(rx.text(provider["label"], weight="medium")),
        rx.table.cell(
            rx.badge(
                rx.cond(configured, "configured", "local stand-in"),
                color_scheme=rx.cond(configured, "green", "gray"),
                size="2",
            ),
            data_provider=provider["name"],
            data_configured=rx.cond(configured, "yes", "no"),
        ),
        rx.table.cell(rx.text(provider["mode"], size="2")),
        rx.table.cell(
            rx.cond(
                provider["last_error"] != "",
                rx.vstack(
                    note(provider["last_error_at"], size="1"),
                    rx.text(provider["last_error"], size="2", color_scheme="red", class_name="provider-error"),
                    spacing="0",
                ),
                note("none recorded"),
            ),
            data_provider_error=provider["name"],
        ),
    )


def health_page() -> rx.Component:
    return guarded_page(
        "admin",
        page_header(
            "Service health",
            rx.button(
                rx.icon("refresh-cw"),
                "Check again",
                on_click=HealthState.load,
                loading=HealthState.loading,
                variant="soft",
                id="health-refresh",
            ),
        ),
        rx.cond(
            HealthState.all_ok,
            rx.callout("Every check is green.", icon="circle-check", color_scheme="green", id="health-all-ok"),
        ),
        plain_table(
            ("Service", "Status", "Detail"),
            rx.foreach(HealthState.checks, _check_row),
            table_id="health-table",
            margin_top="1em",
        ),
        rx.heading("Providers", as_="h2", size="5", margin_top="1.5em"),
        note("Without its keys each provider runs on a local stand-in, so the product works offline."),
        plain_table(
            ("Provider", "Mode", "In use", "Last error"),
            rx.foreach(HealthState.providers, _provider_row),
            table_id="providers-table",
            margin_top="0.5em",
        ),
    )


# The inbox filter: (value, label); "" shows every message.
MESSAGE_FILTERS: list[tuple[str, str]] = [("", "All"), ("new", "New"), ("read", "Read"), ("answered", "Answered")]


class MessagesState(AuthState):
    messages: list[dict[str, str]] = []
    status_filter: str = ""
    error: str = ""

    def _reload(self, session) -> None:
        user = self._require(session, access.Area.ADMIN)
        self.messages = [
            {
                "id": str(m.id),
                "name": m.name,
                "email": m.email,
                "subject": m.subject,
                "body": m.body,
                "status": m.status,
                "status_label": labels.word("contact_message_status", m.status),
                "created_at": m.created_at.strftime("%Y-%m-%d %H:%M UTC"),
            }
            for m in contact.list_messages(session, user, status=self.status_filter)
        ]

    def _refused(self, _exc: NotAllowed) -> str:
        """A refusal clears what is shown, without a word of its own."""
        self.messages = []
        return ""

    def _act(self, action) -> None:
        """Run `action(session, user)` as an admin, then show the list again; refusals clear what is shown."""

        def act_then_reload(session: Session, user: User) -> None:
            if action is not None:
                action(session, user)
                session.flush()
            self._reload(session)

        _, self.error = self._attempt(access.Area.ADMIN, act_then_reload, refused=self._refused)

    @rx.event
    def load(self):
        self._act(None)

    @rx.event
    def filter_by(self, status: str | list[str]):
        # The control's "all" item stands for no filter (a segmented control item needs a non-empty value).
        known = {value for value, _ in MESSAGE_FILTERS}
        self.status_filter = status if isinstance(status, str) and status in known else ""
        self._act(None)

    @rx.event
    def mark(self, message_id: str, status: str):
        """Mark a message read or answered; marking an answered message read keeps it answered (contact.set_status)."""
        self._act(lambda session, user: contact.set_status(session, user, int(message_id), status))
        return feedback.outcome(
            "Message marked answered." if status == "answered" else "Message marked read.", self.error
        )

    @rx.event
    def reopen(self, message_id: str):
        self._act(lambda session, user: contact.reopen(session, user, int(message_id)))
        return feedback.outcome("Message reopened.", self.error)


def _message_card(m: rx.Var) -> rx.Component:
    status = m["status"]
    return stacked_card(
        rx.hstack(
            rx.text(m["name"], weight="bold"),
            rx.text(m["email"], color_scheme="gray"),
            rx.badge(m["status_label"], data_status=status),
            rx.spacer(),
            note(m["created_at"], size="1"),
            wrap="wrap",
            width="100%",
        ),
        rx.text(m["subject"], weight="medium"),
        rx.text(m["body"], white_space="pre-wrap"),
        rx.hstack(
            rx.cond(
                status == "new",
                row_action("Mark read", on_click=MessagesState.mark(m["id"], "read")),
            ),
            rx.cond(
                status == "answered",
                row_action("Reopen", on_click=MessagesState.reopen(m["id"])),
                row_action("Mark answered", on_click=MessagesState.mark(m["id"], "answered")),
            ),
        ),
        class_name="contact-message",
        data_status=status,
    )


def messages_page() -> rx.Component:
    return guarded_page(
        "admin",
        rx.heading("Contact messages", size="8", margin_bottom="0.5em"),
        rx.segmented_control.root(
            *[rx.segmented_control.item(label, value=value or "all") for value, label in MESSAGE_FILTERS],
            value=rx.cond(MessagesState.status_filter == "", "all", MessagesState.status_filter),
            on_change=MessagesState.filter_by,
            margin_bottom="0.5em",
            # Four equal columns as wide as the widest label: the small size fits a 390 px phone.
            size=rx.breakpoints(initial="1", sm="2"),
            id="messages-filter",
        ),
        feedback.error_callout(MessagesState.error),
        rx.cond(
            MessagesState.messages.length() > 0,
            rx.vstack(rx.foreach(MessagesState.messages, _message_card), spacing="3", width="100%"),
            rx.text("No messages here.", color_scheme="gray"),
        ),
    )
