"""The public side of business invitations: the one-click unsubscribe page (`/unsubscribe/<token>`) and
the click recorder of the sign-up link (`/register?role=business_owner&invite=<token>`).

The token is verified on load and then kept server-side (a backend-only var); the confirm button hands
it to the service again. Nothing from the browser but the URL is trusted.
"""

from __future__ import annotations

import reflex as rx

from leadapp import routes
from leadapp.components.layout import link_page
from leadapp.core import rls
from leadapp.core.db import session_scope
from leadapp.core.observability import get_logger
from leadapp.core.services import discovery
from leadapp.state.auth import AuthState

log = get_logger(__name__)
ROUTE = routes.UNSUBSCRIBE
INVALID_MESSAGE = (
    "This unsubscribe link is not valid. Please use the link from the latest email we sent you, "
    "or write to us through the contact page and we will remove your address."
)


def _masked(email: str) -> str:
    name, _, domain = email.partition("@")
    return f"{name[:1]}•••@{domain}" if domain else "•••"


class UnsubscribeState(AuthState):
    # "checking" until the token was looked at; then "ready" (ask), "done" or "invalid".
    unsubscribe_status: str = "checking"
    business_name: str = ""
    masked_email: str = ""
    _token: str = ""  # backend only: never sent to the browser, never taken back from it

    @rx.event
    def open(self):
        self.unsubscribe_status, self.business_name, self.masked_email = "checking", "", ""
        self._token = routes.last_segment(self.router.url.path)
        with session_scope(rls.ANONYMOUS_CONTEXT) as session:
            invitation = discovery.invitation_for_token(session, self._token)
            if invitation is None:
                self.unsubscribe_status, self._token = "invalid", ""
                return
            prospect = discovery.prospect_of(session, invitation)
            self.business_name = prospect.name if prospect is not None else ""
            self.masked_email = _masked(invitation.email)
            self.unsubscribe_status = "done" if invitation.unsubscribed_at is not None else "ready"

    @rx.event
    def confirm(self):
        with session_scope(rls.ANONYMOUS_CONTEXT) as session:
            invitation = discovery.unsubscribe(session, self._token)
        self.unsubscribe_status = "done" if invitation is not None else "invalid"


class InviteLinkState(AuthState):
    """On the sign-up page: an `invite` token in the URL records that the invitation's link was opened."""

    @rx.event
    def record_click(self):
        token = self.router.url.query_parameters.get("invite", "")
        if not token:
            return
        try:
            with session_scope(rls.ANONYMOUS_CONTEXT) as session:
                discovery.click(session, token)
        except Exception as exc:  # attribution is a statistic: never fail the sign-up page over it
            log.warning("invitation_click_not_recorded", error=repr(exc))


def unsubscribe_page() -> rx.Component:
    state = UnsubscribeState
    return link_page(
        "Unsubscribe",
        "unsubscribe",
        state.unsubscribe_status,
        (
            "ready",
            rx.vstack(
                rx.text(
                    "Stop LeadApp's invitation emails to ",
                    rx.text.strong(state.masked_email),
                    rx.cond(state.business_name != "", rx.fragment(" (", state.business_name, ")")),
                    "? One click and we will not write again.",
                ),
                rx.button(
                    "Unsubscribe",
                    on_click=state.confirm,
                    size="3",
                    width="100%",
                    id="unsubscribe-confirm",
                ),
                spacing="3",
                width="100%",
            ),
        ),
        (
            "done",
            rx.callout(
                "You are unsubscribed: we will send no more invitation emails to this address.",
                icon="circle-check",
                color_scheme="green",
                id="unsubscribe-done",
            ),
        ),
        invalid=INVALID_MESSAGE,
        way_on=rx.link("Contact us", href=routes.CONTACT),
    )
