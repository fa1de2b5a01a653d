"""A business's quote on a lead it accepted: amount or range, what is included, valid until, visit time."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from leadapp.core.models.base import created_at_field
from leadapp.core.vocab import QuoteStatus

INCLUDED_MAX = 2000


class Quote(SQLModel, table=True):
    """One quote. A fixed price has `amount_min_cents == amount_max_cents`; `expires_at` is the end of the
    `valid_until` day in the lead's zone (the worker marks it expired after that; accepting checks it too)."""

    __tablename__ = "quotes"
    __table_args__ = (
        Index("ix_quotes_lead_status", "lead_id", "status"),
        Index("ix_quotes_status_expires", "status", "expires_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="leads.id", ondelete="CASCADE")
    business_id: int = Field(foreign_key="businesses.id", ondelete="CASCADE", index=True)
    match_id: int = Field(foreign_key="matches.id", ondelete="CASCADE", index=True)
    amount_min_cents: int
    amount_max_cents: int
    included: str = Field(default="", max_length=INCLUDED_MAX)
    valid_until: date
    expires_at: datetime
    visit_at: datetime | None = None
    status: str = Field(default=QuoteStatus.SENT.value, max_length=16)
    created_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
    decided_at: datetime | None = None
