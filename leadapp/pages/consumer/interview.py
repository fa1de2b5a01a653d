"""The guided interview page: a chat, one question per turn, a live panel of what has been understood."""

from __future__ import annotations

import asyncio

import reflex as rx
from sqlmodel import Session

from leadapp import routes
from leadapp.components import feedback
from leadapp.components.cards import stacked_card
from leadapp.components.forms import server_form
from leadapp.components.layout import page, page_header
from leadapp.components.requests import CODE_SENT, PHONE_VERIFIED, phone_code_check
from leadapp.core.db import session_scope
from leadapp.core.errors import UserError
from leadapp.core.models import User
from leadapp.core.services import access, accounts, intake, interview
from leadapp.core.settings import get_settings
from leadapp.pages.consumer.request import RequestState
from leadapp.state.auth import AuthState

PANEL_FIELDS = [
    ("category", "Service"),
    ("urgency", "Urgency"),
    ("zip", "ZIP"),
    ("budget", "Budget"),
    ("contact", "Contact"),
    ("availability", "Availability"),
]


def _user(session: Session, cookie: str) -> User | None:
    """Who the tab's session cookie is, re-read from the database; the session acts for them."""
    user = accounts.user_for_token(session, cookie)
    access.enter(session, user)
    return user


def _reply(cookie: str, token: str, message: str, ip: str) -> interview.Turn:
    with session_scope() as session:
        return interview.reply(session, token, _user(session, cookie), message, ip)


def _submit(cookie: str, token: str, ip: str, consent: bool, human: bool) -> intake.Accepted:
    with session_scope() as session:
        return interview.submit(session, token, _user(session, cookie), ip, consent, human_verified=human)


class InterviewState(AuthState):
    # The owner token never leaves the server: it lives in this tab's backend state only.
    _owner_token: str = ""
    # Whether this tab passed the Turnstile check at the start of the interview (backend only).
    _human_verified: bool = False
    messages: list[dict[str, str]] = []
    fields: dict[str, str] = {}
    complete: bool = False
    error: str = ""
    notice: str = ""
    sending: bool = False
    # False while Turnstile is configured and this tab has not passed it yet: the widget shows, not the chat.
    human_ok: bool = True
    # "" (no phone number given), "unverified" or "verified" (the code texted to it came back).
    phone_check: str = ""

    def _show(self, turn: interview.Turn) -> None:
        self.messages, self.fields, self.complete = turn.messages, turn.fields, turn.complete
        self.phone_check = turn.phone_check

    @rx.event
    def open(self):
        self.error = ""
        self.human_ok = self._human_verified or not get_settings().turnstile_secret_key
        with session_scope() as session:
            user = self._load_user(session)
            if self._owner_token:
                try:
                    self._show(interview.load(session, self._owner_token, user))
                    return
                except UserError:
                    self._owner_token = ""
            self._owner_token, turn = interview.start(session, user)
        self._show(turn)

    @rx.event(background=True)
    async def begin(self, form_data: dict):
        """The Turnstile widget at the start of the interview: its token is checked once, off the event loop."""
        async with self:
            self.error = ""
            ip = self.client_ip()
        token = str(form_data.get("cf-turnstile-response", ""))
        try:
            await asyncio.to_thread(intake.check_turnstile, token, ip)
        except UserError as exc:
            async with self:
                self.error = exc.message
            return
        async with self:
            self._human_verified, self.human_ok = True, True

    @rx.event
    def restart(self):
        self._owner_token = ""
        return InterviewState.open

    @rx.event(background=True)
    async def answer(self, form_data: dict):
        # The browser empties the box the moment the answer is sent (reset_on_submit), so the next answer can be
        # typed at once; clearing it from here instead would arrive late and could wipe what was typed since.
        async with self:
            self.error = ""
            if not self.human_ok:
                self.error = "Complete the anti-robot check first."
                return
            token, ip, cookie = self._owner_token, self.client_ip(), self.session_token
        message = str(form_data.get("message", ""))
        try:
            # A Claude turn is an HTTP call: never on the event loop.
            turn = await asyncio.to_thread(_reply, cookie, token, message, ip)
        except UserError as exc:
            async with self:
                self.error = exc.message
            if message.strip():
                yield rx.set_value("interview-message", message)  # keep what was typed
            return
        async with self:
            self._show(turn)

    @rx.event
    def send_phone_code(self):
        self.error, self.notice = "", ""
        try:
            with session_scope() as session:
                interview.send_phone_code(session, self._owner_token, self._load_user(session))
        except UserError as exc:
            self.error = exc.message
        else:
            self.notice = CODE_SENT

    @rx.event
    def verify_phone_code(self, form_data: dict):
        self.error, self.notice = "", ""
        code = str(form_data.get("code", "")) if isinstance(form_data, dict) else ""
        try:
            with session_scope() as session:
                self._show(interview.verify_phone_code(session, self._owner_token, self._load_user(session), code))
        except UserError as exc:
            self.error = exc.message
        else:
            self.notice = PHONE_VERIFIED

    @rx.event(background=True)
    async def send(self, form_data: dict):
        consent = form_data.get("consent_ai_calls") in (True, "on", "true")
        async with self:
            self.error = ""
            token, ip, human, cookie = self._owner_token, self.client_ip(), self._human_verified, self.session_token
        try:
            accepted = await asyncio.to_thread(_submit, cookie, token, ip, consent, human)
        except intake.SubmissionInvalid as exc:
            async with self:
                self.error = " ".join(exc.errors.values())
            return
        except UserError as exc:
            async with self:
                self.error = exc.message
            return
        async with self:
            request = await self.get_state(RequestState)
            request.lead_id, request.lead, request.matches, request.errors = (
                accepted.lead_id,
                {"status": "received"},
                [],
                {},
            )
            self._owner_token = ""
        yield rx.redirect(routes.REQUEST)
        yield RequestState.follow


def _human_check() -> rx.Component:
    """Cloudflare Turnstile at the start of the interview, when its keys are configured."""
    site_key = get_settings().turnstile_site_key
    if not site_key:
        return rx.fragment()
    return rx.cond(
        ~InterviewState.human_ok,
        rx.card(
            server_form(
                InterviewState.begin,
                rx.vstack(
                    rx.text("First, a quick check that you are a person."),
                    rx.script(
                        src="https://challenges.cloudflare.com/turnstile/v0/api.js", custom_attrs={"async": True}
                    ),
                    rx.el.div(class_name="cf-turnstile", custom_attrs={"data-sitekey": site_key}),
                    rx.button("Start", type="submit", size="3", id="interview-begin"),
                    spacing="3",
                ),
            ),
            id="interview-human-check",
        ),
    )


def _bubble(m: rx.Var) -> rx.Component:
    mine = m["role"] == "user"
    return rx.flex(
        rx.box(
            rx.text(m["text"], white_space="pre-wrap"),
            background_color=rx.cond(mine, rx.color("accent", 4), rx.color("gray", 3)),
            padding="0.6em 0.9em",
            border_radius="12px",
            max_width="85%",
            class_name=rx.cond(mine, "chat-user", "chat-assistant"),
        ),
        justify=rx.cond(mine, "end", "start"),
        width="100%",
    )


def _phone_check() -> rx.Component:
    """Verify the number given (a texted code): only a verified number gets the AI calls agreed to below."""
    return rx.match(
        InterviewState.phone_check,
        (
            "unverified",
            phone_code_check(
                rx.text("AI calls only reach a verified number: we text it a 6-digit code.", size="2"),
                rx.button(
                    "Send code", on_click=InterviewState.send_phone_code, variant="soft", id="interview-send-code"
                ),
                InterviewState.verify_phone_code,
                code_props={"id": "interview-code"},
                verify_props={"id": "interview-verify-code"},
                width="100%",
            ),
        ),
        (
            "verified",
            rx.badge(rx.icon("circle-check", size=14), "Phone verified", color_scheme="green", id="interview-verified"),
        ),
        rx.fragment(),
    )


def _panel() -> rx.Component:
    return stacked_card(
        rx.heading("What we understood", as_="h2", size="4"),
        *[
            rx.hstack(
                rx.text(label, weight="medium", min_width="7em"),
                rx.text(
                    rx.cond(InterviewState.fields[key] != "", InterviewState.fields[key], "—"),
                    id=f"panel-{key}",
                    color_scheme=rx.cond(InterviewState.fields[key] != "", "gray", "gray"),
                ),
                width="100%",
            )
            for key, label in PANEL_FIELDS
        ],
        _phone_check(),
        rx.separator(),
        server_form(
            InterviewState.send,
            rx.vstack(
                rx.el.label(
                    rx.checkbox(name="consent_ai_calls", id="interview-consent"),
                    rx.text(intake.CONSENT_TEXT, size="1"),
                    html_for="interview-consent",
                    style={"display": "flex", "gap": "0.6em", "alignItems": "flex-start"},
                ),
                rx.button(
                    "Submit request",
                    type="submit",
                    disabled=~InterviewState.complete,
                    width="100%",
                    size="3",
                    id="interview-submit",
                ),
                spacing="3",
            ),
        ),
        spacing="3",
    )


def interview_page() -> rx.Component:
    return page(
        page_header("Tell us what's wrong", rx.button("Start over", on_click=InterviewState.restart, variant="soft")),
        rx.text("Prefer a form? ", rx.link("Write it in one go", href=routes.REQUEST), ".", color_scheme="gray"),
        _human_check(),
        rx.grid(
            rx.vstack(
                rx.vstack(rx.foreach(InterviewState.messages, _bubble), spacing="2", width="100%", id="chat-log"),
                feedback.error_callout(InterviewState.error, "interview-error"),
                rx.cond(
                    InterviewState.notice != "",
                    rx.callout(InterviewState.notice, color_scheme="green", id="interview-notice"),
                ),
                server_form(
                    InterviewState.answer,
                    rx.vstack(
                        rx.el.label("Your answer", html_for="interview-message", class_name="form-label"),
                        rx.hstack(
                            rx.input(
                                name="message", id="interview-message", width="100%", size="3", auto_complete="off"
                            ),
                            rx.button("Send", type="submit", size="3", id="interview-send"),
                            width="100%",
                        ),
                        spacing="1",
                        width="100%",
                    ),
                    reset=True,
                    width="100%",
                ),
                spacing="4",
                width="100%",
            ),
            _panel(),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="5",
            width="100%",
            margin_top="1em",
        ),
    )
