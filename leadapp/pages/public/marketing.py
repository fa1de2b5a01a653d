"""Home, for businesses, pricing and about: what LeadApp is, for visitors."""

from __future__ import annotations

import reflex as rx

from leadapp import routes
from leadapp.components.layout import page
from leadapp.components.text import note
from leadapp.core.vocab import PLAN_CALL_QUOTA, PLAN_LABELS, Plan


def _step(icon: str, title: str, text: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.icon(icon, size=28, color=rx.color("accent", 9)),
            rx.heading(title, as_="h2", size="4"),
            rx.text(text, color_scheme="gray"),
            spacing="2",
        ),
        width="100%",
    )


def home() -> rx.Component:
    return page(
        rx.vstack(
            rx.heading(
                "Describe the problem. Nearby pros answer in seconds.", size=rx.breakpoints(initial="7", md="9")
            ),
            rx.text(
                "LeadApp turns a few words about your leaking water heater, tripping breaker or noisy furnace "
                "into a clear request, finds the best-rated businesses near you, and notifies them by email "
                "and text at once. If a business wants details, its AI assistant can call you — only with "
                "your consent.",
                size="4",
                color_scheme="gray",
            ),
            rx.flex(
                rx.link(rx.button("Get help now", size="4"), href=routes.REQUEST),
                rx.link(rx.button("I run a business", size="4", variant="outline"), href=routes.FOR_BUSINESSES),
                spacing="3",
                wrap="wrap",
            ),
            spacing="5",
            padding_y="2em",
            id="home-hero",
        ),
        rx.heading("How it works", as_="h2", size="6", margin_top="1em", margin_bottom="0.75em"),
        rx.grid(
            _step("message-square-text", "1. Describe it", "Type it in your words or answer a short guided interview."),
            _step("sparkles", "2. We structure it", "An AI classifier finds the trade, urgency, budget and area."),
            _step("map-pin", "3. Matched nearby", "Businesses near you, in their service area, ranked by fit."),
            _step("phone-call", "4. They respond", "Accepted requests show up live; an AI call can qualify the job."),
            columns=rx.breakpoints(initial="1", sm="2", lg="4"),
            spacing="4",
            width="100%",
        ),
    )


def for_businesses() -> rx.Component:
    return page(
        rx.heading("Leads that are ready to talk", size="8", margin_bottom="0.5em"),
        rx.text(
            "Tell LeadApp what you do, where you work and how far you travel. Matching requests appear in "
            "your dashboard the moment they arrive, with the classified details, urgency and budget, and "
            "why they matched you.",
            size="4",
            color_scheme="gray",
        ),
        rx.grid(
            _step("inbox", "Live inbox", "New matches appear without reloading; accept or decline in one click."),
            _step("bot", "AI phone assistant", "Your own voice and script; it qualifies the job and books a time."),
            _step("sliders-horizontal", "You set the pace", "Service radius, monthly lead cap, pause any time."),
            _step("chart-line", "Know what works", "Response time, acceptance and conversion rates, per week."),
            columns=rx.breakpoints(initial="1", sm="2"),
            spacing="4",
            margin_y="2em",
        ),
        rx.link(rx.button("Create a business account", size="4"), href=f"{routes.REGISTER}?role=business_owner"),
    )


_PLAN_TEXT = {
    Plan.FREE: "New leads by email and text message. No AI calls.",
    Plan.STARTER: "Everything in Free, plus AI calls to qualify your leads.",
    Plan.PRO: "For busy teams: more AI calls, priority on emergencies.",
}


def pricing() -> rx.Component:
    cards = [
        rx.card(
            rx.vstack(
                rx.heading(PLAN_LABELS[plan], as_="h2", size="6"),
                rx.text(_PLAN_TEXT[plan], color_scheme="gray"),
                rx.text(
                    f"{PLAN_CALL_QUOTA[plan]} AI calls a month" if PLAN_CALL_QUOTA[plan] else "Notifications only",
                    weight="bold",
                ),
                note("Monthly lead cap: you choose it in your settings."),
                spacing="3",
            ),
            id=f"plan-{plan.value}",
            width="100%",
        )
        for plan in Plan
    ]
    return page(
        rx.heading("Plans", size="8", margin_bottom="0.25em"),
        rx.text("Quotas are enforced; there is no billing yet.", color_scheme="gray", margin_bottom="1.5em"),
        rx.grid(*cards, columns=rx.breakpoints(initial="1", md="3"), spacing="4", width="100%"),
    )


def about() -> rx.Component:
    return page(
        rx.heading("About LeadApp", size="8", margin_bottom="0.5em"),
        rx.vstack(
            rx.text(
                "LeadApp is a reverse marketplace for local services: consumers describe a problem once, and "
                "the right nearby businesses come to them."
            ),
            rx.heading("Privacy", as_="h2", size="5"),
            rx.text(
                "A business never sees your phone number or email until it accepts your request. Phone numbers "
                "are encrypted at rest. AI calls happen only with your explicit consent, announce that they are "
                "an AI assistant and that they are recorded, and you can ask for a human at any time."
            ),
            spacing="3",
            max_width="48em",
        ),
    )
