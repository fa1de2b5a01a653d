"""Shapes every admin operations page shares: a page of rows, times and money as shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session
from sqlmodel.sql.expression import Select, SelectOfScalar

from leadapp.core import localtime
from leadapp.core.observability import get_logger

log = get_logger(__name__)

PAGE_SIZE = 50
FAILED_JOBS_LIMIT = 100
COST_MONTHS = 12
DNC_IMPORT_MAX_ROWS = 5000
DNC_IMPORT_MAX_CHARS = 500_000
REDIS_TIMEOUT_SECONDS = 5


# --- shared shapes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows (strings, ready to show), how many rows match in all, which page."""

    rows: list[dict[str, str]]
    total: int
    page: int
    page_size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _page_number(page: int, total: int) -> int:
    """`page` clamped to 1..last page."""
    last = max(1, -(-total // PAGE_SIZE))
    return max(1, min(int(page or 1), last))


def _paged(session: Session, query: Select[Any], count: SelectOfScalar[int], page: int) -> tuple[list[Any], int, int]:
    """Page `page` (clamped to 1..last) of `query`'s rows, with how many there are in all (`count`) and the page
    number: (rows, total, page)."""
    total = int(session.exec(count).one())
    page = _page_number(page, total)
    return list(session.exec(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()), total, page


def _when(moment: datetime | None, zone: ZoneInfo | None = None) -> str:
    """ "YYYY-MM-DD HH:MM UTC" ("" for None); a naive time is taken to be UTC (as RQ and SQLite give them).
    With `zone` (the admin's own, `localtime.viewer_zone`): the exact time there, "Dec 6, 2026, 9:05 EST"."""
    if moment is None:
        return ""
    if zone is not None:
        return localtime.exact(moment, zone)
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _dollars(cents: float | None) -> str:
    """Cents as dollars, half a cent rounded up (175.5 → "$1.76"; binary floats would round it down)."""
    amount = (Decimal(str(cents or 0)) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"${amount:,.2f}"
