"""Business settings: the owner's profile (created here the first time) and pausing new leads."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import reflex as rx
from sqlmodel import Session

from leadapp import routes
from leadapp.components import feedback
from leadapp.components.account_email import account_email_card
from leadapp.components.forms import field_error, form_error, form_section, labelled_field, select_field, server_form
from leadapp.components.layout import guarded_page
from leadapp.components.text import note
from leadapp.core import labels
from leadapp.core.errors import UserError
from leadapp.core.models import Business, User
from leadapp.core.services import access, businesses, plans
from leadapp.core.services.businesses import WEEKDAYS, ProfileInput
from leadapp.core.vocab import (
    CATEGORY_LABELS,
    REALTIME_VOICES,
    PriceTier,
)
from leadapp.pages.business.phone_line import phone_line_card
from leadapp.state.auth import AuthState, field_errors

ROUTE = routes.DASHBOARD_SETTINGS
TEXT_FIELDS = (
    "name",
    "address",
    "zip",
    "radius_miles",
    "years_in_business",
    "price_tier",
    "tags",
    "notify_email",
    "notify_phone",
    "voice",
    "call_objective_notes",
    "monthly_lead_cap",
)
FLAGS = {"licensed": "Licensed", "insured": "Insured", "emergency_service": "Emergency service (24/7 call-outs)"}
CHANNEL_LABELS = labels.CHANNEL
PRICE_LABELS = {
    PriceTier.BUDGET.value: "Budget",
    PriceTier.STANDARD.value: "Standard",
    PriceTier.PREMIUM.value: "Premium",
}


def _rating_text(business: Business | None) -> str:
    if business is None or not business.review_count:
        return "No reviews yet"
    plural = "s" if business.review_count != 1 else ""
    return f"{business.rating:.1f} from {business.review_count:,} review{plural}"


def profile_from_form(form_data: Mapping[str, Any]) -> ProfileInput:
    """What the settings form sent, as the service's input (repeated names give the checked boxes)."""

    def values(name: str) -> list[str]:
        getlist = getattr(form_data, "getlist", None)
        found = getlist(name) if getlist else ([form_data[name]] if name in form_data else [])
        return [str(v) for v in found]

    def text(name: str) -> str:
        return str(form_data.get(name, "") or "")

    return ProfileInput(
        **{name: text(name) for name in TEXT_FIELDS},
        categories=values("categories"),
        notify_channels=values("notify_channels"),
        languages=values("languages"),
        hours={day: text(f"hours_{day}") for day in WEEKDAYS},
        **{flag: bool(values(flag)) for flag in FLAGS},
    )


class BusinessSettingsState(AuthState):
    business_id: int = 0
    loaded: bool = False
    # What the inputs show: text per input name, and the checked boxes as "<name>:<value>" (flags as "<name>").
    values: dict[str, str] = {}
    checked: list[str] = []
    location: str = ""
    paused: bool = False
    rating_text: str = ""
    errors: dict[str, str] = {}
    saved: bool = False
    # Changing it remounts the form, so the inputs show the values just loaded or saved.
    form_key: int = 0

    # The plan card: plan, quotas, this month's use (read-only: admins change plans).
    plan: dict[str, str] = {}

    def _show(self, business: Business | None) -> None:
        data = ProfileInput.from_business(business) if business is not None else ProfileInput()
        self.business_id = (business.id or 0) if business is not None else 0
        self.values = {name: str(getattr(data, name)) for name in TEXT_FIELDS}
        self.values.update({f"hours_{day}": data.hours.get(day, "") for day in WEEKDAYS})
        self.checked = [f"categories:{c}" for c in data.categories]
        self.checked += [f"notify_channels:{c}" for c in data.notify_channels]
        self.checked += [f"languages:{code}" for code in data.languages]
        self.checked += [flag for flag in FLAGS if getattr(data, flag)]
        self.location = f"{business.city}, {business.state}" if business is not None and business.city else ""
        self.paused = bool(business.paused) if business is not None else False
        self.rating_text = _rating_text(business)
        self.form_key += 1

    def _show_plan(self, session, user, business: Business | None) -> None:
        if business is None:
            self.plan = {}
            return
        card = plans.plan_card(session, user, business.id)  # type: ignore[arg-type]
        self.plan = {
            "label": card.plan_label,
            "calls": f"{card.calls_this_month} of {card.call_quota}" if card.call_quota else "none on this plan",
            "leads": f"{card.leads_this_month} of {card.lead_cap}",
            "verified": "yes" if card.verified else "no",
        }

    @rx.event
    def load(self):
        """Show the owner's business (an admin may open any with ?business=<id>), or an empty create form."""
        self.errors, self.saved, self.loaded = {}, False, False
        # Nothing of a previously shown business stays in the tab if this user may not see it.
        self.business_id, self.values, self.checked, self.location, self.paused = 0, {}, [], "", False
        wanted = self.router.url.query_parameters.get("business", "")

        def show(session: Session, user: User) -> bool:
            if wanted:
                business = businesses.get_business(session, user, int(wanted) if wanted.isdigit() else 0)
            else:
                business = businesses.my_business(session, user)
            self._show(business)
            self._show_plan(session, user, business)
            return True

        def refused(exc: UserError) -> str:
            # A logged-out tab is left to the guard before this handler, which sends it to the login page; a
            # business that is not there (an admin's mistyped ?business=) is shown as one this user may not see.
            if not isinstance(exc, access.NotLoggedIn):
                self.allowed_area, self.denied = "", True
            return ""

        shown, _ = self._attempt(access.Area.BUSINESS, show, refused=refused, failed=refused)
        self.loaded = bool(shown)

    def _change(self, action: Callable[[Session, User], Business]) -> tuple[Business | None, Any]:
        """`action(session, owner)`, one change to the business: (the business, None), or (None, what to send
        back): a logged-out tab goes to the login page; a refused profile shows its fields' messages, any other
        refusal its message on the form, each with the error toast."""
        logged_out = False

        def failed(exc: UserError) -> str:
            nonlocal logged_out
            if isinstance(exc, access.NotLoggedIn):
                logged_out = True
            elif isinstance(exc, businesses.ProfileInvalid):
                self.errors = exc.errors
                return feedback.FIX_FIELDS
            else:
                self.errors = field_errors(exc)
            return exc.message

        business, error = self._attempt(access.Area.BUSINESS, action, refused=failed, fields=failed, failed=failed)
        if logged_out:
            return None, rx.redirect(f"{routes.LOGIN}?next={ROUTE}")
        return business, feedback.failed(error) if business is None else None

    @rx.event
    def save(self, form_data: rx.form.FormData):
        self.errors, self.saved = {}, False
        data = profile_from_form(form_data)

        def save(session: Session, user: User) -> Business:
            if self.business_id:
                business = businesses.update_business(session, user, self.business_id, data)
            else:
                business = businesses.create_business(session, user, data)
            self._show_plan(session, user, business)
            return business

        business, refusal = self._change(save)
        if business is None:
            return refusal
        self._show(business)
        self.saved = True
        return feedback.done("Saved.")

    @rx.event
    def toggle_pause(self):
        self.errors, self.saved = {}, False
        business, refusal = self._change(
            lambda session, user: businesses.set_paused(session, user, self.business_id, not self.paused)
        )
        if business is None:
            return refusal
        self.paused = business.paused
        if self.paused:
            return feedback.done("Paused: you receive no new leads until you resume.")
        return feedback.done("Resumed: new leads reach you again.")


S = BusinessSettingsState


# --- form pieces --------------------------------------------------------------------------------


def _error(name: str) -> rx.Component:
    return field_error(S.errors, name)


def _text(
    label: str,
    name: str,
    *,
    hint: str = "",
    placeholder: str = "",
    type: str = "text",
    input_mode: str = "",
    autocomplete: str | None = None,
    multiline: bool = False,
) -> rx.Component:
    input_id = f"field-{name}"
    extra = {"inputMode": input_mode} if input_mode else {}
    control = (
        rx.text_area(name=name, id=input_id, default_value=S.values[name], rows="5", width="100%")
        if multiline
        else rx.input(
            name=name,
            id=input_id,
            type=type,
            default_value=S.values[name],
            placeholder=placeholder,
            auto_complete=autocomplete,
            custom_attrs=extra,
            width="100%",
            size="3",
        )
    )
    return labelled_field(label, name, control, S.errors, hint)


def _select(label: str, name: str, options: list[tuple[str, str]]) -> rx.Component:
    return select_field(label, name, options, S.errors, S.values[name], size="3")


def _checkboxes(legend: str, name: str, options: list[tuple[str, str]], hint: str = "") -> rx.Component:
    return rx.el.fieldset(
        rx.el.legend(legend, style={"fontWeight": "500", "marginBottom": "0.25em"}),
        rx.cond(hint != "", note(hint, size="1")),
        rx.grid(
            *[
                rx.checkbox(
                    text,
                    name=name,
                    value=value,
                    id=f"field-{name}-{value}",
                    default_checked=S.checked.contains(f"{name}:{value}"),
                    size="2",
                )
                for value, text in options
            ],
            columns=rx.breakpoints(initial="2", sm="3", md="4") if len(options) > 2 else "2",
            spacing_x="4",
            spacing_y="2",
            padding_y="0.5em",
        ),
        _error(name),
        id=f"group-{name}",
        style={"border": "none", "padding": "0", "margin": "0", "minWidth": "0"},
    )


def _flag(name: str, text: str) -> rx.Component:
    return rx.checkbox(text, name=name, id=f"field-{name}", default_checked=S.checked.contains(name), size="2")


def _two_columns(*children: rx.Component) -> rx.Component:
    return rx.grid(*children, columns=rx.breakpoints(initial="1", sm="2"), spacing="4", width="100%")


def _form() -> rx.Component:
    return server_form(
        S.save,
        rx.vstack(
            form_error(S.errors),
            form_section(
                "Your business",
                _text("Business name", "name", autocomplete="organization"),
                _checkboxes(
                    "Service categories",
                    "categories",
                    [(c.value, label) for c, label in CATEGORY_LABELS.items()],
                    hint="Leads are matched to these categories (and to closely related ones).",
                ),
                _two_columns(
                    _text("Years in business", "years_in_business", input_mode="numeric"),
                    rx.vstack(
                        rx.text("Rating", weight="medium"),
                        rx.text(S.rating_text, size="2", id="settings-rating"),
                        note("Set by LeadApp from verified reviews (owners cannot type their own).", size="1"),
                        spacing="1",
                    ),
                ),
                _select("Price range", "price_tier", list(PRICE_LABELS.items())),
                rx.flex(*[_flag(n, t) for n, t in FLAGS.items()], wrap="wrap", spacing="5"),
                _text(
                    "Tags",
                    "tags",
                    hint="Comma-separated, at most 20, e.g. water heaters, leak repair, 24/7.",
                ),
            ),
            form_section(
                "Service area",
                _text("Street address", "address", autocomplete="street-address"),
                _two_columns(
                    _text("ZIP code", "zip", input_mode="numeric", autocomplete="postal-code"),
                    _text("Service radius (miles)", "radius_miles", input_mode="decimal", hint="From 1 to 200."),
                ),
                rx.cond(
                    S.location != "",
                    rx.text("Location: ", rx.text.strong(S.location), size="2", id="settings-location"),
                ),
            ),
            form_section(
                "Lead notifications",
                _checkboxes("Notify me by", "notify_channels", list(CHANNEL_LABELS.items())),
                _two_columns(
                    _text(
                        "Notification email",
                        "notify_email",
                        type="email",
                        autocomplete="email",
                        hint="Leave blank to use your account email.",
                    ),
                    _text("Mobile number for texts", "notify_phone", type="tel", autocomplete="tel"),
                ),
                _text(
                    "Monthly lead cap",
                    "monthly_lead_cap",
                    input_mode="numeric",
                    hint="Up to your plan's cap; an admin can raise it beyond.",
                ),
            ),
            form_section(
                "Opening hours",
                note("Like 09:00-17:00, or closed; leave a day blank if it varies."),
                _error("hours"),
                rx.grid(
                    *[_text(label, f"hours_{day}", placeholder="09:00-17:00") for day, label in WEEKDAYS.items()],
                    columns=rx.breakpoints(initial="2", md="4"),
                    spacing="3",
                    width="100%",
                ),
            ),
            form_section(
                "AI calls",
                _select("AI voice", "voice", [(v, v.title()) for v in REALTIME_VOICES]),
                _checkboxes(
                    "Languages you serve",
                    "languages",
                    list(labels.LANGUAGE.items()),
                    hint="You get leads written in these languages; your AI calls speak the customer's language.",
                ),
                _text(
                    "Call objective and script notes",
                    "call_objective_notes",
                    multiline=True,
                    hint="What the AI assistant should find out or say when it calls a customer for you.",
                ),
            ),
            rx.button(
                rx.cond(S.business_id > 0, "Save changes", "Create profile"),
                type="submit",
                size="3",
                id="settings-save",
                width=rx.breakpoints(initial="100%", sm="auto"),
            ),
            spacing="4",
            width="100%",
        ),
        key=S.form_key,
        width="100%",
    )


def _plan_row(label: str, value: rx.Var, row_id: str) -> rx.Component:
    return rx.data_list.item(rx.data_list.label(label), rx.data_list.value(value, id=row_id))


def _plan_card() -> rx.Component:
    """Plan, quotas and this month's use; plans are changed by LeadApp's admins."""
    return rx.card(
        rx.vstack(
            rx.heading("Your plan", as_="h2", size="4"),
            rx.data_list.root(
                _plan_row("Plan", S.plan["label"], "plan-name"),
                _plan_row("Leads received this month", S.plan["leads"], "plan-leads"),
                _plan_row("AI calls used this month", S.plan["calls"], "plan-calls"),
            ),
            rx.cond(
                S.plan["verified"] == "no",
                rx.callout(
                    "Waiting for LeadApp to verify your business: leads start arriving once it is verified.",
                    icon="hourglass",
                    color_scheme="amber",
                    id="business-unverified",
                ),
            ),
            note(
                "To change your plan, ",
                rx.link("write to us", href=routes.CONTACT),
                ": plans are changed by LeadApp's admins.",
            ),
            spacing="3",
        ),
        width="100%",
        id="plan-card",
    )


def _pause_card() -> rx.Component:
    return rx.card(
        rx.flex(
            rx.cond(
                S.paused,
                rx.callout(
                    "Paused: you receive no new leads",
                    icon="circle-pause",
                    color_scheme="orange",
                    id="pause-state",
                    data_paused="yes",
                ),
                rx.callout(
                    "Active: new leads are matched to you",
                    icon="circle-play",
                    color_scheme="green",
                    id="pause-state",
                    data_paused="no",
                ),
            ),
            rx.button(
                rx.cond(S.paused, "Resume new leads", "Pause new leads"),
                on_click=S.toggle_pause,
                variant="soft",
                color_scheme=rx.cond(S.paused, "green", "orange"),
                size="3",
                id="pause-toggle",
            ),
            direction=rx.breakpoints(initial="column", sm="row"),
            justify="between",
            align=rx.breakpoints(initial="stretch", sm="center"),
            spacing="3",
        ),
        width="100%",
    )


def settings_page() -> rx.Component:
    return guarded_page(
        "business",
        rx.cond(
            S.loaded,
            rx.vstack(
                rx.heading(
                    rx.cond(S.business_id > 0, "Business settings", "Create your business profile"),
                    size="8",
                    id="settings-heading",
                ),
                phone_line_card(),
                rx.cond(S.business_id > 0, _plan_card()),
                rx.cond(
                    S.business_id > 0,
                    _pause_card(),
                    rx.text(
                        "Tell us what you do and where: matching leads start arriving once you save.",
                        color_scheme="gray",
                    ),
                ),
                rx.cond(
                    S.saved,
                    rx.callout("Saved.", icon="circle-check", color_scheme="green", id="settings-saved"),
                ),
                _form(),
                account_email_card(),
                spacing="4",
                width="100%",
            ),
            rx.center(rx.spinner(size="3"), padding="3em"),
        ),
        max_width="56em",
    )
