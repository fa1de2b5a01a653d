"""Log in and sign up."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import reflex as rx

from leadapp import routes
from leadapp.components.forms import field, form_card, form_error, narrow_card, new_password_fields, server_form
from leadapp.components.layout import page
from leadapp.core import rls
from leadapp.core.db import session_scope
from leadapp.core.errors import UserError
from leadapp.core.services import access, account_links, accounts, discovery, notify
from leadapp.state.auth import AuthState, field_errors


def safe_next(target: str, fallback: str) -> str:
    """Where to go after logging in: `target` when it is a path on this site, else `fallback` (no open redirect).

    Refused: anything with a scheme or a host (`https://evil.example`, `//evil.example`), backslashes (browsers
    read `/\\evil.example` as `//evil.example`), and control characters or spaces anywhere (browsers drop tabs
    and newlines from URLs, so `/<TAB>/evil.example` would become `//evil.example`).
    """
    target = target or ""
    if (
        not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or len(target) > 2000
        or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target)
    ):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    return target


def _login(email: str, password: str, ip: str, user_agent: str) -> tuple[str, str]:
    """Check the credentials (Argon2: run in a thread, never on the event loop); the session token and landing page."""
    with session_scope(rls.ANONYMOUS_CONTEXT) as session:
        user, token = accounts.login(session, email, password, ip=ip, user_agent=user_agent)
        return token, access.home_path(user)


class LoginState(AuthState):
    errors: dict[str, str] = {}

    @rx.event(background=True)
    async def submit(self, form_data: dict):
        async with self:
            self.errors = {}
            ip, user_agent = self.client_ip(), self.router.headers.user_agent
            target = self.router.url.query_parameters.get("next", "")
        email, password = str(form_data.get("email", "")), str(form_data.get("password", ""))
        try:
            token, landing = await asyncio.to_thread(_login, email, password, ip, user_agent)
        except UserError as exc:
            async with self:
                self.errors = field_errors(exc)
            return
        async with self:
            self.session_token = token
        # And once more by a plain event: the page script may skip a cookie write that comes from a background
        # task's update, and the token must survive a reload.
        yield LoginState.start_session(token, safe_next(target, landing))

    @rx.event
    def start_session(self, token: str, target: str):
        """Keep the session token just issued (in the cookie) and go on to `target` (a path on this site)."""
        self.session_token = str(token)[:200]
        return rx.redirect(safe_next(str(target), routes.HOME))


def _register(form_data: dict, ip: str, user_agent: str, invite: str) -> tuple[str, str]:
    """Create the account, open its session and email the link that verifies its address (Argon2: in a thread)."""
    with session_scope(rls.ANONYMOUS_CONTEXT) as session:
        user = accounts.register(
            session,
            email=str(form_data.get("email", "")),
            password=str(form_data.get("password", "")),
            role=str(form_data.get("role", "")),
            full_name=str(form_data.get("full_name", "")),
        )
        access.enter(session, user)  # what follows is the new account's own doing
        token = accounts.open_session(session, user, ip=ip, user_agent=user_agent)
        if invite:  # signed up through a business invitation's link (admin discovery)
            discovery.activate_invitation(session, invite, user)
        notification_id = account_links.send_verification(session, user)
        landing = access.home_path(user)
    notify.enqueue_sends([notification_id])
    return token, landing


class RegisterState(AuthState):
    errors: dict[str, str] = {}

    @rx.var
    def default_role(self) -> str:
        role = self.router.url.query_parameters.get("role", "")
        return role if role in ("consumer", "business_owner") else "consumer"

    @rx.event
    def submit(self, form_data: dict):
        self.errors = {}
        if form_data.get("password", "") != form_data.get("password_confirm", ""):
            self.errors = {"password_confirm": "The two passwords differ."}
            return None
        ip, user_agent = self.client_ip(), self.router.headers.user_agent
        invite = self.router.url.query_parameters.get("invite", "")
        try:
            token, landing = _register(dict(form_data), ip, user_agent, invite)
        except UserError as exc:
            self.errors = field_errors(exc)
            return None
        self.session_token = token
        return rx.redirect(landing)


class ForgotPasswordState(AuthState):
    errors: dict[str, str] = {}
    sent: str = ""

    @rx.event
    def clear(self):
        """on_load: an empty form each time the page is opened."""
        self.errors, self.sent = {}, ""

    @rx.event
    async def submit(self, form_data: dict):
        # A plain event, queued after the page's on_load `clear`: as a background task it could finish first
        # and have its answer wiped by a late `clear` (the form then never said the link was sent).
        self.errors, self.sent = {}, ""
        try:
            answer = await asyncio.to_thread(_request_reset, str(form_data.get("email", "")), self.client_ip())
        except UserError as exc:
            self.errors = field_errors(exc)
            return
        self.sent = answer


def _request_reset(email: str, ip: str) -> str:
    with session_scope(rls.ANONYMOUS_CONTEXT) as session:
        return account_links.request_password_reset(session, email, ip)


def _form_page(title: str, state: Any, *children: rx.Component) -> rx.Component:
    """A page that is one short form (`form_card`): `children` sent to `state.submit`, `state.errors` said in it."""
    return page(form_card(title, state.errors, state.submit, *children))


def login_page() -> rx.Component:
    errors = LoginState.errors
    return _form_page(
        "Log in",
        LoginState,
        field("Email", "email", errors, type="email", required=True, autocomplete="username"),
        field("Password", "password", errors, type="password", required=True, autocomplete="current-password"),
        rx.button("Log in", type="submit", size="3", width="100%", id="login-submit"),
        rx.link("Forgot password?", href=routes.FORGOT_PASSWORD, size="2", id="forgot-password"),
        rx.text("No account yet? ", rx.link("Sign up", href=routes.REGISTER), size="2"),
    )


def register_page() -> rx.Component:
    errors = RegisterState.errors
    return _form_page(
        "Create your account",
        RegisterState,
        rx.vstack(
            rx.el.label("I am", html_for="field-role", class_name="form-label"),
            rx.radio_group.root(
                rx.flex(
                    rx.el.label(
                        rx.radio_group.item(value="consumer", id="role-consumer"),
                        " Looking for help",
                        style={"display": "flex", "gap": "0.5em"},
                    ),
                    rx.el.label(
                        rx.radio_group.item(value="business_owner", id="role-business"),
                        " A business owner",
                        style={"display": "flex", "gap": "0.5em"},
                    ),
                    direction="column",
                    spacing="2",
                ),
                name="role",
                id="field-role",
                default_value=RegisterState.default_role,
                key=RegisterState.default_role,
            ),
            rx.cond(errors.contains("role"), rx.text(errors["role"], color_scheme="red", size="2")),
            spacing="1",
        ),
        field("Full name", "full_name", errors, autocomplete="name"),
        field("Email", "email", errors, type="email", required=True, autocomplete="email"),
        new_password_fields(errors),
        rx.button("Create account", type="submit", size="3", width="100%", id="register-submit"),
        rx.text("Already registered? ", rx.link("Log in", href=routes.LOGIN), size="2"),
    )


def forgot_password_page() -> rx.Component:
    errors = ForgotPasswordState.errors
    return page(
        narrow_card(
            rx.vstack(
                rx.heading("Forgot your password?", size="7"),
                rx.cond(
                    ForgotPasswordState.sent != "",
                    rx.callout(ForgotPasswordState.sent, icon="mail", color_scheme="green", id="forgot-sent"),
                    server_form(
                        ForgotPasswordState.submit,
                        rx.vstack(
                            rx.text("Enter your account's email address; we email you a link to choose a new one."),
                            form_error(errors),
                            field("Email", "email", errors, type="email", required=True, autocomplete="username"),
                            rx.button("Email me a link", type="submit", size="3", width="100%", id="forgot-submit"),
                            spacing="4",
                            width="100%",
                        ),
                    ),
                ),
                rx.link("Back to log in", href=routes.LOGIN, size="2", id="back-to-login"),
                spacing="4",
                width="100%",
            ),
        ),
    )
