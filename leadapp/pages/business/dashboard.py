"""The business dashboard (the live lead inbox comes with the dashboard work)."""

from __future__ import annotations

import reflex as rx

from leadapp.components.layout import guarded, page
from leadapp.state.auth import AuthState


def dashboard_page() -> rx.Component:
    return page(
        guarded(
            "business",
            rx.heading("Dashboard", size="8", id="dashboard-heading"),
            rx.text("Signed in as ", AuthState.display_name, ".", color_scheme="gray"),
            rx.card(
                rx.text("No leads yet. Matched requests will appear here as they arrive."),
                margin_top="1em",
            ),
        )
    )
