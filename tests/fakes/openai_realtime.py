"""A stand-in for OpenAI Realtime (GA) on loopback, for the real `openai` SDK's realtime client to talk to.

It is the loopback peer (`voice_bridge.loopback.realtime_peer.RealtimePeer`, also the simulated call's and
the bench's: session.update → session.updated,
a toy μ-law VAD, scripted replies streamed as audio + transcript deltas, function calls that wait for
their output and a `response.create`, cancellation on barge-in, truncate with the real "already shorter
than" error; every server event built from the SDK's own models) made strict and observable:

- the handshake must carry `Authorization: Bearer <api_key>`, a `model` query and no `OpenAI-Beta` header
  (anything else is refused with 401/400 and listed in `problems`);
- EVERY client event, the audio appends included, is validated with
  `TypeAdapter(openai.types.realtime.RealtimeClientEvent)`; an invalid one is answered with an `error`
  event (the socket stays open, as the real server does) and listed in `invalid_events`;
- what was received and sent is kept with `monotonic_ns` timestamps (`events`, `sent`);
- barge-in: a `speech_started` while an assistant item may still be playing (sent faster than real time)
  records a `BargeIn`; `late_truncates(ms)` lists those without a valid truncate within `ms`;
- faults: `latency_ms` on every server event, `close_session(code)` (1011, 1001 ...), `expire()`
  (the `session_expired` error, then close 1001), `send_error(...)`.

Use: `async with FakeOpenAIRealtime(script) as fake:` then point the app at it with
OPENAI_API_KEY=fake.api_key and OPENAI_BASE_URL=fake.base_url.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from openai.types.realtime import RealtimeClientEvent
from pydantic import TypeAdapter

from voice_bridge.loopback.realtime_connection import BargeIn
from voice_bridge.loopback.realtime_peer import RealtimePeer
from voice_bridge.loopback.realtime_session import PeerSession
from voice_bridge.loopback.script import Reply, Script

CLIENT_EVENT: TypeAdapter[Any] = TypeAdapter(RealtimeClientEvent)


class FakeRealtimeSession(PeerSession):
    """One connection to the fake: the peer session plus a log of what was sent and injectable latency."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[tuple[int, str]] = []

    async def send(self, model: Any) -> None:
        latency = self.peer.latency_ms  # type: ignore[attr-defined]
        if latency:
            await asyncio.sleep(latency / 1000)
        self.sent.append((time.monotonic_ns(), str(model.type)))
        await super().send(model)

    def sent_at(self, event_type: str) -> list[int]:
        return [at for at, kind in self.sent if kind == event_type]

    def received(self, event_type: str) -> list[tuple[int, dict[str, Any]]]:
        return [(at, event) for at, event in self.events if event.get("type") == event_type]


class FakeOpenAIRealtime(RealtimePeer):
    """The fake server; `sessions[-1]` is the latest connection."""

    session_class = FakeRealtimeSession
    api_key = "sk-fake-realtime-0123456789abcdef"
    strict = True  # the handshake and every client event checked as the real server checks them

    def __init__(self, script: Script | None = None, *, stream_speed: float = 4.0, chunk_ms: int = 100) -> None:
        super().__init__(lambda: self.script_to_use, stream_speed=stream_speed, chunk_ms=chunk_ms)
        self.script_to_use = script or Script(greeting=Reply("Hello, this is an AI assistant. This call is recorded."))
        self.latency_ms = 0.0

    def use(self, script: Script) -> None:
        """The script of the next connection."""
        self.script_to_use = script

    # -- observation --

    @property
    def session(self) -> FakeRealtimeSession:
        assert self.sessions, "nobody connected to the fake OpenAI"
        return self.sessions[-1]  # type: ignore[return-value]

    async def wait_for_session(self, timeout: float = 5.0) -> FakeRealtimeSession:
        deadline = time.monotonic() + timeout
        while not self.sessions:
            if time.monotonic() > deadline:
                raise AssertionError("the bridge never connected to the fake OpenAI")
            await asyncio.sleep(0.005)
        return self.session

    def late_truncates(self, within_ms: float) -> list[BargeIn]:
        """Barge-ins not answered by a valid truncate within `within_ms` (or truncated past what was sent)."""
        late = []
        for session in self.sessions:
            for barge in session.barge_ins:
                delay = barge.truncate_delay_ms
                if delay is None or delay > within_ms or (barge.audio_end_ms or 0) > barge.ms_sent:
                    late.append(barge)
        return late

    # -- faults --

    async def close_session(self, code: int = 1011, reason: str = "keepalive ping timeout") -> None:
        await self.session.close(code, reason)

    async def expire(self) -> None:
        """The 60-minute limit: a `session_expired` error, then the socket closes with 1001."""
        session = self.session
        await session.send_error(
            "Your session hit the maximum duration of 60 minutes.",
            code="session_expired",
            error_type="invalid_request_error",
        )
        await session.close(1001, "session expired")
