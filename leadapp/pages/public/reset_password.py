"""Choose a new password with an emailed single-use link (/reset-password/<token>): sent by an admin, or asked
for with "Forgot password?".

The token in the URL is checked on load and kept server-side (a backend-only var); the service checks
it again when the form is sent. Unknown, used and expired links each get a clear message.
"""

from __future__ import annotations

import asyncio

import reflex as rx

from leadapp import routes
from leadapp.components import feedback
from leadapp.components.forms import form_error, narrow_card, new_password_fields, server_form
from leadapp.components.layout import page
from leadapp.core import rls
from leadapp.core.db import session_scope
from leadapp.core.errors import UserError
from leadapp.core.services import admin_users
from leadapp.state.auth import AuthState, field_errors

ROUTE = "/reset-password/[token]"


class ResetPasswordState(AuthState):
    # "checking" until the link was looked at, then "ok", "invalid" or "done".
    reset_status: str = "checking"
    link_problem: str = ""
    errors: dict[str, str] = {}
    _token: str = ""  # backend only: never sent to the browser, never taken back from it

    @rx.event
    def open(self):
        self.errors, self.link_problem, self.reset_status = {}, "", "checking"
        self._token = routes.last_segment(self.router.url.path)
        with session_scope(rls.ANONYMOUS_CONTEXT) as session:
            problem = admin_users.reset_token_problem(session, self._token)
        self.link_problem = problem
        self.reset_status = "invalid" if problem else "ok"

    @rx.event(background=True)
    async def submit(self, form_data: dict):
        async with self:
            self.errors = {}
            password = str(form_data.get("password", ""))
            if password != str(form_data.get("password_confirm", "")):
                self.errors = {"password_confirm": "The two passwords differ."}
                return
            token = self._token
        try:
            user_id = await asyncio.to_thread(_reset, token, password)  # Argon2: never on the event loop
        except UserError as exc:
            async with self:
                if exc.field == "token":
                    self.link_problem, self.reset_status = exc.message, "invalid"
                else:
                    self.errors = field_errors(exc)
            return
        async with self:
            if self.user_id == user_id:  # this tab's own session was just revoked with all the others
                self.session_token = ""
                self.user_id, self.user_email, self.user_name, self.user_role = 0, "", "", ""
            self._token, self.reset_status = "", "done"


def _reset(token: str, password: str) -> int:
    with session_scope(rls.ANONYMOUS_CONTEXT) as session:
        return int(admin_users.reset_password(session, token, password).id)  # type: ignore[arg-type]


def reset_password_page() -> rx.Component:
    errors = ResetPasswordState.errors
    form = server_form(
        ResetPasswordState.submit,
        rx.vstack(
            form_error(errors),
            new_password_fields(errors, "New password", "Repeat the new password"),
            rx.button("Set the new password", type="submit", size="3", width="100%", id="reset-submit"),
            spacing="4",
            width="100%",
        ),
    )
    return page(
        narrow_card(
            rx.vstack(
                rx.heading("Choose a new password", size="7", id="reset-heading"),
                rx.match(
                    ResetPasswordState.reset_status,
                    ("ok", form),
                    (
                        "invalid",
                        rx.vstack(
                            feedback.problem_callout(ResetPasswordState.link_problem, "reset-link-problem"),
                            rx.link("Go to the log-in page", href=routes.LOGIN),
                            spacing="3",
                        ),
                    ),
                    (
                        "done",
                        rx.vstack(
                            rx.callout(
                                "Your password is changed; every device was logged out. Log in with the new password.",
                                icon="circle-check",
                                color_scheme="green",
                                id="reset-done",
                            ),
                            rx.link(rx.button("Log in", size="3"), href=routes.LOGIN, id="reset-login"),
                            spacing="3",
                        ),
                    ),
                    rx.center(rx.spinner(size="3"), padding="2em"),
                ),
                spacing="4",
                width="100%",
            ),
        )
    )
