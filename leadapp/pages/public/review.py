"""The review page of a converted job (`/review/<token>`), opened from the review link emailed to the consumer.

The token is verified on load and then kept server-side (a backend-only var); posting hands it to the service
again, which checks it once more and stores at most one review per job. Nothing from the browser but the URL and
the form's stars and text is trusted.
"""

from __future__ import annotations

import reflex as rx

from leadapp import routes
from leadapp.components import feedback
from leadapp.components.layout import link_page
from leadapp.components.requests import review_fields
from leadapp.core import languages, rls
from leadapp.core.db import session_scope
from leadapp.core.errors import FieldErrors, UserError
from leadapp.core.languages import english
from leadapp.core.services import reviews
from leadapp.state.auth import AuthState

ROUTE = routes.REVIEW


class ReviewState(AuthState):
    # "checking" until the token was looked at; then "ready" (the form), "done" (reviewed) or "invalid".
    review_status: str = "checking"
    review_business: str = ""
    review_message: str = ""
    review_form_errors: dict[str, str] = {}
    posted_stars: str = ""
    posted_text: str = ""
    # The form's words in the request's language (`core.languages` CARD), as its refusals are; the page's own
    # (REVIEW_PAGE) too, and before the link names a request, in the link's `lang` or else the browser's language.
    review_words: dict[str, str] = dict(english.CARD)
    page_words: dict[str, str] = dict(english.REVIEW_PAGE)
    _token: str = ""  # backend only: never sent to the browser, never taken back from it
    _language: str = ""

    def _look(self) -> None:
        try:
            with session_scope(rls.ANONYMOUS_CONTEXT) as session:
                view = reviews.review_page(session, reviews.ReviewLink(self._token, self._language))
        except UserError as exc:
            self.review_status, self.review_message, self.review_business = "invalid", exc.message, ""
            return
        self.review_business, self._language = view["business_name"], view["language"]
        self._show_language()
        self.posted_stars, self.posted_text = view["stars"], view["text"]
        self.review_status = "done" if view["reviewed"] else "ready"

    def _show_language(self) -> None:
        w = languages.phrases(self._language)
        self.review_words, self.page_words = dict(w.CARD), dict(w.REVIEW_PAGE)

    @rx.event
    def open(self):
        self.review_status, self.review_message, self.review_form_errors = "checking", "", {}
        self._token = routes.last_segment(self.router.url.path)
        self._language = self._visitor_language()
        self._show_language()
        self._look()

    @rx.event
    def submit(self, form_data: dict):
        """Post the review: bad stars or text show under their fields, a used or bad link says so; nothing stored."""
        form = {name: str(form_data.get(name, ""))[:4000] for name in reviews.FIELDS}
        self.review_form_errors, self.review_message = {}, ""
        try:
            with session_scope(rls.ANONYMOUS_CONTEXT) as session:
                reviews.submit_review(session, reviews.ReviewLink(self._token, self._language), form)
        except FieldErrors as exc:
            self.review_form_errors = dict(exc.errors)
            return feedback.failed(languages.phrases(self._language).CHECK_REVIEW + " ".join(exc.errors.values()))
        except UserError as exc:
            self._look()
            self.review_message = exc.message
            return feedback.failed(exc.message)
        self._look()
        return feedback.outcome(languages.phrases(self._language).REVIEW_POSTED, "")


def review_page() -> rx.Component:
    state = ReviewState
    return link_page(
        state.page_words["heading"],
        "review",
        state.review_status,
        (
            "ready",
            rx.form(
                rx.vstack(
                    rx.text(
                        state.page_words["how_did"],
                        rx.text.strong(state.review_business),
                        state.page_words["how_did_end"],
                    ),
                    *review_fields(state.review_form_errors, prefix="review", words=state.review_words),
                    rx.cond(
                        state.review_message != "",
                        rx.callout(state.review_message, color_scheme="red", id="review-refused"),
                    ),
                    rx.button(state.review_words["post_review"], type="submit", size="3", id="review-submit"),
                    spacing="2",
                    width="100%",
                ),
                on_submit=state.submit,
                reset_on_submit=False,
                id="review-form",
            ),
        ),
        (
            "done",
            rx.vstack(
                rx.callout(
                    rx.text(state.page_words["done"], state.review_business, state.page_words["done_end"]),
                    icon="circle-check",
                    color_scheme="green",
                    id="review-done",
                ),
                rx.text(state.posted_stars, state.page_words["stars_of"], id="review-posted-stars"),
                rx.text(state.posted_text, id="review-posted-text"),
                rx.cond(
                    state.review_message != "",
                    rx.callout(state.review_message, color_scheme="amber", id="review-refused"),
                ),
                spacing="2",
                width="100%",
            ),
        ),
        invalid=state.review_message,
        way_on=rx.link(state.page_words["log_in"], href=routes.LOGIN),
    )
