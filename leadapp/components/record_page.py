"""The page of one record (a lead, a call, a user, a request): the way back to the list it was opened from and
the record's title, above what the page shows of it."""

from __future__ import annotations

import reflex as rx

from leadapp.components.layout import back_link, guarded_page


def record_page(
    area: str,
    back: tuple[str, str, str],
    title: str,
    *children: rx.Component,
    title_id: str | None = None,
    title_size: str = "7",
    max_width: str = "72em",
) -> rx.Component:
    """One record's page of `area`: `back` (label, href, id) is the link back to its list, then the title
    (`#<title_id>` when given), then `children` (what its actions said, its `record_panel`, its dialogs)."""
    return guarded_page(
        area,
        back_link(*back),
        rx.heading(title, size=title_size, id=title_id, margin_y="0.5em"),
        *children,
        max_width=max_width,
    )
