"""Per-call quality: what the voice bridge measured on a call, its AI cost from the reported usage, and the
figures over many calls (a business's weeks, the weekly audit).

The bridge measures (O(1) per frame, no database) and hands one `CallQuality` to `conversation.finish_call`
when the call ends; `record_quality` stores it as the call's `call_metrics` row, once (a second write for the
same call replaces the figures, so a repeated finish is harmless).

Definitions (the pages show exactly these):
- Turn latency: the realtime `input_audio_buffer.speech_stopped` event reaching the bridge → the first
  assistant audio frame of the answer sent to Twilio (a tool call made before answering included; the greeting
  is no turn). p50/p95 are nearest-rank percentiles of a call's turns.
- Interruptions: the caller starting to speak while assistant audio was still playing (a barge-in that cut it).
- Talk ratio: the assistant's talk time (audio sent, less what a barge-in cut off) over both sides' talk time
  (the caller's is the sum of its speech segments by the realtime server's audio clock).
- Longest silence: the longest moment, from the stream's start to its last sound, when neither side spoke.
- Bridge latency: a realtime audio delta received by the bridge → its Twilio media frame sent.
- AI cost: the sum of every `response.done` usage at the realtime prices of the settings (USD per million
  tokens, cached input at its own price). A call with no reported usage keeps the per-minute estimate.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ConfigDict
from sqlmodel import Field, Session

from leadapp.core.models import Call, CallFigures, CallMetrics, utcnow
from leadapp.core.settings import Settings, get_settings


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank `q`-th percentile (0 < q ≤ 100) of `values`; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def _count(data: Mapping[str, Any] | None, key: str) -> int:
    value = (data or {}).get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Realtime tokens by kind; `*_in` excludes the cached part, which is counted in `*_cached`."""

    text_in: int = 0
    text_cached: int = 0
    text_out: int = 0
    audio_in: int = 0
    audio_cached: int = 0
    audio_out: int = 0

    @classmethod
    def from_response(cls, usage: Mapping[str, Any] | None) -> TokenUsage:
        """One `response.done`'s `response.usage` (GA shape); anything missing or malformed counts as 0."""
        if not isinstance(usage, Mapping):
            return cls()
        given = usage.get("input_token_details")
        details = given if isinstance(given, Mapping) else {}
        cached_given = details.get("cached_tokens_details")
        cached = cached_given if isinstance(cached_given, Mapping) else {}
        out_given = usage.get("output_token_details")
        out = out_given if isinstance(out_given, Mapping) else {}
        text_cached, audio_cached = _count(cached, "text_tokens"), _count(cached, "audio_tokens")
        return cls(
            text_in=max(0, _count(details, "text_tokens") - text_cached),
            text_cached=text_cached,
            text_out=_count(out, "text_tokens"),
            audio_in=max(0, _count(details, "audio_tokens") - audio_cached),
            audio_cached=audio_cached,
            audio_out=_count(out, "audio_tokens"),
        )

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            self.text_in + other.text_in,
            self.text_cached + other.text_cached,
            self.text_out + other.text_out,
            self.audio_in + other.audio_in,
            self.audio_cached + other.audio_cached,
            self.audio_out + other.audio_out,
        )

    @property
    def total(self) -> int:
        return self.text_in + self.text_cached + self.text_out + self.audio_in + self.audio_cached + self.audio_out

    def cost_cents(self, settings: Settings | None = None) -> float:
        """These tokens at the realtime prices of the settings (USD per million tokens), in cents."""
        s = settings or get_settings()
        usd = (
            self.text_in * s.realtime_text_in_usd_per_mtok
            + self.text_cached * s.realtime_text_cached_usd_per_mtok
            + self.text_out * s.realtime_text_out_usd_per_mtok
            + self.audio_in * s.realtime_audio_in_usd_per_mtok
            + self.audio_cached * s.realtime_audio_cached_usd_per_mtok
            + self.audio_out * s.realtime_audio_out_usd_per_mtok
        ) / 1_000_000
        return round(usd * 100, 4)


class CallQuality(CallFigures):
    """What the bridge measured on one call (see the module doc for each figure): the `CallFigures` stored as they
    are, the turns' latencies (stored with their percentiles) and the reported token usage."""

    model_config = ConfigDict(frozen=True)

    turn_latencies_ms: tuple[int, ...] = ()
    usage: TokenUsage = Field(default_factory=TokenUsage)


def record_quality(session: Session, call: Call, quality: CallQuality) -> CallMetrics:
    """Store `quality` as `call`'s metrics row (replacing an earlier one) and, when the realtime service reported
    usage, make the call's realtime cost that usage's price (the total is the caller's to recompute)."""
    assert call.id is not None
    row = session.get(CallMetrics, call.id) or CallMetrics(call_id=call.id)
    latencies = quality.turn_latencies_ms
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    row.turns = len(latencies)
    row.turn_latency_p50_ms = None if p50 is None else int(p50)
    row.turn_latency_p95_ms = None if p95 is None else int(p95)
    row.turn_latencies_ms = list(latencies)
    for name in CallFigures.model_fields:
        setattr(row, name, getattr(quality, name))
    usage = quality.usage
    row.text_in_tokens, row.text_cached_tokens, row.text_out_tokens = usage.text_in, usage.text_cached, usage.text_out
    row.audio_in_tokens, row.audio_cached_tokens = usage.audio_in, usage.audio_cached
    row.audio_out_tokens = usage.audio_out
    row.ai_cost_from_usage = usage.total > 0
    if row.ai_cost_from_usage:
        call.cost_realtime_cents = usage.cost_cents()
    row.created_at = utcnow()
    session.add(row)
    return row


@dataclass(frozen=True)
class QualitySummary:
    """Calls' metrics taken together: a business's week, or the whole platform's week in the audit."""

    calls: int = 0
    turns: int = 0
    turn_latency_p50_ms: int | None = None
    turn_latency_p95_ms: int | None = None
    interruptions: int = 0
    talk_ratio: float | None = None
    longest_silence_ms: int | None = None
    bridge_latency_p95_ms: float | None = None

    @property
    def interruptions_per_call(self) -> float | None:
        return self.interruptions / self.calls if self.calls else None


def summarize(rows: Iterable[CallMetrics]) -> QualitySummary:
    """The figures of these calls together: percentiles over all their turns (not an average of the calls'
    percentiles), interruptions summed, talk ratio over the summed talk times, the worst silence and the
    worst bridge p95."""
    rows = list(rows)
    if not rows:
        return QualitySummary()
    turns = [int(v) for row in rows for v in (row.turn_latencies_ms or [])]
    assistant = sum(row.assistant_talk_ms for row in rows)
    talked = assistant + sum(row.caller_talk_ms for row in rows)
    bridge = [row.bridge_latency_p95_ms for row in rows if row.bridge_latency_p95_ms is not None]
    p50, p95 = percentile(turns, 50), percentile(turns, 95)
    return QualitySummary(
        calls=len(rows),
        turns=len(turns),
        turn_latency_p50_ms=None if p50 is None else int(p50),
        turn_latency_p95_ms=None if p95 is None else int(p95),
        interruptions=sum(row.interruptions for row in rows),
        talk_ratio=assistant / talked if talked else None,
        longest_silence_ms=max(row.longest_silence_ms for row in rows),
        bridge_latency_p95_ms=max(bridge) if bridge else None,
    )


# --- shown on the call panels ---------------------------------------------------------------------------

QUALITY_FACTS: tuple[tuple[str, str], ...] = (
    ("Turn latency", "turn_latency"),
    ("Interruptions", "interruptions"),
    ("Talk ratio", "talk_ratio"),
    ("Longest silence", "longest_silence"),
    ("Bridge latency", "bridge_latency"),
    ("AI cost", "ai_cost"),
    ("Carrier cost", "carrier_cost"),
)
"""(label, key) of the figures `quality_facts` gives, in the order the pages show them."""


def _seconds(ms: int) -> str:
    return f"{ms} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def _dollars(cents: float) -> str:
    return f"${cents / 100:.4f}" if cents < 100 else f"${cents / 100:.2f}"  # a call costs cents: keep them


def quality_facts(call: Call, metrics: CallMetrics | None) -> dict[str, str]:
    """A call's quality figures as the call panels show them (keys of `QUALITY_FACTS`); every one is "" when the
    bridge measured nothing (a call that never connected, or one from before the measurements), but the costs."""
    facts = dict.fromkeys((key for _, key in QUALITY_FACTS), "")
    carrier = "Twilio's price" if call.cost_carrier_reported else "estimate"
    facts["carrier_cost"] = f"{_dollars(call.cost_carrier_cents)} ({carrier})" if call.cost_carrier_cents else ""
    facts["ai_cost"] = f"{_dollars(call.cost_realtime_cents)} (estimate)" if call.cost_realtime_cents else ""
    if metrics is None:
        return facts
    if metrics.turns:
        facts["turn_latency"] = (
            f"{metrics.turn_latency_p50_ms} ms median, {metrics.turn_latency_p95_ms} ms p95 "
            f"({metrics.turns} turn{'s' if metrics.turns != 1 else ''})"
        )
    facts["interruptions"] = str(metrics.interruptions)
    ratio = metrics.talk_ratio
    if ratio is not None:
        facts["talk_ratio"] = (
            f"assistant {ratio:.0%} ({_seconds(metrics.assistant_talk_ms)}), "
            f"caller {1 - ratio:.0%} ({_seconds(metrics.caller_talk_ms)})"
        )
    facts["longest_silence"] = _seconds(metrics.longest_silence_ms)
    if metrics.bridge_latency_p95_ms is not None:
        facts["bridge_latency"] = (
            f"{metrics.bridge_latency_p50_ms:.2f} ms median, {metrics.bridge_latency_p95_ms:.2f} ms p95, "
            f"{metrics.bridge_latency_max_ms:.2f} ms max"
        )
    if metrics.ai_cost_from_usage:
        tokens = (
            metrics.text_in_tokens
            + metrics.text_cached_tokens
            + metrics.text_out_tokens
            + metrics.audio_in_tokens
            + metrics.audio_cached_tokens
            + metrics.audio_out_tokens
        )
        facts["ai_cost"] = f"{_dollars(call.cost_realtime_cents)} ({tokens:,} tokens reported)"
    return facts


def describe(facts: dict[str, str]) -> str:
    """`quality_facts` in one line for a lead's call panel ("" when nothing was measured)."""
    return " · ".join(f"{label}: {facts[key]}" for label, key in QUALITY_FACTS if facts.get(key))
