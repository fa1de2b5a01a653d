"""A business's public page (`/pros/<id>-<name>`): its profile, verified rating and visible reviews with its replies.

Open to anyone, logged in or not (linked from the consumer's requests and quotes). The id comes from the address
and is only ever looked up by `pros.public_profile`, which shows a listed business's public fields and nothing else;
a missing, unverified or disabled business reads the same "not found".
"""

from __future__ import annotations

import dataclasses

import reflex as rx

from leadapp import routes
from leadapp.components.cards import stacked_card
from leadapp.components.layout import page
from leadapp.components.text import note
from leadapp.core import rls
from leadapp.core.db import session_scope
from leadapp.core.services import pros
from leadapp.state.auth import AuthState

ROUTE = routes.PRO
NOT_LISTED = "This business is not on LeadApp, or no longer: check the link, or find help from the home page."


@dataclasses.dataclass
class ProReview:
    id: str = ""
    stars: str = ""
    stars_label: str = ""
    text: str = ""
    when: str = ""
    reply: str = ""
    reviewer: str = ""


class ProState(AuthState):
    # "checking" until the address was looked up; then "ok" or "missing".
    pro_status: str = "checking"
    pro_name: str = ""
    pro_description: str = ""
    pro_categories: list[str] = []
    pro_area: str = ""
    pro_licensed: bool = False
    pro_insured: bool = False
    pro_rating: str = ""
    pro_review_count: str = ""
    pro_rating_label: str = ""
    pro_reviews: list[ProReview] = []

    @rx.event
    def open(self):
        self.pro_status = "checking"
        business_id = routes.pro_id_from_path(self.router.url.path)
        with session_scope(rls.ANONYMOUS_CONTEXT) as session:
            profile = pros.public_profile(session, business_id)
        if profile is None:
            self.pro_status, self.pro_name, self.pro_reviews = "missing", "", []
            return
        self.pro_name, self.pro_description = profile["name"], profile["description"]
        self.pro_categories, self.pro_area = profile["categories"], profile["service_area"]
        self.pro_licensed, self.pro_insured = bool(profile["licensed"]), bool(profile["insured"])
        self.pro_rating, self.pro_review_count = profile["rating"], profile["review_count"]
        self.pro_rating_label = profile["rating_label"]
        self.pro_reviews = [ProReview(**review) for review in profile["reviews"]]
        self.pro_status = "ok"


def _review(r: ProReview) -> rx.Component:
    return stacked_card(
        rx.hstack(
            rx.text(r.stars_label, " ", r.stars, "/5", class_name="pro-review-stars"),
            rx.text(r.reviewer, weight="medium", size="2", class_name="pro-reviewer"),
            rx.spacer(),
            note(r.when, size="1"),
            width="100%",
            align="center",
            wrap="wrap",
        ),
        rx.cond(r.text != "", rx.text(r.text, white_space="pre-wrap", class_name="pro-review-text")),
        rx.cond(
            r.reply != "",
            rx.box(
                rx.text(rx.text.strong(ProState.pro_name, " replied: "), r.reply, size="2"),
                padding_left="1em",
                border_left="3px solid var(--gray-6)",
                class_name="pro-review-reply",
            ),
        ),
        class_name="pro-review",
        data_review=r.id,
    )


def _profile() -> rx.Component:
    state = ProState
    return rx.vstack(
        rx.heading(state.pro_name, size="8", id="pro-heading"),
        rx.hstack(
            rx.foreach(state.pro_categories, lambda c: rx.badge(c, variant="soft", class_name="pro-category")),
            rx.cond(state.pro_licensed, rx.badge("Licensed", color_scheme="green", variant="outline")),
            rx.cond(state.pro_insured, rx.badge("Insured", color_scheme="green", variant="outline")),
            wrap="wrap",
            spacing="2",
        ),
        rx.text(rx.icon("map-pin", size=14), " ", state.pro_area, size="2", id="pro-area"),
        rx.text(state.pro_rating_label, size="4", weight="bold", id="pro-rating"),
        rx.cond(state.pro_description != "", rx.text(state.pro_description, white_space="pre-wrap")),
        rx.heading("Verified reviews", as_="h2", size="5", margin_top="1em"),
        note("Only a customer whose job this business did can review it, once per job."),
        rx.cond(
            state.pro_reviews.length() > 0,
            rx.vstack(rx.foreach(state.pro_reviews, _review), spacing="3", width="100%", id="pro-reviews"),
            rx.text("No verified reviews yet.", id="pro-no-reviews"),
        ),
        spacing="3",
        width="100%",
        id="pro-profile",
    )


def pro_page() -> rx.Component:
    return page(
        rx.match(
            ProState.pro_status,
            ("ok", _profile()),
            (
                "missing",
                rx.vstack(
                    rx.heading("Business not found", size="8", id="pro-heading"),
                    rx.callout(NOT_LISTED, icon="store", color_scheme="amber", id="pro-missing"),
                    rx.link("Go to the home page", href=routes.HOME),
                    spacing="3",
                ),
            ),
            rx.vstack(
                rx.heading("Business", size="8", id="pro-heading"),
                rx.center(rx.spinner(size="3"), padding="3em"),
            ),
        ),
        max_width="48em",
    )
