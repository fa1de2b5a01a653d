"""Admin: users — search and page through accounts, change a role (confirmed), enable/disable, send a
password reset, and see a user's requests and business. Every handler asks the services, which check
that the current user is an admin again."""

from __future__ import annotations

import reflex as rx

from leadapp import routes
from leadapp.components import feedback
from leadapp.components.cards import stacked_card
from leadapp.components.confirm import confirm_dialog
from leadapp.components.filters import choice_select, filter_row, instant_select, labelled
from leadapp.components.layout import record_panel
from leadapp.components.pager import PagedState, paged_table
from leadapp.components.record_page import record_page
from leadapp.components.table import Column, empty_state
from leadapp.components.text import note
from leadapp.core.db import session_scope
from leadapp.core.errors import NotAllowed, UserError
from leadapp.core.services import access, accounts, admin_users
from leadapp.pages.admin.ops_frame import OpsState, list_page, record_list
from leadapp.state.auth import AuthState

ROLE_OPTIONS = list(admin_users.ROLE_LABELS.items())


class UsersState(PagedState, OpsState, AuthState):
    search: str = ""
    role_filter: str = ""
    selected: dict[str, str] = {}
    selected_leads: list[dict[str, str]] = []
    selected_businesses: list[dict[str, str]] = []
    new_role: str = ""
    confirm_open: bool = False
    # The user's page (`/admin/users/<id>`): "" until it looked, then "ok" or "refused" (no such user).
    user_page: str = ""

    @rx.var
    def new_role_label(self) -> str:
        return admin_users.ROLE_LABELS.get(self.new_role, self.new_role)

    def _clear(self) -> None:
        self.rows, self.total, self.selected, self.selected_leads, self.selected_businesses = [], 0, {}, [], []
        self.confirm_open = False

    def _reload(self, session) -> None:
        """The visible page (and the open user) again from the database, as the current user."""
        admin = self._require(session, access.Area.ADMIN)
        self.rows, self.total = admin_users.list_users(session, admin, self.search, self.role_filter, self.page)
        self.page_size, self.loaded = admin_users.PAGE_SIZE, True
        if self.selected.get("id"):
            self._show(admin_users.user_overview(session, admin, int(self.selected["id"])))

    def _show(self, overview: dict) -> None:
        self.selected = overview["user"]
        self.selected_leads = overview["leads"]
        self.selected_businesses = overview["businesses"]
        self.new_role = self.selected.get("role", "")

    def _fetch(self) -> None:
        try:
            with session_scope() as session:
                self._reload(session)
        except NotAllowed:  # e.g. an admin who just changed their own role or account
            self._clear()
        except UserError as exc:  # the open user went away meanwhile
            self.selected, self.error = {}, exc.message

    @rx.event
    def load(self):
        # The list shows no user: each opens on its own page.
        self.selected, self.selected_leads, self.selected_businesses = {}, [], []
        self._refetch()

    @rx.event
    def apply_filters(self, form_data: dict):
        self.search = str(form_data.get("search", ""))[:100]
        role = str(form_data.get("role", ""))
        self.role_filter = role if role in admin_users.ROLE_LABELS else ""
        self.page = 1
        return UsersState.load

    def _refused(self, _exc: NotAllowed) -> str:
        """Opening a user when this tab's user may not: the page is cleared, without a word of its own."""
        self._clear()
        return ""

    @rx.event
    def open_user(self, user_id: str):
        self.notice, (_, self.error) = (
            "",
            self._attempt(
                access.Area.ADMIN,
                lambda s, admin: self._show(admin_users.user_overview(s, admin, int(user_id))),
                refused=self._refused,
            ),
        )

    @rx.event
    def open_user_page(self):
        """on_load of `/admin/users/<id>`: that user, or "No such user" for a missing id or a malformed address."""
        self.error, self.notice, self.user_page = "", "", ""
        self.selected, self.selected_leads, self.selected_businesses = {}, [], []
        user_id = routes.id_from_path(self.router.url.path)
        _, refusal = self._attempt(
            access.Area.ADMIN, lambda s, admin: self._show(admin_users.user_overview(s, admin, user_id))
        )
        self.user_page = "refused" if refusal else "ok"

    @rx.event
    def close_user(self):
        self.selected, self.selected_leads, self.selected_businesses = {}, [], []
        self.confirm_open, self.error, self.notice = False, "", ""

    @rx.event
    def choose_role(self, role: str):
        self.new_role = role if role in admin_users.ROLE_LABELS else self.selected.get("role", "")

    @rx.event
    def ask_role_change(self):
        self.error, self.notice = "", ""
        if not self.selected.get("id"):
            return
        if self.new_role == self.selected.get("role"):
            self.error = "Choose a different role first."
            return
        self.confirm_open = True

    @rx.event
    def set_confirm_open(self, is_open: bool):
        self.confirm_open = is_open
        if not is_open:
            self.new_role = self.selected.get("role", "")

    @rx.event
    def confirm_role_change(self):
        self.confirm_open = False
        user_id, role = int(self.selected.get("id", "0") or 0), self.new_role
        email = self.selected.get("email", "")
        return self._run(
            lambda s, admin: admin_users.change_role(s, admin, user_id, role),
            f"{email} is now {admin_users.ROLE_LABELS.get(role, role)}; their open sessions were ended.",
        )

    @rx.event
    def set_active(self, active: bool):
        user_id, email = int(self.selected.get("id", "0") or 0), self.selected.get("email", "")
        return self._run(
            lambda s, admin: accounts.set_active(s, admin, user_id, active),
            f"{email} is enabled." if active else f"{email} is disabled; their open sessions were ended.",
        )

    @rx.event
    def send_reset(self):
        user_id, email = int(self.selected.get("id", "0") or 0), self.selected.get("email", "")
        return self._run(
            lambda s, admin: admin_users.send_password_reset(s, admin, user_id),
            f"A password reset link was emailed to {email} (valid 24 hours).",
        )


def _filters() -> rx.Component:
    return filter_row(
        UsersState.apply_filters,
        labelled("Search", "users-search", rx.input(name="search", id="users-search", placeholder="email or name")),
        choice_select("role", "Role", ROLE_OPTIONS, id_prefix="users"),
        rx.button("Apply", type="submit", id="users-apply"),
    )


def _user_active(row: rx.Var) -> rx.Component:
    active = row["active"] == "yes"
    return rx.badge(
        rx.cond(active, "Active", "Disabled"), color_scheme=rx.cond(active, "green", "red"), class_name="user-active"
    )


USER_COLUMNS = [
    Column(
        "User",
        lambda row: [
            rx.text(row["email"], weight="medium", class_name="user-email"),
            note(row["full_name"], size="1"),
        ],
    ),
    Column("Role", lambda row: rx.badge(row["role_label"], class_name="user-role", variant="soft")),
    Column("Status", _user_active),
    Column("Last log-in", lambda row: rx.text(row["last_login_at"], size="1")),
    Column(
        "Actions",
        lambda row: rx.link(
            "Open",
            href=rx.Var.create(f"/admin/users/{row['id']}"),
            size="2",
            class_name="open-user",
            aria_label="Open " + row["email"],
        ),
        hide_header=True,
    ),
]


def _user_row_props(row: rx.Var) -> dict:
    return {"class_name": "user-row", "data_user_id": row["id"], "data_email": row["email"]}


def _role_dialog() -> rx.Component:
    return confirm_dialog(
        "Change the role?",
        rx.alert_dialog.description(
            "Give ",
            rx.text.strong(UsersState.selected["email"]),
            " the role ",
            rx.text.strong(UsersState.new_role_label),
            " instead of ",
            rx.text.strong(UsersState.selected["role_label"]),
            "? Their open sessions end now; they log in again with the new role.",
        ),
        rx.button("Cancel", variant="soft", color_scheme="gray", id="cancel-role-change"),
        rx.button("Change role", on_click=UsersState.confirm_role_change, id="confirm-role-change"),
        content_props={"max_width": "28em"},
        open=UsersState.confirm_open,
        on_open_change=UsersState.set_confirm_open,
    )


def _user_lead(lead: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.link("#", lead["id"], href=rx.Var.create(f"/admin/leads/{lead['id']}"), size="1", class_name="open-lead"),
        rx.badge(lead["status_label"], variant="soft", data_status=lead["status"]),
        rx.text(lead["category"], weight="medium", size="2"),
        note(lead["snippet"], size="1"),
        wrap="wrap",
        spacing="2",
        class_name="user-lead",
        data_lead_id=lead["id"],
    )


def _user_business(b: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.text(b["name"], weight="medium"),
        note(b["city"], " ", b["zip"]),
        rx.text(b["categories"], size="2"),
        rx.badge(rx.cond(b["active"] == "yes", "Active", "Deactivated"), variant="soft"),
        wrap="wrap",
        spacing="2",
        class_name="user-business",
        data_business_id=b["id"],
    )


def _detail() -> rx.Component:
    u = UsersState.selected
    active = u["active"] == "yes"
    return stacked_card(
        rx.hstack(
            rx.heading(u["email"], as_="h2", size="5", id="user-detail-email"),
            rx.badge(u["role_label"], id="user-detail-role"),
            rx.badge(
                rx.cond(active, "Active", "Disabled"),
                color_scheme=rx.cond(active, "green", "red"),
                id="user-detail-active",
            ),
            wrap="wrap",
            width="100%",
        ),
        rx.text(u["full_name"], " · joined ", u["created_at"], " · last log-in ", u["last_login_at"], size="2"),
        rx.flex(
            labelled(
                "Role",
                "user-role-select",
                instant_select("user-role-select", ROLE_OPTIONS, UsersState.new_role, UsersState.choose_role),
            ),
            rx.button("Change role…", on_click=UsersState.ask_role_change, id="change-role"),
            rx.cond(
                active, _toggle_active("Disable account", False, "red"), _toggle_active("Enable account", True, "green")
            ),
            rx.button("Send password reset", on_click=UsersState.send_reset, variant="soft", id="send-reset"),
            spacing="3",
            wrap="wrap",
            align="end",
        ),
        record_list("Business", UsersState.selected_businesses, _user_business, "No business."),
        record_list("Requests", UsersState.selected_leads, _user_lead, "No requests.", width="100%"),
        spacing="3",
        id="user-detail",
    )


def _toggle_active(text: str, active: bool, color: str) -> rx.Component:
    """The one button that disables an active account or enables a disabled one (`#toggle-active` either way)."""
    return rx.button(
        text, on_click=UsersState.set_active(active), color_scheme=color, variant="soft", id="toggle-active"
    )


def users_page() -> rx.Component:
    return list_page(
        "Users",
        "users",
        UsersState,
        _filters(),
        paged_table(
            UsersState,
            USER_COLUMNS,
            "users",
            label="Users",
            noun="users",
            row_props=_user_row_props,
            empty=empty_state(
                "No user matches.",
                "Search by another part of the e-mail or name, or choose every role.",
                icon="users",
                empty_id="users-empty",
            ),
        ),
    )


def user_page() -> rx.Component:
    """One user's own page: the account, its role and status, its business and requests."""
    return record_page(
        "admin",
        ("Users", routes.ADMIN_USERS, "back-to-users"),
        "User",
        feedback.outcome_callouts(UsersState.error, UsersState.notice, "users"),
        record_panel(
            UsersState.user_page,
            rx.callout("No such user.", icon="user-x", color_scheme="red", size="3", id="user-refused"),
            rx.cond(UsersState.selected.contains("id"), _detail()),
        ),
        _role_dialog(),
        title_id="user-heading",
    )
