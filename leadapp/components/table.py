"""The one table of the app: columns are declared once (header + cell), so a header and its cells cannot
disagree; an empty list says what to do next; the first load shows skeleton rows instead of a blank area.

    COLUMNS = [
        Column("Message", lambda row: rx.text(row["subject"]), min_width="12em"),
        Column("Status", lambda row: status_badge(row["status"])),
        Column("Actions", retry_button, hide_header=True),
    ]
    data_table(COLUMNS, State.rows, table_id="outbox-table", label="Notifications",
               row_props=lambda row: {"class_name": "outbox-row", "data_notification": row["id"]},
               empty=empty_state("No notifications yet.", "They appear here as soon as one is sent."),
               loaded=State.loaded)

The table scrolls sideways inside its own box on a narrow screen (the page does not); that box is a
labelled region a keyboard user can focus and scroll.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import reflex as rx

SKELETON_ROWS = 3


@dataclass(frozen=True)
class Column:
    """One column: its header and how one row's cell is drawn.

    `hide_header` keeps the header for screen readers only (a column of buttons); `cell_props` go on every
    cell of the column (class_name, min_width, white_space, …).
    """

    header: str
    cell: Callable[[rx.Var], rx.Component | rx.Var | str | list[Any]]
    hide_header: bool = False
    min_width: str | None = None
    cell_props: dict[str, Any] = field(default_factory=dict)


def visually_hidden(text: str | rx.Var) -> rx.Component:
    """Text for screen readers only (the `sr-only` rule of assets/theme.css)."""
    return rx.el.span(text, class_name="sr-only")


def _header_cell(column: Column) -> rx.Component:
    content = visually_hidden(column.header) if column.hide_header else column.header
    return rx.table.column_header_cell(content, scope="col", min_width=column.min_width)


def _cell(column: Column, row: rx.Var) -> rx.Component:
    content = column.cell(row)
    children = content if isinstance(content, list) else [content]
    return rx.table.cell(*children, **column.cell_props)


def _row(columns: list[Column], row: rx.Var, row_props: Callable[[rx.Var], dict[str, Any]] | None) -> rx.Component:
    return rx.table.row(*[_cell(c, row) for c in columns], **(row_props(row) if row_props else {}))


def _skeleton_rows(columns: list[Column]) -> list[rx.Component]:
    return [
        rx.table.row(
            *[rx.table.cell(rx.skeleton(rx.text("Loading"), loading=True)) for _ in columns],
            class_name="skeleton-row",
            aria_hidden="true",
        )
        for _ in range(SKELETON_ROWS)
    ]


def _next_step(next_step: str | rx.Var) -> rx.Component:
    text = rx.text(next_step, size="2", color=rx.color("gray", 11), class_name="empty-next-step")
    if isinstance(next_step, rx.Var):
        return rx.cond(next_step != "", text)
    return text if next_step else rx.fragment()


def empty_state(
    message: str | rx.Var,
    next_step: str | rx.Var = "",
    *,
    icon: str = "inbox",
    action: rx.Component | None = None,
    empty_id: str | None = None,
) -> rx.Component:
    """What an empty list shows: what is (not) here, and what to do next (a sentence and/or an action)."""
    return rx.flex(
        rx.icon(icon, size=28, color=rx.color("gray", 10), aria_hidden="true"),
        rx.text(message, weight="medium", size="3"),
        _next_step(next_step),
        action if action is not None else rx.fragment(),
        direction="column",
        align="center",
        spacing="2",
        padding="2em 1em",
        width="100%",
        text_align="center",
        border=f"1px dashed {rx.color('gray', 6)}",
        border_radius="var(--radius-3)",
        class_name="empty-state",
        id=empty_id,
    )


def data_table(
    columns: list[Column],
    rows: rx.Var,
    *,
    table_id: str,
    label: str,
    row_props: Callable[[rx.Var], dict[str, Any]] | None = None,
    empty: rx.Component | None = None,
    loaded: rx.Var | bool = True,
    size: str = "1",
) -> rx.Component:
    """A table of `rows` (a list var) with one header per column and one cell per column in every row.

    Until `loaded` is true the body holds skeleton rows; once loaded, an empty list shows `empty` under the
    header instead of a body.
    """
    loaded_var = loaded if isinstance(loaded, rx.Var) else rx.Var.create(loaded)
    table = rx.table.root(
        rx.table.header(rx.table.row(*[_header_cell(c) for c in columns])),
        rx.table.body(
            rx.cond(
                loaded_var,
                rx.foreach(rows, lambda row: _row(columns, row, row_props)),
                rx.fragment(*_skeleton_rows(columns)),
            )
        ),
        width="100%",
        size=size,
        id=table_id,
        aria_label=label,
    )
    return rx.vstack(
        rx.box(
            table,
            overflow_x="auto",
            width="100%",
            tab_index=0,
            role="region",
            aria_label=f"{label} (scrolls sideways)",
            class_name="table-scroll",
        ),
        rx.cond(loaded_var & (rows.length() == 0), empty) if empty is not None else rx.fragment(),
        spacing="2",
        width="100%",
    )


def plain_table(
    headers: Sequence[str], *body: rx.Component, table_id: str, size: str | None = None, **box_props: Any
) -> rx.Component:
    """A table whose body the page draws itself (a foreach of rows, a total row…) under one header cell per
    title, in a box that scrolls sideways on a narrow screen (`box_props` go on that box)."""
    table = rx.table.root(
        rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in headers])),
        rx.table.body(*body),
        width="100%",
        id=table_id,
        **({"size": size} if size else {}),
    )
    return rx.box(table, **{"overflow_x": "auto", "width": "100%", **box_props})


def plain_list(
    headers: Sequence[str],
    rows: rx.Var,
    row: Callable[[rx.Var], rx.Component],
    *,
    table_id: str,
    none: str,
    none_id: str,
    **none_props: Any,
) -> rx.Component:
    """A `plain_table` of one `row(…)` per item of `rows`, and the sentence `none` (`#<none_id>`) under it while
    there is no item (`none_props` go on that sentence: size…)."""
    return rx.fragment(
        plain_table(headers, rx.foreach(rows, row), table_id=table_id),
        rx.cond(rows.length() == 0, rx.text(none, color_scheme="gray", id=none_id, **none_props)),
    )


def row_action(*children: Any, **props: Any) -> rx.Component:
    """A small soft button that acts on one item of a list or a record (a row, a card, a call): its words (and
    icon) are `children`; `props` go on the button (on_click, color_scheme, class_name, data-…)."""
    return rx.button(*children, size="1", variant="soft", **props)
