"""A verified review: stars and text from the consumer of a converted job, the business's one reply, a hide."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from leadapp.core.models.base import created_at_field

TEXT_MAX = 2000
REASON_MAX = 500


class Review(SQLModel, table=True):
    """One review per conversion (`conversion_id` is unique: a review link is used once, enforced here). Hidden
    reviews (`hidden_at` set, with the admin's reason) are shown nowhere and left out of the business's rating."""

    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_business_visible", "business_id", "hidden_at"),)

    id: int | None = Field(default=None, primary_key=True)
    conversion_id: int = Field(foreign_key="conversions.id", ondelete="CASCADE", unique=True)
    lead_id: int = Field(foreign_key="leads.id", ondelete="CASCADE", index=True)
    business_id: int = Field(foreign_key="businesses.id", ondelete="CASCADE")
    consumer_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    stars: int
    text: str = Field(default="", max_length=TEXT_MAX)
    created_at: datetime = created_at_field()
    reply: str = Field(default="", max_length=TEXT_MAX)
    replied_at: datetime | None = None
    replied_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    hidden_at: datetime | None = None
    hidden_reason: str = Field(default="", max_length=REASON_MAX)
    hidden_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
