"""The consumer portal (requests and their live status come with the pipeline work)."""

from __future__ import annotations

import reflex as rx

from leadapp.components.layout import guarded, page
from leadapp.state.auth import AuthState


def portal_page() -> rx.Component:
    return page(
        guarded(
            "consumer",
            rx.heading("My requests", size="8", id="portal-heading"),
            rx.text("Hello, ", AuthState.display_name, ".", color_scheme="gray"),
            rx.card(
                rx.text("You have no service requests yet. Your requests and their status will appear here."),
                margin_top="1em",
            ),
        )
    )
