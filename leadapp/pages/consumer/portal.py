"""The consumer portal: my requests, their status and the businesses matched to them; withdraw a request,
ask for a callback, delete all my data."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import reflex as rx
from sqlmodel import Session

from leadapp import live, routes
from leadapp.components import feedback
from leadapp.components.account_email import account_email_card
from leadapp.components.confirm import confirm_dialog
from leadapp.components.layout import back_link, guarded_page, page_header, record_panel
from leadapp.components.requests import (
    RequestView,
    action_messages,
    no_ai_calls_card,
    request_card,
    request_view,
)
from leadapp.components.threads import PORTAL_PHOTO, read_photo
from leadapp.core import languages
from leadapp.core.db import session_scope
from leadapp.core.errors import FieldErrors, UserError
from leadapp.core.languages import english
from leadapp.core.models import User
from leadapp.core.services import access, messages, optouts, phone_codes, portal, quotes, reviews
from leadapp.core.vocab import Language
from leadapp.live import remember_tab
from leadapp.state.auth import AuthState


class PortalState(AuthState):
    requests: list[RequestView] = []
    notice: str = ""
    error: str = ""
    # The "No AI calls" switch: on when every number of this consumer's requests withdrew AI-call consent.
    no_ai_calls: bool = False
    has_numbers: bool = False
    # Numbers listed through another channel (a call, a text, an admin), which the switch cannot take off.
    ai_calls_locked: list[dict[str, str]] = []
    # The request page (`/portal/requests/<id>`): "" until it looked, then "ok" or "refused" (one refusal for a
    # missing request, another consumer's, or a malformed address).
    request_page: str = ""
    # Which page `requests` was loaded for: "list" (My requests), "request" (one request's page), "" not yet. The
    # two pages share the rows; each shows them only once loaded for itself, never the other page's (a request
    # page opened from the list would show every request, and the list after it only that one, until loaded).
    showing: str = ""
    # The review form's message per field (stars, text) after a refused review.
    review_errors: dict[str, str] = {}
    # Why a message was refused, under the field of its conversation (by match id).
    message_errors: dict[str, str] = {}
    _field_errors: dict[str, str] = {}  # backend only: the last action's FieldErrors
    _photo_thread: str = ""  # backend only: the conversation whose "Send photo" was pressed (then the upload)
    _only_lead: int = 0  # backend only: the one request the request page shows (0: the list)
    # The words around the requests (`core.languages` PORTAL): the request page's in its request's language; the
    # list's account-wide parts, and a refusal that knows no request, as `_account_words` says.
    frame: dict[str, str] = dict(english.PORTAL)

    @rx.event
    def load(self):
        self.notice, self.error, self._only_lead = "", "", 0
        self.refresh_from_event()
        self.showing = "list"
        if self.user_id:
            remember_tab(self.user_id, self.router.session.client_token)

    def refresh_from_event(self) -> None:
        """Reload this consumer's requests (also called by the live listener when one of them changed)."""
        try:
            with session_scope() as session:
                user = self._require(session, access.Area.CONSUMER)
                if self._only_lead:
                    rows = [portal.request_view(session, user, self._only_lead)]
                else:
                    rows = portal.consumer_leads(session, user)
                switch = optouts.ai_calls_switch(session, user)
        except UserError:  # not allowed, or the one request shown is gone (e.g. all data deleted)
            self.requests, self.no_ai_calls, self.has_numbers, self.ai_calls_locked = [], False, False, []
            if self._only_lead:
                self.request_page = "refused"
            self.frame = dict(self._account_words().PORTAL)
            return
        self.requests = [request_view(r) for r in rows]
        self._show_switch(switch)
        words = self._words_of(lead_id=str(self._only_lead)) if self._only_lead else self._account_words()
        self.frame = dict(words.PORTAL)

    @rx.event
    def open_request(self):
        """on_load of `/portal/requests/<id>`: that one request, or the one refusal."""
        self.notice, self.error, self.request_page = "", "", ""
        self._only_lead = routes.id_from_path(self.router.url.path)
        self.refresh_from_event()
        if self.request_page != "refused" and not self.requests:
            self.request_page = "refused"
        self.showing = "request"
        if self.request_page == "refused":
            self._only_lead = 0
            return
        self.request_page = "ok"
        if self.user_id:
            remember_tab(self.user_id, self.router.session.client_token)

    def _show_switch(self, switch: optouts.SwitchState) -> None:
        self.no_ai_calls, self.has_numbers = switch.on, bool(switch.numbers)
        self.ai_calls_locked = [{"number": n.display, "how": n.label, "since": n.since} for n in switch.locked]

    def _act(self, action: Callable[[Session, User | None], Any]) -> tuple[bool, Any]:
        """Run one service action as the current user, then reload; a refusal becomes `error`.

        Returns (went through, the action's result).
        """
        self.notice, self._field_errors = "", {}
        result, self.error = self._attempt(access.Area.CONSUMER, action, fields=self._refused_fields)
        self.refresh_from_event()
        return not self.error, result

    def _refused_fields(self, exc: FieldErrors) -> str:
        """A form's fields (the review) refused: each message under its field."""
        self._field_errors = dict(exc.errors)
        return exc.message

    def _words_of(self, *, lead_id: str = "", match_id: str = "", conversion_id: str = "", quote_id: str = "") -> Any:
        """The language tables (`core.languages`) of the request shown with this id, conversation, converted job or
        quote: the notices about a card's action read in its request's language (for one not shown, e.g. another
        consumer's conversation, the account's: `_account_words`)."""
        for r in self.requests:
            if (
                (lead_id and r.id == lead_id)
                or (conversion_id and r.review_conversion_id == conversion_id)
                or (match_id and any(t.match_id == match_id for t in r.threads))
                or (quote_id and any(q.id == quote_id for q in r.quotes))
            ):
                return languages.phrases(r.language)
        return self._account_words()

    def _account_words(self) -> Any:
        """The language tables of what concerns the whole account, or no request shown: Spanish when every request
        shown is Spanish (a consumer who writes in Spanish), else the browser's Accept-Language (no request is
        looked up for it: those shown are already loaded)."""
        if self.requests and all(languages.is_spanish(r.language) for r in self.requests):
            return languages.phrases(Language.SPANISH.value)
        return languages.phrases(self._visitor_language())

    def _act_by_id(self, raw_id: str, unknown: str, action, done: str, words: Any):
        """A button's action on the row `raw_id` names (a request, a quote): `unknown` (an English refusal of
        `languages.refusal_in`, said in `words`) when it is no id at all, else the service decides; `done` is the
        notice when it went through. Answers with the toast."""
        if not str(raw_id).isdigit():
            self.error = languages.refusal_in(words, unknown)
            return feedback.failed(self.error)
        ok, _ = self._act(lambda s, u: action(s, u, int(raw_id)))
        if ok:
            self.notice = done
        else:
            self.error = languages.refusal_in(words, self.error)
        return feedback.outcome(self.notice, self.error)

    def _act_on_request(self, lead_id: str, action, done: str):
        """`_act_by_id` on one of the consumer's requests, said in its language: `done` names the notice in the
        language tables."""
        words = self._words_of(lead_id=str(lead_id))
        return self._act_by_id(lead_id, english.NO_SUCH_REQUEST, action, getattr(words, done), words)

    @rx.event
    def withdraw(self, lead_id: str):
        return self._act_on_request(lead_id, portal.withdraw_request, "WITHDRAWN")

    @rx.event
    def request_callback(self, lead_id: str):
        return self._act_on_request(lead_id, portal.request_callback, "PORTAL_CALLBACK_REQUESTED")

    @rx.event
    def accept_quote(self, quote_id: str):
        """Accept one business's quote: the job is theirs, the other quotes are declined."""
        words = self._words_of(quote_id=str(quote_id))
        return self._act_by_id(quote_id, english.NOT_YOUR_QUOTE, quotes.accept_quote, words.QUOTE_ACCEPTED, words)

    @rx.event
    def submit_review(self, form_data: dict):
        """Review the business of a converted job from the request card (the consumer's own job only)."""
        conversion_id = str(form_data.get("conversion_id", ""))
        form = {name: str(form_data.get(name, ""))[:4000] for name in reviews.FIELDS}
        self.review_errors = {}
        words = self._words_of(conversion_id=conversion_id)
        if not conversion_id.isdigit():
            self.error = words.NOT_YOUR_JOB
            return feedback.failed(self.error)
        ok, _ = self._act(lambda s, u: reviews.submit_review(s, u, form, conversion_id=int(conversion_id)))
        if ok:
            self.notice = words.REVIEW_POSTED
        elif self._field_errors:
            self.review_errors, self.error = self._field_errors, ""
            return feedback.failed(words.CHECK_REVIEW + " ".join(self.review_errors.values()))
        self.error = languages.refusal_in(words, self.error)
        return feedback.outcome(self.notice, self.error)

    @rx.event
    def send_message(self, form_data: dict):
        """Write to a business that took one of this consumer's requests (the access layer checks the thread)."""
        match_id = str(form_data.get("match_id", ""))[:12]
        body = str(form_data.get("body", ""))[:4000]
        self.message_errors = {}
        words = self._words_of(match_id=match_id)
        if not match_id.isdigit():
            self.error = words.NOT_YOUR_THREAD
            return feedback.failed(self.error)
        ok, _ = self._act(lambda s, u: messages.post_message(s, u, int(match_id), body))
        if not ok:
            self.message_errors, self.error = {match_id: languages.refusal_in(words, self.error)}, ""
            return feedback.failed(self.message_errors[match_id])
        return feedback.done(words.MESSAGE_SENT)

    @rx.event
    def choose_photo_thread(self, match_id: str):
        """ "Send photo" names its conversation first (an upload carries only the files); checked when sending."""
        self._photo_thread = str(match_id)[:12] if str(match_id).isdigit() else ""

    @rx.event
    async def send_photo(self, files: list[rx.UploadFile]):
        """Send the chosen photo in the conversation named just before (its bytes and size checked by the service)."""
        match_id, self._photo_thread = self._photo_thread, ""
        self.message_errors = {}
        words = self._words_of(match_id=match_id)
        if not match_id:
            self.error = words.NOT_YOUR_THREAD
            return feedback.failed(self.error)
        data = await read_photo(files)
        if data is None:
            self.message_errors = {match_id: words.NO_PHOTO}
            return feedback.failed(words.NO_PHOTO)
        ok, _ = self._act(lambda s, u: messages.post_message(s, u, int(match_id), "", photo=data))
        if not ok:
            self.message_errors, self.error = {match_id: languages.refusal_in(words, self.error)}, ""
            return feedback.failed(self.message_errors[match_id])
        return [feedback.done(words.PHOTO_SENT), rx.clear_selected_files(PORTAL_PHOTO)]

    @rx.event
    def send_phone_code(self, lead_id: str):
        return self._act_on_request(lead_id, phone_codes.send_lead_code, "CODE_SENT")

    @rx.event
    def verify_phone_code(self, form_data: dict):
        lead_id, code = str(form_data.get("lead", "")), str(form_data.get("code", ""))
        return self._act_on_request(
            lead_id, lambda s, u, i: phone_codes.verify_lead_code(s, u, i, code), "PHONE_VERIFIED"
        )

    @rx.event
    def set_no_ai_calls(self, value: Any):
        """The "No AI calls" switch (any value but a true boolean counts as off: handler arguments are hostile)."""
        on, words = value is True, self._account_words()
        ok, _ = self._act(lambda s, u: optouts.set_no_ai_calls(s, u, on))
        if ok:
            if on:
                self.notice = words.PORTAL_AI_CALLS_OFF
            elif self.no_ai_calls:
                self.notice = words.PORTAL_AI_CALLS_SOME
            else:
                self.notice = words.PORTAL_AI_CALLS_ON
        return feedback.outcome(self.notice, self.error)

    @rx.event
    def delete_my_data(self):
        words = self._account_words()  # read before: the requests are gone after
        ok, deleted = self._act(portal.delete_my_data)
        if ok:
            self.notice = words.DATA_DELETED if deleted else words.NOTHING_TO_DELETE
        return feedback.outcome(self.notice, self.error)


def _delete_my_data() -> rx.Component:
    frame = PortalState.frame
    return confirm_dialog(
        frame["delete_title"],
        rx.alert_dialog.description(frame["delete_text"]),
        rx.button(frame["cancel"], variant="soft", color_scheme="gray", id="cancel-delete"),
        rx.button(
            frame["delete_my_data"], color_scheme="red", on_click=PortalState.delete_my_data, id="confirm-delete"
        ),
        trigger=rx.button(
            rx.icon("trash-2", size=16),
            frame["delete_my_data"],
            color_scheme="red",
            variant="outline",
            id="delete-my-data",
        ),
    )


def _ai_calls() -> rx.Component:
    """The "No AI calls" switch: withdraws (or gives back) consent to AI calls for every number of my requests."""
    return no_ai_calls_card(
        PortalState.no_ai_calls,
        PortalState.set_no_ai_calls,
        ~PortalState.has_numbers,
        PortalState.frame["no_ai_calls_explain"],
        rx.cond(
            ~PortalState.has_numbers,
            rx.text(PortalState.frame["no_numbers"], size="2", id="no-ai-calls-empty"),
        ),
        rx.foreach(
            PortalState.ai_calls_locked,
            lambda n: rx.text(
                n["number"],
                ": ",
                n["how"],
                " (",
                n["since"],
                PortalState.frame["locked_end"],
                size="2",
                class_name="ai-calls-locked",
            ),
        ),
        label=PortalState.frame["no_ai_calls"],
        margin_top="2em",
    )


def _card(r: rx.Var, linked: bool = False) -> rx.Component:
    """One request with everything the consumer may do with it; `linked`: its "Open" link to its own page."""
    return request_card(
        r,
        withdraw=PortalState.withdraw,
        callback=PortalState.request_callback,
        href=rx.Var.create(f"/portal/requests/{r.id}") if linked else None,
        send_code=PortalState.send_phone_code,
        verify_code=PortalState.verify_phone_code,
        accept_quote=PortalState.accept_quote,
        submit_review=PortalState.submit_review,
        review_errors=PortalState.review_errors,
        send_message=PortalState.send_message,
        send_photo=lambda match_id: [
            PortalState.choose_photo_thread(match_id),
            PortalState.send_photo(rx.upload_files(upload_id=PORTAL_PHOTO)),
        ],
        message_errors=PortalState.message_errors,
    )


def portal_page() -> rx.Component:
    frame = PortalState.frame  # the account's language (`PortalState._account_words`)
    return guarded_page(
        "consumer",
        page_header(
            frame["my_requests"],
            rx.link(rx.button(frame["new_request"], size="3"), href=routes.REQUEST),
            heading_id="portal-heading",
        ),
        rx.text(frame["hello"], AuthState.display_name, ".", color_scheme="gray"),
        action_messages(PortalState.notice, PortalState.error, "portal"),
        rx.cond(
            PortalState.showing != "list",
            rx.center(rx.spinner(size="3"), padding="3em"),
            rx.cond(
                PortalState.requests.length() > 0,
                rx.vstack(
                    rx.foreach(
                        PortalState.requests,
                        lambda r: _card(r, linked=True),
                    ),
                    spacing="3",
                    width="100%",
                    margin_top="1em",
                ),
                rx.card(rx.text(frame["no_requests"]), margin_top="1em", id="portal-empty"),
            ),
        ),
        _ai_calls(),
        rx.box(account_email_card(), margin_top="2em", width="100%"),
        rx.hstack(
            rx.text(frame["your_data"], weight="bold"),
            rx.spacer(),
            _delete_my_data(),
            align="center",
            width="100%",
            margin_top="2em",
        ),
    )


def portal_request_page() -> rx.Component:
    return guarded_page(
        "consumer",
        back_link(PortalState.frame["my_requests"], routes.PORTAL, "back-to-requests"),
        rx.heading(PortalState.frame["your_request"], size="7", id="request-heading", margin_y="0.5em"),
        action_messages(PortalState.notice, PortalState.error, "portal"),
        record_panel(
            rx.cond(PortalState.showing == "request", PortalState.request_page, ""),
            rx.callout(
                PortalState.frame["request_refused"],
                icon="shield-alert",
                color_scheme="red",
                size="3",
                id="request-refused",
            ),
            rx.foreach(
                PortalState.requests,
                lambda r: _card(r),
            ),
        ),
        max_width="48em",
    )


async def refresh_tab(app, token: str) -> None:
    """Push fresh request statuses into one open portal tab (from the live listener)."""
    async with app.modify_state(rx.BaseStateToken(ident=token, cls=PortalState)) as root:
        portal_state = await root.get_state(PortalState)
        if portal_state.user_id:
            await asyncio.to_thread(portal_state.refresh_from_event)


@live.on("match", "lead")
async def push_to_consumer_tabs(app, event: dict) -> None:
    """A consumer's request changed: their open portal tabs refresh."""
    if event.get("consumer_id"):
        tabs = live.user_tabs_key(int(event["consumer_id"]))
        await live.refresh_tabs(app, event, tabs, refresh_tab, "consumer")
