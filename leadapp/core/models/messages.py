"""Messages between a consumer and a business that accepted their request: one thread per match (lead, business)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from leadapp.core.models.base import created_at_field

BODY_MAX = 2000


class ThreadMessage(SQLModel, table=True):
    """One message of the thread of a match (the thread is the match: one per lead and business). `side` says who
    wrote it (consumer or business), `channel` how it came in (web, email, sms); `inbound_key` is the provider's id
    of an email or text reply, so a webhook delivered twice stores it once; `photo_*` a photo sent with it."""

    __tablename__ = "thread_messages"
    __table_args__ = (
        Index("ix_thread_messages_match_created", "match_id", "created_at"),
        UniqueConstraint("inbound_key", name="uq_thread_messages_inbound_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    match_id: int = Field(foreign_key="matches.id", ondelete="CASCADE")
    lead_id: int = Field(foreign_key="leads.id", ondelete="CASCADE", index=True)
    business_id: int = Field(foreign_key="businesses.id", ondelete="CASCADE", index=True)
    side: str = Field(max_length=16)
    author_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    body: str = Field(max_length=BODY_MAX)
    channel: str = Field(default="web", max_length=16)
    inbound_key: str | None = Field(default=None, max_length=200)
    photo_ref: str = Field(default="", max_length=200, description="The attached photo's file in ATTACHMENTS_DIR")
    photo_type: str = Field(default="", max_length=32)
    photo_bytes: int = 0
    created_at: datetime = created_at_field()
