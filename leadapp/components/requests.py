"""A consumer's request as a card: status, classification, matched businesses and the consumer's actions.

Shared by the portal (logged in) and the tracking page (magic link); each passes its own event handlers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import reflex as rx

from leadapp import routes
from leadapp.components.cards import stacked_card
from leadapp.components.confirm import confirm_dialog
from leadapp.components.forms import server_form
from leadapp.components.text import note
from leadapp.components.threads import PORTAL_PHOTO, ThreadView, thread_panel, thread_view
from leadapp.core import languages
from leadapp.core.languages import english

CODE_SENT = english.CODE_SENT
PHONE_VERIFIED = english.PHONE_VERIFIED


@dataclasses.dataclass
class MatchView:
    name: str = ""
    # The business's public page (`routes.pro`), linked once it took the request.
    business_href: str = ""
    city: str = ""
    rating: str = ""
    # The verified rating and count ("★ 4.6 (12 verified reviews)", or "No verified reviews yet").
    rating_label: str = ""
    distance: str = ""
    status: str = ""
    # The badge of a business that took the request, in the request's language ("Accepted", "La aceptó").
    taken_label: str = ""


@dataclasses.dataclass
class QuoteView:
    """A business's quote as the consumer compares it (`quotes.quote_view`)."""

    id: str = ""
    business_name: str = ""
    # The quoting business's public page (`routes.pro`).
    business_href: str = ""
    amount: str = ""
    included: str = ""
    valid_until: str = ""
    visit: str = ""
    status: str = ""
    status_label: str = ""
    can_accept: str = ""


QUOTE_FIELDS = tuple(f.name for f in dataclasses.fields(QuoteView) if f.name != "business_href")


def _quote_view(q: dict[str, str]) -> QuoteView:
    view = QuoteView(**{name: q.get(name, "") for name in QUOTE_FIELDS})
    view.business_href = routes.pro(q["business_id"], q["business_name"]) if q.get("business_id") else ""
    return view


@dataclasses.dataclass
class RequestView:
    id: str = ""
    status: str = ""
    status_label: str = ""
    text: str = ""
    created_at: str = ""
    created_exact: str = ""
    category_label: str = ""
    urgency: str = ""
    # "" when the action is possible, else why not (shown on the disabled button).
    withdraw_reason: str = ""
    callback_reason: str = ""
    # Whose call a callback would be ("concierge": LeadApp's own, before any business accepted; "business"),
    # and the words saying so, shown before the consumer confirms.
    callback_kind: str = ""
    callback_explanation: str = ""
    call_status: str = ""
    # "needed" while the number of a request with AI-call consent is not verified by a texted code.
    phone_check: str = ""
    phone_last4: str = ""
    # How many matched businesses took the request, and the line saying so ("" when none yet).
    accepted_count: int = 0
    accepted_label: str = ""
    # How many businesses it was sent to and how many have seen it ("" before any).
    reach_label: str = ""
    matches: list[MatchView] = dataclasses.field(default_factory=list)
    # The businesses' quotes, side by side (lowest value first).
    quotes: list[QuoteView] = dataclasses.field(default_factory=list)
    # The converted job to review (`reviews.reviews_by_lead`): its conversion, the business, and the review once
    # written ("yes"), with the business's reply; "" fields when there is no converted job.
    review_conversion_id: str = ""
    review_business: str = ""
    reviewed: str = ""
    review_stars: str = ""
    review_text: str = ""
    review_reply: str = ""
    review_hidden: str = ""
    # One conversation per business that took the request (`messages.threads_by_lead`).
    threads: list[ThreadView] = dataclasses.field(default_factory=list)
    # The card's own words in the request's language (`languages.phrases(...).CARD`, same keys in each), and that
    # language ("en", "es": the page's notices about the card's actions read it).
    words: dict[str, str] = dataclasses.field(default_factory=dict)
    language: str = ""


# Which of the card's fields come from which part of a row, under the same name unless mapped.
_LEAD_FIELDS = ("id", "status", "status_label", "text", "created_at")
_LEAD_OPTIONAL = ("created_exact", "category_label", "urgency", "language")
_ROW_OPTIONAL = (
    "withdraw_reason",
    "callback_reason",
    "callback_kind",
    "callback_explanation",
    "call_status",
    "phone_check",
    "phone_last4",
    "accepted_label",
    "reach_label",
)
_REVIEW_FIELDS = {
    "review_conversion_id": "conversion_id",
    "review_business": "business_name",
    "reviewed": "reviewed",
    "review_stars": "stars",
    "review_text": "text",
    "review_reply": "reply",
    "review_hidden": "hidden",
}
_MATCH_FIELDS = ("name", "city", "rating", "distance", "status", "taken_label")


def _match_view(m: dict[str, Any]) -> MatchView:
    href = routes.pro(m["business_id"], m["name"]) if m.get("business_id") else ""
    return MatchView(
        **{name: m[name] for name in _MATCH_FIELDS}, business_href=href, rating_label=m.get("rating_label", "")
    )


def request_view(row: dict[str, Any]) -> RequestView:
    """A row of `portal.consumer_leads` / `portal.request_view` as the card shows it (no contact details)."""
    lead = row["lead"]
    review = row.get("review") or {}
    return RequestView(
        **{name: lead[name] for name in _LEAD_FIELDS},
        **{name: lead.get(name, "") for name in _LEAD_OPTIONAL},
        **{name: row.get(name, "") for name in _ROW_OPTIONAL},
        **{name: review.get(key, "") for name, key in _REVIEW_FIELDS.items()},
        accepted_count=int(row.get("accepted_count", 0)),
        matches=[_match_view(m) for m in row["matches"]],
        quotes=[_quote_view(q) for q in row.get("quotes", [])],
        threads=[thread_view(t) for t in row.get("threads", [])],
        words=dict(languages.phrases(lead.get("language")).CARD),
    )


def _match(m: MatchView) -> rx.Component:
    """A matched business; its name links to its public page once it took the request."""
    taken = (m.status == "accepted") | (m.status == "converted")
    return rx.hstack(
        rx.icon("store", size=16),
        rx.cond(
            taken & (m.business_href != ""),
            rx.link(m.name, href=m.business_href, weight="medium", class_name="matched-business business-page-link"),
            rx.text(m.name, weight="medium", class_name="matched-business"),
        ),
        note(m.city, " · ", m.distance, " · ", m.rating_label, class_name="match-rating"),
        rx.cond(taken, rx.badge(m.taken_label, color_scheme="green", variant="soft", class_name="match-accepted")),
        wrap="wrap",
        align="center",
    )


def _quote(q: QuoteView, accept_quote: Callable[[Any], Any] | None, words: rx.Var) -> rx.Component:
    """One quote in the row of quotes; "Accept" while it is open (when the page lets the consumer accept)."""
    return rx.card(
        rx.vstack(
            rx.cond(
                q.business_href != "",
                rx.link(q.business_name, href=q.business_href, weight="bold", class_name="quote-business"),
                rx.text(q.business_name, weight="bold", class_name="quote-business"),
            ),
            rx.text(q.amount, size="5", weight="bold", class_name="quote-amount"),
            rx.badge(q.status_label, class_name="quote-status", data_status=q.status),
            rx.text(q.included, size="2", white_space="pre-wrap", class_name="quote-included"),
            note(words["valid_until"], q.valid_until, size="1"),
            rx.cond(q.visit != "", note(words["visit"], q.visit, size="1")),
            *(
                [
                    rx.cond(
                        q.can_accept == "yes",
                        rx.button(
                            words["accept_quote"],
                            on_click=accept_quote(q.id),
                            color_scheme="green",
                            class_name="accept-quote",
                        ),
                    )
                ]
                if accept_quote is not None
                else []
            ),
            spacing="1",
        ),
        class_name="consumer-quote",
        data_status=q.status,
        min_width="14em",
        flex="1 1 14em",
    )


def _quotes(r: RequestView, accept_quote: Callable[[Any], Any] | None) -> rx.Component:
    return rx.cond(
        r.quotes.length() > 0,
        rx.vstack(
            rx.text(r.words["quotes"], weight="bold", size="2"),
            rx.flex(
                rx.foreach(r.quotes, lambda q: _quote(q, accept_quote, r.words)), wrap="wrap", spacing="2", width="100%"
            ),
            spacing="1",
            width="100%",
            class_name="request-quotes",
        ),
    )


def _threads(
    r: RequestView, send_message: Any | None, errors: rx.Var | None, send_photo: Callable[[Any], Any] | None
) -> rx.Component:
    """The conversation with each business that took the request; the form only where the page lets the consumer
    write (the portal), read-only elsewhere."""
    return rx.foreach(
        r.threads,
        lambda t: thread_panel(
            r.words["messages_with"] + t.business_name,
            t.match_id,
            t.messages,
            can_write=t.can_write if send_message is not None else rx.Var.create(""),
            on_submit=send_message,
            error=errors[t.match_id] if errors is not None else rx.Var.create(""),
            empty=r.words["no_messages"],
            send_photo=send_photo(t.match_id) if send_photo is not None and send_message is not None else None,
            photo_upload=PORTAL_PHOTO,
            words=r.words,
        ),
    )


def _callback(r: RequestView, callback: Callable[[Any], Any]) -> rx.Component:
    """ "Request a callback" asks first, saying whose call it will be (LeadApp's concierge, or the business's)."""
    return confirm_dialog(
        rx.cond(r.callback_kind == "concierge", r.words["concierge_call"], r.words["business_call"]),
        rx.alert_dialog.description(r.callback_explanation, class_name="callback-explanation"),
        rx.button(r.words["not_now"], variant="soft", color_scheme="gray", class_name="cancel-callback"),
        rx.button(r.words["call_me"], on_click=callback(r.id), class_name="confirm-callback"),
        trigger=rx.button(
            rx.icon("phone-incoming", size=16),
            r.words["request_callback"],
            disabled=r.callback_reason != "",
            title=r.callback_reason,
            variant="soft",
            class_name="request-callback",
        ),
        content_props={"class_name": "callback-dialog", "data_kind": r.callback_kind},
    )


def phone_code_check(
    intro: rx.Component,
    send: rx.Component,
    verify_code: Any,
    *hidden: rx.Component,
    code_props: dict[str, Any],
    verify_props: dict[str, Any],
    words: Any = english.CARD,
    **props: Any,
) -> rx.Component:
    """What a number to verify shows: `intro`, the `send` button, then the field for the 6-digit code texted to it
    (the phone offers it from the message) and "Verify", which sends the code (and the `hidden` inputs); `words`
    the field's and button's (a CARD of `core.languages`, or the card's Var in its request's language)."""
    code = rx.input(
        name="code",
        placeholder=words["code_placeholder"],
        max_length=6,
        input_mode="numeric",
        auto_complete="one-time-code",
        aria_label=words["code_label"],
        **code_props,
    )
    return rx.vstack(
        intro,
        rx.hstack(
            send,
            server_form(
                verify_code,
                rx.hstack(*hidden, code, rx.button(words["verify"], type="submit", **verify_props)),
                reset=True,
            ),
            wrap="wrap",
            spacing="2",
        ),
        spacing="1",
        **props,
    )


def _phone_check(r: RequestView, send_code: Callable[[Any], Any], verify_code: Any) -> rx.Component:
    """ "Send code", then the 6-digit code texted to the request's number: until then no AI call reaches it."""
    return rx.cond(
        r.phone_check == "needed",
        phone_code_check(
            rx.text(
                r.words["verify_intro"],
                r.phone_last4,
                r.words["verify_tail"],
                size="2",
            ),
            rx.button(
                rx.icon("message-square", size=16),
                r.words["send_code"],
                on_click=send_code(r.id),
                variant="soft",
                class_name="send-phone-code",
            ),
            verify_code,
            rx.el.input(type="hidden", name="lead", value=r.id),
            code_props={"class_name": "phone-code-input"},
            verify_props={"class_name": "verify-phone-code"},
            words=r.words,
            class_name="phone-check",
        ),
    )


def _actions(r: RequestView, withdraw: Callable[[Any], Any], callback: Callable[[Any], Any]) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            _callback(r, callback),
            rx.button(
                rx.icon("undo-2", size=16),
                r.words["withdraw"],
                on_click=withdraw(r.id),
                disabled=r.withdraw_reason != "",
                title=r.withdraw_reason,
                variant="soft",
                color_scheme="red",
                class_name="withdraw-request",
            ),
            wrap="wrap",
            spacing="2",
        ),
        rx.cond(
            r.callback_reason != "",
            note(r.callback_reason, size="1", class_name="callback-reason"),
        ),
        spacing="1",
    )


# The stars to choose from: (value, its label's CARD key in `core.languages`).
STAR_CHOICES = (("", "stars_choose"), *((str(n), f"stars_{n}") for n in range(5, 0, -1)))


def review_fields(errors: rx.Var, prefix: str | rx.Var = "review", words: Any = english.CARD) -> list[rx.Component]:
    """The stars (1-5) and text fields of a review form, each with its message under it (`#<prefix>-error-<name>`);
    `words` their labels (a CARD of `core.languages`, or the card's Var in its request's language)."""
    return [
        rx.el.label(words["stars"], html_for=f"{prefix}-stars", class_name="field-label"),
        rx.el.select(
            *(rx.el.option(words[key], value=value) for value, key in STAR_CHOICES),
            name="stars",
            id=f"{prefix}-stars",
            class_name="rt-reset rt-SelectTrigger rt-r-size-2 rt-variant-surface",
        ),
        rx.cond(
            errors.contains("stars"), rx.text(errors["stars"], size="1", color_scheme="red", id=f"{prefix}-error-stars")
        ),
        rx.el.label(words["review_text"], html_for=f"{prefix}-text", class_name="field-label"),
        rx.text_area(name="text", id=f"{prefix}-text", max_length=2000, width="100%"),
        rx.cond(
            errors.contains("text"), rx.text(errors["text"], size="1", color_scheme="red", id=f"{prefix}-error-text")
        ),
    ]


def _review(r: RequestView, submit_review: Any | None, errors: rx.Var | None) -> rx.Component:
    """The converted job's review: as written (with the business's reply), or a form when the page lets the consumer
    review from here."""
    written = rx.vstack(
        rx.text(r.words["your_review_of"], r.review_business, weight="bold", size="2"),
        rx.cond(
            r.review_hidden == "yes",
            note(r.words["review_hidden"]),
            rx.fragment(
                rx.text(r.review_stars, r.words["of_5_stars"], class_name="my-review-stars"),
                rx.text(r.review_text, class_name="my-review-text"),
            ),
        ),
        rx.cond(
            r.review_reply != "",
            rx.text(rx.text.strong(r.review_business, r.words["replied"]), r.review_reply, class_name="review-reply"),
        ),
        spacing="1",
        width="100%",
        class_name="request-review",
    )
    form = (
        rx.form(
            rx.vstack(
                rx.text(r.words["review"], r.review_business, weight="bold", size="2"),
                rx.el.input(type="hidden", name="conversion_id", value=r.review_conversion_id),
                *review_fields(
                    errors if errors is not None else rx.Var.create({}), prefix=f"request-{r.id}-review", words=r.words
                ),
                rx.button(r.words["post_review"], type="submit", class_name="post-review"),
                spacing="1",
                width="100%",
            ),
            on_submit=submit_review,
            reset_on_submit=False,
            class_name="review-form",
        )
        if submit_review is not None
        else rx.text(r.words["review_by_email"], size="2")
    )
    return rx.cond(r.review_conversion_id != "", rx.cond(r.reviewed == "yes", written, form))


def request_card(
    r: RequestView,
    *,
    withdraw: Callable[[Any], Any],
    callback: Callable[[Any], Any],
    send_code: Callable[[Any], Any],
    verify_code: Any,
    href: rx.Var | None = None,
    accept_quote: Callable[[Any], Any] | None = None,
    submit_review: Any | None = None,
    review_errors: rx.Var | None = None,
    send_message: Any | None = None,
    message_errors: rx.Var | None = None,
    send_photo: Callable[[Any], Any] | None = None,
) -> rx.Component:
    """One request; `withdraw(id)` / `callback(id)` / `send_code(id)` give the event the buttons fire, `verify_code`
    the handler of the code form (form data: `lead`, `code`); `href`, when given, is the request's own page (linked
    from the card in a list); `accept_quote(quote id)`, when given, the event of a quote's "Accept" button (without
    it the quotes are shown only); `submit_review`, when given, the handler of the review form of a converted job
    (form data: `conversion_id`, `stars`, `text`; `review_errors` its messages per field); `send_message`, when
    given, the handler of each conversation's form (form data: `match_id`, `body`; `message_errors` the refusal per
    match id); `send_photo(match id)`, when given, the events of its "Send photo"."""
    return stacked_card(
        rx.hstack(
            rx.badge(r.status_label, size="2", class_name="request-status"),
            rx.cond(r.category_label != "", rx.badge(r.category_label, variant="outline")),
            rx.cond(r.urgency != "", rx.badge(r.urgency, variant="outline")),
            rx.spacer(),
            note(r.created_at, title=r.created_exact, size="1", class_name="request-time"),
            *([rx.link(r.words["open"], href=href, size="2", class_name="open-request")] if href is not None else []),
            wrap="wrap",
            width="100%",
        ),
        rx.text(r.text),
        rx.cond(
            r.call_status != "",
            rx.text(rx.icon("phone", size=14), " ", r.call_status, size="2", class_name="request-call"),
        ),
        rx.cond(
            r.accepted_label != "",
            rx.text(
                rx.icon("circle-check", size=14),
                " ",
                r.accepted_label,
                size="2",
                color_scheme="green",
                class_name="request-accepted",
            ),
        ),
        rx.cond(
            r.reach_label != "",
            rx.text(rx.icon("send", size=14), " ", r.reach_label, size="2", class_name="request-reach"),
        ),
        rx.cond(
            r.matches.length() > 0,
            rx.vstack(rx.text(r.words["matched"], weight="bold", size="2"), rx.foreach(r.matches, _match), spacing="1"),
        ),
        _quotes(r, accept_quote),
        _threads(r, send_message, message_errors, send_photo),
        _review(r, submit_review, review_errors),
        _phone_check(r, send_code, verify_code),
        _actions(r, withdraw, callback),
        class_name="portal-request",
    )


def action_messages(notice: rx.Var, error: rx.Var, prefix: str) -> rx.Component:
    """The outcome of the last action: `#<prefix>-notice` or `#<prefix>-error`."""
    return rx.fragment(
        rx.cond(notice != "", rx.callout(notice, icon="circle-check", color_scheme="green", id=f"{prefix}-notice")),
        rx.cond(error != "", rx.callout(error, icon="triangle-alert", color_scheme="red", id=f"{prefix}-error")),
    )


def no_ai_calls_card(
    checked: rx.Var,
    on_change: Any,
    disabled: rx.Var,
    explanation: str | rx.Var,
    *notes: rx.Component,
    label: str | rx.Var = english.CARD["no_ai_calls"],
    **props: Any,
) -> rx.Component:
    """The "No AI calls" switch in a card: what it does (`explanation`), then `notes` (why it cannot change).

    The portal's switch covers every number of an account, the tracking page's the request's own number.
    """
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.switch(checked=checked, on_change=on_change, disabled=disabled, id="no-ai-calls"),
                rx.el.label(label, html_for="no-ai-calls", style={"fontWeight": "600"}),
                align="center",
                spacing="2",
            ),
            note(explanation),
            *notes,
            spacing="2",
            width="100%",
        ),
        width="100%",
        id="ai-calls-card",
        **props,
    )
