"""Leads, their matches, conversions and guided-interview sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint, event
from sqlalchemy.orm.attributes import get_history
from sqlmodel import Field, SQLModel

from leadapp.core.models.base import created_at_field, encrypted_json_field, json_field, json_nullable_field, utcnow
from leadapp.core.redaction import redact_contact
from leadapp.core.vocab import ContactPreference, InterviewStatus, LeadSource, LeadStatus, MatchStatus

REDACTED_TEXT_MAX = 10000
"""Room for `raw_text` (5000) with its contact details replaced by markers, which can be longer than them."""


class Lead(SQLModel, table=True):
    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_status_created", "status", "created_at"),
        Index("ix_leads_consumer_created", "consumer_id", "created_at"),
        Index("ix_leads_phone_hash", "contact_phone_hash"),
        Index("ix_leads_flagged", "flagged", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    consumer_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    business_id: int | None = Field(
        default=None, foreign_key="businesses.id", ondelete="SET NULL", description="Set for inbound calls"
    )
    source: str = Field(default=LeadSource.FORM.value, max_length=16)
    raw_text: str = Field(max_length=5000)
    redacted_text: str = Field(
        default="",
        max_length=REDACTED_TEXT_MAX,
        description="raw_text with contact details hidden: what a business sees (and searches) before accepting",
    )
    contact_name: str = Field(default="", max_length=200)
    contact_email: str = Field(default="", max_length=320)
    contact_phone_enc: str = Field(default="", max_length=512, description="Encrypted E.164 number")
    contact_phone_hash: str = Field(default="", max_length=64, description="Keyed hash for look-ups")
    contact_phone_last4: str = Field(default="", max_length=4)
    preferred_contact: str = Field(default=ContactPreference.EMAIL.value, max_length=16)
    zip: str = Field(default="", max_length=10)
    consent_ai_calls: bool = False
    consent_at: datetime | None = None
    consent_text: str = Field(default="", max_length=1000)
    phone_verified_at: datetime | None = Field(
        default=None, description="When a code texted to the number came back: only then does AI-call consent count"
    )
    client_ip: str = Field(default="", max_length=64)
    api_key_id: int | None = Field(
        default=None,
        foreign_key="api_keys.id",
        ondelete="SET NULL",
        index=True,
        description="The partner's API key that created it: only that key reads its status and hears its webhooks",
    )
    idempotency_key: str | None = Field(
        default=None,
        max_length=200,
        unique=True,
        description="Internal keys as they are (interview-N, inbound-call-N); a client's key as "
        "'client:' + SHA-256 of (its scope, the key), so clients never share or capture a key",
    )
    idempotency_fingerprint: str = Field(
        default="", max_length=64, description="SHA-256 of the body that came with a client's key"
    )
    # Classification
    category: str | None = Field(default=None, max_length=32, index=True)
    urgency: str | None = Field(default=None, max_length=16)
    budget_min: int | None = None
    budget_max: int | None = None
    location_zip: str | None = Field(default=None, max_length=10)
    key_requirements: list[str] = json_field(list)
    sentiment: str | None = Field(default=None, max_length=16)
    language: str = Field(
        default="en", max_length=8, description="en or es: detected from the text, or the caller's first words"
    )
    quality_score: float | None = None
    is_spam: bool = False
    spam_reason: str = Field(default="", max_length=500)
    flagged: bool = False
    flag_reason: str = Field(default="", max_length=500)
    classifier: str = Field(default="", max_length=32)
    rules_version: int | None = None
    qualification: dict[str, Any] | None = json_nullable_field()
    status: str = Field(default=LeadStatus.RECEIVED.value, max_length=16)
    attempts: int = Field(default=0, description="Pipeline runs started (sweeper bookkeeping)")
    created_at: datetime = created_at_field()
    updated_at: datetime = Field(default_factory=utcnow)
    classified_at: datetime | None = None
    matched_at: datetime | None = None
    routing: str = Field(
        default="broadcast", max_length=16, description="How it was offered: broadcast, or waterfall (in waves)"
    )
    next_wave_at: datetime | None = Field(
        default=None, index=True, description="Waterfall: when the next businesses are offered it (None: no more)"
    )
    withdrawn_at: datetime | None = None
    released_at: datetime | None = Field(
        default=None, description="When the business it called released it to the marketplace (inbound calls)"
    )
    deleted_at: datetime | None = Field(default=None, description="Hidden everywhere from this moment")
    purge_after: datetime | None = None


@event.listens_for(Lead, "before_insert")
@event.listens_for(Lead, "before_update")
def _keep_redacted_text(_mapper: object, _connection: object, lead: Lead) -> None:
    """`redacted_text` follows `raw_text` whoever writes it (intake, an inbound call, a concierge call), so no
    writer can forget it; a row from before the column (empty) is filled on its next update.
    (Bulk `UPDATE ... SET raw_text` statements bypass this; there are none.)"""
    changed = get_history(lead, "raw_text").has_changes()  # (`inspect(lead).attrs` would build all 40 first)
    if changed or (lead.raw_text and not lead.redacted_text):
        lead.redacted_text = redact_contact(lead.raw_text or "", lead.contact_email)[:REDACTED_TEXT_MAX]


class Match(SQLModel, table=True):
    __tablename__ = "matches"
    __table_args__ = (
        UniqueConstraint("lead_id", "business_id", name="uq_matches_lead_business"),
        Index("ix_matches_business_status_created", "business_id", "status", "created_at"),
        Index("ix_matches_business_created", "business_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="leads.id", ondelete="CASCADE", index=True)
    business_id: int = Field(foreign_key="businesses.id", ondelete="CASCADE")
    score: float
    distance_miles: float | None = None
    reasons: list[str] = json_field(list)
    points: list[dict[str, Any]] | None = json_nullable_field()
    """Each factor's share of `score`: [{"factor", "points", "max"}, …] (None for matches scored before it was kept)."""
    status: str = Field(default=MatchStatus.NEW.value, max_length=16)
    decline_message: str = Field(default="", max_length=1000)
    created_at: datetime = created_at_field()
    notified_at: datetime | None = None
    viewed_at: datetime | None = None
    responded_at: datetime | None = None


class Conversion(SQLModel, table=True):
    __tablename__ = "conversions"

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="leads.id", ondelete="CASCADE", index=True)
    business_id: int = Field(foreign_key="businesses.id", ondelete="CASCADE", index=True)
    match_id: int | None = Field(default=None, foreign_key="matches.id", ondelete="SET NULL")
    job_value_cents: int = 0
    note: str = Field(default="", max_length=1000)
    created_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()


class InterviewSession(SQLModel, table=True):
    """A guided AI interview in progress, owned by the browser (token hash) or an account."""

    __tablename__ = "interview_sessions"

    id: int | None = Field(default=None, primary_key=True)
    owner_token_hash: str = Field(max_length=64, index=True)
    user_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL", index=True)
    # Encrypted at rest: the answers hold the consumer's phone number and email address.
    messages: list[dict[str, Any]] = encrypted_json_field("interview", list)
    extracted: dict[str, Any] = encrypted_json_field("interview", dict)
    status: str = Field(default=InterviewStatus.OPEN.value, max_length=16)
    lead_id: int | None = Field(default=None, foreign_key="leads.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
    updated_at: datetime = Field(default_factory=utcnow)
