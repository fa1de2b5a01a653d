"""Form fields with a visible label and a field-level error message, and the narrow card a short form stands in."""

from __future__ import annotations

from typing import Any

import reflex as rx

from leadapp.components import feedback
from leadapp.components.cards import stacked_card
from leadapp.components.text import note
from leadapp.core.services.accounts import MIN_PASSWORD_LENGTH


def server_form(on_submit: Any, *children: rx.Component, reset: bool = False, **props: Any) -> rx.Component:
    """A form the server validates (the browser's own checks are off, so every message is the page's own words);
    what was typed stays after sending unless `reset`."""
    return rx.form(*children, on_submit=on_submit, reset_on_submit=reset, no_validate=True, **props)


def field(
    label: str | rx.Var,
    name: str,
    errors: rx.Var,
    *,
    type: str = "text",
    placeholder: str | rx.Var = "",
    required: bool = False,
    multiline: bool = False,
    autocomplete: str | None = None,
    hint: str | rx.Var = "",
) -> rx.Component:
    """A labelled input; `errors` is the state's {field: message} dict (label and hint: words, or a state's Var).

    A field with an error is marked `aria-invalid` (outlined in red by assets/theme.css) and described by
    its message, which is announced (`role="alert"`); the hint, when there is one, describes it too.
    """
    input_id, error_id, hint_id = f"field-{name}", f"error-{name}", f"hint-{name}"
    invalid, has_hint = errors.contains(name), isinstance(hint, rx.Var) or bool(hint)
    described_by = rx.cond(invalid, f"{error_id} {hint_id}" if has_hint else error_id, hint_id if has_hint else "")
    aria = {"aria_invalid": rx.cond(invalid, "true", "false"), "aria_describedby": described_by}
    control = (
        rx.text_area(name=name, id=input_id, placeholder=placeholder, required=required, rows="5", width="100%", **aria)
        if multiline
        else rx.input(
            name=name,
            id=input_id,
            type=type,
            placeholder=placeholder,
            required=required,
            auto_complete=autocomplete,
            width="100%",
            size="3",
            **aria,
        )
    )
    return rx.vstack(
        rx.el.label(label, html_for=input_id, class_name="form-label"),
        control,
        note(hint, size="1", id=hint_id) if has_hint else rx.fragment(),
        field_error(errors, name),
        spacing="1",
        width="100%",
        align="stretch",
    )


def field_error(errors: rx.Var, name: str) -> rx.Component:
    """The message under field `name` (`#error-<name>`, announced) while `errors` (the state's dict) has one."""
    return rx.cond(
        errors.contains(name),
        rx.text(errors[name], color_scheme="red", size="2", id=f"error-{name}", role="alert"),
    )


def labelled_field(label: str, name: str, control: rx.Component, errors: rx.Var, hint: str = "") -> rx.Component:
    """A control of a form prefilled from the state (`control`, with id `field-<name>`): its label above it, then
    the hint (if any) and its message under it."""
    return rx.vstack(
        rx.el.label(label, html_for=f"field-{name}", class_name="form-label"),
        control,
        rx.cond(hint != "", note(hint, size="1")),
        field_error(errors, name),
        spacing="1",
        width="100%",
        align="stretch",
    )


def select_field(
    label: str, name: str, options: list[tuple[str, str]], errors: rx.Var, value: rx.Var, **select_props: Any
) -> rx.Component:
    """A select of (value, text) `options` in a form prefilled from the state (`value`, e.g. `State.values[name]`),
    as `labelled_field` draws it (`#field-<name>`, its message under it); `select_props` go on the select (size…)."""
    return labelled_field(
        label,
        name,
        rx.select.root(
            rx.select.trigger(id=f"field-{name}", width="100%"),
            rx.select.content(*[rx.select.item(text, value=v) for v, text in options]),
            name=name,
            default_value=value,
            **select_props,
        ),
        errors,
    )


def form_section(title: str, *children: rx.Component) -> rx.Component:
    """One part of a long form (the business settings, the matching rules): a card under its own heading."""
    return stacked_card(rx.heading(title, as_="h2", size="4"), *children, spacing="4")


def new_password_fields(
    errors: rx.Var,
    label: str | rx.Var = "Password",
    repeat: str | rx.Var = "Repeat the password",
    hint: str | rx.Var = f"At least {MIN_PASSWORD_LENGTH} characters.",
) -> rx.Component:
    """A new password and its repetition (`password`, `password_confirm`), with the length rule as a hint (words,
    or a state's Var in the reader's language)."""
    return rx.fragment(
        field(
            label,
            "password",
            errors,
            type="password",
            required=True,
            autocomplete="new-password",
            hint=hint,
        ),
        field(repeat, "password_confirm", errors, type="password", required=True, autocomplete="new-password"),
    )


def form_error(errors: rx.Var) -> rx.Component:
    return rx.cond(
        errors.contains("form"),
        feedback.problem_callout(errors["form"], "error-form"),
    )


def narrow_card(*children: rx.Component, max_width: str = "28em") -> rx.Component:
    """The narrow card in the middle of a page that holds one short form or a link's outcome (log in, reset…)."""
    return rx.card(*children, max_width=max_width, margin_x="auto", width="100%")


def form_card(title: str, errors: rx.Var, on_submit: Any, *children: rx.Component) -> rx.Component:
    """A short form in a narrow card: its title, the form-wide error, then `children` (fields, buttons, links).
    The form keeps what was typed after sending; the server validates, not the browser."""
    return narrow_card(
        server_form(
            on_submit, rx.vstack(rx.heading(title, size="7"), form_error(errors), *children, spacing="4", width="100%")
        )
    )
