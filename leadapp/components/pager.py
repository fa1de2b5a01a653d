"""Server-side paging: one state mixin (`PagedState`) and the pager under a list (`pager`).

A list page keeps only the rows of its current page in the state (a changed list var is resent whole), so
every paged list has the same four values and the same "go to the previous/next page" handler. A state
mixes `PagedState` in before its own base (`class OutboxState(PagedState, AuthState)`) and writes `_fetch`,
which loads `self.page` and hands the result to `_show_page` (or `_show_failure`). A service that takes an
offset and a limit instead of a page number is asked for `self._offset()` and `self.page_size` rows, and its rows
and total go to `_show_rows`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import reflex as rx

from leadapp.components.table import Column, data_table


class PageOfRows(Protocol):
    """What the services' list functions return (e.g. `admin_ops.Page`)."""

    rows: list[Any]
    total: int
    page: int


class PagedState(rx.State, mixin=True):
    """The current page of a server-side paged list.

    `loaded` stays False until the first answer, so the list shows a skeleton (not "nothing here") while
    the first page is on its way.
    """

    rows: list[dict[str, str]] = []
    total: int = 0
    page: int = 1
    page_size: int = 50
    loaded: bool = False

    @rx.var
    def pages(self) -> int:
        return max(1, -(-self.total // max(1, self.page_size)))

    def _fetch(self) -> None:
        """Load `self.page` of the list (with the state's filters) and show it."""
        raise NotImplementedError

    def _offset(self) -> int:
        """How many rows come before the current page (for services that take an offset)."""
        return (max(1, self.page) - 1) * self.page_size

    def _show_page(self, result: PageOfRows, page_size: int | None = None) -> None:
        self.page = int(result.page)
        self.page_size = int(page_size or getattr(result, "page_size", self.page_size))
        self._show_rows(result.rows, result.total)

    def _show_rows(self, rows: list[Any], total: int) -> None:
        self.rows, self.total, self.loaded = list(rows), int(total), True

    def _show_failure(self) -> None:
        self.rows, self.total, self.loaded = [], 0, True

    @rx.event
    def go_page(self, delta: int):
        self.page = max(1, min(self.pages, self.page + int(delta)))
        return self._turned()

    def _turned(self) -> Any:
        """What turning the page does: load the new page here (a state may return an event to run instead)."""
        self._fetch()
        return None


def page_buttons(
    go: Any,
    page: rx.Var,
    pages: rx.Var,
    count: list[Any],
    *,
    noun: str,
    pager_id: str,
    back: str = "Previous",
    forward: str = "Next",
) -> rx.Component:
    """Previous / "Page 2 of 5 · <count>" / Next, always shown; `go(delta)` turns the page (±1) and the count
    (e.g. `[state.total, " leads"]`) is announced when it changes. `pager` is this under a `PagedState` list."""
    return rx.hstack(
        rx.button(
            rx.icon("chevron-left", size=16, aria_hidden="true"),
            back,
            on_click=go(-1),
            variant="soft",
            disabled=page <= 1,
            size="2",
            aria_label=f"Previous page of {noun}",
        ),
        rx.text("Page ", page, " of ", pages, " · ", *count, size="2", id=pager_id, aria_live="polite"),
        rx.button(
            forward,
            rx.icon("chevron-right", size=16, aria_hidden="true"),
            on_click=go(1),
            variant="soft",
            disabled=page >= pages,
            size="2",
            aria_label=f"Next page of {noun}",
        ),
        align="center",
        wrap="wrap",
        spacing="3",
        class_name="pager",
    )


def pager(
    state: Any, noun: str, pager_id: str, back: str = "Previous", forward: str = "Next", *, always: bool = False
) -> rx.Component:
    """Previous / "Page 2 of 5 · 212 <noun>" / Next under a `PagedState` list, once it has rows (`always`: from
    the start, "· 0 <noun>" included).

    A list that is newest first may name its buttons for where they lead (`back="Newer", forward="Older"`).
    """
    buttons = page_buttons(
        state.go_page,
        state.page,
        state.pages,
        [state.total, f" {noun}"],
        noun=noun,
        pager_id=pager_id,
        back=back,
        forward=forward,
    )
    return buttons if always else rx.cond(state.total > 0, buttons)


def paged_table(
    state: Any,
    columns: list[Column],
    prefix: str,
    *,
    label: str,
    noun: str,
    row_props: Callable[[rx.Var], dict[str, Any]] | None = None,
    empty: rx.Component | None = None,
    loaded: rx.Var | bool | None = None,
) -> rx.Component:
    """The current page of a `PagedState` list as a table (`#<prefix>-table`; skeleton rows until its first answer,
    unless `loaded` says otherwise), with the pager under it (`#<prefix>-count`, counting `noun`)."""
    return rx.fragment(
        data_table(
            columns,
            state.rows,
            table_id=f"{prefix}-table",
            label=label,
            row_props=row_props,
            empty=empty,
            loaded=state.loaded if loaded is None else loaded,
        ),
        pager(state, noun, f"{prefix}-count"),
    )
