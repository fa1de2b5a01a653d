"""The guided interview page: a chat, one question per turn, a live panel of what has been understood."""

from __future__ import annotations

import reflex as rx

from leadapp import routes
from leadapp.components.layout import page
from leadapp.core.db import session_scope
from leadapp.core.errors import UserError
from leadapp.core.services import intake, interview
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


class InterviewState(AuthState):
    # The owner token never leaves the server: it lives in this tab's backend state only.
    _owner_token: str = ""
    messages: list[dict[str, str]] = []
    fields: dict[str, str] = {}
    complete: bool = False
    error: str = ""
    sending: bool = False

    def _show(self, turn: interview.Turn) -> None:
        self.messages, self.fields, self.complete = turn.messages, turn.fields, turn.complete

    @rx.event
    def open(self):
        self.error = ""
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

    @rx.event
    def restart(self):
        self._owner_token = ""
        return InterviewState.open

    @rx.event
    def answer(self, form_data: dict):
        # The browser empties the box the moment the answer is sent (reset_on_submit), so the next answer can be
        # typed at once; clearing it from here instead would arrive late and could wipe what was typed since.
        self.error = ""
        message = str(form_data.get("message", ""))
        try:
            with session_scope() as session:
                user = self._load_user(session)
                self._show(interview.reply(session, self._owner_token, user, message))
        except UserError as exc:
            self.error = exc.message
            return rx.set_value("interview-message", message) if message.strip() else None  # keep what was typed
        return None

    @rx.event
    async def send(self, form_data: dict):
        self.error = ""
        consent = form_data.get("consent_ai_calls") in (True, "on", "true")
        try:
            with session_scope() as session:
                user = self._load_user(session)
                accepted = interview.submit(session, self._owner_token, user, self.client_ip(), consent)
        except intake.SubmissionInvalid as exc:
            self.error = " ".join(exc.errors.values())
            return None
        except UserError as exc:
            self.error = exc.message
            return None
        request = await self.get_state(RequestState)
        request.lead_id, request.lead, request.matches, request.errors = (
            accepted.lead_id,
            {"status": "received"},
            [],
            {},
        )
        self._owner_token = ""
        return [rx.redirect(routes.REQUEST), RequestState.follow]


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


def _panel() -> rx.Component:
    return rx.card(
        rx.vstack(
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
            rx.separator(),
            rx.form(
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
                on_submit=InterviewState.send,
                no_validate=True,
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def interview_page() -> rx.Component:
    return page(
        rx.hstack(
            rx.heading("Tell us what's wrong", size="8"),
            rx.button("Start over", on_click=InterviewState.restart, variant="soft"),
            justify="between",
            align="center",
            wrap="wrap",
            width="100%",
        ),
        rx.text("Prefer a form? ", rx.link("Write it in one go", href=routes.REQUEST), ".", color_scheme="gray"),
        rx.grid(
            rx.vstack(
                rx.vstack(rx.foreach(InterviewState.messages, _bubble), spacing="2", width="100%", id="chat-log"),
                rx.cond(
                    InterviewState.error != "",
                    rx.callout(InterviewState.error, color_scheme="red", id="interview-error", role="alert"),
                ),
                rx.form(
                    rx.vstack(
                        rx.el.label("Your answer", html_for="interview-message", style={"fontWeight": "500"}),
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
                    on_submit=InterviewState.answer,
                    reset_on_submit=True,
                    no_validate=True,
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
