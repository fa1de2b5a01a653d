"""Admin: one lead's page (`/admin/leads/<id>`) and one call's page (`/admin/calls/<id>`), each linked from its
list. A missing record and a malformed address get the same "No such …" page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx
from sqlmodel import Session

from leadapp import routes
from leadapp.components import feedback
from leadapp.components.cards import stacked_card
from leadapp.components.layout import record_panel
from leadapp.components.record_page import record_page
from leadapp.components.text import note
from leadapp.core.models import User
from leadapp.core.services import access, admin_records, call_quality, reviews
from leadapp.pages.admin.ops_frame import record_list
from leadapp.state.auth import AuthState


def _record(state: AuthState, fetch: Callable[[Session, User | None, int], dict[str, Any]]) -> dict | None:
    """`fetch(session, admin, the id in the address)`, or None when refused (not an admin, no such record or a
    malformed address: one answer for all)."""
    record_id = routes.id_from_path(state.router.url.path)
    return state._attempt(access.Area.ADMIN, lambda s, admin: fetch(s, admin, record_id))[0]


class AdminLeadState(AuthState):
    lead_page: str = ""  # "" until it looked, then "ok" or "refused"
    lead: dict[str, str] = {}
    matches: list[dict[str, str]] = []
    lead_calls: list[dict[str, str]] = []
    # The verified reviews of this lead's jobs (hidden ones too), and why hiding one was refused.
    lead_reviews: list[dict[str, str]] = []
    hide_error: str = ""
    _lead_id: int = 0  # backend only: the lead this page shows

    @rx.event
    def open_lead(self):
        self.lead_page, self.lead, self.matches, self.lead_calls = "", {}, [], []
        self.lead_reviews, self.hide_error, self._lead_id = [], "", 0

        def fetch(session: Session, admin: User | None, lead_id: int) -> dict[str, Any]:
            return {
                **admin_records.lead_record(session, admin, lead_id),
                "reviews": reviews.reviews_of_lead(session, admin, lead_id),
                "id": lead_id,
            }

        record = _record(self, fetch)
        if record is None:
            self.lead_page = "refused"
            return
        self.lead, self.matches, self.lead_calls = record["lead"], record["matches"], record["calls"]
        self.lead_reviews, self._lead_id = record["reviews"], record["id"]
        self.lead_page = "ok"

    @rx.event
    def hide_review(self, form_data: dict):
        """Hide one review of this lead with a reason (audited); it leaves every view and the business's rating."""
        review_id = str(form_data.get("review_id", ""))
        reason = str(form_data.get("reason", ""))[:1000]
        shown = {r["id"] for r in self.lead_reviews}
        self.hide_error = ""
        if not review_id.isdigit() or review_id not in shown:
            self.hide_error = "No such review on this lead."
            return feedback.failed(self.hide_error)
        _, self.hide_error = self._attempt(
            access.Area.ADMIN, lambda s, admin: reviews.hide_review(s, admin, int(review_id), reason)
        )
        if self.hide_error:
            return feedback.failed(self.hide_error)
        shown_now, self.hide_error = self._attempt(
            access.Area.ADMIN, lambda s, admin: reviews.reviews_of_lead(s, admin, self._lead_id)
        )
        if self.hide_error:
            return feedback.failed(self.hide_error)
        self.lead_reviews = shown_now
        return feedback.outcome("Review hidden: it is shown nowhere and left out of the rating.", "")


class AdminCallState(AuthState):
    call_page: str = ""  # "" until it looked, then "ok" or "refused"
    call: dict[str, str] = {}
    transcript: list[dict[str, str]] = []

    @rx.event
    def open_call(self):
        self.call_page, self.call, self.transcript = "", {}, []
        record = _record(self, admin_records.call_record)
        if record is None:
            self.call_page = "refused"
            return
        self.call, self.transcript = record["call"], record["transcript"]
        self.call_page = "ok"


def _record_page(kind: str, back: str, back_href: str, shown: rx.Var, refused: str, detail: rx.Component):
    """One record's page: the link back to its list, the title, then a spinner, the "No such …" notice or
    `detail` as `shown` says ("", "refused" or "ok"). Element ids follow `kind` ("lead", "call")."""
    return record_page(
        "admin",
        (back, back_href, f"back-to-{back.lower()}"),
        kind.capitalize(),
        record_panel(
            shown, rx.callout(refused, icon="search-x", color_scheme="red", id=f"admin-{kind}-refused"), detail
        ),
        max_width="56em",
    )


def _fact(label: str, value: rx.Var) -> rx.Component:
    return rx.cond(
        value != "",
        rx.hstack(rx.text(label, weight="medium", size="2", min_width="8em"), rx.text(value, size="2"), spacing="2"),
    )


def _call_link(c: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.link("Call #", c["id"], href=rx.Var.create(f"/admin/calls/{c['id']}"), class_name="open-call", size="2"),
        note(c["created_at"], size="1"),
        rx.text(c["business"], size="2"),
        rx.badge(c["status"], variant="soft"),
        rx.cond(c["outcome"] != "", rx.badge(c["outcome"], color_scheme="green")),
        wrap="wrap",
        spacing="2",
        align="center",
        class_name="admin-lead-call",
    )


def _admin_review(r: rx.Var) -> rx.Component:
    return stacked_card(
        rx.hstack(
            rx.text(r["business_name"], weight="bold"),
            rx.text(r["stars_label"], color_scheme="amber"),
            rx.cond(r["hidden"] == "yes", rx.badge("Hidden", color_scheme="gray", class_name="review-hidden")),
            wrap="wrap",
            align="center",
        ),
        rx.text(r["text"], size="2"),
        rx.cond(r["reply"] != "", rx.text(rx.text.strong("Reply: "), r["reply"], size="2")),
        rx.cond(
            r["hidden"] == "yes",
            note("Hidden because: ", r["hidden_reason"]),
            rx.form(
                rx.hstack(
                    rx.el.input(type="hidden", name="review_id", value=r["id"]),
                    rx.input(name="reason", placeholder="Why hide it (shown in the audit trail)", width="20em"),
                    rx.button("Hide review", type="submit", color_scheme="red", variant="soft"),
                    wrap="wrap",
                    spacing="2",
                ),
                on_submit=AdminLeadState.hide_review,
                class_name="hide-review-form",
            ),
        ),
        spacing="1",
        class_name="admin-review",
    )


def _detail(kind: str, record: rx.Var, badges: list[rx.Component], *children: rx.Component) -> rx.Component:
    """One record's card: "<Kind> #<id>" and its badges on one line, then `children`."""
    return stacked_card(
        rx.hstack(
            rx.heading(f"{kind.capitalize()} #", record["id"], as_="h2", size="5", id=f"admin-{kind}-id"),
            *badges,
            wrap="wrap",
            align="center",
        ),
        *children,
        id=f"admin-{kind}-detail",
    )


def _facts(record: rx.Var, facts: list[tuple[str, str]]) -> list[rx.Component]:
    return [_fact(label, record[key]) for label, key in facts]


def _lead_detail() -> rx.Component:
    d = AdminLeadState.lead
    return _detail(
        "lead",
        d,
        [
            rx.badge(d["status"], id="admin-lead-status"),
            rx.cond(d["category"] != "", rx.badge(d["category"], variant="outline")),
            rx.cond(d["urgency"] != "", rx.badge(d["urgency"], variant="outline")),
        ],
        rx.text(d["text"], white_space="pre-wrap", id="admin-lead-text"),
        *_facts(
            d,
            [
                ("Received", "created_at"),
                ("ZIP", "zip"),
                ("Quality", "quality"),
                ("Source", "source"),
                ("Contact", "contact"),
                ("Phone", "phone"),
                ("Flagged", "flagged"),
                ("Spam", "spam"),
            ],
        ),
        rx.cond(
            d["consumer_id"] != "",
            rx.link(
                "The consumer's account",
                href=rx.Var.create(f"/admin/users/{d['consumer_id']}"),
                id="admin-lead-consumer",
                size="2",
            ),
        ),
        record_list(
            "Matched businesses",
            AdminLeadState.matches,
            _match_line,
            "None.",
        ),
        record_list("Calls", AdminLeadState.lead_calls, _call_link, "None."),
        record_list(
            "Reviews",
            AdminLeadState.lead_reviews,
            _admin_review,
            "None.",
            feedback.error_callout(AdminLeadState.hide_error, "hide-review-error"),
            spacing="2",
            width="100%",
        ),
    )


def _match_line(m: rx.Var) -> rx.Component:
    return rx.text(m["business"], " · ", m["status"], " · score ", m["score"], " · ", m["distance"], size="2")


def admin_lead_page() -> rx.Component:
    return _record_page(
        "lead", "Leads", routes.ADMIN_LEADS, AdminLeadState.lead_page, admin_records.NO_SUCH_LEAD, _lead_detail()
    )


def _call_detail() -> rx.Component:
    c = AdminCallState.call
    return _detail(
        "call",
        c,
        [
            rx.badge(c["status"], id="admin-call-status"),
            rx.cond(c["outcome"] != "", rx.badge(c["outcome"], color_scheme="green", id="admin-call-outcome")),
        ],
        *_facts(
            c,
            [
                ("Placed", "created_at"),
                ("For", "business"),
                ("Type", "call_type"),
                ("Direction", "direction"),
                ("Number", "number"),
                ("Objective", "objective"),
                ("Duration", "duration"),
                ("Cost", "cost"),
                ("Error", "error"),
            ],
        ),
        rx.vstack(
            rx.text("Call quality", weight="bold", size="2"),
            *_facts(c, list(call_quality.QUALITY_FACTS)),
            spacing="1",
            id="admin-call-quality",
        ),
        rx.cond(
            c["lead_id"] != "",
            rx.link("Lead #", c["lead_id"], href=rx.Var.create(f"/admin/leads/{c['lead_id']}"), id="admin-call-lead"),
        ),
        rx.cond(c["summary"] != "", rx.text(rx.text.strong("Summary: "), c["summary"], size="2")),
        rx.foreach(
            AdminCallState.transcript,
            lambda line: rx.text(
                rx.text.strong(line["speaker"], ": "), line["text"], size="2", class_name="transcript-line"
            ),
        ),
    )


def admin_call_page() -> rx.Component:
    return _record_page(
        "call", "Calls", routes.ADMIN_CALLS, AdminCallState.call_page, admin_records.NO_SUCH_CALL, _call_detail()
    )
