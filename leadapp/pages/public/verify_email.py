"""Open an emailed verification link (/verify-email/<token>): the address is proven, or the account moves to it.

The token is read from the URL on load and checked by the service; unknown, used and expired links each get a
clear message. A logged-in tab of that account sees its banner go at once.
"""

from __future__ import annotations

import reflex as rx

from leadapp import routes
from leadapp.components import feedback
from leadapp.components.forms import narrow_card
from leadapp.components.layout import page
from leadapp.core import rls
from leadapp.core.db import session_scope
from leadapp.core.errors import UserError
from leadapp.core.services import account_links
from leadapp.state.auth import AuthState


class VerifyEmailState(AuthState):
    # "checking", then "ok" or "invalid".
    verify_status: str = "checking"
    verify_message: str = ""

    @rx.event
    def open(self):
        self.verify_status, self.verify_message = "checking", ""
        token = routes.last_segment(self.router.url.path)
        try:
            with session_scope(rls.ANONYMOUS_CONTEXT) as session:
                verified = account_links.verify_email(session, token)
        except UserError as exc:
            self.verify_status, self.verify_message = "invalid", exc.message
            return
        self.verify_status = "ok"
        self.verify_message = (
            f"Your account now uses {verified.email}." if verified.changed else f"{verified.email} is confirmed."
        )
        if self.user_id == verified.user_id:
            self.user_email, self.email_verified, self.verify_notice = verified.email, True, ""


def verify_email_page() -> rx.Component:
    return page(
        narrow_card(
            rx.vstack(
                rx.heading("Email address", size="7"),
                rx.match(
                    VerifyEmailState.verify_status,
                    (
                        "ok",
                        rx.callout(
                            VerifyEmailState.verify_message, icon="circle-check", color_scheme="green", id="verify-done"
                        ),
                    ),
                    (
                        "invalid",
                        feedback.problem_callout(VerifyEmailState.verify_message, "verify-problem"),
                    ),
                    rx.center(rx.spinner(size="3"), padding="2em"),
                ),
                rx.link("Go to the log-in page", href=routes.LOGIN, size="2"),
                spacing="4",
                width="100%",
            ),
        )
    )
