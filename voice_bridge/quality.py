"""The call's quality, measured as it goes: turn latency, barge-ins, talk times, silences, the bridge's own latency
and the realtime usage (definitions: `leadapp.core.services.call_quality`).

Pure bookkeeping like `playout` (no sockets, no clock of its own: every call passes the time in ms), so the
arithmetic is tested without a call. Per audio frame it does a few additions and one histogram increment (no
list grows, nothing is written): the bridge-latency percentiles come from a fixed histogram of 25 µs buckets
(the figure is its bucket's upper edge; the maximum is exact). Per turn it appends one latency; the whole is
handed over once, at the end (`result`), to be written with the call's ending.
"""

from __future__ import annotations

from typing import Any

from leadapp.core.services.call_quality import CallQuality, TokenUsage
from voice_bridge import twilio_wire as tw

BUCKET_MS = 0.025
BUCKETS = 1000  # 0-25 ms; a slower frame lands in the last bucket (and in the exact maximum)
_PER_MS = 1 / BUCKET_MS


class QualityMeter:
    """One call's measurements, fed by the session's events (all times on the bridge's monotonic clock, in ms)."""

    __slots__ = (
        "_awaiting_since",
        "_caller_from_ms",
        "_caller_speaking",
        "_clock_offset",
        "_histogram",
        "_quiet_since",
        "assistant_bytes",
        "bridge_max_ms",
        "caller_ms",
        "cut_bytes",
        "frames",
        "interruptions",
        "longest_silence_ms",
        "play_end",
        "turns",
        "usage",
    )

    def __init__(self) -> None:
        self.turns: list[int] = []
        self.interruptions = 0
        self.assistant_bytes = 0
        self.cut_bytes = 0
        self.caller_ms = 0
        self.longest_silence_ms = 0.0
        self.frames = 0
        self.bridge_max_ms = 0.0
        self.play_end = 0.0
        """When the assistant audio sent so far ends playing, at Twilio's 8 bytes/ms."""
        self.usage = TokenUsage()
        self._histogram = [0] * BUCKETS
        self._awaiting_since: float | None = None
        self._quiet_since: float | None = None
        self._caller_speaking = False
        self._caller_from_ms = 0
        self._clock_offset: float | None = None

    # -- the line --

    def started(self, at: float) -> None:
        """The stream started: the line is silent until someone speaks."""
        self._quiet_since = at

    def speech_started(self, at: float, audio_start_ms: int) -> None:
        """The realtime VAD heard the caller begin (`audio_start_ms` on the server's audio clock)."""
        self._sound_begins(at)
        self._caller_speaking = True
        self._caller_from_ms = audio_start_ms
        self._clock_offset = at - audio_start_ms
        self._awaiting_since = None  # they spoke again before any answer: the turn restarts at their next stop

    def speech_stopped(self, at: float, audio_end_ms: int) -> None:
        """The realtime VAD decided the caller stopped (it says so only after its silence window)."""
        if self._caller_speaking:
            self.caller_ms += max(0, audio_end_ms - self._caller_from_ms)
        self._caller_speaking = False
        # When they really stopped, on our clock: the server's audio clock runs in step with the frames we send.
        ended = at if self._clock_offset is None else min(at, audio_end_ms + self._clock_offset)
        self._quiet_since = ended
        self._awaiting_since = at

    def cleared(self, at: float, cut_bytes: int, barge_in: bool) -> None:
        """Twilio's buffer was cleared, dropping `cut_bytes` of assistant audio the caller never heard; when the
        caller spoke over audio still playing (`barge_in`, `cut_bytes` > 0), that is an interruption."""
        if not cut_bytes:
            return
        self.interruptions += barge_in
        self.cut_bytes += cut_bytes
        self.play_end = min(self.play_end, at)

    def audio_sent(self, received_at: float, sent_at: float, n_bytes: int) -> None:
        """An assistant audio delta received at `received_at` went to Twilio at `sent_at` (once per frame)."""
        self.frames += 1
        lag = sent_at - received_at
        if lag > self.bridge_max_ms:
            self.bridge_max_ms = lag
        self._histogram[min(int(lag * _PER_MS), BUCKETS - 1)] += 1
        if self._awaiting_since is not None:
            self.turns.append(round(sent_at - self._awaiting_since))
            self._awaiting_since = None
        if sent_at > self.play_end:
            self._sound_begins(sent_at)
            self.play_end = sent_at + n_bytes / tw.MULAW_BYTES_PER_MS
        else:
            self.play_end += n_bytes / tw.MULAW_BYTES_PER_MS
        self.assistant_bytes += n_bytes

    def response_usage(self, usage: dict[str, Any] | None) -> None:
        """A `response.done`'s reported usage (once per response)."""
        if usage:
            self.usage = self.usage + TokenUsage.from_response(usage)

    def _sound_begins(self, at: float) -> None:
        if self._caller_speaking or self._quiet_since is None:
            return
        gap = at - max(self._quiet_since, self.play_end)
        if gap > self.longest_silence_ms:
            self.longest_silence_ms = gap

    # -- the figures --

    def bridge_percentile(self, q: float) -> float | None:
        """The `q`-th percentile of the bridge latency, as its bucket's upper edge in ms; None with no frames."""
        if not self.frames:
            return None
        rank = max(1, -(-q * self.frames // 100))
        seen = 0
        for index, count in enumerate(self._histogram):
            seen += count
            if seen >= rank:  # the last bucket holds every slower frame: its figure is the maximum
                edge = (index + 1) * BUCKET_MS if index < BUCKETS - 1 else self.bridge_max_ms
                return round(min(edge, self.bridge_max_ms), 3)
        return round(self.bridge_max_ms, 3)

    def result(self) -> CallQuality:
        heard = max(0, self.assistant_bytes - self.cut_bytes)
        return CallQuality(
            turn_latencies_ms=tuple(self.turns),
            interruptions=self.interruptions,
            assistant_talk_ms=heard // tw.MULAW_BYTES_PER_MS,
            caller_talk_ms=self.caller_ms,
            longest_silence_ms=round(self.longest_silence_ms),
            bridge_latency_p50_ms=self.bridge_percentile(50),
            bridge_latency_p95_ms=self.bridge_percentile(95),
            bridge_latency_max_ms=round(self.bridge_max_ms, 3) if self.frames else None,
            audio_frames=self.frames,
            usage=self.usage,
        )
