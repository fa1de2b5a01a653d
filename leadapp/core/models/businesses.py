"""Businesses: profile, service area, preferences, plan and capacity."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from leadapp.core.models.base import created_at_field, json_field, json_nullable_field, utcnow
from leadapp.core.vocab import Plan, PriceTier


class Business(SQLModel, table=True):
    __tablename__ = "businesses"
    __table_args__ = (
        Index("ix_businesses_matchable", "is_active", "paused", "zip"),
        Index("ix_businesses_location", "latitude", "longitude"),
    )

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=2000)
    categories: list[str] = json_field(list)
    address: str = Field(default="", max_length=300)
    city: str = Field(default="", max_length=120)
    state: str = Field(default="", max_length=2)
    zip: str = Field(max_length=10)
    latitude: float | None = None
    longitude: float | None = None
    radius_miles: float = Field(default=25.0)
    rating: float = Field(default=0.0, description="Set by admins until verified reviews exist; never by the owner")
    review_count: int = Field(default=0)
    verified_review_count: int = Field(default=0, description="Visible verified reviews (kept by the reviews service)")
    verified_stars_total: int = Field(default=0, description="Sum of their stars; the rules' prior is applied on read")
    years_in_business: int = Field(default=0)
    price_tier: str = Field(default=PriceTier.STANDARD.value, max_length=16)
    licensed: bool = False
    insured: bool = False
    emergency_service: bool = False
    tags: list[str] = json_field(list)
    notify_email: str = Field(default="", max_length=320)
    notify_phone: str = Field(default="", max_length=32)
    notify_channels: list[str] = json_field(lambda: ["email"])
    hours: dict[str, Any] = json_field(dict)
    voice: str = Field(default="marin", max_length=32)
    languages: list[str] = json_field(lambda: ["en"])
    """The languages the owner serves ("en", "es"): only leads in one of them are offered to the business."""
    call_objective_notes: str = Field(default="", max_length=4000)
    inbound_number: str | None = Field(default=None, max_length=32, unique=True)
    inbound_number_sid: str | None = Field(
        default=None, max_length=64, description="Twilio IncomingPhoneNumber SID (PN…); None for the local line"
    )
    inbound_previous: dict[str, Any] | None = json_nullable_field()
    """The number's voice settings before it was pointed at the bridge (restored when it is disconnected)."""
    inbound_connected_at: datetime | None = None
    plan: str = Field(default=Plan.FREE.value, max_length=16)
    monthly_lead_cap: int = Field(default=50)
    max_open_leads: int | None = None
    paused: bool = False
    is_active: bool = True
    verified_at: datetime | None = Field(
        default=None, description="When an admin verified the business; None = waiting in the queue, gets no leads"
    )
    verified_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    response_rate: float | None = Field(default=None, description="Share of matches answered (0-1); None = no history")
    avg_response_minutes: float | None = None
    created_at: datetime = created_at_field()
    updated_at: datetime = Field(default_factory=utcnow)
