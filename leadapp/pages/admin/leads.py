"""Admin: every lead (filtered, paged on the server) with the spam/flag queue, and every business.

Flag and reject ask for a reason in a dialog; unflag approves a lead and sends it back to matching (the
pipeline worker matches it within moments: "Refresh" shows the outcome). Every handler asks the
services, which check that the current user is an admin again.
"""

from __future__ import annotations

import reflex as rx

from leadapp.components import feedback
from leadapp.components.filters import choice_select, filter_input, filter_row, label
from leadapp.components.forms import server_form
from leadapp.components.layout import guarded_page, page_header
from leadapp.components.pager import PagedState, page_buttons, pager
from leadapp.components.table import Column, data_table, empty_state, row_action
from leadapp.components.text import note
from leadapp.core import labels
from leadapp.core.db import session_scope
from leadapp.core.errors import NotAllowed, UserError
from leadapp.core.services import access, moderation
from leadapp.core.vocab import CATEGORY_LABELS
from leadapp.pages.admin import ops_frame
from leadapp.state.auth import AuthState

ACTION_TITLES = {"flag": "Flag this request", "reject": "Reject this request"}


class LeadsState(PagedState, AuthState):
    """Every lead is the paged list (`rows`, `page`…); the flag queue is paged beside it (`queue_*`)."""

    tab: str = "all"
    page_size: int = moderation.PAGE_SIZE
    queue_rows: list[dict[str, str]] = []
    queue_total: int = 0
    queue_page: int = 1
    status_filter: str = ""
    category_filter: str = ""
    flagged_filter: str = ""
    since: str = ""
    until: str = ""
    search: str = ""
    filter_errors: dict[str, str] = {}
    action_open: bool = False
    action_kind: str = ""
    action_lead_id: str = ""
    action_error: str = ""
    error: str = ""
    notice: str = ""

    @rx.var
    def queue_pages(self) -> int:
        return max(1, -(-self.queue_total // moderation.PAGE_SIZE))

    @rx.var
    def action_title(self) -> str:
        return ACTION_TITLES.get(self.action_kind, "")

    def _filters(self) -> moderation.LeadFilters:
        return moderation.lead_filters(
            status=self.status_filter,
            category=self.category_filter,
            flagged=self.flagged_filter,
            since=self.since,
            until=self.until,
            search=self.search,
        )

    def _reload(self) -> None:
        with session_scope() as session:
            admin = self._require(session, access.Area.ADMIN)
            self._show_rows(*moderation.list_leads(session, admin, self._filters(), self.page))
            self.queue_rows, self.queue_total = moderation.flag_queue(session, admin, self.queue_page)

    def _clear(self) -> None:
        self.rows, self.total, self.queue_rows, self.queue_total = [], 0, [], 0
        self.action_open = False

    def _fetch(self) -> None:
        """Both lists afresh (turning either page does this too), the page's messages cleared."""
        self.error, self.notice = "", ""
        try:
            self._reload()
        except NotAllowed:
            self._clear()
        except UserError as exc:
            self.error = exc.message

    @rx.event
    def load(self):
        self._fetch()

    @rx.event
    def refresh(self):
        self.notice = ""
        return LeadsState.load

    @rx.event
    def set_tab(self, tab: str):
        self.tab = tab if tab in ("all", "queue") else "all"

    @rx.event
    def apply_filters(self, form_data: dict):
        values = {name: str(form_data.get(name, "")) for name in ("status", "category", "flagged")}
        values = {name: "" if value in ("all", "any") else value for name, value in values.items()}
        since, until = str(form_data.get("since", "")), str(form_data.get("until", ""))
        search = str(form_data.get("search", ""))[:100]
        try:
            moderation.lead_filters(**values, since=since, until=until, search=search)
        except UserError as exc:
            self.filter_errors = {exc.field or "search": exc.message}
            return None
        self.filter_errors = {}
        self.status_filter, self.category_filter, self.flagged_filter = (
            values["status"],
            values["category"],
            values["flagged"],
        )
        self.since, self.until, self.search, self.page = since, until, search, 1
        return LeadsState.load

    @rx.event
    def go_queue_page(self, delta: int):
        self.queue_page = max(1, min(self.queue_pages, self.queue_page + int(delta)))
        self._fetch()

    @rx.event
    def ask(self, kind: str, lead_id: str):
        """Open the reason dialog for flagging or rejecting one lead."""
        if kind not in ACTION_TITLES:
            return
        self.action_kind, self.action_lead_id, self.action_error = kind, lead_id, ""
        self.action_open = True

    @rx.event
    def set_action_open(self, is_open: bool):
        self.action_open = is_open
        if not is_open:
            self.action_error = ""

    def _act(self, action, done: str) -> bool:
        self.notice, (_, self.error) = "", ops_frame.act_as_admin(self, action)
        if self.error:
            return False
        self.notice = done
        try:
            self._reload()
        except UserError as exc:
            self.error = exc.message
        return True

    @rx.event
    def confirm_action(self, form_data: dict):
        reason, kind = str(form_data.get("reason", "")), self.action_kind
        try:
            lead_id = int(self.action_lead_id)
        except ValueError:
            self.action_open = False
            return
        if kind == "flag":
            ok = self._act(
                lambda s, admin: moderation.flag(s, admin, lead_id, reason),
                f"Request #{lead_id} is flagged and held back for review.",
            )
        elif kind == "reject":
            ok = self._act(
                lambda s, admin: moderation.reject(s, admin, lead_id, reason),
                f"Request #{lead_id} is rejected; nothing more of it is sent.",
            )
        else:
            return
        if ok:
            self.action_open, self.action_error = False, ""
        else:  # keep the dialog open with the reason the service gave
            self.action_error, self.error = self.error, ""
        return feedback.outcome(self.notice, self.action_error)

    @rx.event
    def unflag(self, lead_id: str):
        self._act(
            lambda s, admin: moderation.unflag(s, admin, int(lead_id)),
            f"Request #{lead_id} is approved and being matched again; refresh to see the result.",
        )
        return feedback.outcome(self.notice, self.error)


def _text_input(name: str, text: str, **props) -> rx.Component:
    errors = LeadsState.filter_errors
    error = rx.cond(errors.contains(name), errors[name], "")
    return filter_input(name, text, error, id_prefix="leads", error_id=f"leads-error-{name}", **props)


def _filters() -> rx.Component:
    categories = [(c.value, text) for c, text in CATEGORY_LABELS.items()]
    return filter_row(
        LeadsState.apply_filters,
        choice_select("status", "Status", labels.options("lead_status"), id_prefix="leads"),
        choice_select("category", "Service", categories, id_prefix="leads"),
        choice_select(
            "flagged", "Flagged", [("yes", "Flagged"), ("no", "Not flagged")], any_value="any", id_prefix="leads"
        ),
        _text_input("since", "From", type="date"),
        _text_input("until", "To", type="date"),
        _text_input("search", "Search", placeholder="words, ZIP, email or #id"),
        rx.button("Apply", type="submit", id="leads-apply"),
    )


def _request(row: rx.Var) -> list[rx.Component]:
    return [
        rx.text(row["category"], weight="medium"),
        note(row["snippet"], size="1"),
        rx.text(row["contact"], size="1"),
    ]


def _lead_id(row: rx.Var) -> list[rx.Component]:
    """The lead's number, linking to its own page (`/admin/leads/<id>`), and when it came."""
    href = rx.Var.create(f"/admin/leads/{row['id']}")
    return [
        rx.link("#", row["id"], href=href, class_name="open-lead"),
        note(row["created_at"], title=row["created_exact"], size="1", class_name="lead-time"),
    ]


def _ask_button(row: rx.Var, kind: str, text: str, color: str) -> rx.Component:
    """Flag or reject one lead: the button opens the dialog that asks for the reason (`.<kind>-lead`)."""
    return row_action(text, color_scheme=color, on_click=LeadsState.ask(kind, row["id"]), class_name=f"{kind}-lead")


def _flag_or_reason(row: rx.Var) -> rx.Component:
    return rx.cond(
        row["flagged"] == "yes",
        rx.text(row["flag_reason"], size="1", color_scheme="red"),
        _ask_button(row, "flag", "Flag", "orange"),
    )


def _status(row: rx.Var) -> rx.Component:
    return rx.badge(row["status_label"], variant="soft", class_name="lead-status")


def _reasons(row: rx.Var) -> list[rx.Component]:
    return [
        rx.cond(row["flag_reason"] != "", rx.text(row["flag_reason"], size="2", class_name="flag-reason")),
        rx.cond(row["spam"] == "yes", rx.text("Spam: ", row["spam_reason"], size="1", color_scheme="red")),
        rx.cond(row["quality"] != "", note("Quality ", row["quality"], " / 10", size="1")),
    ]


def _decision(row: rx.Var) -> rx.Component:
    return rx.flex(
        rx.button(
            "Unflag",
            size="1",
            color_scheme="green",
            on_click=LeadsState.unflag(row["id"]),
            class_name="unflag-lead",
            title="Approve and send it to matching again",
        ),
        _ask_button(row, "reject", "Reject", "red"),
        spacing="2",
        wrap="wrap",
    )


LEAD_COLUMNS = [
    Column("Lead", _lead_id),
    Column("Request", _request, cell_props={"min_width": "14em"}),
    Column("ZIP", lambda row: row["zip"]),
    Column("Status", _status),
    Column("Quality", lambda row: row["quality"]),
    Column("Matches", lambda row: rx.text(row["matches"], class_name="lead-matches")),
    Column("Flag", _flag_or_reason),
]

FLAG_COLUMNS = [
    Column("Lead", _lead_id),
    Column("Request", _request, cell_props={"min_width": "14em"}),
    Column("Status", _status),
    Column("Reasons", _reasons, cell_props={"min_width": "12em"}),
    Column("Decision", _decision),
]


def _lead_table(
    columns: list[Column], rows: rx.Var, table_id: str, label: str, row_class: str, empty: rx.Component
) -> rx.Component:
    """A page of leads; each row names its lead and status (`data-lead-id`, `data-status`)."""
    return data_table(
        columns,
        rows,
        table_id=table_id,
        label=label,
        row_props=lambda row: {"class_name": row_class, "data_lead_id": row["id"], "data_status": row["status"]},
        empty=empty,
    )


def _tab(value: str, *children: rx.Component) -> rx.Component:
    """One tab's list: what stands above it, the table, its pager."""
    return rx.tabs.content(rx.vstack(*children, spacing="4", width="100%", padding_top="1em"), value=value)


def _action_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(LeadsState.action_title),
            rx.dialog.description("Request #", LeadsState.action_lead_id, ". The reason is kept in the audit trail."),
            server_form(
                LeadsState.confirm_action,
                rx.vstack(
                    label("Reason", "action-reason"),
                    rx.text_area(name="reason", id="action-reason", rows="3", width="100%", required=True),
                    feedback.error_text(LeadsState.action_error, "action-error"),
                    rx.flex(
                        rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray", type="button")),
                        rx.button(
                            rx.cond(LeadsState.action_kind == "reject", "Reject", "Flag"),
                            type="submit",
                            color_scheme=rx.cond(LeadsState.action_kind == "reject", "red", "orange"),
                            id="confirm-lead-action",
                        ),
                        spacing="3",
                        justify="end",
                        width="100%",
                    ),
                    spacing="2",
                    width="100%",
                ),
                reset=True,
            ),
            max_width="30em",
        ),
        open=LeadsState.action_open,
        on_open_change=LeadsState.set_action_open,
    )


def leads_page() -> rx.Component:
    return guarded_page(
        "admin",
        page_header(
            "Leads",
            rx.button(
                rx.icon("refresh-cw"), "Refresh", on_click=LeadsState.refresh, variant="soft", id="leads-refresh"
            ),
            heading_id="leads-heading",
        ),
        feedback.outcome_callouts(LeadsState.error, LeadsState.notice, "leads"),
        rx.tabs.root(
            rx.tabs.list(
                rx.tabs.trigger("All leads", value="all", id="tab-all-leads"),
                rx.tabs.trigger(
                    rx.hstack(rx.text("Flag queue"), rx.badge(LeadsState.queue_total, variant="solid"), spacing="2"),
                    value="queue",
                    id="tab-flag-queue",
                ),
            ),
            _tab(
                "all",
                _filters(),
                _lead_table(
                    LEAD_COLUMNS,
                    LeadsState.rows,
                    "leads-table",
                    "Leads",
                    "admin-lead-row",
                    empty_state(
                        "No lead matches.",
                        "Change or clear the filters to see more leads.",
                        icon="inbox",
                        empty_id="leads-empty",
                    ),
                ),
                pager(LeadsState, "leads", "leads-count", always=True),
            ),
            _tab(
                "queue",
                note(
                    "Flagged and low-quality requests wait here; nothing of them reaches a business until "
                    "an admin unflags them."
                ),
                _lead_table(
                    FLAG_COLUMNS,
                    LeadsState.queue_rows,
                    "flag-table",
                    "Flag queue",
                    "flag-row",
                    empty_state(
                        "The queue is empty.",
                        "Flagged and low-quality requests appear here for a decision.",
                        icon="flag",
                        empty_id="flag-queue-empty",
                    ),
                ),
                page_buttons(
                    LeadsState.go_queue_page,
                    LeadsState.queue_page,
                    LeadsState.queue_pages,
                    [LeadsState.queue_total, " waiting"],
                    noun="waiting requests",
                    pager_id="flag-count",
                ),
            ),
            value=LeadsState.tab,
            on_change=LeadsState.set_tab,
            width="100%",
            margin_top="1em",
        ),
        _action_dialog(),
    )
