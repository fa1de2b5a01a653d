"""Admin calls log and costs: every AI call, filtered by business and month, with the month's costs per business
(through `services.admin_ops`, as the logged-in admin); the log is paged on the server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx
from sqlmodel import Session

from leadapp.components.filters import ALL, choice, filter_row, labelled
from leadapp.components.layout import guarded_page
from leadapp.components.pager import PagedState, paged_table
from leadapp.components.table import Column, data_table, empty_state
from leadapp.components.text import note
from leadapp.core.models import User
from leadapp.core.services import admin_ops
from leadapp.pages.admin.ops_frame import OpsState, as_admin, messages, ops_header, show_as_admin
from leadapp.state.auth import AuthState


class CallsState(PagedState, OpsState, AuthState):
    business_filter: str = ""
    month_filter: str = ""
    businesses: list[list[str]] = []
    costs: list[dict[str, str]] = []
    month_totals: list[dict[str, str]] = []

    @rx.var
    def business_filter_name(self) -> str:
        """The filtered business by name, as the select showed it (its id means nothing to an admin)."""
        return next((name for i, name in self.businesses if i == self.business_filter), self.business_filter)

    def _fetch(self) -> None:
        business_id = int(self.business_filter) if self.business_filter.isdigit() else None
        show_as_admin(self, lambda s, u: admin_ops.calls_log(s, u, business_id, self.month_filter or None, self.page))

    @rx.event
    def load(self):
        """The businesses to filter by and the costs, then the log (`_fetch`)."""
        self._clear_messages()

        def everything(session: Session, user: User) -> tuple[Any, Any]:
            return admin_ops.call_businesses(session, user), admin_ops.call_costs(session, user)

        result, error = as_admin(self, everything)
        if result is None:
            self.error = error
            return
        businesses, costs = result
        self.businesses = [[str(i), name] for i, name in businesses]
        self.costs = [admin_ops.cost_row(t) for t in costs.per_business]
        self.month_totals = [admin_ops.cost_row(t) for t in costs.per_month]
        self._fetch()

    @rx.event
    def apply_filters(self, form_data: dict):
        self.business_filter = choice(form_data.get("business"))
        self.month_filter = str(form_data.get("month", "")).strip()[:7]
        self.page = 1
        self._refetch()

    @rx.event
    def show(self, business_id: str, month: str):
        """Filter the log to one row of the cost totals."""
        self.business_filter, self.month_filter, self.page = business_id, month, 1
        self._refetch()

    @rx.event
    def clear_filters(self):
        self.business_filter, self.month_filter, self.page = "", "", 1
        self._refetch()


CALL_COLUMNS = [
    Column(
        "When",
        lambda row: rx.link(
            row["created_at"],
            href=rx.Var.create(f"/admin/calls/{row['id']}"),
            size="1",
            white_space="nowrap",
            class_name="open-call",
        ),
    ),
    Column("Business", lambda row: rx.text(row["business"], size="2")),
    Column(
        "Type / number",
        lambda row: [rx.text(row["type_label"], size="1"), note(row["number"], size="1")],
    ),
    Column("Status", lambda row: rx.badge(row["status_label"], variant="soft", data_status=row["status"])),
    Column(
        "Outcome",
        lambda row: rx.text(row["outcome_label"], class_name="call-outcome", size="2", data_outcome=row["outcome"]),
    ),
    Column("Length", lambda row: row["duration"]),
    Column("Cost", lambda row: rx.text(row["cost"], class_name="call-cost")),
    Column("Error", lambda row: rx.text(row["error"], size="1", color_scheme="red")),
]

COST_COLUMNS = [
    Column("Calls", lambda row: row["calls"]),
    Column("Carrier", lambda row: row["carrier"]),
    Column("Realtime", lambda row: row["realtime"]),
    Column("Summary", lambda row: row["summary"]),
    Column("Total", lambda row: rx.text(row["total"], weight="bold", class_name="cost-total")),
]

MONTH_TOTAL_COLUMNS = [Column("Month", lambda row: row["month"]), *COST_COLUMNS]

BUSINESS_COST_COLUMNS = [
    Column("Month", lambda row: row["month"]),
    Column(
        "Business",
        lambda row: rx.link(
            row["business"], on_click=CallsState.show(row["business_id"], row["month"]), cursor="pointer"
        ),
    ),
    *COST_COLUMNS,
]


def _calls_filters() -> rx.Component:
    return filter_row(
        CallsState.apply_filters,
        labelled(
            "Business",
            "filter-business",
            rx.select.root(
                rx.select.trigger(id="filter-business", placeholder="All"),
                rx.select.content(
                    rx.select.item("All", value=ALL),
                    rx.foreach(CallsState.businesses, lambda b: rx.select.item(b[1], value=b[0])),
                ),
                name="business",
                default_value=ALL,
            ),
        ),
        labelled("Month", "filter-month", rx.input(type="month", name="month", id="filter-month")),
        rx.button("Apply", type="submit", id="calls-apply"),
        rx.button("Clear", type="button", variant="soft", on_click=CallsState.clear_filters),
    )


def _cost_table(
    title: str,
    columns: list[Column],
    rows: rx.Var,
    table_id: str,
    row_props: Callable[[rx.Var], dict[str, Any]],
    *,
    margin_top: str = "1em",
    empty: rx.Component | None = None,
) -> tuple[rx.Component, rx.Component]:
    """A table of costs under its heading, which is also the table's label."""
    return (
        rx.heading(title, as_="h2", size="4", margin_top=margin_top),
        data_table(
            columns, rows, table_id=table_id, label=title, row_props=row_props, empty=empty, loaded=CallsState.loaded
        ),
    )


def calls_page() -> rx.Component:
    no_calls = empty_state(
        "No calls in the last 12 months.",
        "A business places an AI call from a lead it accepted; its cost shows here.",
        icon="phone",
    )
    return guarded_page(
        "admin",
        ops_header("Calls", "calls-heading"),
        messages(CallsState.error),
        *_cost_table(
            "Costs per month",
            MONTH_TOTAL_COLUMNS,
            CallsState.month_totals,
            "month-totals",
            lambda row: {"class_name": "month-total-row", "data_month": row["month"]},
            margin_top="0.5em",
        ),
        *_cost_table(
            "Costs per business and month",
            BUSINESS_COST_COLUMNS,
            CallsState.costs,
            "cost-table",
            lambda row: {"class_name": "cost-row", "data_month": row["month"], "data_business": row["business_id"]},
            empty=no_calls,
        ),
        rx.heading("Calls log", as_="h2", size="4", margin_top="1em"),
        rx.vstack(
            _calls_filters(),
            rx.cond(
                (CallsState.business_filter != "") | (CallsState.month_filter != ""),
                note(
                    "Filtered: business ",
                    rx.cond(CallsState.business_filter != "", CallsState.business_filter_name, "any"),
                    ", month ",
                    rx.cond(CallsState.month_filter != "", CallsState.month_filter, "any"),
                    id="calls-filtered",
                ),
            ),
            paged_table(
                CallsState,
                CALL_COLUMNS,
                "calls",
                label="Calls log",
                noun="calls",
                row_props=lambda row: {"class_name": "call-row", "data_call": row["id"]},
                empty=empty_state(
                    "No calls match.",
                    "Clear the filters to see every call.",
                    icon="phone",
                    action=rx.button("Clear filters", variant="soft", on_click=CallsState.clear_filters),
                ),
            ),
            spacing="3",
            width="100%",
        ),
    )
