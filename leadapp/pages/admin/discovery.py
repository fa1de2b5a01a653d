"""Admin: business discovery — search a ZIP + category through the places provider, see who qualifies
(and why the others do not), invite a business by email, and follow the funnel found → invited →
clicked → activated per ZIP and category. Every handler asks the services, which check that the
current user is an admin again."""

from __future__ import annotations

import asyncio
from typing import Any

import phonenumbers
import reflex as rx
from sqlmodel import Session

from leadapp import routes
from leadapp.components import feedback
from leadapp.components.cards import stacked_card
from leadapp.components.forms import field_error, server_form
from leadapp.components.layout import guarded_page
from leadapp.components.table import plain_table
from leadapp.components.text import note
from leadapp.core import labels
from leadapp.core.db import session_scope
from leadapp.core.errors import FieldErrors, NotAllowed, UserError
from leadapp.core.models import Invitation, Prospect, User
from leadapp.core.services import access, accounts, discovery
from leadapp.core.services.discovery import FunnelRow
from leadapp.core.settings import get_settings
from leadapp.core.vocab import CATEGORY_LABELS, Category, ProspectStatus
from leadapp.state.auth import AuthState

ROUTE = routes.ADMIN_DISCOVERY
CATEGORY_OPTIONS = [(c.value, label) for c, label in CATEGORY_LABELS.items() if c != Category.OTHER]
STATUS_COLORS = {
    ProspectStatus.FOUND.value: "green",
    ProspectStatus.DISQUALIFIED.value: "gray",
    ProspectStatus.INVITED.value: "blue",
    ProspectStatus.CLICKED.value: "iris",
    ProspectStatus.ACTIVATED.value: "teal",
    ProspectStatus.UNSUBSCRIBED.value: "amber",
}
FUNNEL_COLUMNS = ("found", "qualified", "invited", "clicked", "activated", "unsubscribed")


def _display_phone(phone: str) -> str:
    """A stored E.164 number as people write it, e.g. "(317) 555-0101" ("" for none)."""
    if not phone:
        return ""
    try:
        parsed = phonenumbers.parse(phone, "US")
    except phonenumbers.NumberParseException:
        return phone
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if parsed.country_code == 1
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(parsed, fmt)


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d") if value is not None else ""


def prospect_row(prospect: Prospect, invitation: Invitation | None) -> dict[str, str]:
    """What one result card shows (strings only: the page state is sent to the browser as JSON)."""
    progress = ""
    if invitation is not None:
        progress = f"Invited {_when(invitation.sent_at)} · follow-ups sent: {invitation.followups_sent} of 3"
        if invitation.clicked_at:
            progress += f" · link opened {_when(invitation.clicked_at)}"
        if invitation.activated_at:
            progress += f" · signed up {_when(invitation.activated_at)}"
        if invitation.stopped_reason:
            progress += f" · follow-ups stopped ({invitation.stopped_reason.replace('_', ' ')})"
    return {
        "id": str(prospect.id),
        "name": prospect.name,
        "address": prospect.address,
        "phone": _display_phone(prospect.phone) or "no phone",
        "website": prospect.website,
        "rating": f"{prospect.rating:.1f}★" if prospect.rating is not None else "no rating",
        "reviews": labels.count(prospect.review_count or 0, "review"),
        "open": {True: "open", False: "closed", None: "hours unknown"}[prospect.open_now],
        "status": prospect.status,
        "status_label": labels.word("prospect_status", prospect.status),
        "color": STATUS_COLORS.get(prospect.status, "gray"),
        "reason": prospect.disqualify_reason,
        "can_invite": "yes" if prospect.status == ProspectStatus.FOUND.value else "",
        "email": invitation.email if invitation is not None else prospect.email,
        "progress": progress,
        "source": prospect.source,
    }


def funnel_row(row: FunnelRow) -> dict[str, str]:
    return {
        "zip": row.zip or "All",
        "category": CATEGORY_LABELS.get(row.category, row.category) or "All",  # type: ignore[call-overload]
        **{name: str(getattr(row, name)) for name in FUNNEL_COLUMNS},
    }


class DiscoveryState(AuthState):
    search_zip: str = ""
    search_category: str = Category.PLUMBING.value
    rows: list[dict[str, str]] = []
    funnel: list[dict[str, str]] = []
    funnel_total: dict[str, str] = {}
    errors: dict[str, str] = {}
    invite_errors: dict[str, str] = {}
    error: str = ""
    notice: str = ""
    searching: bool = False
    searched: bool = False
    _prospect_ids: list[int] = []  # backend only: the results shown

    @rx.var
    def provider_label(self) -> str:
        return "Google Places" if get_settings().google_places_api_key else "the local directory (no Google key set)"

    @rx.var
    def qualified_count(self) -> int:
        return sum(1 for row in self.rows if row["status"] != ProspectStatus.DISQUALIFIED.value)

    def _refused(self) -> None:
        self.rows, self.funnel, self.funnel_total, self._prospect_ids = [], [], {}, []
        self.searched = False
        self.error = "You are not allowed to do this."

    def _refusal(self, _exc: NotAllowed) -> str:
        """`_attempt`'s answer to a refused tab: the page is cleared and says why (`_refused`)."""
        self._refused()
        return ""

    def _show_results(self, session: Session, admin: User) -> None:
        """The shown results and the funnel as they are in `session`, as the admin sees them."""
        prospects = discovery.get_prospects(session, admin, self._prospect_ids)
        invitations = discovery.invitations_for(session, admin, [p.id for p in prospects if p.id is not None])
        self.rows = [prospect_row(p, invitations.get(p.id or 0)) for p in prospects]
        self.funnel = [funnel_row(r) for r in discovery.funnel(session, admin)]
        self.funnel_total = funnel_row(discovery.funnel_total(session, admin))

    def _reload(self) -> None:
        """The shown results and the funnel again from the database, as the current user."""
        _, error = self._attempt(access.Area.ADMIN, self._show_results, refused=self._refusal)
        self.error = error or self.error

    @rx.event
    def load(self):
        self.error, self.notice, self.errors, self.invite_errors = "", "", {}, {}
        self._reload()

    @rx.event
    async def search(self, form_data: dict):
        self.error, self.notice, self.errors, self.invite_errors = "", "", {}, {}
        self.search_zip = str(form_data.get("zip", "")).strip()[:10]
        self.search_category = str(form_data.get("category", "") or self.search_category)
        self.searching = True
        yield
        zip_code, category, session_token = self.search_zip, self.search_category, self.session_token

        def find() -> list[int]:
            with session_scope() as session:
                actor = accounts.user_for_token(session, session_token)  # the service checks it is an admin
                access.enter(session, actor)
                found = discovery.discover(session, actor, zip_code, category)
                return [p.id for p in found if p.id is not None]

        try:
            # The provider is a network call: off the event loop.
            self._prospect_ids = await asyncio.to_thread(find)
        except NotAllowed:
            self._refused()
        except FieldErrors as exc:
            self.errors = exc.errors
        except UserError as exc:
            self.error = exc.message
        else:
            self.searched = True
            self._reload()
        finally:
            self.searching = False

    @rx.event
    def invite(self, form_data: dict):
        self.error, self.notice, self.invite_errors = "", "", {}
        prospect_id = str(form_data.get("prospect_id", ""))

        def invite(session: Session, admin: User) -> str:
            invitation = discovery.invite(
                session, admin, int(prospect_id) if prospect_id.isdigit() else 0, str(form_data.get("email", ""))
            )
            return invitation.email

        address, error = self._attempt(access.Area.ADMIN, invite, refused=self._refusal)
        if address is None:
            if not error:  # refused: the page says why
                return None
            self.invite_errors = {prospect_id: error}
            return feedback.failed(error)
        self._reload()
        self.notice = f"Invitation sent to {address}; follow-ups are scheduled for day 3, 7 and 14."
        return feedback.done(self.notice)


# --- view -------------------------------------------------------------------------------------------


def _label(text: str, input_id: str | rx.Var) -> rx.Component:
    return rx.el.label(text, html_for=input_id, class_name="form-label")


def _field_error(name: str) -> rx.Component:
    return field_error(DiscoveryState.errors, name)


def _search_field(label: str, name: str, control: rx.Component, max_width: str) -> rx.Component:
    """One field of the search (its control has id `field-<name>`): label, control, its message; full width on a
    phone, at most `max_width` beside the others."""
    return rx.vstack(
        _label(label, f"field-{name}"),
        control,
        _field_error(name),
        spacing="1",
        width="100%",
        max_width=["100%", max_width],
    )


def _search_form() -> rx.Component:
    return server_form(
        DiscoveryState.search,
        rx.flex(
            _search_field(
                "ZIP code",
                "zip",
                rx.input(
                    name="zip",
                    id="field-zip",
                    default_value=DiscoveryState.search_zip,
                    placeholder="46032",
                    custom_attrs={"inputMode": "numeric"},
                    max_length=5,
                    size="3",
                    width="100%",
                ),
                "12em",
            ),
            _search_field(
                "Category",
                "category",
                rx.select.root(
                    rx.select.trigger(id="field-category", width="100%"),
                    rx.select.content(*[rx.select.item(text, value=value) for value, text in CATEGORY_OPTIONS]),
                    name="category",
                    default_value=DiscoveryState.search_category,
                    size="3",
                ),
                "18em",
            ),
            rx.button(
                rx.icon("search"),
                "Find businesses",
                type="submit",
                size="3",
                loading=DiscoveryState.searching,
                id="discovery-search",
            ),
            direction=rx.breakpoints(initial="column", sm="row"),
            align=rx.breakpoints(initial="stretch", sm="end"),
            spacing="3",
            wrap="wrap",
            width="100%",
        ),
    )


def _invite_form(row: rx.Var) -> rx.Component:
    input_id = "invite-email-" + row["id"]
    return server_form(
        DiscoveryState.invite,
        rx.el.input(type="hidden", name="prospect_id", default_value=row["id"]),
        rx.vstack(
            _label("Owner's email", input_id),
            rx.flex(
                rx.input(
                    name="email",
                    id=input_id,
                    type="email",
                    default_value=row["email"],
                    placeholder="owner@business.com",
                    auto_complete="off",
                    size="2",
                    width="100%",
                ),
                rx.button("Invite", type="submit", size="2", data_testid="invite-" + row["id"]),
                spacing="2",
                width="100%",
            ),
            rx.cond(
                DiscoveryState.invite_errors.contains(row["id"]),
                rx.text(DiscoveryState.invite_errors[row["id"]], color_scheme="red", size="2", role="alert"),
            ),
            spacing="1",
            width="100%",
        ),
        width="100%",
    )


def _result_card(row: rx.Var) -> rx.Component:
    return stacked_card(
        rx.flex(
            rx.text(row["name"], weight="bold", size="3"),
            rx.badge(row["status_label"], color_scheme=row["color"], data_status=row["status"]),
            justify="between",
            align="center",
            wrap="wrap",
            spacing="2",
            width="100%",
        ),
        note(row["address"]),
        rx.flex(
            rx.text(row["rating"], size="2"),
            rx.text(row["reviews"], size="2"),
            rx.text(row["phone"], size="2"),
            rx.text(row["open"], size="2"),
            spacing="3",
            wrap="wrap",
        ),
        rx.cond(
            row["reason"] != "",
            rx.text("Not qualified: ", row["reason"], size="2", color_scheme="red", class_name="disqualify-reason"),
        ),
        rx.cond(row["progress"] != "", rx.text(row["progress"], size="2", color_scheme="blue")),
        rx.cond(row["can_invite"] == "yes", _invite_form(row)),
        key=row["id"] + row["status"],
        data_prospect=row["id"],
    )


def _funnel_cells(row: rx.Var, header: bool = False) -> list[rx.Component]:
    cell = rx.table.row_header_cell if header else rx.table.cell
    return [cell(row["zip"]), rx.table.cell(row["category"])] + [rx.table.cell(row[c]) for c in FUNNEL_COLUMNS]


def _funnel_table() -> rx.Component:
    return plain_table(
        ("ZIP", "Category", "Found", "Qualified", "Invited", "Clicked", "Activated", "Unsub."),
        rx.foreach(DiscoveryState.funnel, lambda row: rx.table.row(*_funnel_cells(row))),
        rx.cond(
            DiscoveryState.funnel.length() > 1,
            rx.table.row(*_funnel_cells(DiscoveryState.funnel_total, header=True), font_weight="bold"),
        ),
        table_id="funnel-table",
        size="1",
    )


def discovery_page() -> rx.Component:
    return guarded_page(
        "admin",
        rx.vstack(
            rx.heading("Business discovery", size="8", id="discovery-heading"),
            note(
                "Find businesses for a ZIP code and category through ",
                DiscoveryState.provider_label,
                ". Qualified: rating ≥ 3.5, at least 5 reviews, a phone number, open. Invited businesses get "
                "follow-ups on day 3, 7 and 14 until they sign up or unsubscribe.",
            ),
            feedback.outcome_callouts(DiscoveryState.error, DiscoveryState.notice, "discovery"),
            rx.card(_search_form(), width="100%"),
            rx.cond(
                DiscoveryState.searched,
                rx.vstack(
                    rx.heading("Results", as_="h2", size="5"),
                    rx.text(
                        DiscoveryState.rows.length(),
                        " found, ",
                        DiscoveryState.qualified_count,
                        " qualified.",
                        size="2",
                        id="discovery-summary",
                    ),
                    rx.vstack(rx.foreach(DiscoveryState.rows, _result_card), spacing="3", width="100%"),
                    spacing="2",
                    width="100%",
                    id="discovery-results",
                ),
            ),
            rx.heading("Funnel", as_="h2", size="5", margin_top="1em"),
            rx.cond(
                DiscoveryState.funnel.length() > 0,
                _funnel_table(),
                rx.text("Nothing discovered yet.", color_scheme="gray"),
            ),
            spacing="4",
            width="100%",
        ),
        max_width="60em",
    )
