"""The one confirmation dialog: an action that cannot be undone asks first, Cancel and the action side by side."""

from __future__ import annotations

from typing import Any

import reflex as rx


def confirm_dialog(
    title: Any,
    description: rx.Component,
    cancel: rx.Component,
    action: rx.Component,
    *,
    trigger: rx.Component | None = None,
    content_props: dict[str, Any] | None = None,
    **root_props: Any,
) -> rx.Component:
    """An alert dialog: `title`, `description`, then the `cancel` and `action` buttons (each closes it).

    Opened by `trigger` when given, else by the state (`open=…, on_open_change=…` in `root_props`)."""
    return rx.alert_dialog.root(
        *([rx.alert_dialog.trigger(trigger)] if trigger is not None else []),
        rx.alert_dialog.content(
            rx.alert_dialog.title(title),
            description,
            rx.flex(
                rx.alert_dialog.cancel(cancel),
                rx.alert_dialog.action(action),
                spacing="3",
                justify="end",
                margin_top="1em",
            ),
            **(content_props or {}),
        ),
        **root_props,
    )
