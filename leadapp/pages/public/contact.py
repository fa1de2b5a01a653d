"""The contact form: validated, stored, read by admins."""

from __future__ import annotations

import reflex as rx

from leadapp.components.forms import field, form_error, server_form
from leadapp.components.layout import page
from leadapp.core import rls
from leadapp.core.db import session_scope
from leadapp.core.errors import UserError
from leadapp.core.services import contact
from leadapp.state.auth import AuthState, field_errors


class ContactState(AuthState):
    errors: dict[str, str] = {}
    sent: bool = False

    @rx.event
    def submit(self, form_data: dict):
        self.errors = {}
        try:
            with session_scope(rls.ANONYMOUS_CONTEXT) as session:
                contact.submit_message(
                    session,
                    name=str(form_data.get("name", "")),
                    email=str(form_data.get("email", "")),
                    subject=str(form_data.get("subject", "")),
                    body=str(form_data.get("body", "")),
                    ip=self.client_ip(),
                )
        except UserError as exc:
            self.errors = field_errors(exc)
            return
        self.sent = True

    @rx.event
    def again(self):
        self.sent, self.errors = False, {}


def contact_page() -> rx.Component:
    errors = ContactState.errors
    return page(
        rx.heading("Contact us", size="8", margin_bottom="0.5em"),
        rx.cond(
            ContactState.sent,
            rx.vstack(
                rx.callout(
                    "Thank you — your message has arrived and an admin will answer by email.",
                    icon="circle-check",
                    color_scheme="green",
                    id="contact-sent",
                ),
                rx.button("Send another message", on_click=ContactState.again, variant="soft"),
            ),
            server_form(
                ContactState.submit,
                rx.vstack(
                    form_error(errors),
                    field("Your name", "name", errors, required=True, autocomplete="name"),
                    field("Email", "email", errors, type="email", required=True, autocomplete="email"),
                    field("Subject", "subject", errors),
                    field("Message", "body", errors, multiline=True, required=True),
                    rx.button("Send message", type="submit", size="3", id="contact-submit"),
                    spacing="4",
                    width="100%",
                ),
                max_width="36em",
            ),
        ),
    )
