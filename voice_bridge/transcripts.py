"""Transcript lines of every call in this process, written together: one transaction and one Redis round trip.

Each call's session hands its line writes (a line that completed, or how much of a saved line the caller
heard) to the process's `LineWriter` instead of opening a transaction per line. The writer gathers what
all calls hand it for up to `FLUSH_INTERVAL_S` (at once when a call ends), then writes the batch in one
transaction on a worker thread (`core.services.transcript.save_batch`) and publishes one "transcript" live
event per line afterwards, pipelined.
With 150 calls that is a handful of commits a second instead of one per line, and the event loop
carrying the audio shares its core with one short write now and then instead of a thread per line.

Guarantees:
- Lines are saved as they complete: at most `FLUSH_INTERVAL_S` later (plus the write itself).
- Order: batches are written one after the other, in the order they were handed over; inside a batch, the
  writes of one item apply in order (the second save of an item updates its row, as `save_line` does).
  The future a write returns resolves once its batch is written (or given up), so a call's later
  database work (its outcome, its summary) can wait for its lines.
- A failed batch is retried (`ATTEMPTS` in all, `RETRY_DELAY_S` apart, growing); if it still fails, its
  writes are retried one by one, so a single bad line cannot take the others with it. Only a write that
  fails on its own is dropped (and logged as `call_write_failed`).
- `drain()` writes whatever is pending (the app's shutdown calls it).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

from leadapp.core.observability import get_logger
from leadapp.core.services.transcript import LineWrite, save_batch, save_one, write_lines
from voice_bridge.per_loop import PerLoop

__all__ = ["LineWrite", "LineWriter", "drain_lines", "line_writer", "save_batch", "save_one", "write_lines"]

log = get_logger("voice_bridge.transcripts")

FLUSH_INTERVAL_S = 0.2
ATTEMPTS = 3
RETRY_DELAY_S = 0.25


BatchWrite = Callable[[Sequence[LineWrite]], None]
SingleWrite = Callable[[LineWrite], None]


class LineWriter:
    """Writes the transcript lines handed to it, batched (see the module docstring). One per event loop."""

    def __init__(
        self, write_batch: BatchWrite, write_one: SingleWrite, *, interval_s: float = FLUSH_INTERVAL_S
    ) -> None:
        self._write_batch = write_batch
        self._write_one = write_one
        self._interval_s = interval_s
        self._pending: list[tuple[LineWrite, asyncio.Future[None]]] = []
        self._now = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0

    def submit(self, write: LineWrite, *, now: bool = False) -> asyncio.Future[None]:
        """Queue one write; the future resolves once it is written (or given up). `now`: flush without waiting."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._pending.append((write, done))
        if now:
            self._now.set()
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run())
        return done

    def flush_soon(self) -> None:
        """Write what is pending without waiting for the rest of the interval."""
        self._now.set()

    async def drain(self) -> None:
        """Write everything pending and wait for it."""
        if self._pending:
            self._now.set()
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def _run(self) -> None:
        while self._pending:
            if not self._now.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._now.wait(), self._interval_s)
            self._now.clear()
            batch, self._pending = self._pending, []
            try:
                await self._write(batch)
            finally:
                for _write, done in batch:
                    if not done.done():
                        done.set_result(None)

    async def _write(self, batch: list[tuple[LineWrite, asyncio.Future[None]]]) -> None:
        writes = [w for w, _done in batch]
        self.batches += 1
        for attempt in range(1, ATTEMPTS + 1):
            try:
                await asyncio.to_thread(self._write_batch, writes)
                return
            except Exception as exc:  # the database or Redis refused: retry, then isolate the culprit
                log.warning("transcript_batch_failed", lines=len(writes), attempt=attempt, error=repr(exc))
                if attempt < ATTEMPTS:
                    await asyncio.sleep(RETRY_DELAY_S * attempt)
        for write in writes:
            try:
                await asyncio.to_thread(self._write_one, write)
            except Exception as exc:  # one failed write must not lose the ones after it
                log.error("call_write_failed", call_id=write.call_id, item_id=write.item_id, error=repr(exc))


# --- the process's writer ------------------------------------------------------------------------------


# `save_batch` / `save_one` are looked up at write time, so tests can replace them.
_line_writer = PerLoop(lambda: LineWriter(lambda writes: save_batch(writes), lambda write: save_one(write)))


def line_writer() -> LineWriter:
    """The process's transcript writer (one per event loop), shared by every call."""
    return _line_writer.get()


async def drain_lines() -> None:
    """Write every transcript line still pending in this process (the app's shutdown)."""
    writer = _line_writer.current()
    if writer is not None:
        await writer.drain()
