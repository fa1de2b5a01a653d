"""The consumer's request form: free text, ZIP, contact, consent — into the same intake as every door."""

from __future__ import annotations

import asyncio

import reflex as rx

from leadapp import routes
from leadapp.components.forms import field, form_error, server_form
from leadapp.components.layout import page
from leadapp.components.text import note
from leadapp.core import labels, languages
from leadapp.core.db import session_scope
from leadapp.core.errors import UserError
from leadapp.core.languages import english
from leadapp.core.services import access, follow, intake, portal
from leadapp.core.settings import get_settings
from leadapp.state.auth import AuthState, field_errors

POLL_SECONDS = 1.0
POLL_LIMIT = 60


class RequestState(AuthState):
    errors: dict[str, str] = {}
    lead_id: int = 0
    lead: dict[str, str] = {}
    matches: list[dict[str, str]] = []
    # The words of the status below the form, in the request's language once it is known (`languages`).
    words: dict[str, str] = dict(english.CARD)
    submitting: bool = False
    # The request's tracking link (shown to the tab that submitted it) and how it was also sent.
    tracking_link: str = ""
    link_sent_by: str = ""
    # The form's words, before anything is typed: in the browser's language (`languages.of_visitor`).
    form_words: dict[str, str] = dict(english.REQUEST_FORM)
    _form_language: str = ""  # backend only: the consent recorded is the text shown

    @rx.event
    def open(self):
        self._form_language = self._visitor_language()
        self.form_words = dict(languages.phrases(self._form_language).REQUEST_FORM)

    @rx.event
    def reset_form(self):
        self.errors, self.lead_id, self.lead, self.matches = {}, 0, {}, []
        self.words = dict(english.CARD)
        self.tracking_link, self.link_sent_by = "", ""

    @rx.event
    def submit(self, form_data: dict):
        self.errors = {}
        consumer_id = None
        try:
            with session_scope() as session:
                user = self._load_user(session)
                if user is not None and user.role == "consumer":
                    consumer_id = user.id
                accepted = intake.submit(
                    session,
                    intake.Submission(
                        text=str(form_data.get("text", "")),
                        zip=str(form_data.get("zip", "")),
                        phone=str(form_data.get("phone", "")),
                        email=str(form_data.get("email", "")),
                        name=str(form_data.get("name", "")),
                        preferred_contact=str(form_data.get("preferred_contact", "email")),
                        consent_ai_calls=form_data.get("consent_ai_calls") in (True, "on", "true"),
                        client_ip=self.client_ip(),
                        consumer_id=consumer_id,
                        turnstile_token=str(form_data.get("cf-turnstile-response", "")),
                        form_language=self._form_language,
                    ),
                )
        except intake.SubmissionInvalid as exc:
            self.errors = exc.errors
            return None
        except UserError as exc:
            self.errors = field_errors(exc)
            return None
        self.lead_id = accepted.lead_id
        self.lead = {"status": accepted.status, "status_label": labels.lead_status(accepted.status)}
        return RequestState.follow

    def _refresh(self) -> bool:
        with session_scope() as session:
            self._load_user(session)
            # The id was set by this tab's own submit (a var no event can set from the browser).
            access.allow_leads(session, [self.lead_id])
            view = portal.lead_status_for_submitter(session, self.lead_id)
            if not self.tracking_link:
                shown = follow.confirmation(session, self.lead_id)
                if shown is not None:
                    self.tracking_link, self.link_sent_by = shown.tracking_link, shown.sent_by
        if view is None:
            return True
        self.lead, self.matches = view["lead"], view["matches"]
        self.words = dict(languages.phrases(view["lead"]["language"]).CARD)
        return view["lead"]["status"] not in ("received", "classified")

    @rx.event(background=True)
    async def follow(self):
        """Follow the new request until the pipeline has decided (matched, no match, held for review)."""
        for _ in range(POLL_LIMIT):
            async with self:
                if not self.lead_id or self._refresh():
                    return
            await asyncio.sleep(POLL_SECONDS)


def _match_row(m: rx.Var) -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.icon("store"),
            rx.vstack(
                rx.text(m["name"], weight="bold", class_name="matched-business"),
                note(m["city"], " · ", m["distance"], " · ", m["rating_label"]),
                spacing="0",
            ),
            align="center",
        ),
        width="100%",
    )


def _result() -> rx.Component:
    status, words = RequestState.lead["status"], RequestState.form_words
    return rx.vstack(
        rx.callout(
            words["received"],
            icon="circle-check",
            color_scheme="green",
            id="request-received",
        ),
        rx.cond(
            RequestState.tracking_link != "",
            rx.card(
                rx.vstack(
                    rx.text(RequestState.words["follow_link"], weight="medium"),
                    rx.link(
                        RequestState.tracking_link,
                        href=RequestState.tracking_link,
                        id="tracking-link",
                        word_break="break-all",
                        size="2",
                    ),
                    note(
                        rx.cond(
                            RequestState.link_sent_by != "",
                            RequestState.words["link_sent"]
                            + RequestState.link_sent_by
                            + RequestState.words["link_sent_end"],
                            RequestState.words["bookmark"],
                        ),
                        id="tracking-link-sent",
                    ),
                    spacing="1",
                ),
                width="100%",
            ),
        ),
        rx.hstack(
            rx.text(RequestState.words["status"]),
            rx.badge(RequestState.lead["status_label"], id="request-status", size="2", data_status=status),
            align="center",
        ),
        rx.cond(
            (status == "received") | (status == "classified"),
            rx.hstack(rx.spinner(), rx.text(RequestState.words["finding"]), align="center"),
        ),
        rx.cond(
            RequestState.lead.contains("category"),
            rx.text(
                RequestState.words["read_as"],
                rx.text.strong(RequestState.lead["category_label"]),
                RequestState.words["urgency"],
                rx.text.strong(RequestState.lead["urgency"]),
                id="request-classification",
            ),
        ),
        rx.cond(
            status == "matched",
            rx.vstack(
                rx.heading(RequestState.words["matched"], as_="h2", size="5"),
                rx.text(RequestState.words["notified"], color_scheme="gray"),
                rx.foreach(RequestState.matches, _match_row),
                width="100%",
                id="request-matches",
            ),
        ),
        rx.cond(
            status == "no_match",
            rx.callout(
                RequestState.words["no_match"],
                icon="info",
                id="request-no-match",
            ),
        ),
        rx.cond(
            (status == "flagged") | (status == "low_quality"),
            rx.callout(
                RequestState.words["held"],
                icon="info",
                color_scheme="amber",
                id="request-held",
            ),
        ),
        rx.hstack(
            rx.button(words["another"], on_click=RequestState.reset_form, variant="soft"),
            rx.cond(AuthState.user_role == "consumer", rx.link(rx.button(words["my_requests"]), href=routes.PORTAL)),
        ),
        spacing="4",
        width="100%",
        max_width="40em",
    )


def _turnstile() -> list[rx.Component]:
    """Cloudflare Turnstile's widget when its keys are configured (its token arrives as a form field)."""
    site_key = get_settings().turnstile_site_key
    if not site_key:
        return []
    return [
        rx.script(src="https://challenges.cloudflare.com/turnstile/v0/api.js", custom_attrs={"async": True}),
        rx.el.div(class_name="cf-turnstile", custom_attrs={"data-sitekey": site_key}),
        rx.cond(
            RequestState.errors.contains("turnstile"),
            rx.text(RequestState.errors["turnstile"], color_scheme="red", size="2", id="error-turnstile"),
        ),
    ]


def _contact_choice(value: str, label: rx.Var) -> rx.Component:
    """One way to be contacted: its radio button and its label (" Email", " Phone call", " Text message")."""
    return rx.el.label(rx.radio_group.item(value=value), label, style={"display": "flex", "gap": "0.5em"})


def _form() -> rx.Component:
    errors, words = RequestState.errors, RequestState.form_words
    return server_form(
        RequestState.submit,
        rx.vstack(
            form_error(errors),
            field(
                words["what"],
                "text",
                errors,
                multiline=True,
                required=True,
                placeholder=words["placeholder"],
                hint=words["hint"],
            ),
            field(words["zip"], "zip", errors, required=True, autocomplete="postal-code"),
            field(words["name"], "name", errors, autocomplete="name"),
            field(words["email"], "email", errors, type="email", autocomplete="email"),
            field(words["phone"], "phone", errors, type="tel", autocomplete="tel"),
            rx.vstack(
                rx.el.label(
                    words["contact_how"],
                    html_for="field-preferred_contact",
                    class_name="form-label",
                ),
                rx.radio_group.root(
                    rx.flex(
                        *(_contact_choice(value, words[f"by_{value}"]) for value in ("email", "phone", "sms")),
                        spacing="4",
                        wrap="wrap",
                    ),
                    name="preferred_contact",
                    default_value="email",
                    id="field-preferred_contact",
                ),
                rx.cond(
                    errors.contains("preferred_contact"),
                    rx.text(errors["preferred_contact"], color_scheme="red", size="2"),
                ),
                spacing="1",
            ),
            rx.el.label(
                rx.checkbox(name="consent_ai_calls", id="field-consent_ai_calls"),
                rx.text(words["consent"], size="2"),
                html_for="field-consent_ai_calls",
                style={"display": "flex", "gap": "0.6em", "alignItems": "flex-start"},
            ),
            *_turnstile(),
            rx.button(words["send"], type="submit", size="3", id="request-submit", width="100%"),
            spacing="4",
            width="100%",
        ),
        max_width="40em",
    )


def request_page() -> rx.Component:
    words = RequestState.form_words
    return page(
        rx.heading(words["heading"], size="8", margin_bottom="0.25em"),
        rx.text(
            words["intro"],
            rx.link(words["interview"], href=routes.INTERVIEW),
            ".",
            color_scheme="gray",
            margin_bottom="1.5em",
        ),
        rx.cond(RequestState.lead_id > 0, _result(), _form()),
    )
