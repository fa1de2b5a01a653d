"""AI phone calls, their transcript lines and the do-not-call list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from leadapp.core.models.base import created_at_field, json_field, json_nullable_field, utcnow
from leadapp.core.vocab import CallDirection, CallStatus, CallType


class Call(SQLModel, table=True):
    __tablename__ = "calls"
    __table_args__ = (
        Index("ix_calls_business_created", "business_id", "created_at"),
        Index("ix_calls_number_created", "to_number_hash", "created_at"),
        Index("ix_calls_status_scheduled", "status", "scheduled_for"),
    )

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int | None = Field(default=None, foreign_key="leads.id", ondelete="SET NULL", index=True)
    business_id: int | None = Field(default=None, foreign_key="businesses.id", ondelete="SET NULL")
    requested_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    call_type: str = Field(default=CallType.QUALIFY_LEAD.value, max_length=32)
    direction: str = Field(default=CallDirection.OUTBOUND.value, max_length=16)
    objective: str = Field(default="", max_length=2000)
    to_number_enc: str = Field(default="", max_length=512)
    to_number_hash: str = Field(default="", max_length=64)
    from_number: str = Field(default="", max_length=32)
    status: str = Field(default=CallStatus.REQUESTED.value, max_length=16)
    outcome: str | None = Field(default=None, max_length=16)
    answered_by: str | None = Field(default=None, max_length=32)
    provider: str = Field(default="", max_length=16, description="twilio | simulated")
    provider_call_sid: str | None = Field(default=None, max_length=64, unique=True)
    consent_at: datetime | None = Field(default=None, description="The consent this call relied on")
    consent_lead_id: int | None = Field(default=None, foreign_key="leads.id", ondelete="SET NULL")
    attempt: int = Field(default=1)
    retry_of_id: int | None = Field(default=None, foreign_key="calls.id", ondelete="SET NULL")
    scheduled_for: datetime | None = None
    started_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    duration_seconds: int | None = None
    summary: str = Field(default="", max_length=8000)
    qualification: dict[str, Any] | None = json_nullable_field()
    human_callback_requested: bool = False
    human_callback_handled_at: datetime | None = Field(
        default=None, description="When the business marked the caller's request for a person handled"
    )
    recording_ref: str = Field(
        default="", max_length=500, description="Twilio recording SID (RE…), or local:<file> for a simulated call"
    )
    recording_seconds: int | None = None
    recording_purge_at: datetime | None = Field(
        default=None, description="Set when the lead was purged: the provider's recording is deleted, then the ref"
    )
    media_stream_sid: str | None = Field(
        default=None, max_length=64, description="The media stream that holds the call (one at a time)"
    )
    cost_carrier_cents: float = 0.0
    cost_realtime_cents: float = 0.0
    cost_summary_cents: float = 0.0
    cost_total_cents: float = 0.0
    cost_carrier_reported: bool = Field(
        default=False, description="cost_carrier_cents is the provider's reported price, not the per-minute estimate"
    )
    error: str = Field(default="", max_length=1000)
    created_at: datetime = created_at_field()
    updated_at: datetime = Field(default_factory=utcnow)


class CallFigures(SQLModel):
    """The figures the voice bridge measures on a call as it hands them over (`call_quality.CallQuality`) and as
    they are stored (`CallMetrics`): declared once so the two cannot drift apart."""

    interruptions: int = 0
    assistant_talk_ms: int = 0
    caller_talk_ms: int = 0
    longest_silence_ms: int = 0
    bridge_latency_p50_ms: float | None = None
    bridge_latency_p95_ms: float | None = None
    bridge_latency_max_ms: float | None = None
    audio_frames: int = Field(default=0, description="Assistant audio frames sent to the caller")


class CallMetrics(CallFigures, table=True):
    """How one call went, measured by the voice bridge and written once when the call ends.

    Turn latency: the realtime `speech_stopped` event → the first assistant audio frame sent to Twilio.
    Bridge latency: a realtime audio delta received → its Twilio media frame sent. Talk times are what each
    side said (the assistant's as heard: a barge-in cuts it); the longest silence is the longest moment
    neither side was speaking. Tokens are the sum of the realtime `response.done` usage.
    """

    __tablename__ = "call_metrics"

    call_id: int = Field(foreign_key="calls.id", ondelete="CASCADE", primary_key=True)
    turns: int = 0
    turn_latency_p50_ms: int | None = None
    turn_latency_p95_ms: int | None = None
    turn_latencies_ms: list[int] = json_field(list)
    text_in_tokens: int = 0
    text_cached_tokens: int = 0
    text_out_tokens: int = 0
    audio_in_tokens: int = 0
    audio_cached_tokens: int = 0
    audio_out_tokens: int = 0
    ai_cost_from_usage: bool = Field(default=False, description="The realtime cost came from reported usage")
    created_at: datetime = created_at_field()

    @property
    def talk_ratio(self) -> float | None:
        """The assistant's share of the talking (0-1); None when nobody spoke."""
        total = self.assistant_talk_ms + self.caller_talk_ms
        return self.assistant_talk_ms / total if total else None


class TranscriptLine(SQLModel, table=True):
    __tablename__ = "transcript_lines"
    __table_args__ = (
        Index("ix_transcript_call_seq", "call_id", "seq"),
        UniqueConstraint("call_id", "item_id", name="uq_transcript_call_item"),
    )

    id: int | None = Field(default=None, primary_key=True)
    call_id: int = Field(foreign_key="calls.id", ondelete="CASCADE")
    seq: int
    speaker: str = Field(max_length=16)
    item_id: str | None = Field(default=None, max_length=64)
    text: str = Field(max_length=8000)
    heard_ms: int | None = Field(default=None, description="Set when the caller interrupted this line")
    created_at: datetime = created_at_field()


class DoNotCall(SQLModel, table=True):
    __tablename__ = "do_not_call"

    id: int | None = Field(default=None, primary_key=True)
    phone_hash: str = Field(max_length=64, unique=True)
    phone_display: str = Field(default="", max_length=32, description="Masked, e.g. +1•••••••4567")
    reason: str = Field(default="", max_length=500)
    source: str = Field(default="admin", max_length=32, description="admin | import | call | sms | portal")
    wording: str = Field(default="", max_length=500, description="What the person said or chose, word for word")
    call_id: int | None = Field(default=None, foreign_key="calls.id", ondelete="SET NULL")
    lead_id: int | None = Field(default=None, foreign_key="leads.id", ondelete="SET NULL")
    created_by_id: int | None = Field(
        default=None, foreign_key="users.id", ondelete="SET NULL", description="The admin, or the consumer (portal)"
    )
    created_at: datetime = created_at_field()
