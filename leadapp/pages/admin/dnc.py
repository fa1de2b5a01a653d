"""Admin do-not-call list: find, add, remove and import numbers (through `services.admin_ops`, as the logged-in
admin); the list is paged on the server."""

from __future__ import annotations

import reflex as rx

from leadapp.components import feedback
from leadapp.components.filters import filter_row, labelled
from leadapp.components.forms import server_form
from leadapp.components.layout import guarded_page
from leadapp.components.pager import PagedState, paged_table
from leadapp.components.table import Column, empty_state, row_action
from leadapp.components.text import note
from leadapp.core.services import admin_ops
from leadapp.pages.admin.ops_frame import OpsState, as_admin, messages, ops_header, show_as_admin
from leadapp.state.auth import AuthState


class DncState(PagedState, OpsState, AuthState):
    search: str = ""
    add_error: str = ""
    import_error: str = ""

    def _fetch(self) -> None:
        show_as_admin(self, lambda s, u: admin_ops.list_dnc(s, u, self.search, self.page))

    def _clear_messages(self) -> None:
        self.error, self.notice, self.add_error, self.import_error = "", "", "", ""

    @rx.event
    def add(self, form_data: dict):
        self._clear_messages()
        phone, reason = str(form_data.get("phone", "")), str(form_data.get("reason", ""))
        entry, error = as_admin(self, lambda s, u: admin_ops.add_dnc(s, u, phone, reason).phone_display)
        if entry is None:
            self.add_error = error
            return feedback.failed(self.add_error)
        self.notice = f"{entry} is on the do-not-call list."
        self.search, self.page = "", 1
        self._fetch()
        return feedback.outcome(self.notice, self.error)

    @rx.event
    def remove(self, dnc_id: str):
        self._clear_messages()
        _, error = as_admin(self, lambda s, u: admin_ops.remove_dnc(s, u, int(dnc_id)))
        self.error = error
        if not error:
            self.notice = "Number removed from the do-not-call list."
        self._fetch()
        return feedback.outcome(self.notice, self.error)

    @rx.event
    def import_csv(self, form_data: dict):
        self._clear_messages()
        text, reason = str(form_data.get("csv", "")), str(form_data.get("reason", ""))
        result, error = as_admin(self, lambda s, u: admin_ops.import_dnc_csv(s, u, text, reason))
        if result is None:
            self.import_error = error
            return feedback.failed(self.import_error)
        if result.applied:
            self.notice = result.summary()
        else:
            self.import_error = result.summary()
        self.page = 1
        self._fetch()
        return feedback.outcome(self.notice, self.error or self.import_error)

    @rx.event
    def find(self, form_data: dict):
        self.search, self.page = str(form_data.get("phone", "")).strip()[:40], 1
        self._refetch()


def _dnc_source(row: rx.Var) -> list[rx.Component]:
    return [
        rx.badge(row["source_label"], variant="soft", class_name="dnc-source", data_source=row["source"]),
        rx.cond(row["wording"] != "", rx.text("“", row["wording"], "”", size="1", class_name="dnc-wording")),
        rx.cond(row["where"] != "", note(row["where"], size="1", class_name="dnc-where")),
    ]


def _dnc_remove(row: rx.Var) -> rx.Component:
    return row_action(
        "Remove",
        color_scheme="red",
        on_click=DncState.remove(row["id"]),
        class_name="remove-dnc",
        aria_label="Remove " + row["phone"],
    )


DNC_COLUMNS = [
    Column("Number", lambda row: rx.text(row["phone"], class_name="dnc-phone", white_space="nowrap")),
    Column("Reason", lambda row: rx.text(row["reason"], size="2")),
    Column("Came from", _dnc_source),
    Column(
        "Added",
        lambda row: [rx.text(row["added_by"], size="1"), note(row["created_at"], size="1")],
    ),
    Column("Actions", _dnc_remove, hide_header=True),
]


def _dnc_forms() -> rx.Component:
    add_form = server_form(
        DncState.add,
        rx.vstack(
            rx.heading("Add a number", as_="h3", size="3"),
            labelled("Phone number", "dnc-phone", rx.input(name="phone", id="dnc-phone", placeholder="(317) 846-2200")),
            labelled("Reason (optional)", "dnc-reason", rx.input(name="reason", id="dnc-reason")),
            rx.cond(
                DncState.add_error != "", rx.text(DncState.add_error, color_scheme="red", size="2", id="dnc-add-error")
            ),
            rx.button("Add to the list", type="submit", id="dnc-add"),
            spacing="2",
            width="100%",
        ),
    )
    import_form = server_form(
        DncState.import_csv,
        rx.vstack(
            rx.heading("Import (CSV)", as_="h3", size="3"),
            labelled(
                "One number per line; an optional reason after a comma",
                "dnc-csv",
                rx.text_area(
                    name="csv", id="dnc-csv", rows="6", placeholder="phone,reason\n(317) 846-2200,asked by phone"
                ),
            ),
            labelled(
                "Reason for lines without one", "dnc-import-reason", rx.input(name="reason", id="dnc-import-reason")
            ),
            feedback.error_text(DncState.import_error, "dnc-import-error"),
            rx.button("Import", type="submit", id="dnc-import"),
            spacing="2",
            width="100%",
        ),
    )
    return rx.grid(
        rx.card(add_form), rx.card(import_form), columns=rx.breakpoints(initial="1", md="2"), spacing="4", width="100%"
    )


def dnc_page() -> rx.Component:
    return guarded_page(
        "admin",
        ops_header("Do-not-call list", "dnc-heading"),
        note(
            "No AI call is placed to a number on this list. Numbers are stored only as a keyed hash and a masked form."
        ),
        messages(DncState.error, DncState.notice),
        rx.box(_dnc_forms(), margin_y="1em", width="100%"),
        filter_row(
            DncState.find,
            labelled("Find a number", "dnc-search", rx.input(name="phone", id="dnc-search")),
            rx.button("Find", type="submit", variant="soft", id="dnc-find"),
        ),
        paged_table(
            DncState,
            DNC_COLUMNS,
            "dnc",
            label="Do-not-call numbers",
            noun="numbers",
            row_props=lambda row: {"class_name": "dnc-row", "data_dnc": row["id"]},
            empty=empty_state(
                rx.cond(DncState.search != "", "No number matches.", "No numbers on the list."),
                "Add a number or import a CSV above; numbers a caller asks to stop are added by themselves.",
                icon="phone-off",
                empty_id="dnc-empty",
            ),
        ),
    )
