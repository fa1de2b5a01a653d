"""Admin: verification and plans — the queue of businesses waiting to be verified (no leads until then), and
each business's plan and monthly lead cap (only admins change them). Every handler asks the `plans` service,
which checks that the current user is an admin again."""

from __future__ import annotations

import reflex as rx
from reflex.event import EventSpec

from leadapp.components import feedback
from leadapp.components.filters import filter_row
from leadapp.components.forms import server_form
from leadapp.components.layout import guarded_page
from leadapp.components.table import plain_list, row_action
from leadapp.components.text import note
from leadapp.core.db import session_scope
from leadapp.core.errors import NotAllowed
from leadapp.core.services import access, plans
from leadapp.core.vocab import PLAN_LABELS, Plan
from leadapp.pages.admin.ops_frame import OpsState
from leadapp.state.auth import AuthState


class VerificationState(OpsState, AuthState):
    rows: list[dict[str, str]] = []
    waiting: int = 0
    show_all: bool = False
    search: str = ""

    def _reload(self, session) -> None:
        admin = self._require(session, access.Area.ADMIN)
        self.rows = plans.business_rows(session, admin, waiting_only=not self.show_all, query=self.search)
        self.waiting = plans.waiting_count(session, admin)

    def _clear(self) -> None:
        self.rows = []

    def _act_on(self, action, done: str) -> EventSpec | None:
        """`_run`, a form's fields refused together in one message."""
        return self._run(action, done, fields=lambda exc: " ".join(exc.errors.values()))

    def _fetch(self) -> None:
        try:
            with session_scope() as session:
                self._reload(session)
        except NotAllowed:
            self.rows, self.waiting = [], 0

    @rx.event
    def apply_filters(self, form_data: dict):
        self.search = str(form_data.get("search", ""))[:100]
        self.show_all = str(form_data.get("show", "")) == "all"
        return VerificationState.load

    @rx.event
    def verify(self, business_id: str):
        wanted = int(business_id) if str(business_id).isdigit() else 0
        name = next((r["name"] for r in self.rows if r["id"] == str(business_id)), "The business")
        return self._act_on(
            lambda s, admin: plans.verify_business(s, admin, wanted), f"{name} is verified: it receives leads now."
        )

    @rx.event
    def save_plan(self, form_data: dict):
        raw_id = str(form_data.get("business_id", ""))
        wanted = int(raw_id) if raw_id.isdigit() else 0
        plan, cap = str(form_data.get("plan", "")), str(form_data.get("monthly_lead_cap", ""))
        name = next((r["name"] for r in self.rows if r["id"] == raw_id), "The business")
        return self._act_on(
            lambda s, admin: plans.set_plan(s, admin, wanted, plan, cap), f"{name}: plan and lead cap saved."
        )


def _plan_form(row: rx.Var) -> rx.Component:
    return server_form(
        VerificationState.save_plan,
        rx.flex(
            rx.el.input(type="hidden", name="business_id", value=row["id"]),
            rx.select.root(
                rx.select.trigger(aria_label="Plan", class_name="plan-select"),
                rx.select.content(*[rx.select.item(PLAN_LABELS[p], value=p.value) for p in Plan]),
                name="plan",
                default_value=row["plan"],
            ),
            rx.input(
                name="monthly_lead_cap",
                default_value=row["lead_cap"],
                input_mode="numeric",
                aria_label="Monthly lead cap",
                width="6em",
                class_name="lead-cap-input",
            ),
            row_action("Save", type="submit", class_name="plan-save"),
            spacing="2",
            align="center",
        ),
        key=row["id"] + row["plan"] + row["lead_cap"],
    )


def _row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row["name"], weight="medium"), note(row["place"], size="1")),
        rx.table.cell(
            rx.text(row["owner"], size="2"),
            rx.cond(
                row["email_verified"] == "yes",
                rx.badge("email confirmed", color_scheme="green"),
                rx.badge("email not confirmed", color_scheme="amber"),
            ),
        ),
        rx.table.cell(
            rx.cond(
                row["verified"] == "yes",
                rx.badge("verified", color_scheme="green"),
                rx.button(
                    "Verify",
                    on_click=VerificationState.verify(row["id"]),
                    size="1",
                    class_name="verify-business",
                ),
            )
        ),
        rx.table.cell(_plan_form(row)),
        data_business=row["name"],
        class_name="business-row",
    )


def _filters() -> rx.Component:
    return filter_row(
        VerificationState.apply_filters,
        rx.input(name="search", placeholder="business name", aria_label="Search", id="verification-search"),
        rx.select.root(
            rx.select.trigger(aria_label="Show", id="verification-show"),
            rx.select.content(
                rx.select.item("Waiting for verification", value="waiting"),
                rx.select.item("All businesses", value="all"),
            ),
            name="show",
            default_value="waiting",
        ),
        rx.button("Apply", type="submit", id="verification-apply"),
    )


def verification_page() -> rx.Component:
    S = VerificationState  # noqa: N806
    return guarded_page(
        "admin",
        rx.heading("Verification and plans", size="8", id="verification-heading"),
        rx.text(
            S.waiting,
            " business(es) waiting for verification. A business receives leads once verified; its owner must "
            "have confirmed their email address first.",
            color_scheme="gray",
            id="verification-waiting",
        ),
        feedback.outcome_callouts(S.error, S.notice, "verification"),
        rx.vstack(
            _filters(),
            plain_list(
                ("Business", "Owner", "Verification", "Plan and monthly lead cap"),
                S.rows,
                _row,
                table_id="verification-table",
                none="No business here.",
                none_id="verification-empty",
            ),
            spacing="4",
            width="100%",
            margin_top="1em",
        ),
    )
