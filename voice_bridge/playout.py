"""Twilio's playback of the audio the bridge sent: what the caller has heard, from the marks Twilio echoed.

Pure bookkeeping (no sockets, no clock of its own: every call passes the time in ms), so barge-in
accuracy is tested without a call.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from voice_bridge import twilio_wire as tw


@dataclass(slots=True)
class _Chunk:
    counter: int
    item_id: str
    end: int
    size: int
    sent_at: float


class Playout:
    """Twilio's playback of our audio, from what we sent and the marks it echoed.

    Twilio plays buffered audio at 8 bytes/ms and echoes a mark once the audio before it has played (or
    `clear` dropped it). Between echoes, the position is modelled: the chunk after the last echo started
    when the previous one ended, or when it was sent if the buffer had run dry.
    """

    def __init__(self) -> None:
        self.counter = 0
        self.pending: deque[_Chunk] = deque()
        self.sent_bytes: dict[str, int] = {}
        self.played_bytes: dict[str, int] = {}
        self.last_echo_at: float | None = None
        self.cleared_through = 0

    def sent(self, item_id: str, n_bytes: int, at_ms: float) -> str:
        """Record a chunk sent to Twilio; returns the mark name to send right after it."""
        self.counter += 1
        total = self.sent_bytes.get(item_id, 0) + n_bytes
        self.sent_bytes[item_id] = total
        self.pending.append(_Chunk(self.counter, item_id, total, n_bytes, at_ms))
        return tw.mark_name(self.counter, item_id, total)

    def echoed(self, name: str, at_ms: float) -> None:
        """Twilio echoed a mark: everything up to it has played (unless `clear` dropped it)."""
        parsed = tw.parse_mark_name(name)
        if parsed is None:
            return
        counter, item_id, end = parsed
        if counter <= self.cleared_through:
            return
        while self.pending and self.pending[0].counter <= counter:
            self.pending.popleft()
        self.played_bytes[item_id] = max(self.played_bytes.get(item_id, 0), end)
        self.last_echo_at = at_ms

    def busy(self) -> bool:
        """True while some sent audio has not been confirmed played."""
        return bool(self.pending)

    def pending_ms(self) -> int:
        return sum(c.size for c in self.pending) // tw.MULAW_BYTES_PER_MS

    def positions(self, at_ms: float) -> list[tuple[str, int, int]]:
        """`(item_id, played bytes, sent bytes)` of each item with unconfirmed audio, in playing order."""
        out: dict[str, int] = {}
        clock = self.last_echo_at
        playing = True
        for chunk in self.pending:
            begin = chunk.end - chunk.size
            if not playing:  # queued behind the chunk playing now: its item got no further than this chunk
                out.setdefault(chunk.item_id, begin)
                continue
            start = chunk.sent_at if clock is None else max(clock, chunk.sent_at)
            duration = chunk.size / tw.MULAW_BYTES_PER_MS
            if at_ms >= start + duration:  # played already; its mark is still on its way back
                out[chunk.item_id], clock = chunk.end, start + duration
            else:
                out[chunk.item_id] = begin + max(0, int((at_ms - start) * tw.MULAW_BYTES_PER_MS))
                playing = False
        return [(item_id, played, self.sent_bytes[item_id]) for item_id, played in out.items()]

    def clear(self) -> None:
        """Twilio dropped its buffer: the marks it echoes for it say nothing about playback."""
        self.cleared_through = self.counter
        self.pending.clear()
