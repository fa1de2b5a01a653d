"""How the bridge's event loop keeps up, measured from inside (VOICE_BRIDGE_LOOP_STATS=true; off by default).

Every call of the process shares one event loop, so anything that holds it (a database write, a garbage
collection, a burst of sends) delays every call's audio at once. With the option on, the bridge keeps:

- loop lag: how late a 5 ms timer fires (the time the loop was held by something else), as p99 and max;
- the largest burst of socket writes in one loop turn: the messages sent to Twilio and OpenAI between two
  passes of the loop's ready queue (a turn ends when a callback scheduled with the first write of the turn
  runs);
- how many garbage collections ran and their longest pause (all, and the full ones of the oldest generation).

`GET /debug/loop` (only with the option on; 404 otherwise) answers them as JSON and, with `?reset=1`, starts
counting anew; the figures since start-up (or the last reset) are also logged at exit as `loop_stats`.
Off, nothing runs and each send costs one `is None` check.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections import deque
from typing import Any

from leadapp.core.services.call_quality import percentile

TICK_S = 0.005
MAX_SAMPLES = 200_000  # ~16 minutes of 5 ms ticks


class LoopStats:
    """The figures of one event loop (see the module docstring)."""

    def __init__(self) -> None:
        self.lag_ns: deque[int] = deque(maxlen=MAX_SAMPLES)
        self.writes = 0
        self.turn_writes = 0
        self.max_turn_writes = 0
        self.gc_count = 0
        self.gc_max_ns = 0
        self.gc_full = 0
        self.gc_full_max_ns = 0
        self._gc_started = 0
        self._turn_open = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    # -- socket writes per loop turn --

    def wrote(self) -> None:
        """One message handed to a socket (called by the session's two send paths)."""
        self.writes += 1
        self.turn_writes += 1
        if not self._turn_open and self._loop is not None:
            self._turn_open = True
            self._loop.call_soon(self._end_turn)

    def _end_turn(self) -> None:
        self._turn_open = False
        self.max_turn_writes = max(self.max_turn_writes, self.turn_writes)
        self.turn_writes = 0

    # -- garbage collection --

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter_ns()
        elif self._gc_started:
            took = time.perf_counter_ns() - self._gc_started
            self.gc_count += 1
            self.gc_max_ns = max(self.gc_max_ns, took)
            if info.get("generation") == 2:
                self.gc_full += 1
                self.gc_full_max_ns = max(self.gc_full_max_ns, took)

    # -- loop lag --

    async def _watch(self) -> None:
        tick_ns = int(TICK_S * 1e9)
        while True:
            start = time.monotonic_ns()
            await asyncio.sleep(TICK_S)
            self.lag_ns.append(max(0, time.monotonic_ns() - start - tick_ns))

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._watch())
        gc.callbacks.append(self._on_gc)

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._on_gc)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def reset(self) -> None:
        self.lag_ns.clear()
        self.writes = self.max_turn_writes = self.gc_count = self.gc_max_ns = self.gc_full = self.gc_full_max_ns = 0

    def figures(self) -> dict[str, float | int]:
        lags = list(self.lag_ns)
        return {
            "lag_samples": len(lags),
            "lag_p99_ms": round((percentile(lags, 99) or 0) / 1e6, 2),
            "lag_max_ms": round((percentile(lags, 100) or 0) / 1e6, 2),
            "writes": self.writes,
            "max_writes_per_turn": self.max_turn_writes,
            "gc_collections": self.gc_count,
            "gc_max_ms": round(self.gc_max_ns / 1e6, 2),
            "gc_full": self.gc_full,
            "gc_full_max_ms": round(self.gc_full_max_ns / 1e6, 2),
        }


stats: LoopStats | None = None
"""The process's figures while the option is on (set by the app's start-up), else None."""


def start() -> LoopStats:
    global stats
    stats = LoopStats()
    stats.start()
    return stats


async def stop() -> dict[str, float | int] | None:
    global stats
    current, stats = stats, None
    if current is None:
        return None
    await current.stop()
    return current.figures()
