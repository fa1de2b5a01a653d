"""The account's email address, in account settings: change it (a link goes to the new address; nothing changes
until it is opened). Shared by the owner's settings page and the consumer's portal."""

from __future__ import annotations

import asyncio

import reflex as rx

from leadapp.components.cards import stacked_card
from leadapp.components.forms import field, form_error, server_form
from leadapp.core.db import session_scope
from leadapp.core.errors import UserError
from leadapp.core.services import access, account_links, accounts, notify
from leadapp.state.auth import AuthState, field_errors


def _request(cookie: str, new_email: str, password: str) -> None:
    with session_scope() as session:
        user = accounts.user_for_token(session, cookie)
        access.enter(session, user)
        notification_id = account_links.request_email_change(session, user, new_email, password)
    notify.enqueue_sends([notification_id])


class AccountEmailState(AuthState):
    errors: dict[str, str] = {}
    email_notice: str = ""

    @rx.event(background=True)
    async def change_email(self, form_data: dict):
        async with self:
            self.errors, self.email_notice = {}, ""
            cookie = self.session_token
        new_email, password = str(form_data.get("new_email", "")), str(form_data.get("password", ""))
        try:
            # Argon2 (the current password) runs in a thread, never on the event loop.
            await asyncio.to_thread(_request, cookie, new_email, password)
        except UserError as exc:
            async with self:
                self.errors = field_errors(exc)
            return
        async with self:
            self.email_notice = "We emailed a link to the new address: your account moves to it once you open it."


def account_email_card() -> rx.Component:
    errors = AccountEmailState.errors
    return stacked_card(
        rx.heading("Account email", as_="h2", size="4"),
        rx.text("You log in with ", rx.text.strong(AuthState.user_email), ".", size="2"),
        rx.cond(
            AccountEmailState.email_notice != "",
            rx.callout(AccountEmailState.email_notice, icon="mail", color_scheme="green", id="email-change-sent"),
        ),
        server_form(
            AccountEmailState.change_email,
            rx.vstack(
                form_error(errors),
                field("New email address", "new_email", errors, type="email", autocomplete="email"),
                field(
                    "Current password",
                    "password",
                    errors,
                    type="password",
                    autocomplete="current-password",
                ),
                rx.button("Change email", type="submit", variant="soft", id="email-change-submit"),
                spacing="3",
                width="100%",
            ),
            reset=True,
        ),
        spacing="3",
        id="account-email",
    )
