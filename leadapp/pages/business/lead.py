"""One lead's own page in the owner's dashboard (`/dashboard/leads/<lead id>`): the detail, the call panels and
the actions, with Accept / Decline / AI call in a bar that stays at the bottom of the screen.

It is the only home of the lead detail: the inbox's rows and cards, the new-lead email and SMS all link here.
The page runs on the dashboard's state (`DashboardState`), so the live listener that refreshes an open inbox
refreshes an open lead too. A missing lead, another business's lead and a closed one get the same refusal.
"""

from __future__ import annotations

import reflex as rx

from leadapp import routes
from leadapp.components import feedback
from leadapp.components.cards import stacked_card
from leadapp.components.forms import server_form
from leadapp.components.layout import record_panel
from leadapp.components.record_page import record_page
from leadapp.components.table import row_action
from leadapp.components.text import note
from leadapp.components.threads import LEAD_PHOTO, thread_panel
from leadapp.core.services.access import NOT_YOUR_LEAD
from leadapp.core.services.calls import MAX_HINT_CHARS
from leadapp.pages.business.dashboard import CallView, DashboardState
from leadapp.pages.business.inbox_page import called_you_badge

DECLINE_FORM = "decline-form"
CALL_FORM = "call-form"


def _can_respond() -> rx.Var:
    d = DashboardState.detail
    return (d["status"] != "accepted") & (d["status"] != "converted") & (d["closed_reason"] == "")


def _hint_form(call: CallView) -> rx.Component:
    """Under the live transcript of a call in progress: a hint for the assistant ("offer Thursday 9 am")."""
    field_id = "hint-" + call.id
    return server_form(
        DashboardState.send_hint,
        rx.vstack(
            rx.el.label("Hint for the assistant", html_for=field_id, class_name="field-label"),
            rx.hstack(
                rx.input(
                    name="hint",
                    id=field_id,
                    max_length=MAX_HINT_CHARS,
                    placeholder="e.g. offer Thursday 9 am",
                    class_name="call-hint-input",
                    width="100%",
                ),
                rx.el.input(type="hidden", name="call_id", value=call.id),
                rx.button("Send hint", type="submit", size="2", class_name="send-hint"),
                rx.button(
                    rx.icon("phone-forwarded", size=14),
                    "Take over",
                    type="button",
                    size="2",
                    variant="soft",
                    class_name="take-over",
                    on_click=DashboardState.take_over(call.id),
                ),
                width="100%",
                align="center",
            ),
            rx.cond(
                DashboardState.hint_errors.contains(call.id),
                rx.text(DashboardState.hint_errors[call.id], size="1", color_scheme="red", class_name="hint-error"),
            ),
            spacing="1",
            width="100%",
        ),
        class_name="call-hint-form",
        width="100%",
    )


def _call_panel(call: CallView) -> rx.Component:
    return stacked_card(
        rx.hstack(
            rx.icon("phone", size=16),
            rx.text("AI call", weight="bold"),
            rx.badge(call.type_label, variant="outline", class_name="call-kind", data_kind=call.type),
            rx.cond(
                call.simulated == "yes",
                rx.badge(
                    "Simulation",
                    color_scheme="amber",
                    class_name="call-simulated",
                    title="No phone account is configured: a scripted caller answered from the request",
                ),
            ),
            rx.badge(call.status_label, class_name="call-status", data_status=call.status),
            rx.cond(
                call.outcome != "",
                rx.badge(
                    call.outcome_label, color_scheme="green", class_name="call-outcome", data_outcome=call.outcome
                ),
            ),
            rx.cond(call.scheduled_for != "", rx.text("scheduled for ", call.scheduled_for, size="1")),
            rx.spacer(),
            rx.cond(
                (call.status == "requested") | (call.status == "scheduled"),
                row_action("Cancel", on_click=DashboardState.cancel_call(call.id), class_name="cancel-call"),
            ),
            rx.cond(
                (call.has_recording == "yes") & ~DashboardState.recording_links.contains(call.id),
                row_action(
                    rx.icon("play", size=14),
                    "Recording",
                    on_click=DashboardState.open_recording(call.id),
                    class_name="open-recording",
                ),
            ),
            wrap="wrap",
            width="100%",
            align="center",
        ),
        rx.cond(
            DashboardState.recording_links.contains(call.id),
            rx.el.audio(
                src=DashboardState.recording_links[call.id],
                controls=True,
                preload="auto",
                class_name="call-recording",
                aria_label="Call recording",
                style={"width": "100%"},
            ),
        ),
        rx.foreach(
            call.transcript,
            lambda line: rx.text(
                rx.text.strong(line.speaker_label, ": "),
                line.text,
                size="2",
                class_name="transcript-line",
                data_speaker=line.speaker,
            ),
        ),
        rx.cond(call.status == "in_progress", _hint_form(call)),
        rx.cond(
            call.summary != "",
            rx.text(rx.text.strong("Summary: "), call.summary, size="2", class_name="call-summary"),
        ),
        rx.cond(
            call.quality != "",
            rx.text(rx.text.strong("Call quality: "), call.quality, size="1", class_name="call-quality"),
        ),
        spacing="1",
        class_name="call-panel",
    )


def _quote_field(label: str, name: str, control: rx.Component) -> rx.Component:
    """One field of the quote form with its message under it (`#quote-error-<name>`)."""
    return rx.vstack(
        rx.el.label(label, html_for=f"quote-{name}", class_name="field-label"),
        control,
        rx.cond(
            DashboardState.quote_errors.contains(name),
            rx.text(DashboardState.quote_errors[name], size="1", color_scheme="red", id=f"quote-error-{name}"),
        ),
        spacing="1",
    )


def _quote_form() -> rx.Component:
    """Send a quote: a price (one amount) or a range, what it includes, the last day it holds, a visit time."""
    return server_form(
        DashboardState.send_quote,
        rx.vstack(
            rx.text("Send a quote", weight="bold"),
            rx.hstack(
                _quote_field("From ($)", "amount_min", rx.input(name="amount_min", id="quote-amount_min", width="8em")),
                _quote_field(
                    "To ($, for a range)", "amount_max", rx.input(name="amount_max", id="quote-amount_max", width="8em")
                ),
                _quote_field(
                    "Valid until", "valid_until", rx.input(name="valid_until", id="quote-valid_until", type="date")
                ),
                _quote_field(
                    "Visit (optional)",
                    "visit_at",
                    rx.input(name="visit_at", id="quote-visit_at", type="datetime-local"),
                ),
                wrap="wrap",
                spacing="3",
            ),
            _quote_field(
                "What is included",
                "included",
                rx.text_area(name="included", id="quote-included", max_length=2000, width="100%"),
            ),
            rx.button("Send quote", type="submit", id="send-quote"),
            spacing="2",
            width="100%",
        ),
        id="quote-form",
        width="100%",
    )


def _sent_quote(q: rx.Var) -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.text(q["amount"], weight="bold", class_name="quote-amount"),
            rx.badge(q["status_label"], class_name="quote-status", data_status=q["status"]),
            note("valid until ", q["valid_until"]),
            rx.cond(q["visit"] != "", note("visit ", q["visit"])),
            wrap="wrap",
            align="center",
        ),
        rx.text(q["included"], size="2", white_space="pre-wrap"),
        class_name="sent-quote",
        width="100%",
    )


def _quotes() -> rx.Component:
    d = DashboardState.detail
    can_quote = (d["status"] == "accepted") & (d["closed_reason"] == "") & ~DashboardState.quote_pending
    return rx.vstack(
        rx.cond(
            DashboardState.quotes.length() > 0,
            rx.vstack(
                rx.text("Your quotes", weight="bold", size="2"),
                rx.foreach(DashboardState.quotes, _sent_quote),
                spacing="1",
                width="100%",
                id="sent-quotes",
            ),
        ),
        rx.cond(can_quote, _quote_form()),
        spacing="2",
        width="100%",
    )


def _thread() -> rx.Component:
    """The conversation with the consumer, once the lead is accepted (read-only once the request closed)."""
    d = DashboardState.detail
    return rx.cond(
        (d["status"] == "accepted") | (d["status"] == "converted"),
        thread_panel(
            "Messages with the consumer",
            d["match_id"],
            DashboardState.thread,
            can_write=DashboardState.thread_can_write,
            on_submit=DashboardState.send_message,
            error=DashboardState.message_error,
            empty="No messages yet. Write to the consumer here: they are told by email or text.",
            send_photo=DashboardState.send_photo(rx.upload_files(upload_id=LEAD_PHOTO)),
            photo_upload=LEAD_PHOTO,
        ),
    )


def _review() -> rx.Component:
    """The consumer's verified review of this job, and the business's one reply (a form until it is written)."""
    r = DashboardState.review
    return rx.cond(
        r.contains("id"),
        stacked_card(
            rx.text("The customer's review", weight="bold", size="2"),
            rx.text(r["stars_label"], size="4", color_scheme="amber", id="lead-review-stars", title=r["stars"]),
            rx.text(r["text"], id="lead-review-text"),
            rx.cond(
                r["hidden"] == "yes",
                note("Hidden by LeadApp: ", r["hidden_reason"]),
            ),
            rx.cond(
                r["reply"] != "",
                rx.text(rx.text.strong("Your reply: "), r["reply"], id="review-reply"),
            ),
            rx.cond(
                r["can_reply"] == "yes",
                rx.form(
                    rx.vstack(
                        rx.el.label("Your reply (once)", html_for="review-reply-text", class_name="field-label"),
                        rx.text_area(name="reply", id="review-reply-text", max_length=2000, width="100%"),
                        feedback.error_text(DashboardState.reply_error, "reply-error", size="1"),
                        rx.button("Post reply", type="submit", id="post-reply"),
                        spacing="2",
                        width="100%",
                    ),
                    on_submit=DashboardState.reply_review,
                    reset_on_submit=False,
                    id="reply-form",
                ),
            ),
            id="lead-review",
        ),
    )


def _point_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row["label"]),
        rx.table.cell(row["points"], class_name="factor-points", text_align="right"),
        rx.table.cell(rx.cond(row["max"] != "", rx.text("of ", row["max"], color_scheme="gray"), "")),
        class_name="score-factor",
        data_factor=row["factor"],
    )


def _points_table() -> rx.Component:
    return rx.vstack(
        rx.text("Score, factor by factor", weight="bold", size="2"),
        rx.table.root(
            rx.table.body(
                rx.foreach(DashboardState.points, _point_row),
                rx.table.row(
                    rx.table.row_header_cell("Match score"),
                    rx.table.cell(
                        DashboardState.detail["score_exact"], id="score-total", text_align="right", font_weight="bold"
                    ),
                    rx.table.cell("of 100.0", color_scheme="gray"),
                ),
            ),
            size="1",
            variant="ghost",
            id="score-breakdown",
        ),
        spacing="1",
    )


def _detail() -> rx.Component:
    d = DashboardState.detail
    closed = d["closed_reason"] != ""
    contact = rx.cond(
        d["contact_visible"] == "yes",
        rx.vstack(
            rx.text("Contact", weight="bold"),
            rx.text(d["contact_name"]),
            rx.text(d["contact_email"], id="detail-email"),
            rx.text(d["contact_phone"], id="detail-phone"),
            note("Prefers: ", d["preferred_contact_label"]),
            spacing="1",
        ),
        rx.cond(
            closed,
            rx.callout(d["closed_reason"], icon="archive", color_scheme="gray", id="detail-closed"),
            rx.callout(
                "The consumer's name, email, phone and street address appear once you accept.",
                icon="lock",
                id="detail-contact-hidden",
            ),
        ),
    )
    callback = rx.cond(
        d["callback"] == "yes",
        rx.callout(
            rx.hstack(
                rx.text(
                    "The consumer asked to speak with a person on the AI call",
                    rx.cond(d["callback_since"] != "", rx.text.span(" (", d["callback_since"], ")")),
                    ". Call them back.",
                ),
                row_action("Mark handled", on_click=DashboardState.mark_callback_handled, id="mark-callback-handled"),
                align="center",
                wrap="wrap",
            ),
            icon="phone-incoming",
            color_scheme="orange",
            id="detail-callback",
        ),
    )
    return stacked_card(
        rx.hstack(
            rx.heading(d["category"], as_="h2", size="5"),
            rx.badge(d["urgency_label"]),
            rx.cond(d["language_label"] != "", rx.badge(d["language_label"], id="detail-language")),
            rx.badge(d["status_label"], id="detail-status", data_status=d["status"]),
            rx.cond(d["called_you"] == "yes", called_you_badge(id="detail-called-you")),
            width="100%",
            wrap="wrap",
        ),
        rx.text(d["text"], white_space="pre-wrap", id="detail-text"),
        note("ZIP ", d["zip"], " · ", d["distance"], " · budget ", d["budget"], " · score ", d["score"]),
        rx.cond(d["requirements"] != "", rx.text("Needs: ", d["requirements"], size="2")),
        rx.cond(
            d["called_you"] == "yes",
            rx.callout(
                rx.cond(
                    d["released_at"] != "",
                    rx.text("You released this call to the marketplace on ", d["released_at"], "; it stays yours too."),
                    "This caller phoned your number: the request is yours alone until you release it.",
                ),
                icon="phone-incoming",
                color_scheme="iris",
                id="detail-call-origin",
                data_released=rx.cond(d["released_at"] != "", "yes", "no"),
            ),
        ),
        rx.vstack(
            rx.text("Why it matched you", weight="bold", size="2"),
            rx.foreach(DashboardState.reasons, lambda r: rx.text("• ", r, size="2")),
            spacing="0",
        ),
        rx.cond(DashboardState.points.length() > 0, _points_table()),
        callback,
        contact,
        rx.cond(
            d["can_release"] == "yes",
            rx.flex(
                rx.button(
                    rx.icon("share-2"),
                    "Release to the marketplace",
                    on_click=DashboardState.release,
                    variant="soft",
                    id="release-lead",
                ),
                note("Other businesses nearby are offered it too; you keep it in your inbox.", size="1"),
                spacing="3",
                align="center",
                wrap="wrap",
            ),
        ),
        rx.cond(
            _can_respond(),
            server_form(
                DashboardState.decline,
                rx.hstack(
                    rx.el.label(
                        "Message if you decline (optional)",
                        html_for="decline-message",
                        class_name="field-label",
                    ),
                    rx.input(name="message", id="decline-message"),
                    align="center",
                    wrap="wrap",
                ),
                id=DECLINE_FORM,
            ),
        ),
        rx.cond(
            ~closed,
            server_form(
                DashboardState.request_call,
                rx.hstack(
                    rx.el.label("Call objective", html_for="call-objective"),
                    rx.input(
                        name="objective", id="call-objective", placeholder="e.g. confirm the leak and book a visit"
                    ),
                    align="center",
                    wrap="wrap",
                ),
                _call_when_fields(),
                rx.cond(
                    d["call_allowed"] != "yes",
                    note(d["call_reason"], id="ai-call-reason"),
                ),
                note(d["calls_left_label"], size="1"),
                id=CALL_FORM,
            ),
        ),
        rx.cond(DashboardState.notice != "", rx.callout(DashboardState.notice, icon="check", id="call-notice")),
        rx.foreach(DashboardState.calls, _call_panel),
        _quotes(),
        _thread(),
        _review(),
        rx.cond(
            (d["status"] == "accepted") & ~closed,
            server_form(
                DashboardState.convert,
                rx.hstack(
                    rx.el.label("Job value ($)", html_for="job-value"),
                    rx.input(name="job_value", id="job-value", width="8em"),
                    rx.button("Mark converted", type="submit", id="convert-lead"),
                    align="center",
                    wrap="wrap",
                ),
            ),
        ),
        spacing="3",
        id="lead-detail",
    )


def _call_error(field: str) -> rx.Component:
    return rx.cond(
        DashboardState.error_field == field,
        rx.text(DashboardState.error, size="1", color_scheme="red", id=f"{field.replace('_', '-')}-error"),
    )


def _call_when_fields() -> rx.Component:
    """What the AI call is for (qualify; confirm the visit of an accepted quote; follow up a converted job) and
    when: empty for the next calling window, or a time in the consumer's own zone, named beside the field."""
    return rx.flex(
        rx.vstack(
            rx.el.label("Kind of call", html_for="call-type", class_name="field-label"),
            rx.el.select(
                rx.foreach(DashboardState.call_kinds, lambda k: rx.el.option(k["label"], value=k["value"])),
                name="call_type",
                id="call-type",
                class_name="rt-reset rt-SelectTrigger rt-r-size-2 rt-variant-surface",
            ),
            _call_error("call_type"),
            spacing="1",
        ),
        rx.vstack(
            rx.el.label("When (optional, the consumer's time)", html_for="call-when", class_name="field-label"),
            rx.input(name="call_when", id="call-when", type="datetime-local"),
            note("Consumer's zone: ", DashboardState.detail["call_zone"], size="1", id="call-zone"),
            _call_error("call_when"),
            spacing="1",
        ),
        spacing="3",
        wrap="wrap",
        align="start",
    )


def _respond_buttons() -> rx.Component:
    """Accept, and Decline (which submits the decline form and its optional message)."""
    return rx.fragment(
        rx.button(rx.icon("check"), "Accept", on_click=DashboardState.accept, id="accept-lead", color_scheme="green"),
        rx.button(
            rx.icon("x"),
            "Decline",
            type="submit",
            variant="soft",
            color_scheme="red",
            id="decline-lead",
            custom_attrs={"form": DECLINE_FORM},
        ),
    )


def _action_bar() -> rx.Component:
    """Accept / Decline / AI call: always in reach at the bottom of the screen (a phone's thumb zone). Decline
    and AI call submit the forms above them (their optional message and objective)."""
    d = DashboardState.detail
    closed = d["closed_reason"] != ""
    return rx.cond(
        ~closed,
        rx.flex(
            rx.cond(_can_respond(), _respond_buttons()),
            rx.button(
                rx.icon("phone-call"),
                "AI call",
                type="submit",
                id="ai-call",
                disabled=d["call_allowed"] != "yes",
                title=d["call_reason"],
                custom_attrs={"form": CALL_FORM},
            ),
            spacing="3",
            wrap="wrap",
            justify="end",
            id="lead-actions",
            position="sticky",
            bottom="0",
            z_index="5",
            padding="0.75em 1em",
            margin_x="-1em",
            background_color=rx.color("gray", 2),
            border_top=f"1px solid {rx.color('gray', 5)}",
            style={"@media (max-width: 640px)": {"& > button": {"flex": "1 1 0", "minHeight": "44px"}}},
        ),
    )


def _refused() -> rx.Component:
    return rx.callout(
        NOT_YOUR_LEAD + " It may be another business's, closed, or the address may be mistyped.",
        icon="shield-alert",
        color_scheme="red",
        size="3",
        id="lead-refused",
    )


def lead_page() -> rx.Component:
    return record_page(
        "business",
        ("Inbox", routes.DASHBOARD, "back-to-inbox"),
        "Lead",
        feedback.error_callout(DashboardState.error),
        rx.cond(
            DashboardState.gone != "",
            rx.callout(DashboardState.gone, icon="archive", color_scheme="gray", id="detail-gone"),
        ),
        record_panel(
            DashboardState.lead_view,
            _refused(),
            rx.cond(
                DashboardState.detail.contains("match_id"),
                rx.vstack(_detail(), _action_bar(), spacing="0", width="100%"),
            ),
        ),
        title_id="lead-heading",
        title_size="6",
        max_width="56em",
    )
