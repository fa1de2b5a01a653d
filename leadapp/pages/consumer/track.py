"""Follow one request without an account, through the magic link from the confirmation email.

The token in the URL is verified on load; the state then keeps it server-side (a backend-only var) and
every action hands it to the service again, which verifies it once more. No lead id from the browser is
ever used. The page shows what the portal shows: status, classification, matched businesses (name,
rating, distance — never a business's phone or email).
"""

from __future__ import annotations

import asyncio
from typing import Any

import reflex as rx
from reflex.event import EventSpec

from leadapp import live, routes
from leadapp.components import feedback
from leadapp.components.forms import field, form_error, new_password_fields, server_form
from leadapp.components.layout import page
from leadapp.components.requests import (
    RequestView,
    action_messages,
    no_ai_calls_card,
    request_card,
    request_view,
)
from leadapp.components.text import note
from leadapp.core import languages, rls
from leadapp.core.broker import key
from leadapp.core.db import session_scope
from leadapp.core.errors import NotAllowed, UserError
from leadapp.core.languages import english
from leadapp.core.observability import get_logger
from leadapp.core.services import follow, phone_codes, portal, quotes
from leadapp.core.services.accounts import MIN_PASSWORD_LENGTH
from leadapp.state.auth import AuthState, field_errors

log = get_logger(__name__)
ROUTE = routes.PORTAL_TRACK


def lead_tabs_key(lead_id: int) -> str:
    """The Redis set of tabs following this lead (read by the live listener)."""
    return key("tabs", "lead", lead_id)


def remember_track_tab(lead_id: int, client_token: str) -> None:
    """Note that this tab follows this lead (so a change of the lead can be pushed to it)."""
    if lead_id and client_token:
        live.remember(lead_tabs_key(lead_id), client_token)


def _claim_words(w: Any) -> dict[str, str]:
    """The account form's words in the language tables `w`."""
    hint = w.PASSWORD_HINT.format(n=MIN_PASSWORD_LENGTH)
    return {"email": w.EMAIL, "password": w.PASSWORD, "repeat": w.REPEAT_PASSWORD, "hint": hint}


class TrackState(AuthState):
    # "checking" until the token was looked at, then "ok" or "invalid".
    track_status: str = "checking"
    tracked: RequestView = RequestView()
    # The request's number on the do-not-call list ("No AI calls"), and whether this page may take it off again.
    ai_has_number: bool = False
    no_ai_calls: bool = False
    ai_removable: bool = False
    notice: str = ""
    error: str = ""
    # Turning the link into an account: offered while the request has none; the email asked only when the
    # request was made with a phone number alone.
    can_claim: bool = False
    claim_needs_email: bool = False
    claim_errors: dict[str, str] = {}
    # The account form's labels and hint, in the request's language (`core.languages`).
    claim_words: dict[str, str] = _claim_words(english)
    _token: str = ""  # backend only: never sent to the browser, never taken back from it
    _lead_id: int = 0
    _language: str = ""  # the request's: the notices of its actions are in it
    # What a bad or expired link is told (`core.languages`), in the link's `lang` or else the browser's language.
    invalid_words: dict[str, str] = {
        "text": english.TRACK_INVALID,
        "log_in": english.LOG_IN,
        "your_request": english.CARD["your_request"],
    }

    def _load(self) -> bool:
        """Re-read the request with the held token; False (and the invalid view) when it no longer works."""
        try:
            with session_scope() as session:
                lead = portal.lead_for_magic_token(session, self._token)
                if lead is None or lead.id is None:
                    raise UserError(self._words.TRACK_INVALID)
                row = portal.request_view(session, portal.MagicGrant(self._token), lead.id)
                switch = portal.ai_calls_by_link(session, portal.MagicGrant(self._token), lead.id)
                self._lead_id = lead.id
                self.can_claim, self.claim_needs_email = lead.consumer_id is None, not lead.contact_email
        except UserError:
            self.track_status, self.tracked, self._lead_id = "invalid", RequestView(), 0
            return False
        self.track_status, self.tracked, self._language = "ok", request_view(row), row["lead"]["language"]
        self.claim_words = _claim_words(self._words)
        self.ai_has_number, self.no_ai_calls, self.ai_removable = switch.has_number, switch.on, switch.removable
        return True

    @rx.event
    def open(self):
        self.notice, self.error, self.track_status = "", "", "checking"
        self._token = routes.last_segment(self.router.url.path)
        self._language = self._visitor_language()
        w = self._words
        self.invalid_words = {"text": w.TRACK_INVALID, "log_in": w.LOG_IN, "your_request": w.CARD["your_request"]}
        if self._load():
            remember_track_tab(self._lead_id, self.router.session.client_token)

    def refresh_from_event(self) -> None:
        """Reload the request (called by the live listener when it changed)."""
        if self._token:
            self._load()

    @property
    def _words(self) -> Any:
        """The request's language tables (`core.languages`)."""
        return languages.phrases(self._language)

    def _act(self, action: Any, done: str) -> EventSpec | None:
        """Run one action on the request the link names; its toast (the notice, or why it was refused)."""
        self.notice, self.error = "", ""
        if not self._token or not self._lead_id:
            self.error = self._words.TRACK_INVALID
            return feedback.failed(self.error)
        try:
            with session_scope() as session:
                action(session, portal.MagicGrant(self._token), self._lead_id)
        except UserError as exc:
            self.error = languages.refusal_in(self._words, exc.message)  # a link refused: in the page's language
        else:
            self.notice = done
        self._load()
        return feedback.outcome(self.notice, self.error)

    @rx.event
    def create_account(self, form_data: dict):
        """Set a password: the account is made from the request's email, owns the request, and is logged in."""
        self.claim_errors = {}
        password = str(form_data.get("password", ""))
        if password != str(form_data.get("password_confirm", "")):
            self.claim_errors = {"password_confirm": self._words.PASSWORDS_DIFFER}
            return None
        try:
            with session_scope(rls.ANONYMOUS_CONTEXT) as session:
                made = follow.account_from_tracking_link(
                    session,
                    self._token,
                    password,
                    email=str(form_data.get("email", "")),
                    ip=self.client_ip(),
                    user_agent=self.router.headers.user_agent,
                )
        except NotAllowed as exc:
            self.claim_errors = {"form": languages.refusal_in(self._words, exc.message)}
            return None
        except UserError as exc:
            self.claim_errors = field_errors(exc)
            return None
        self.session_token = made.session_token
        return rx.redirect(routes.PORTAL)

    @rx.event
    def withdraw(self, shown_id: str = ""):
        # The button passes the id it shows; it is ignored: the lead acted on is always the one the token names.
        return self._act(portal.withdraw_request, self._words.WITHDRAWN)

    @rx.event
    def set_no_ai_calls(self, value: Any):
        on = value is True
        return self._act(
            lambda session, grant, lead_id: portal.set_no_ai_calls_by_link(session, grant, lead_id, on),
            self._words.AI_CALLS_OFF if on else self._words.AI_CALLS_ON,
        )

    @rx.event
    def request_callback(self, shown_id: str = ""):
        return self._act(portal.request_callback, self._words.CALLBACK_REQUESTED)

    @rx.event
    def accept_quote(self, quote_id: str = ""):
        """Accept one quote on the request the link names (the service refuses a quote of any other request)."""
        if not str(quote_id).isdigit() or len(str(quote_id)) > 18:
            self.notice, self.error = "", self._words.NOT_YOUR_QUOTE
            return feedback.failed(self.error)
        return self._act(
            lambda session, grant, lead_id: quotes.accept_quote(session, grant, int(quote_id)),
            self._words.QUOTE_ACCEPTED,
        )

    @rx.event
    def send_phone_code(self, shown_id: str = ""):
        return self._act(phone_codes.send_lead_code, self._words.CODE_SENT)

    @rx.event
    def verify_phone_code(self, form_data: dict):
        # The form's lead id is ignored like the buttons': the token names the lead.
        code = str(form_data.get("code", "")) if isinstance(form_data, dict) else ""
        return self._act(
            lambda s, grant, lead_id: phone_codes.verify_lead_code(s, grant, lead_id, code), self._words.PHONE_VERIFIED
        )


def _ai_calls() -> rx.Component:
    """ "No AI calls" for this request's number (the portal's switch covers every number of an account)."""
    locked, words = TrackState.no_ai_calls & ~TrackState.ai_removable, TrackState.tracked.words
    return no_ai_calls_card(
        TrackState.no_ai_calls,
        TrackState.set_no_ai_calls,
        locked,
        words["no_ai_calls_explain"],
        rx.cond(locked, rx.text(words["ai_calls_locked"], size="2", id="ai-calls-locked")),
        label=words["no_ai_calls"],
    )


def _claim_form() -> rx.Component:
    errors, words, claim = TrackState.claim_errors, TrackState.tracked.words, TrackState.claim_words
    return rx.card(
        server_form(
            TrackState.create_account,
            rx.vstack(
                rx.heading(words["keep_account"], as_="h2", size="4"),
                note(words["keep_account_text"]),
                form_error(errors),
                rx.cond(
                    TrackState.claim_needs_email,
                    field(claim["email"], "email", errors, type="email", autocomplete="username"),
                ),
                new_password_fields(errors, claim["password"], claim["repeat"], claim["hint"]),
                rx.button(words["create_account"], type="submit", id="claim-submit"),
                spacing="3",
                width="100%",
            ),
        ),
        width="100%",
        id="claim-account",
    )


def track_page() -> rx.Component:
    return page(
        rx.heading(
            rx.cond(
                TrackState.track_status == "ok",
                TrackState.tracked.words["your_request"],
                TrackState.invalid_words["your_request"],
            ),
            size="8",
            id="track-heading",
            margin_bottom="0.25em",
        ),
        rx.match(
            TrackState.track_status,
            (
                "ok",
                rx.vstack(
                    rx.text(TrackState.tracked.words["track_intro"], color_scheme="gray"),
                    action_messages(TrackState.notice, TrackState.error, "track"),
                    request_card(
                        TrackState.tracked,
                        withdraw=TrackState.withdraw,
                        callback=TrackState.request_callback,
                        send_code=TrackState.send_phone_code,
                        verify_code=TrackState.verify_phone_code,
                        accept_quote=TrackState.accept_quote,
                    ),
                    rx.cond(TrackState.ai_has_number, _ai_calls()),
                    rx.cond(TrackState.can_claim, _claim_form()),
                    spacing="3",
                    width="100%",
                    id="track-request",
                ),
            ),
            (
                "invalid",
                rx.vstack(
                    rx.callout(
                        TrackState.invalid_words["text"], icon="link-2-off", color_scheme="amber", id="track-invalid"
                    ),
                    rx.link(rx.button(TrackState.invalid_words["log_in"], variant="soft"), href=routes.LOGIN),
                    spacing="3",
                ),
            ),
            rx.center(rx.spinner(size="3"), padding="3em"),
        ),
        max_width="48em",
    )


async def refresh_tab(app: Any, token: str) -> None:
    """Push the fresh status into one open tracking tab (from the live listener)."""
    async with app.modify_state(rx.BaseStateToken(ident=token, cls=TrackState)) as root:
        track_state = await root.get_state(TrackState)
        if track_state.track_status == "ok":
            await asyncio.to_thread(track_state.refresh_from_event)


@live.on("match", "lead")
async def push_to_tracking_tabs(app: Any, event: dict[str, Any]) -> None:
    """A request changed: the tabs following it by its tracking link refresh."""
    if event.get("lead_id"):
        await live.refresh_tabs(app, event, lead_tabs_key(int(event["lead_id"])), refresh_tab, "track")
