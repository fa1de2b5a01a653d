"""The filters above a list: labelled selects ("All" for no filter) and inputs on one wrapping row, sent as one
form when "Apply" is pressed. Each control's id is `<prefix>-<name>` (`filter-status` unless the page says
otherwise) and its label points at it."""

from __future__ import annotations

from typing import Any

import reflex as rx

from leadapp.components import feedback
from leadapp.components.forms import server_form

ALL = "all"


def choice(value: Any) -> str:
    """A select's value from a form, "" for "all"."""
    text = str(value or "").strip()
    return "" if text == ALL else text


def label(text: str, html_for: str) -> rx.Component:
    return rx.el.label(text, html_for=html_for, class_name="field-label")


def labelled(text: str, html_for: str, *controls: rx.Component) -> rx.Component:
    """A control (and what goes under it) under its label."""
    return rx.vstack(label(text, html_for), *controls, spacing="1")


def choice_select(
    name: str,
    text: str,
    options: list[tuple[str, str]],
    value: rx.Var | str | None = None,
    *,
    any_value: str = ALL,
    id_prefix: str = "filter",
) -> rx.Component:
    """A labelled filter select of (value, text) `options` whose first item, "All" (`any_value`), stands for no
    filter; it starts at `value` (the filter in force), else at "All"."""
    control_id = f"{id_prefix}-{name}"
    return labelled(
        text,
        control_id,
        rx.select.root(
            rx.select.trigger(id=control_id, placeholder="All"),
            rx.select.content(
                rx.select.item("All", value=any_value), *[rx.select.item(t, value=v) for v, t in options]
            ),
            name=name,
            default_value=any_value if value is None else value,
        ),
    )


def instant_select(
    control_id: str, options: list[tuple[str, str]], value: rx.Var, on_change: Any, **props: Any
) -> rx.Component:
    """A select of (value, text) `options` that acts as soon as one is chosen, without a form or "Apply": it shows
    `value` (the state's) and sends the chosen value to `on_change`; `props` go on the select."""
    return rx.select.root(
        rx.select.trigger(id=control_id),
        rx.select.content(*[rx.select.item(text, value=v) for v, text in options]),
        value=value,
        on_change=on_change,
        **props,
    )


def filter_input(
    name: str, text: str, error: rx.Var, *, id_prefix: str = "filter", error_id: str = "", **props: Any
) -> rx.Component:
    """A labelled filter input (`props` go on the input: type, placeholder, default_value…) with `error` (the
    state's message for it, "" for none) under it, announced, as `#<error_id>` (`<prefix>-<name>-error`)."""
    control_id, error_id = f"{id_prefix}-{name}", error_id or f"{id_prefix}-{name}-error"
    return labelled(
        text,
        control_id,
        rx.input(
            name=name,
            id=control_id,
            aria_invalid=rx.cond(error != "", "true", "false"),
            aria_describedby=error_id,
            **props,
        ),
        feedback.error_text(error, error_id, size="1"),
    )


def filter_row(on_submit: Any, *controls: rx.Component, reset: bool = False) -> rx.Component:
    """The filters above a list (or a short form above it, e.g. a new API key): labelled controls and their
    buttons on one wrapping row, sent as one form (kept as typed after sending unless `reset`; the server
    validates, not the browser)."""
    return server_form(on_submit, rx.flex(*controls, spacing="3", wrap="wrap", align="end"), reset=reset)
