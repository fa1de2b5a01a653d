"""What the admin's operations pages (outbox, queues, calls, do-not-call, audit, businesses, users, verification)
share: their error and notice and a `load` that clears them (`OpsState`), running an action as the logged-in
admin (`AuthState._attempt` with the admin's policies: `as_admin`, `act_as_admin`) and the pieces of their frame
(header, messages; their filters are `leadapp.components.filters`). The leads, users, businesses and verification
pages run their actions through `act_as_admin`: a refusal there clears the page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import reflex as rx
from reflex.event import EventSpec
from sqlmodel import Session

from leadapp.components import feedback
from leadapp.components.layout import guarded_page
from leadapp.components.text import note
from leadapp.core.errors import FieldErrors, NotAllowed
from leadapp.core.models import User
from leadapp.core.services import access
from leadapp.state.auth import AuthState

T = TypeVar("T")

NOT_ALLOWED = "You are not allowed to do this."


class OpsState(rx.State, mixin=True):
    """What an operations page says besides its list: what the last action did (`notice`) or why it failed
    (`error`). Its `load` (the page's on_load) clears both and shows the page (`_fetch`). A state mixes it in
    before its base (`class QueuesState(OpsState, AuthState)`, after `PagedState` if paged)."""

    error: str = ""
    notice: str = ""

    def _fetch(self) -> None:
        """Load what the page shows (with the state's filters)."""
        raise NotImplementedError

    def _clear_messages(self) -> None:
        """Forget what the last action said (a page with messages of its own, e.g. under a form, adds them)."""
        self.error, self.notice = "", ""

    def _refetch(self) -> None:
        """Show the page afresh, the last action's messages cleared."""
        self._clear_messages()
        self._fetch()

    @rx.event
    def load(self):
        self._refetch()

    def _run(
        self,
        action: Callable[[Session, User], Any],
        done: str | None = None,
        *,
        fields: Callable[[FieldErrors], str] | None = None,
    ) -> EventSpec | None:
        """Run one admin action (`act_as_admin`: a refusal clears the page), then show the page again with `done`
        as the notice (without it, the words the action returned). Returns the toast: the notice or why not."""
        self.notice = ""
        said, self.error = act_as_admin(self, action, fields=fields)
        if self.error:
            return feedback.failed(self.error)
        self.notice = said if done is None else done
        self._fetch()
        return feedback.outcome(self.notice, self.error)


def as_admin(state: AuthState, action: Callable[[Session, User], T]) -> tuple[T | None, str]:
    """Run `action(session, admin)` in one transaction (committed on success): (result, "") or (None, why). A
    refusal says its message (the guard shows "not allowed" anyway)."""
    return state._attempt(access.Area.ADMIN, action, malformed="Invalid request: ")


def show_as_admin(state: Any, action: Callable[[Session, User], Any]) -> Any:
    """Load a page of a paged list (`PagedState`) as the admin: show it and return it, or show an empty list
    with the reason in `state.error` and return None."""
    result, error = as_admin(state, action)
    if result is None:
        state._show_failure()
        state.error = error
        return None
    state._show_page(result)
    return result


def act_as_admin(
    state: Any, action: Callable[[Session, User], T], *, fields: Callable[[FieldErrors], str] | None = None
) -> tuple[T | None, str]:
    """Run `action(session, admin)` in one transaction (committed on success): (result, "") or (None, what to
    tell the admin; `fields(exc)` for a form refused field by field when given). When the tab's user may not act
    (no longer an active admin) the page is cleared first (`state._clear()`: an `AuthState` that forgets what the
    page shows)."""

    def refused(_exc: NotAllowed) -> str:
        state._clear()
        return NOT_ALLOWED

    return state._attempt(access.Area.ADMIN, action, refused=refused, fields=fields)


def messages(error: rx.Var, notice: rx.Var | None = None) -> rx.Component:
    shown = [feedback.error_callout(error, "ops-error")]
    if notice is not None:
        shown.append(feedback.notice_callout(notice, "ops-notice"))
    return rx.fragment(*shown)


def record_list(
    title: str, items: rx.Var, render: Callable[[rx.Var], rx.Component], none: str, *before: rx.Component, **props: Any
) -> rx.Component:
    """One list on a record's page (a user's businesses, a lead's calls…) under its heading, `before` it what the
    list's actions said, and `none` when it is empty; `props` go on the list (spacing "1" unless given)."""
    return rx.fragment(
        rx.heading(title, as_="h3", size="3", margin_top="0.5em"),
        *before,
        rx.cond(
            items.length() > 0,
            rx.vstack(rx.foreach(items, render), **{"spacing": "1", **props}),
            note(none),
        ),
    )


def reload_button(on_click: Any) -> rx.Component:
    """The header's "Reload": the page's list afresh (its `load`)."""
    return rx.button(rx.icon("refresh-cw"), "Reload", on_click=on_click, variant="soft", size="2")


def list_page(title: str, prefix: str, state: Any, filters: rx.Component, table: rx.Component) -> rx.Component:
    """An admin list page (users, businesses): its title (`#<prefix>-heading`), what the last action did or why it
    failed (`#<prefix>-error`, `#<prefix>-notice`), then `filters` above the paged `table`."""
    return guarded_page(
        "admin",
        rx.heading(title, size="8", id=f"{prefix}-heading"),
        feedback.outcome_callouts(state.error, state.notice, prefix),
        rx.vstack(filters, table, spacing="4", width="100%", margin_top="1em"),
    )


def ops_header(title: str, heading_id: str, *actions: rx.Component) -> rx.Component:
    return rx.vstack(
        rx.hstack(rx.heading(title, size="8", id=heading_id), *actions, justify="between", align="center", wrap="wrap"),
        spacing="1",
        width="100%",
    )
