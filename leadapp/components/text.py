"""The words beside a page's main ones: what a section does, a hint, when something happened."""

from __future__ import annotations

from typing import Any

import reflex as rx


def note(*children: Any, size: str = "2", **props: Any) -> rx.Component:
    """Secondary words in the muted gray of the theme (`size` "1" for the smallest, under a row or a field);
    `props` go on the text (id, class_name, data-…)."""
    return rx.text(*children, size=size, color_scheme="gray", **props)
