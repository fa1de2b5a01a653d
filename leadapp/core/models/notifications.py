"""Outgoing email/SMS, one row each, and SMS opt-outs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from leadapp.core.models.base import created_at_field, encrypted_field
from leadapp.core.vocab import NotificationStatus


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_status_created", "status", "created_at"),
        Index("ix_notifications_lead", "lead_id"),
        Index("ix_notifications_business_created", "business_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    channel: str = Field(max_length=8)
    # Encrypted at rest: addresses and numbers are personal data, and bodies hold reset and tracking links.
    recipient: str = encrypted_field("notification")
    subject: str = Field(default="", max_length=300)
    body_text: str = encrypted_field("notification")
    body_html: str = encrypted_field("notification")
    status: str = Field(default=NotificationStatus.PENDING.value, max_length=16)
    attempts: int = 0
    last_error: str = encrypted_field("notification")  # a provider's error may quote the address
    provider: str = Field(default="", max_length=16, description="sendgrid | smtp | twilio | outbox")
    provider_id: str = Field(default="", max_length=200)
    dedupe_key: str = Field(max_length=200, unique=True, description="One notification per purpose")
    lead_id: int | None = Field(default=None, foreign_key="leads.id", ondelete="SET NULL")
    match_id: int | None = Field(default=None, foreign_key="matches.id", ondelete="SET NULL")
    business_id: int | None = Field(default=None, foreign_key="businesses.id", ondelete="SET NULL")
    user_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
    sent_at: datetime | None = None


class SmsOptOut(SQLModel, table=True):
    """A number that replied STOP; cleared by START."""

    __tablename__ = "sms_opt_outs"

    id: int | None = Field(default=None, primary_key=True)
    phone_hash: str = Field(max_length=64, unique=True)
    opted_out_at: datetime = created_at_field()
