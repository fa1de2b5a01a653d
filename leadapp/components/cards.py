"""The card the pages draw most: its content stacked one under another across the card's whole width."""

from __future__ import annotations

from typing import Any

import reflex as rx


def stacked_card(*children: rx.Component, spacing: str = "2", **props: Any) -> rx.Component:
    """A full-width card (a record's panel, one entry of a list) whose `children` stand one under another,
    `spacing` apart, each as wide as the card; `props` go on the card (id, class_name, data-…)."""
    return rx.card(rx.vstack(*children, spacing=spacing, width="100%"), **props, width="100%")
