"""Form fields with a visible label and a field-level error message."""

from __future__ import annotations

import reflex as rx


def field(
    label: str,
    name: str,
    errors: rx.Var,
    *,
    type: str = "text",
    placeholder: str = "",
    required: bool = False,
    multiline: bool = False,
    autocomplete: str | None = None,
    hint: str = "",
) -> rx.Component:
    """A labelled input; `errors` is the state's {field: message} dict."""
    input_id = f"field-{name}"
    control = (
        rx.text_area(name=name, id=input_id, placeholder=placeholder, required=required, rows="5", width="100%")
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
        )
    )
    return rx.vstack(
        rx.el.label(label, html_for=input_id, style={"fontWeight": "500"}),
        control,
        rx.cond(hint != "", rx.text(hint, size="1", color_scheme="gray")),
        rx.cond(
            errors.contains(name),
            rx.text(errors[name], color_scheme="red", size="2", id=f"error-{name}", role="alert"),
        ),
        spacing="1",
        width="100%",
        align="stretch",
    )


def form_error(errors: rx.Var) -> rx.Component:
    return rx.cond(
        errors.contains("form"),
        rx.callout(errors["form"], icon="triangle-alert", color_scheme="red", id="error-form", role="alert"),
    )
