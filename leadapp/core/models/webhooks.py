"""Partner webhooks: one row per delivery of a lead's status change to the API key that created the lead."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from leadapp.core.models.base import created_at_field, json_field
from leadapp.core.vocab import WebhookStatus


class WebhookDelivery(SQLModel, table=True):
    """A status change to POST to a partner (Standard Webhooks). Written in the transaction of the change itself,
    sent by an RQ job afterwards; every attempt (a retry, an admin's re-send) carries the same `webhook_id`, so
    the partner can drop what it already has."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_status_created", "status", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    webhook_id: str = Field(max_length=64, unique=True, description="The `webhook-id` header: 'msg_' + random")
    api_key_id: int = Field(foreign_key="api_keys.id", ondelete="CASCADE", index=True)
    lead_id: int | None = Field(default=None, foreign_key="leads.id", ondelete="SET NULL", index=True)
    event: str = Field(max_length=32, description="lead.matched | lead.accepted | lead.converted | lead.withdrawn")
    dedupe_key: str = Field(max_length=100, unique=True, description="One delivery per lead and event")
    payload: dict[str, Any] = json_field(dict)
    status: str = Field(default=WebhookStatus.PENDING.value, max_length=16)
    attempts: int = Field(default=0, description="POSTs started (claims), retries and re-sends included")
    last_error: str = Field(default="", max_length=500)
    last_status_code: int | None = None
    created_at: datetime = created_at_field()
    claimed_at: datetime | None = Field(default=None, description="When the running attempt began")
    next_try_at: datetime | None = Field(default=None, description="When RQ's Retry runs the next attempt")
    delivered_at: datetime | None = None
