"""The "Phone line" section of business settings: connect a number to the AI receptionist, simulate a call.

Its own substate (rendered by the settings page) so the profile form and the line change independently.
With a Twilio account the owner picks one of the account's numbers; without one, a local number on the
simulated line, where "Simulate an inbound call" rings it through the real bridge session.
"""

from __future__ import annotations

import reflex as rx
from reflex.event import EventSpec

from leadapp import routes
from leadapp.components import feedback
from leadapp.components.cards import stacked_card
from leadapp.components.text import note
from leadapp.core.db import session_scope
from leadapp.core.errors import NotAllowed, UserError
from leadapp.core.services import access, businesses, inbound
from leadapp.state.auth import AuthState


class PhoneLineState(AuthState):
    business_id: int = 0
    number: str = ""
    mode: str = ""
    connected_at: str = ""
    account_configured: bool = False
    # The account's numbers this business may connect (listed on request: it asks Twilio).
    choices: list[dict[str, str]] = []
    listed: bool = False
    error: str = ""
    notice: str = ""

    def _show(self, line: inbound.PhoneLine) -> None:
        self.number, self.mode, self.connected_at = line.number, line.mode, line.connected_at
        self.account_configured = line.account_configured

    @rx.event
    def load(self):
        """The line of the business shown on the settings page (an admin may open any with ?business=<id>)."""
        self.business_id, self.number, self.mode, self.connected_at = 0, "", "", ""
        self.choices, self.listed, self.error, self.notice = [], False, "", ""
        wanted = self.router.url.query_parameters.get("business", "")
        try:
            with session_scope() as session:
                user = self._require(session, access.Area.BUSINESS)
                if wanted:
                    business = businesses.get_business(session, user, int(wanted) if wanted.isdigit() else 0)
                else:
                    business = businesses.my_business(session, user)
                if business is None:
                    return
                self.business_id = business.id or 0
                self._show(inbound.phone_line(session, user, self.business_id))
        except NotAllowed:  # NotLoggedIn included: the page guard handles the tab
            self.business_id = 0
        except UserError as exc:  # an admin asking for a business that does not exist
            self.business_id, self.error = 0, exc.message

    def _act(self, action, notice: str) -> EventSpec | None:
        """Run one change of the line; its toast (the notice, or why it was refused)."""
        self.notice = ""
        # A refusal (NotAllowed too: same message) changes nothing.
        _, self.error = self._attempt(access.Area.BUSINESS, lambda s, u: self._show(action(s, u)))
        if self.error:
            return feedback.failed(self.error)
        self.notice = notice
        return feedback.done(notice)

    @rx.event
    def list_numbers(self):
        self.notice = ""
        found, self.error = self._attempt(
            access.Area.BUSINESS, lambda s, u: inbound.available_numbers(s, u, self.business_id)
        )
        if self.error:
            self.choices, self.listed = [], False
            return feedback.failed(self.error)
        self.choices = [
            {
                "sid": c.sid,
                "number": c.number,
                "name": c.friendly_name,
                "usable": "yes" if c.usable else "",
                "note": c.note,
            }
            for c in found
        ]
        self.listed = True

    @rx.event
    def connect_number(self, number_sid: str):
        sid = str(number_sid)[:64]
        toast = self._act(
            lambda s, u: inbound.connect_twilio_number(s, u, self.business_id, sid),
            "Connected: calls to this number are answered by your AI receptionist.",
        )
        if not self.error:
            self.choices, self.listed = [], False
        return toast

    @rx.event
    def connect_local(self):
        return self._act(
            lambda s, u: inbound.connect_local_number(s, u, self.business_id),
            "Connected: this local number rings the simulated line. Try it with “Simulate an inbound call”.",
        )

    @rx.event
    def disconnect(self):
        return self._act(
            lambda s, u: inbound.disconnect_number(s, u, self.business_id),
            "Disconnected: the AI receptionist no longer answers this number.",
        )

    @rx.event
    def simulate_call(self):
        self.notice = ""
        _, self.error = self._attempt(
            access.Area.BUSINESS, lambda s, u: inbound.start_simulated_call(s, u, self.business_id)
        )
        if self.error:
            return feedback.failed(self.error)
        self.notice = (
            "Your line is ringing: the AI receptionist is taking a simulated call. "
            "The caller's request appears in your inbox, marked “called you”, when the call ends."
        )
        return feedback.done(self.notice)


P = PhoneLineState


def _number_row(choice: rx.Var) -> rx.Component:
    return rx.flex(
        rx.vstack(
            rx.text(choice["number"], weight="medium"),
            note(choice["name"], size="1"),
            rx.cond(choice["note"] != "", rx.text(choice["note"], size="1", color_scheme="orange")),
            spacing="0",
        ),
        rx.button(
            "Connect",
            on_click=P.connect_number(choice["sid"]),
            disabled=choice["usable"] != "yes",
            size="2",
            variant="soft",
            class_name="connect-number",
            data_number=choice["number"],
        ),
        justify="between",
        align="center",
        spacing="3",
        width="100%",
        class_name="number-choice",
    )


def _connected() -> rx.Component:
    return rx.vstack(
        rx.flex(
            rx.vstack(
                rx.text(
                    "Calls to ", rx.text.strong(P.number, id="inbound-number"), " are answered by your AI receptionist."
                ),
                note(
                    rx.cond(
                        P.mode == "local", "Local number on the simulated line", "Number of LeadApp's phone account"
                    ),
                    " · connected ",
                    P.connected_at,
                    size="1",
                    id="inbound-mode",
                    data_mode=P.mode,
                ),
                spacing="1",
            ),
            rx.button("Disconnect", on_click=P.disconnect, variant="soft", color_scheme="red", id="disconnect-number"),
            direction=rx.breakpoints(initial="column", sm="row"),
            justify="between",
            align=rx.breakpoints(initial="stretch", sm="center"),
            spacing="3",
            width="100%",
        ),
        rx.cond(
            P.mode == "local",
            rx.cond(
                P.account_configured,
                rx.text(
                    "A phone account is configured now: disconnect the local number and connect a real one.",
                    size="2",
                    color_scheme="orange",
                ),
                rx.button(
                    rx.icon("phone-incoming"),
                    "Simulate an inbound call",
                    on_click=P.simulate_call,
                    id="simulate-inbound-call",
                    width=rx.breakpoints(initial="100%", sm="auto"),
                ),
            ),
        ),
        spacing="3",
        width="100%",
    )


def _not_connected() -> rx.Component:
    return rx.cond(
        P.account_configured,
        rx.vstack(
            rx.text("Choose which of LeadApp's phone numbers your customers call.", size="2"),
            rx.button("Show available numbers", on_click=P.list_numbers, variant="soft", id="list-numbers"),
            rx.cond(
                P.listed,
                rx.cond(
                    P.choices.length() > 0,
                    rx.vstack(rx.foreach(P.choices, _number_row), spacing="2", width="100%", id="number-choices"),
                    note("No number is free; ask LeadApp for one."),
                ),
            ),
            spacing="3",
            width="100%",
        ),
        rx.vstack(
            rx.text(
                "No phone account is configured, so your line is simulated: connect a local number and try a call.",
                size="2",
            ),
            rx.button("Connect a local number", on_click=P.connect_local, id="connect-local-number"),
            spacing="3",
            width="100%",
        ),
    )


def phone_line_card() -> rx.Component:
    """The settings page's phone line section (shown once the business exists)."""
    return rx.cond(
        P.business_id > 0,
        stacked_card(
            rx.heading("Phone line", as_="h2", size="4"),
            note(
                "Your AI receptionist answers calls to your number, takes the job details and puts the "
                "request in your inbox as yours alone, marked “called you”."
            ),
            feedback.outcome_callouts(P.error, P.notice, "phone-line"),
            rx.cond(P.number != "", _connected(), _not_connected()),
            rx.cond(
                P.mode == "local",
                rx.link("Go to your inbox", href=routes.DASHBOARD, size="2", id="phone-line-inbox-link"),
            ),
            spacing="3",
            id="phone-line",
        ),
    )
