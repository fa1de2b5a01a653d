"""Server-side paging: one state mixin (`PagedState`) and the pager under a list (`pager`).

A list page keeps only the rows of its current page in the state (a changed list var is resent whole), so
every paged list has the same four values and the same "go to the previous/next page" handler. A state
mixes `PagedState` in before its own base (`class OutboxState(PagedState, AuthState)`) and writes `_fetch`,
which loads `self.page` and hands the result to `_show_page` (or `_show_failure`).
"""

from __future__ import annotations

from typing import Any, Protocol

import reflex as rx


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

    def _show_page(self, result: PageOfRows, page_size: int | None = None) -> None:
        self.rows, self.total, self.page = list(result.rows), int(result.total), int(result.page)
        self.page_size = int(page_size or getattr(result, "page_size", self.page_size))
        self.loaded = True

    def _show_failure(self) -> None:
        self.rows, self.total, self.loaded = [], 0, True

    @rx.event
    def go_page(self, delta: int):
        self.page = max(1, min(self.pages, self.page + int(delta)))
        self._fetch()


def pager(state: Any, noun: str, pager_id: str) -> rx.Component:
    """Previous / "Page 2 of 5 · 212 <noun>" / Next under a list; the count is announced when it changes."""
    return rx.cond(
        state.total > 0,
        rx.hstack(
            rx.button(
                rx.icon("chevron-left", size=16, aria_hidden="true"),
                "Previous",
                on_click=state.go_page(-1),
                variant="soft",
                disabled=state.page <= 1,
                size="2",
                aria_label=f"Previous page of {noun}",
            ),
            rx.text(
                "Page ",
                state.page,
                " of ",
                state.pages,
                " · ",
                state.total,
                f" {noun}",
                size="2",
                id=pager_id,
                aria_live="polite",
            ),
            rx.button(
                "Next",
                rx.icon("chevron-right", size=16, aria_hidden="true"),
                on_click=state.go_page(1),
                variant="soft",
                disabled=state.page >= state.pages,
                size="2",
                aria_label=f"Next page of {noun}",
            ),
            align="center",
            wrap="wrap",
            spacing="3",
            class_name="pager",
        ),
    )
