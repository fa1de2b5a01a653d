"""Admin audit trail: every privileged action, filtered by action, actor, target and date (through
`services.admin_ops`, as the logged-in admin); the list is paged on the server."""

from __future__ import annotations

from typing import Any

import reflex as rx
from sqlmodel import Session

from leadapp.components.cards import stacked_card
from leadapp.components.filters import filter_row, labelled
from leadapp.components.layout import guarded_page
from leadapp.components.pager import PagedState, pager
from leadapp.components.table import empty_state
from leadapp.components.text import note
from leadapp.core.models import User
from leadapp.core.services import admin_ops
from leadapp.pages.admin.ops_frame import OpsState, messages, ops_header, show_as_admin
from leadapp.state.auth import AuthState


class AuditState(PagedState, OpsState, AuthState):
    action_filter: str = ""
    actor_filter: str = ""
    target_filter: str = ""
    since_filter: str = ""
    actions: list[str] = []

    def _fetch(self) -> None:
        def trail(session: Session, user: User) -> Any:
            found = admin_ops.audit_trail(
                session,
                user,
                action=self.action_filter,
                actor_email=self.actor_filter,
                target_type=self.target_filter,
                since=self.since_filter or None,
                page=self.page,
            )
            self.actions = admin_ops.audit_actions(session, user)  # the filter's choices, shown with the page
            return found

        show_as_admin(self, trail)

    @rx.event
    def apply_filters(self, form_data: dict):
        self.action_filter = str(form_data.get("action", "")).strip()[:64]
        self.actor_filter = str(form_data.get("actor", "")).strip()[:320]
        self.target_filter = str(form_data.get("target_type", "")).strip()[:32]
        self.since_filter = str(form_data.get("since", "")).strip()[:10]
        self.page = 1
        self._refetch()


def _json_block(title: str, value: rx.Var, class_name: str) -> rx.Component:
    return rx.cond(
        value != "",
        rx.el.details(
            rx.el.summary(title, class_name="code-toggle"),
            rx.el.pre(
                value,
                class_name=f"code-block {class_name}",
            ),
        ),
    )


def _audit_row(row: rx.Var) -> rx.Component:
    return stacked_card(
        rx.flex(
            rx.code(row["action"], size="2", class_name="audit-action"),
            rx.text(row["target_type"], " ", row["target_id"], size="2", class_name="audit-target"),
            spacing="2",
            wrap="wrap",
            align="center",
        ),
        note(
            row["created_at"],
            " · ",
            rx.el.span(row["actor"], class_name="audit-actor"),
            rx.cond(row["ip"] != "", " · " + row["ip"], ""),
            size="1",
            word_break="break-all",
        ),
        _json_block("Before", row["before"], "audit-before"),
        _json_block("After", row["after"], "audit-after"),
        spacing="1",
        class_name="audit-row",
        data_action=row["action"],
    )


def _audit_filters() -> rx.Component:
    return filter_row(
        AuditState.apply_filters,
        labelled(
            "Action",
            "audit-action",
            rx.fragment(
                rx.input(name="action", id="audit-action", list="audit-actions", placeholder="e.g. dnc"),
                rx.el.datalist(rx.foreach(AuditState.actions, lambda a: rx.el.option(value=a)), id="audit-actions"),
            ),
        ),
        labelled("Actor e-mail", "audit-actor", rx.input(name="actor", id="audit-actor")),
        labelled(
            "Target type",
            "audit-target",
            rx.input(name="target_type", id="audit-target", placeholder="e.g. notifications"),
        ),
        labelled("Since", "audit-since", rx.input(type="date", name="since", id="audit-since")),
        rx.button("Apply", type="submit", id="audit-apply"),
    )


def audit_page() -> rx.Component:
    return guarded_page(
        "admin",
        ops_header("Audit trail", "audit-heading"),
        messages(AuditState.error),
        rx.vstack(
            _audit_filters(),
            rx.vstack(rx.foreach(AuditState.rows, _audit_row), spacing="2", width="100%", id="audit-list"),
            rx.cond(
                AuditState.loaded & (AuditState.total == 0),
                empty_state(
                    "No audit events match.",
                    "Widen the filters: every privileged action is recorded here.",
                    icon="scroll-text",
                    empty_id="audit-empty",
                ),
            ),
            pager(AuditState, "events", "audit-count"),
            spacing="3",
            width="100%",
            margin_top="0.5em",
        ),
    )
