"""Platform rules: edit the rules in force (a new version on every save), see each version's changes, roll back.

Validation, versioning, diffs and the audit trail live in `services.rules`; this page turns the form into
a call and shows the answer. Every handler re-checks that the tab belongs to an active admin.
"""

from __future__ import annotations

import dataclasses

import reflex as rx
from sqlmodel import Session

from leadapp import routes
from leadapp.components import feedback
from leadapp.components.cards import stacked_card
from leadapp.components.forms import field_error, form_error, form_section, labelled_field, select_field, server_form
from leadapp.components.layout import guarded_page
from leadapp.components.pager import PagedState, pager
from leadapp.components.table import row_action
from leadapp.components.text import note
from leadapp.core.errors import FieldErrors, NotAllowed, UserError
from leadapp.core.models import User
from leadapp.core.services import access, rules
from leadapp.core.vocab import Category
from leadapp.state.auth import AuthState, field_errors

ROUTE = routes.ADMIN_RULES
HISTORY_PAGE = 10


@dataclasses.dataclass
class VersionRow:
    """One version in the history list, as the page shows it."""

    version: int = 0
    author: str = ""
    when: str = ""
    note: str = ""
    rolled_back_from: str = ""
    changes: list[str] = dataclasses.field(default_factory=list)
    current: bool = False


class RulesState(PagedState, AuthState):
    """The rules in force as the form shows them, and their history (`rows`, a page at a time)."""

    # What each input shows (the rules in force), by form field name.
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    version: int = 0
    saved_message: str = ""
    rows: list[VersionRow] = []
    page_size: int = HISTORY_PAGE
    # The version an admin asked to roll back to, waiting for confirmation (-1: none).
    confirm_version: int = -1
    history_error: str = ""
    # Changing it remounts the form, so the inputs show the values just loaded or saved.
    form_key: int = 0

    def _show(self, session) -> None:
        in_force = rules.current_rules(session)
        self.values = rules.rules_to_form(in_force.rules)
        self.version = in_force.version
        self.form_key += 1

    def _load_history(self, session, user) -> None:
        history = rules.rules_history(session, user, offset=self._offset(), limit=self.page_size)
        shown = [
            VersionRow(
                version=entry.version,
                author=entry.author,
                when=entry.created_at.strftime("%Y-%m-%d %H:%M UTC") if entry.created_at else "",
                note=entry.note,
                rolled_back_from="" if entry.rolled_back_from is None else str(entry.rolled_back_from),
                changes=entry.changes,
                current=entry.current,
            )
            for entry in history.entries
        ]
        self._show_rows(shown, history.total)

    def _fetch(self) -> None:
        _, error = self._attempt(access.Area.ADMIN, self._load_history, refused=self._refusal)
        self.history_error = error or self.history_error

    def _show_changed(self, session, user) -> None:
        """After a save or a rollback: the rules now in force and the first page of the history."""
        session.flush()
        self.page = 1
        self._show(session)
        self._load_history(session, user)

    def _refused(self) -> None:
        self.values, self.rows, self.errors = {}, [], {}
        self.allowed_area, self.denied = "", True

    def _refusal(self, exc: NotAllowed) -> str:
        """`_attempt`'s answer to a refused tab: the page is cleared and shows "not allowed"."""
        self._refused()
        return ""

    @rx.event
    def load(self):
        self.errors, self.saved_message, self.confirm_version, self.page = {}, "", -1, 1

        def show(session: Session, user: User) -> None:
            self._show(session)
            self._load_history(session, user)

        # A logged-out tab is left to the guard before this handler, which sends it to the login page.
        _, self.history_error = self._attempt(
            access.Area.ADMIN,
            show,
            refused=lambda exc: "" if isinstance(exc, access.NotLoggedIn) else self._refusal(exc),
        )

    @rx.event
    def save(self, form_data: dict[str, str]):
        self.errors, self.saved_message, self.confirm_version = {}, "", -1

        def save(session: Session, user: User) -> str:
            new_rules = rules.rules_from_form(form_data, rules.current_rules(session).rules)
            row = rules.save_rules(session, user, new_rules, note=str(form_data.get("note", "")))
            self._show_changed(session, user)
            self.saved_message = f"Saved as version {row.version}; it applies to the next lead."
            return self.saved_message

        return self._act(access.Area.ADMIN, ROUTE, save, refused=self._refused, failed=self._form_failed)

    def _form_failed(self, exc: UserError) -> str:
        if isinstance(exc, FieldErrors):
            self.errors = exc.errors
            return feedback.FIX_FIELDS
        self.errors = field_errors(exc)
        return exc.message

    def _history_failed(self, exc: UserError) -> str:
        self.history_error = exc.message
        return self.history_error

    @rx.event
    def ask_rollback(self, version: int):
        self.confirm_version, self.saved_message, self.history_error = version, "", ""

    @rx.event
    def cancel_rollback(self):
        self.confirm_version = -1

    @rx.event
    def roll_back(self):
        version, self.confirm_version = self.confirm_version, -1
        self.errors, self.saved_message, self.history_error = {}, "", ""

        def roll_back(session: Session, user: User) -> str:
            row = rules.rollback(session, user, version)
            self._show_changed(session, user)
            self.saved_message = f"Rolled back: version {row.version} (a copy of version {version}) is in force."
            return self.saved_message

        return self._act(access.Area.ADMIN, ROUTE, roll_back, refused=self._refused, failed=self._history_failed)


S = RulesState


# --- form pieces ------------------------------------------------------------------------------------


def _error(name: str) -> rx.Component:
    return field_error(S.errors, name)


def _field(label: str, name: str, *, hint: str = "", lines: int = 0, numeric: bool = False) -> rx.Component:
    input_id = f"field-{name}"
    control = (
        rx.text_area(
            name=name,
            id=input_id,
            default_value=S.values[name],
            rows=str(lines),
            width="100%",
            spell_check=False,
            style={"fontFamily": "var(--code-font-family)"},
        )
        if lines
        else rx.input(
            name=name,
            id=input_id,
            default_value=S.values[name],
            custom_attrs={"inputMode": "decimal"} if numeric else {},
            width="100%",
            size="2",
        )
    )
    return labelled_field(label, name, control, S.errors, hint)


def _grid(*children: rx.Component, md: str = "3") -> rx.Component:
    return rx.grid(*children, columns=rx.breakpoints(initial="1", sm="2", md=md), spacing="4", width="100%")


def _explained_section(title: str, explanation: str, *fields: rx.Component, md: str = "3") -> rx.Component:
    """A part of the form whose settings are explained together: its title, what they do, then the fields."""
    return form_section(title, note(explanation), _grid(*fields, md=md))


def _form() -> rx.Component:
    low, high = rules.WEIGHT_RANGE
    categories = ", ".join(c.value for c in Category)
    return server_form(
        S.save,
        rx.vstack(
            form_error(S.errors),
            form_section(
                "Spam",
                _grid(
                    _field(
                        "Spam keywords",
                        "spam_keywords",
                        lines=10,
                        hint="One a line; whole words, any case. A lead containing one is spam.",
                    ),
                    _field(
                        "Blocked phone patterns",
                        "blocked_phone_patterns",
                        lines=10,
                        hint="One regular expression a line, matched against the E.164 number, "
                        "e.g. ^\\+1\\d{3}555\\d{4}$.",
                    ),
                    md="2",
                ),
            ),
            form_section(
                "Lead quality",
                _grid(
                    _field("Minimum words", "min_words", numeric=True, hint="1 to 100; shorter requests are refused."),
                    _field(
                        "Auto-flag below quality",
                        "flag_below",
                        numeric=True,
                        hint="0 to 10; flagged leads wait for an admin.",
                    ),
                    _field(
                        "Low quality below",
                        "low_quality_below",
                        numeric=True,
                        hint="0 to 10; low-quality leads are not sent to businesses.",
                    ),
                ),
            ),
            form_section(
                "Seasonal category boosts",
                _field(
                    "Boosts (month:category:points)",
                    "seasonal_boosts",
                    lines=8,
                    hint=f"One a line, e.g. 7:hvac:3 or july:pool_spa:2; points -20 to 20 added to the match score. "
                    f"Categories: {categories}.",
                ),
            ),
            form_section(
                "Matching",
                note(
                    f"Each weight is a number from {low} to {high}; the score stays out of 100 whatever they add up to."
                ),
                _grid(
                    *[
                        _field(f"Weight: {rules.WEIGHT_LABELS[name]}", f"weight_{name}", numeric=True)
                        for name in rules.WEIGHT_NAMES
                    ],
                    md="4",
                ),
                _grid(
                    _field("Minimum match score", "min_score", numeric=True, hint="0 to 100."),
                    _field("Maximum matches per lead", "max_matches", numeric=True, hint="1 to 50."),
                    _field(
                        "Largest service radius (miles)",
                        "max_radius_miles",
                        numeric=True,
                        hint="1 to 200: no business may serve farther.",
                    ),
                    md="3",
                ),
            ),
            _explained_section(
                "Routing",
                "Broadcast offers a lead to all its matches at once. Waterfall offers it first to the best few "
                "(fast responders ahead), then to the next few after the minutes below while nobody accepts.",
                _select_field("Mode", "routing_mode", rules.ROUTING_MODES),
                _field("Businesses per wave", "wave_size", numeric=True, hint="1 to 10 (waterfall)."),
                _field("Minutes between waves", "wave_minutes", numeric=True, hint="1 to 1440 (waterfall)."),
            ),
            _explained_section(
                "Verified reviews",
                "Matching rates a business (prior weight × prior rating + its stars) ÷ (prior weight + its"
                " reviews): with few reviews it sits near the prior.",
                _field("Prior rating", "review_prior_rating", numeric=True, hint="1 to 5."),
                _field("Prior weight (reviews)", "review_prior_weight", numeric=True, hint="0 to 100."),
                md="2",
            ),
            _explained_section(
                "Automatic AI calls",
                "The worker schedules these calls by itself, within the consumer's calling hours and only with "
                "their consent on file: a confirmation the day before an accepted quote's visit, and a follow-up "
                "(how the job went, a review) some days after a job is marked converted.",
                _select_field("Visit confirmation calls", "auto_confirm_appointment"),
                _select_field("Follow-up calls", "auto_follow_up"),
                _field("Follow-up after (days)", "follow_up_days", numeric=True, hint="1 to 60."),
            ),
            form_section(
                "Save",
                _field("Note (what changed and why)", "note"),
                rx.button("Save as a new version", type="submit", size="3", id="rules-save"),
            ),
            spacing="4",
            width="100%",
        ),
        key=S.form_key,
        width="100%",
    )


# --- history ----------------------------------------------------------------------------------------


def _version_card(row: rx.Var) -> rx.Component:
    return stacked_card(
        rx.hstack(
            rx.heading(rx.cond(row.version == 0, "Defaults", f"Version {row.version}"), as_="h3", size="3"),
            rx.cond(row.current, rx.badge("in force", color_scheme="green")),
            rx.cond(
                row.rolled_back_from != "",
                rx.badge(f"rollback to version {row.rolled_back_from}", color_scheme="orange"),
            ),
            rx.spacer(),
            note(row.author),
            note(row.when),
            wrap="wrap",
            align="center",
            width="100%",
        ),
        rx.cond(row.note != "", rx.text(row.note, size="2", style={"fontStyle": "italic"})),
        rx.cond(
            row.changes.length() > 0,
            rx.el.ul(
                rx.foreach(row.changes, lambda change: rx.el.li(rx.text(change, size="2"))),
                style={"paddingLeft": "1.25em", "margin": "0"},
            ),
            rx.cond(row.version > 0, note("No change from the version before.")),
        ),
        rx.cond(
            ~row.current,
            row_action(
                "Roll back to this version",
                on_click=S.ask_rollback(row.version),
                color_scheme="orange",
                data_version=row.version,
                class_name="rollback-button",
            ),
        ),
        data_version=row.version,
        class_name="rules-version",
    )


def _confirm_rollback() -> rx.Component:
    return rx.cond(
        S.confirm_version >= 0,
        rx.callout(
            rx.hstack(
                rx.text(
                    f"Roll back to version {S.confirm_version}? "
                    "A new version equal to it will be saved and used at once."
                ),
                rx.button("Roll back", on_click=S.roll_back, color_scheme="orange", size="1", id="rollback-confirm"),
                rx.button("Cancel", on_click=S.cancel_rollback, variant="soft", size="1"),
                wrap="wrap",
                align="center",
            ),
            icon="history",
            color_scheme="orange",
            width="100%",
        ),
    )


def _select_field(label: str, name: str, choices: tuple[str, ...] = ("off", "on")) -> rx.Component:
    """A setting of the form chosen from `choices` (on/off by default), sent with the form."""
    return select_field(label, name, [(choice, choice) for choice in choices], S.errors, S.values[name])


def _history() -> rx.Component:
    return rx.vstack(
        rx.heading("History", as_="h2", size="6", margin_top="1em"),
        _confirm_rollback(),
        feedback.error_callout(S.history_error, "rollback-error", icon="triangle-alert", width="100%"),
        rx.foreach(S.rows, _version_card),
        pager(S, "versions", "rules-history-count", back="Newer", forward="Older"),
        spacing="3",
        width="100%",
        id="rules-history",
    )


def rules_page() -> rx.Component:
    return guarded_page(
        "admin",
        rx.hstack(
            rx.heading("Platform rules", size="8"),
            rx.badge(f"version {S.version} in force", size="2", id="rules-version"),
            align="center",
            wrap="wrap",
            spacing="3",
        ),
        rx.text(
            "The classifier and the matcher read the newest version for every lead: a save applies at once.",
            color_scheme="gray",
            margin_bottom="1em",
        ),
        rx.cond(
            S.saved_message != "",
            rx.callout(S.saved_message, icon="circle-check", color_scheme="green", id="rules-saved", width="100%"),
        ),
        _form(),
        _history(),
    )
