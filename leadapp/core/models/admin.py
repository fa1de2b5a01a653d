"""Platform rules, audit events and reports, prospects and invitations, contact messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from leadapp.core.models.base import created_at_field, json_field, json_nullable_field
from leadapp.core.vocab import ContactMessageStatus, ProspectStatus


class PlatformRules(SQLModel, table=True):
    """One saved version of the platform rules; the newest version is in force."""

    __tablename__ = "platform_rules"

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(unique=True, index=True)
    rules: dict[str, Any] = json_field(dict)
    note: str = Field(default="", max_length=500)
    rolled_back_from: int | None = None
    created_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_target", "target_type", "target_id"),
        Index("ix_audit_action_created", "action", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    actor_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL", index=True)
    action: str = Field(max_length=64)
    target_type: str = Field(default="", max_length=32)
    target_id: str = Field(default="", max_length=64)
    before: dict[str, Any] | None = json_nullable_field()
    after: dict[str, Any] | None = json_nullable_field()
    ip: str = Field(default="", max_length=64)
    created_at: datetime = created_at_field()


class AuditReport(SQLModel, table=True):
    """The weekly audit's output."""

    __tablename__ = "audit_reports"

    id: int | None = Field(default=None, primary_key=True)
    period_start: datetime
    period_end: datetime
    figures: dict[str, Any] = json_field(dict)
    flags: list[dict[str, Any]] = json_field(list)
    recommendations: list[dict[str, Any]] = json_field(list)
    markdown: str = Field(default="", max_length=100000)
    narrator: str = Field(default="template", max_length=16)
    created_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()


class Prospect(SQLModel, table=True):
    __tablename__ = "prospects"
    __table_args__ = (Index("ix_prospects_zip_category", "zip", "category"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(default="local", max_length=16)
    place_id: str = Field(max_length=200, unique=True)
    name: str = Field(max_length=200)
    phone: str = Field(default="", max_length=32)
    email: str = Field(default="", max_length=320)
    website: str = Field(default="", max_length=500)
    address: str = Field(default="", max_length=300)
    zip: str = Field(default="", max_length=10)
    category: str = Field(default="", max_length=32)
    rating: float | None = None
    review_count: int = 0
    open_now: bool | None = None
    status: str = Field(default=ProspectStatus.FOUND.value, max_length=16)
    disqualify_reason: str = Field(default="", max_length=300)
    business_id: int | None = Field(default=None, foreign_key="businesses.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()


class Invitation(SQLModel, table=True):
    __tablename__ = "invitations"

    id: int | None = Field(default=None, primary_key=True)
    prospect_id: int = Field(foreign_key="prospects.id", ondelete="CASCADE", index=True)
    email: str = Field(max_length=320)
    token_hash: str = Field(max_length=64, unique=True)
    sent_at: datetime | None = None
    followups_sent: int = 0
    next_followup_at: datetime | None = None
    clicked_at: datetime | None = None
    activated_at: datetime | None = None
    unsubscribed_at: datetime | None = None
    stopped_reason: str = Field(default="", max_length=100)
    created_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()


class ContactMessage(SQLModel, table=True):
    __tablename__ = "contact_messages"
    __table_args__ = (Index("ix_contact_status_created", "status", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    subject: str = Field(default="", max_length=200)
    body: str = Field(max_length=5000)
    status: str = Field(default=ContactMessageStatus.NEW.value, max_length=16)
    ip: str = Field(default="", max_length=64)
    created_at: datetime = created_at_field()
    read_at: datetime | None = None
    answered_at: datetime | None = None
