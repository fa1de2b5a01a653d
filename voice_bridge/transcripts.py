"""Transcript lines of every call in this process, written together: one transaction and one Redis round trip.

Each call's session hands its line writes (a line that completed, or how much of a saved line the caller
heard) to the process's `LineWriter` instead of opening a transaction per line. The writer gathers what
all calls hand it for up to `FLUSH_INTERVAL_S` (at once when a call ends), then writes the batch in one
transaction on a worker thread and publishes one "transcript" live event per line afterwards, pipelined.
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
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import bindparam, insert, select, update

from leadapp.core.broker import get_redis
from leadapp.core.db import connection_scope
from leadapp.core.events import channel, encode
from leadapp.core.models import TranscriptLine, utcnow
from leadapp.core.observability import get_logger

log = get_logger("voice_bridge.transcripts")

FLUSH_INTERVAL_S = 0.2
ATTEMPTS = 3
RETRY_DELAY_S = 0.25
MAX_TEXT = 8000
PREFETCH_CHUNK = 400  # item ids per look-up of existing rows (well under every driver's parameter limit)
EVENT_KIND = "transcript"


@dataclass(frozen=True, slots=True)
class LineWrite:
    """One write of a call's transcript.

    `seq` set: save the line (insert it, or for an item already saved update its text and heard_ms).
    `seq` None: only set `heard_ms` of the item's saved line (nothing happens when there is none).
    """

    call_id: int
    business_id: int | None
    item_id: str | None
    seq: int | None
    speaker: str = ""
    text: str = ""
    heard_ms: int | None = None

    @property
    def is_heard(self) -> bool:
        return self.seq is None


@dataclass(slots=True)
class _Row:
    id: int | None
    call_id: int
    seq: int
    speaker: str
    item_id: str | None
    text: str
    heard_ms: int | None
    dirty: bool = False


def write_lines(writes: Sequence[LineWrite]) -> list[dict[str, Any]]:
    """Apply the writes in one transaction (bulk insert and update); returns the live events, in order.

    Nothing is published here: the caller publishes the events once this has returned (committed).
    """
    if not writes:
        return []
    table = TranscriptLine.__table__  # type: ignore[attr-defined]
    rows: dict[tuple[int, str], _Row] = {}
    new_rows: list[_Row] = []
    applied: list[tuple[LineWrite, _Row]] = []
    with connection_scope() as conn:
        items = sorted({w.item_id for w in writes if w.item_id})
        calls = sorted({w.call_id for w in writes if w.item_id})
        for start in range(0, len(items), PREFETCH_CHUNK):
            chunk = items[start : start + PREFETCH_CHUNK]
            c = table.c
            query = select(c.id, c.call_id, c.seq, c.speaker, c.item_id, c.text, c.heard_ms).where(
                c.call_id.in_(calls), c.item_id.in_(chunk)
            )
            for found in conn.execute(query):
                rows[(found.call_id, found.item_id)] = _Row(*found)
        for w in writes:
            row = rows.get((w.call_id, w.item_id)) if w.item_id else None
            if w.is_heard:
                if row is None or w.heard_ms is None:
                    continue
                row.heard_ms, row.dirty = w.heard_ms, True
            elif row is None:
                row = _Row(None, w.call_id, w.seq or 0, w.speaker, w.item_id, w.text[:MAX_TEXT], w.heard_ms)
                new_rows.append(row)
                if w.item_id:
                    rows[(w.call_id, w.item_id)] = row
            else:
                row.text = w.text[:MAX_TEXT] or row.text
                if w.heard_ms is not None:
                    row.heard_ms = w.heard_ms
                row.dirty = True
            applied.append((w, row))
        if new_rows:
            now = utcnow()
            values = [
                {
                    "call_id": r.call_id,
                    "seq": r.seq,
                    "speaker": r.speaker,
                    "item_id": r.item_id,
                    "text": r.text,
                    "heard_ms": r.heard_ms,
                    "created_at": now,
                }
                for r in new_rows
            ]
            ids = conn.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), values).scalars()
            for row, row_id in zip(new_rows, ids, strict=True):
                row.id, row.dirty = row_id, False
        changed = [{"b_id": r.id, "b_text": r.text, "b_heard": r.heard_ms} for r in rows.values() if r.dirty]
        if changed:
            statement = (
                update(table)
                .where(table.c.id == bindparam("b_id"))
                .values(text=bindparam("b_text"), heard_ms=bindparam("b_heard"))
            )
            conn.execute(statement, changed)
    events: list[dict[str, Any]] = []
    for w, row in applied:
        event: dict[str, Any] = {
            "kind": EVENT_KIND,
            "call_id": w.call_id,
            "business_id": w.business_id,
            "line_id": row.id,
        }
        if not w.is_heard:
            event["seq"] = w.seq
        events.append(event)
    return events


def publish_events(events: Sequence[dict[str, Any]]) -> bool:
    """Publish live events in one pipelined round trip (the messages `events.publish` sends); False if Redis is down."""
    if not events:
        return True
    try:
        pipe = get_redis().pipeline(transaction=False)
        name = channel()
        for event in events:
            pipe.publish(name, encode(event))
        pipe.execute()
        return True
    except (RedisError, OSError) as exc:  # the rows are committed; pages reload them when opened
        log.warning("event_publish_failed", kind=EVENT_KIND, events=len(events), error=repr(exc))
        return False


def save_batch(writes: Sequence[LineWrite]) -> None:
    """Write a batch, then publish its events (the data first: an event only announces committed rows).

    Only the write raises: a batch that was committed is never written again because its events failed.
    """
    publish_events(write_lines(writes))


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
