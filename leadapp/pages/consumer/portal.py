"""The consumer portal: my requests, their status and the businesses matched to them; withdraw a request,
ask for a callback, delete all my data."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import reflex as rx
from sqlmodel import Session

from leadapp import routes
from leadapp.components.layout import guarded, page
from leadapp.components.requests import RequestView, action_messages, request_card, request_view
from leadapp.core.db import session_scope
from leadapp.core.errors import NotAllowed, UserError
from leadapp.core.models import User
from leadapp.core.services import access, portal
from leadapp.live import remember_tab
from leadapp.state.auth import AuthState


class PortalState(AuthState):
    requests: list[RequestView] = []
    notice: str = ""
    error: str = ""

    @rx.event
    def load(self):
        self.notice, self.error = "", ""
        self.refresh_from_event()
        if self.user_id:
            remember_tab(self.user_id, self.router.session.client_token)

    def refresh_from_event(self) -> None:
        """Reload this consumer's requests (also called by the live listener when one of them changed)."""
        try:
            with session_scope() as session:
                user = self._require(session, access.Area.CONSUMER)
                rows = portal.consumer_leads(session, user)
        except NotAllowed:
            self.requests = []
            return
        self.requests = [request_view(r) for r in rows]

    def _act(self, action: Callable[[Session, User | None], Any]) -> tuple[bool, Any]:
        """Run one service action as the current user, then reload; a refusal becomes `error`.

        Returns (went through, the action's result).
        """
        self.notice, self.error = "", ""
        result: Any = None
        try:
            with session_scope() as session:
                user = self._require(session, access.Area.CONSUMER)
                result = action(session, user)
        except UserError as exc:
            self.error = exc.message
        self.refresh_from_event()
        return not self.error, result

    @rx.event
    def withdraw(self, lead_id: str):
        if not str(lead_id).isdigit():
            self.error = "No such request."
            return
        ok, _ = self._act(lambda s, u: portal.withdraw_request(s, u, int(lead_id)))
        if ok:
            self.notice = "Your request was withdrawn. Businesses will no longer receive it."

    @rx.event
    def request_callback(self, lead_id: str):
        if not str(lead_id).isdigit():
            self.error = "No such request."
            return
        ok, _ = self._act(lambda s, u: portal.request_callback(s, u, int(lead_id)))
        if ok:
            self.notice = "Callback requested. Our AI assistant will call you within calling hours (9:00–21:00)."

    @rx.event
    def delete_my_data(self):
        ok, deleted = self._act(portal.delete_my_data)
        if ok:
            self.notice = (
                "Your requests were deleted: nobody can see them any more, and they are erased for good "
                "within 30 days. Your account stays."
                if deleted
                else "You have no requests to delete."
            )


def _delete_my_data() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(
            rx.button(
                rx.icon("trash-2", size=16),
                "Delete my data",
                color_scheme="red",
                variant="outline",
                id="delete-my-data",
            ),
        ),
        rx.alert_dialog.content(
            rx.alert_dialog.title("Delete all your requests?"),
            rx.alert_dialog.description(
                "Every request you made disappears at once from your portal and from every business's inbox, "
                "and is erased for good within 30 days. Calls not yet made are cancelled. Your account stays. "
                "This cannot be undone."
            ),
            rx.flex(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray", id="cancel-delete")),
                rx.alert_dialog.action(
                    rx.button(
                        "Delete my data", color_scheme="red", on_click=PortalState.delete_my_data, id="confirm-delete"
                    )
                ),
                spacing="3",
                margin_top="1em",
                justify="end",
            ),
        ),
    )


def portal_page() -> rx.Component:
    return page(
        guarded(
            "consumer",
            rx.hstack(
                rx.heading("My requests", size="8", id="portal-heading"),
                rx.link(rx.button("New request", size="3"), href=routes.REQUEST),
                justify="between",
                align="center",
                wrap="wrap",
                width="100%",
            ),
            rx.text("Hello, ", AuthState.display_name, ".", color_scheme="gray"),
            action_messages(PortalState.notice, PortalState.error, "portal"),
            rx.cond(
                PortalState.requests.length() > 0,
                rx.vstack(
                    rx.foreach(
                        PortalState.requests,
                        lambda r: request_card(r, withdraw=PortalState.withdraw, callback=PortalState.request_callback),
                    ),
                    spacing="3",
                    width="100%",
                    margin_top="1em",
                ),
                rx.card(rx.text("You have no service requests yet."), margin_top="1em", id="portal-empty"),
            ),
            rx.hstack(
                rx.text("Your data", weight="bold"),
                rx.spacer(),
                _delete_my_data(),
                align="center",
                width="100%",
                margin_top="2em",
            ),
        )
    )


async def refresh_tab(app, token: str) -> None:
    """Push fresh request statuses into one open portal tab (from the live listener)."""
    async with app.modify_state(rx.BaseStateToken(ident=token, cls=PortalState)) as root:
        portal_state = await root.get_state(PortalState)
        if portal_state.user_id:
            await asyncio.to_thread(portal_state.refresh_from_event)
