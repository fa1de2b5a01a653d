"""Admin: every business (searched, paged on the server), with its rating and review count (set by an admin
until verified reviews exist) and its activation. Every handler asks the services, which check that the
current user is an admin again."""

from __future__ import annotations

from typing import Any

import reflex as rx
from sqlmodel import Session

from leadapp.components.filters import filter_row, label, labelled
from leadapp.components.forms import server_form
from leadapp.components.pager import PagedState, paged_table
from leadapp.components.table import Column, empty_state, row_action
from leadapp.components.text import note
from leadapp.core import labels
from leadapp.core.db import session_scope
from leadapp.core.errors import NotAllowed
from leadapp.core.models import User
from leadapp.core.services import access, moderation
from leadapp.pages.admin.ops_frame import OpsState, list_page
from leadapp.state.auth import AuthState


class BusinessesState(PagedState, OpsState, AuthState):
    page_size: int = moderation.PAGE_SIZE
    search: str = ""

    def _fetch(self) -> None:
        try:
            with session_scope() as session:
                admin = self._require(session, access.Area.ADMIN)
                rows, total = moderation.list_businesses(session, admin, self.search, self.page)
        except NotAllowed:
            self._show_failure()
            return
        self._show_rows(rows, total)

    def _clear(self) -> None:
        self._show_failure()

    @rx.event
    def apply_search(self, form_data: dict):
        self.search, self.page = str(form_data.get("search", ""))[:100], 1
        return BusinessesState.load

    @rx.event
    def set_active(self, business_id: str, active: bool):
        def change(session: Session, admin: User) -> str:
            name = moderation.set_business_active(session, admin, int(business_id), active).name
            return f"{name} is active again." if active else f"{name} is deactivated: it gets no new leads."

        return self._run(change)

    @rx.event
    def set_rating(self, form_data: dict):
        """Set a business's rating and review count (owners cannot: it feeds the matcher)."""
        business_id = str(form_data.get("business_id", ""))

        def rate(session: Session, admin: User) -> str:
            business = moderation.set_business_rating(
                session,
                admin,
                int(business_id) if business_id.isdigit() else 0,
                str(form_data.get("rating", ""))[:20],
                str(form_data.get("review_count", ""))[:20],
            )
            name, rating, reviews = business.name, business.rating, business.review_count
            return (
                f"{name} is now rated {rating:.1f} from {labels.count(reviews, 'review')}."
                if reviews
                else f"{name} has no rating."
            )

        return self._run(rate)


def _number(text: str, name: str, input_id: str, value: rx.Var, **input_props: Any) -> rx.Component:
    """A small number field of a row's form under its label."""
    return rx.vstack(
        label(text, input_id), rx.input(name=name, id=input_id, default_value=value, **input_props), spacing="0"
    )


def _rating_form(row: rx.Var) -> rx.Component:
    """Rating and review count of one business, set by an admin (until verified reviews exist)."""
    rating_id, reviews_id = f"rating-{row['id']}", f"reviews-{row['id']}"
    return server_form(
        BusinessesState.set_rating,
        rx.hstack(
            rx.el.input(type="hidden", name="business_id", value=row["id"]),
            _number("Stars", "rating", rating_id, row["rating"], width="4.5em", custom_attrs={"inputMode": "decimal"}),
            _number("Reviews", "review_count", reviews_id, row["review_count"], width="6em", input_mode="numeric"),
            row_action("Save", type="submit", class_name="save-rating"),
            align="end",
            spacing="2",
        ),
        class_name="rating-form",
        key=f"{row['id']}-{row['rating']}-{row['review_count']}",
    )


def _business(row: rx.Var) -> list[rx.Component]:
    return [
        rx.text(row["name"], weight="medium", class_name="business-name"),
        note(row["owner_email"], size="1"),
    ]


def _business_status(row: rx.Var) -> rx.Component:
    active = row["active"] == "yes"
    return rx.badge(
        rx.cond(active, rx.cond(row["paused"] == "yes", "Paused", "Active"), "Deactivated"),
        color_scheme=rx.cond(active, "green", "red"),
        class_name="business-active",
    )


def _business_toggle(row: rx.Var) -> rx.Component:
    """Deactivate an active business, activate an inactive one."""
    active = row["active"] == "yes"
    return row_action(
        rx.cond(active, "Deactivate", "Activate"),
        color_scheme=rx.cond(active, "red", "green"),
        on_click=BusinessesState.set_active(row["id"], ~active),
        class_name="toggle-business",
    )


BUSINESS_COLUMNS = [
    Column("Business", _business),
    Column("Services", lambda row: row["categories"]),
    Column("Where", lambda row: [row["city"], " ", row["zip"]]),
    Column("Plan", lambda row: row["plan"]),
    Column("Rating", _rating_form),
    Column("Status", _business_status),
    Column("Actions", _business_toggle, hide_header=True),
]


def _business_row_props(row: rx.Var) -> dict[str, Any]:
    return {"class_name": "business-row", "data_business_id": row["id"], "data_active": row["active"]}


def businesses_page() -> rx.Component:
    return list_page(
        "Businesses",
        "businesses",
        BusinessesState,
        filter_row(
            BusinessesState.apply_search,
            labelled(
                "Search",
                "businesses-search",
                rx.input(name="search", id="businesses-search", placeholder="name, city, ZIP or owner email"),
            ),
            rx.button("Search", type="submit", id="businesses-apply"),
        ),
        paged_table(
            BusinessesState,
            BUSINESS_COLUMNS,
            "businesses",
            label="Businesses",
            noun="businesses",
            row_props=_business_row_props,
            empty=empty_state(
                "No business matches.",
                "Search by another name, city, ZIP or owner email.",
                icon="store",
                empty_id="businesses-empty",
            ),
            loaded=True,  # the list shows its empty state, not a skeleton, before the first answer
        ),
    )
