"""The consumer portal: my requests, their status and the businesses matched to them."""

from __future__ import annotations

import asyncio
import dataclasses

import reflex as rx

from leadapp import routes
from leadapp.components.layout import guarded, page
from leadapp.core.db import session_scope
from leadapp.core.errors import NotAllowed
from leadapp.core.services import access, portal
from leadapp.live import remember_tab
from leadapp.state.auth import AuthState


@dataclasses.dataclass
class MatchView:
    name: str = ""
    city: str = ""
    rating: str = ""
    distance: str = ""
    status: str = ""


@dataclasses.dataclass
class RequestView:
    id: str = ""
    status: str = ""
    status_label: str = ""
    text: str = ""
    created_at: str = ""
    category_label: str = ""
    urgency: str = ""
    matches: list[MatchView] = dataclasses.field(default_factory=list)


class PortalState(AuthState):
    requests: list[RequestView] = []

    @rx.event
    def load(self):
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
        self.requests = [
            RequestView(
                id=r["lead"]["id"],
                status=r["lead"]["status"],
                status_label=r["lead"]["status_label"],
                text=r["lead"]["text"],
                created_at=r["lead"]["created_at"],
                category_label=r["lead"].get("category_label", ""),
                urgency=r["lead"].get("urgency", ""),
                matches=[
                    MatchView(
                        name=m["name"], city=m["city"], rating=m["rating"], distance=m["distance"], status=m["status"]
                    )
                    for m in r["matches"]
                ],
            )
            for r in rows
        ]


def _match(m: MatchView) -> rx.Component:
    return rx.hstack(
        rx.icon("store", size=16),
        rx.text(m.name, weight="medium", class_name="matched-business"),
        rx.text(m.city, " · ", m.distance, " · rated ", m.rating, size="2", color_scheme="gray"),
        wrap="wrap",
        align="center",
    )


def _request(r: RequestView) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.badge(r.status_label, size="2", class_name="request-status"),
                rx.cond(r.category_label != "", rx.badge(r.category_label, variant="outline")),
                rx.cond(r.urgency != "", rx.badge(r.urgency, variant="outline")),
                rx.spacer(),
                rx.text(r.created_at, size="1", color_scheme="gray"),
                wrap="wrap",
                width="100%",
            ),
            rx.text(r.text),
            rx.cond(
                r.matches.length() > 0,
                rx.vstack(
                    rx.text("Matched businesses", weight="bold", size="2"), rx.foreach(r.matches, _match), spacing="1"
                ),
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
        class_name="portal-request",
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
            rx.cond(
                PortalState.requests.length() > 0,
                rx.vstack(rx.foreach(PortalState.requests, _request), spacing="3", width="100%", margin_top="1em"),
                rx.card(rx.text("You have no service requests yet."), margin_top="1em", id="portal-empty"),
            ),
        )
    )


async def refresh_tab(app, token: str) -> None:
    """Push fresh request statuses into one open portal tab (from the live listener)."""
    async with app.modify_state(rx.BaseStateToken(ident=token, cls=PortalState)) as root:
        portal_state = await root.get_state(PortalState)
        if portal_state.user_id:
            await asyncio.to_thread(portal_state.refresh_from_event)
