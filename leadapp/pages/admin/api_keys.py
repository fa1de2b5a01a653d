"""Admin: partners' API keys — create a named key (its token is shown once, here), list them, revoke one.
Every handler asks the `api_keys` service, which checks that the current user is an admin again."""

from __future__ import annotations

import reflex as rx

from leadapp.components import feedback
from leadapp.components.layout import guarded, page
from leadapp.core.db import session_scope
from leadapp.core.errors import NotAllowed, UserError
from leadapp.core.services import access, api_keys
from leadapp.state.auth import AuthState


class ApiKeysState(AuthState):
    rows: list[dict[str, str]] = []
    error: str = ""
    notice: str = ""
    # The token of the key just created: shown once, gone on the next event of this page.
    new_token: str = ""

    def _reload(self, session) -> None:
        admin = self._require(session, access.Area.ADMIN)
        self.rows = api_keys.list_keys(session, admin)

    @rx.event
    def load(self):
        self.error, self.notice, self.new_token = "", "", ""
        try:
            with session_scope() as session:
                self._reload(session)
        except NotAllowed:
            self.rows = []

    @rx.event
    def create(self, form_data: dict):
        self.error, self.notice, self.new_token = "", "", ""
        name, per_minute = str(form_data.get("name", "")), str(form_data.get("per_minute", "") or "60")
        try:
            with session_scope() as session:
                admin = self._require(session, access.Area.ADMIN)
                key, token = api_keys.create_key(session, admin, name, per_minute)
                created = key.name
        except NotAllowed:
            self.rows, self.error = [], "You are not allowed to do this."
            return feedback.outcome(self.notice, self.error)
        except UserError as exc:
            self.error = exc.message
            return feedback.outcome(self.notice, self.error)
        self.new_token, self.notice = token, f"Key “{created}” created. Copy it now: it is not shown again."
        with session_scope() as session:
            self._reload(session)
        return feedback.outcome(self.notice, self.error)

    @rx.event
    def revoke(self, key_id: str):
        self.error, self.notice, self.new_token = "", "", ""
        wanted = int(key_id) if str(key_id).isdigit() else 0
        try:
            with session_scope() as session:
                admin = self._require(session, access.Area.ADMIN)
                name = api_keys.revoke_key(session, admin, wanted).name
        except NotAllowed:
            self.rows, self.error = [], "You are not allowed to do this."
            return feedback.outcome(self.notice, self.error)
        except UserError as exc:
            self.error = exc.message
            return feedback.outcome(self.notice, self.error)
        self.notice = f"Key “{name}” is revoked: calls with it are refused from now on."
        with session_scope() as session:
            self._reload(session)
        return feedback.outcome(self.notice, self.error)


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row["name"], weight="medium")),
        rx.table.cell(rx.code(row["prefix"])),
        rx.table.cell(row["per_minute"]),
        rx.table.cell(row["created"]),
        rx.table.cell(row["last_used"]),
        rx.table.cell(
            rx.cond(
                row["status"] == "active",
                rx.button(
                    "Revoke",
                    on_click=ApiKeysState.revoke(row["id"]),
                    color_scheme="red",
                    variant="soft",
                    size="1",
                    class_name="revoke-key",
                ),
                rx.badge("revoked", color_scheme="gray"),
            )
        ),
        data_name=row["name"],
        data_status=row["status"],
        class_name="api-key-row",
    )


def _create_form() -> rx.Component:
    return rx.form(
        rx.flex(
            rx.vstack(
                rx.el.label("Partner name", html_for="api-key-name", class_name="form-label"),
                rx.input(name="name", id="api-key-name", placeholder="e.g. Acme Home Services"),
                spacing="1",
            ),
            rx.vstack(
                rx.el.label("Requests per minute", html_for="api-key-rate", class_name="form-label"),
                rx.input(name="per_minute", id="api-key-rate", default_value="60", input_mode="numeric", width="8em"),
                spacing="1",
            ),
            rx.button("Create key", type="submit", id="api-key-create"),
            spacing="3",
            wrap="wrap",
            align="end",
        ),
        on_submit=ApiKeysState.create,
        reset_on_submit=True,
        no_validate=True,
    )


def api_keys_page() -> rx.Component:
    state = ApiKeysState
    return page(
        guarded(
            "admin",
            rx.heading("API keys", size="8", id="api-keys-heading"),
            rx.text(
                "Partners send leads to POST /api/v1/leads with “Authorization: Bearer <key>”: no anti-robot check, "
                "the key's own rate limit. Only a hash of each key is stored.",
                color_scheme="gray",
            ),
            rx.cond(state.error != "", rx.callout(state.error, color_scheme="red", role="alert", id="api-keys-error")),
            rx.cond(
                state.notice != "", rx.callout(state.notice, icon="check", color_scheme="green", id="api-keys-notice")
            ),
            rx.cond(
                state.new_token != "",
                rx.card(rx.text("New key: ", rx.code(state.new_token, id="api-key-token")), id="api-key-once"),
            ),
            rx.vstack(
                _create_form(),
                rx.box(
                    rx.table.root(
                        rx.table.header(
                            rx.table.row(
                                *[
                                    rx.table.column_header_cell(h)
                                    for h in ("Partner", "Key", "Per minute", "Created", "Last used", "")
                                ]
                            )
                        ),
                        rx.table.body(rx.foreach(state.rows, _row)),
                        width="100%",
                        id="api-keys-table",
                    ),
                    overflow_x="auto",
                    width="100%",
                ),
                rx.cond(state.rows.length() == 0, rx.text("No API key yet.", color_scheme="gray", id="api-keys-empty")),
                spacing="4",
                width="100%",
                margin_top="1em",
            ),
        )
    )
