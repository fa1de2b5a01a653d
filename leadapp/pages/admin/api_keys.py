"""Admin: partners' API keys — create a named key (its token is shown once, here), list them, revoke one, set a
key's webhook URL (its signing secret is shown once, here). Every handler asks the `api_keys` or `webhooks`
service, which checks that the current user is an admin again."""

from __future__ import annotations

import reflex as rx

from leadapp.components import feedback
from leadapp.components.filters import filter_row
from leadapp.components.forms import server_form
from leadapp.components.layout import guarded_page
from leadapp.components.table import plain_list, row_action
from leadapp.core.db import session_scope
from leadapp.core.errors import NotAllowed
from leadapp.core.services import access, api_keys, webhooks
from leadapp.pages.admin.ops_frame import NOT_ALLOWED
from leadapp.state.auth import AuthState


class ApiKeysState(AuthState):
    rows: list[dict[str, str]] = []
    error: str = ""
    notice: str = ""
    # The token of the key just created: shown once, gone on the next event of this page.
    new_token: str = ""
    # The webhook signing secret just issued ("whsec_…"): shown once, gone on the next event of this page.
    new_secret: str = ""
    webhook_error: str = ""

    def _reload(self, session) -> None:
        admin = self._require(session, access.Area.ADMIN)
        self.rows = api_keys.list_keys(session, admin)

    def _clear_messages(self) -> None:
        self.error, self.notice, self.new_token = "", "", ""
        self.new_secret, self.webhook_error = "", ""

    def _refused(self, _exc: NotAllowed) -> str:
        """This tab's user may not act (no longer an active admin): the keys are no longer shown."""
        self.rows, self.error = [], NOT_ALLOWED
        return self.error

    def _as_admin(self, action, *, error_field: str = "error") -> tuple[bool, object]:
        """Run `action(session, admin)` for the admin of this tab, then show the keys as they are now; a refusal
        goes to `error_field` (the page's error, or the webhook form's). Returns (done, what it returned)."""
        self._clear_messages()
        result, error = self._attempt(access.Area.ADMIN, action, refused=self._refused)
        if error:
            if not self.error:  # not a refusal of the user (that one is the page's)
                setattr(self, error_field, error)
            return False, None
        with session_scope() as session:
            self._reload(session)
        return True, result

    @rx.event
    def load(self):
        self._clear_messages()
        try:
            with session_scope() as session:
                self._reload(session)
        except NotAllowed:
            self.rows = []

    @rx.event
    def create(self, form_data: dict):
        name, per_minute = str(form_data.get("name", "")), str(form_data.get("per_minute", "") or "60")

        def create(session, admin) -> tuple[str, str]:
            key, token = api_keys.create_key(session, admin, name, per_minute)
            return key.name, token

        done, created = self._as_admin(create)
        if done:
            key_name, token = created  # type: ignore[misc]
            self.new_token, self.notice = token, f"Key “{key_name}” created. Copy it now: it is not shown again."
        return feedback.outcome(self.notice, self.error)

    @rx.event
    def revoke(self, key_id: str):
        wanted = int(key_id) if str(key_id).isdigit() else 0
        done, key_name = self._as_admin(lambda s, admin: api_keys.revoke_key(s, admin, wanted).name)
        if done:
            self.notice = f"Key “{key_name}” is revoked: calls with it are refused from now on."
        return feedback.outcome(self.notice, self.error)

    @rx.event
    def set_webhook(self, form_data: dict):
        key_id, url = str(form_data.get("key_id", "") or ""), str(form_data.get("webhook_url", "") or "")
        wanted = int(key_id) if key_id.isdigit() else 0

        def register(session, admin) -> tuple[str, str]:
            key, secret = webhooks.register_webhook(session, admin, wanted, url)
            return key.name, secret

        done, registered = self._as_admin(register, error_field="webhook_error")
        if not done:
            return feedback.outcome(self.notice, self.error or self.webhook_error)
        key_name, secret = registered  # type: ignore[misc]
        self.new_secret = secret
        self.notice = (
            f"Webhook of “{key_name}” saved. Give the partner its signing secret now: it is not shown again."
            if secret
            else f"Webhook of “{key_name}” removed: its leads' changes are no longer sent."
        )
        return feedback.outcome(self.notice, self.error)


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row["name"], weight="medium")),
        rx.table.cell(rx.code(row["prefix"])),
        rx.table.cell(row["per_minute"]),
        rx.table.cell(row["created"]),
        rx.table.cell(row["last_used"]),
        rx.table.cell(rx.text(row["webhook"], size="1", word_break="break-all", class_name="api-key-webhook")),
        rx.table.cell(
            rx.cond(
                row["status"] == "active",
                row_action(
                    "Revoke", on_click=ApiKeysState.revoke(row["id"]), color_scheme="red", class_name="revoke-key"
                ),
                rx.badge("revoked", color_scheme="gray"),
            )
        ),
        data_name=row["name"],
        data_status=row["status"],
        class_name="api-key-row",
    )


def _create_form() -> rx.Component:
    return filter_row(
        ApiKeysState.create,
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
        reset=True,
    )


def _webhook_form() -> rx.Component:
    state = ApiKeysState
    return server_form(
        state.set_webhook,
        rx.flex(
            rx.vstack(
                rx.el.label("Key", html_for="webhook-key", class_name="form-label"),
                rx.select.root(
                    rx.select.trigger(id="webhook-key", placeholder="Choose a key"),
                    rx.select.content(
                        rx.foreach(
                            state.rows,
                            lambda row: rx.cond(
                                row["status"] == "active", rx.select.item(row["name"], value=row["id"])
                            ),
                        )
                    ),
                    name="key_id",
                ),
                spacing="1",
            ),
            rx.vstack(
                rx.el.label("Webhook URL (https; empty removes it)", html_for="webhook-url", class_name="form-label"),
                rx.input(name="webhook_url", id="webhook-url", placeholder="https://partner.example/hooks/leadapp"),
                spacing="1",
                min_width="18em",
            ),
            rx.button("Save webhook", type="submit", id="webhook-save"),
            spacing="3",
            wrap="wrap",
            align="end",
        ),
        feedback.error_text(state.webhook_error, "webhook-url-error"),
    )


def api_keys_page() -> rx.Component:
    state = ApiKeysState
    return guarded_page(
        "admin",
        rx.heading("API keys", size="8", id="api-keys-heading"),
        rx.text(
            "Partners send leads to POST /api/v1/leads with “Authorization: Bearer <key>”: no anti-robot check, "
            "the key's own rate limit, and read a lead's status at GET /api/v1/leads/<id>. Only a hash of each "
            "key is stored. A key's webhook gets its leads' status changes, signed (Standard Webhooks).",
            color_scheme="gray",
        ),
        feedback.outcome_callouts(state.error, state.notice, "api-keys"),
        rx.cond(
            state.new_token != "",
            rx.card(rx.text("New key: ", rx.code(state.new_token, id="api-key-token")), id="api-key-once"),
        ),
        rx.cond(
            state.new_secret != "",
            rx.card(
                rx.text("Webhook signing secret: ", rx.code(state.new_secret, id="webhook-secret")),
                id="webhook-secret-once",
            ),
        ),
        rx.vstack(
            _create_form(),
            _webhook_form(),
            plain_list(
                ("Partner", "Key", "Per minute", "Created", "Last used", "Webhook", ""),
                state.rows,
                _row,
                table_id="api-keys-table",
                none="No API key yet.",
                none_id="api-keys-empty",
            ),
            spacing="4",
            width="100%",
            margin_top="1em",
        ),
    )
