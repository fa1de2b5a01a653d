"""A call's transcript lines: written in batches (the voice bridge's writer) or one at a time.

The voice bridge hands the lines of every call in its process to one batched writer
(`voice_bridge.transcripts.LineWriter`); this module is the database side of it.

Guarantees:
- `save_batch` applies any number of writes (of any number of calls) in one transaction, then publishes
  one "transcript" live event per write, pipelined, only once the rows are committed. Only the write
  raises: a committed batch is never written again because its events failed.
- Inside a batch, the writes of one item apply in order (a second save of an item updates its row).
- `save_one` writes a single line in its own transaction (a batch that keeps failing is retried line by
  line, so one bad line cannot take the others with it).
- A line's text is kept to `MAX_TEXT` characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import bindparam, insert, select, update
from sqlmodel import select as orm_select

from leadapp.core.broker import get_redis
from leadapp.core.db import connection_scope, session_scope
from leadapp.core.events import channel, encode, publish_after_commit
from leadapp.core.models import TranscriptLine, utcnow
from leadapp.core.observability import get_logger

log = get_logger("core.transcript")

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


def save_line(
    call_id: int, business_id: int | None, seq: int, speaker: str, item_id: str | None, text: str, heard_ms: int | None
) -> None:
    """Insert (or, for the same item, update) one transcript line; a "transcript" event follows the commit."""
    with session_scope() as session:
        row = None
        if item_id:
            row = session.exec(
                orm_select(TranscriptLine).where(TranscriptLine.call_id == call_id, TranscriptLine.item_id == item_id)
            ).first()
        if row is None:
            row = TranscriptLine(call_id=call_id, seq=seq, speaker=speaker, item_id=item_id, text=text[:MAX_TEXT])
            session.add(row)
        else:
            row.text = text[:MAX_TEXT] or row.text
        if heard_ms is not None:
            row.heard_ms = heard_ms
        session.flush()
        publish_after_commit(session, "transcript", call_id=call_id, business_id=business_id, line_id=row.id, seq=seq)


def set_heard(call_id: int, business_id: int | None, item_id: str, heard_ms: int) -> None:
    """Mark a saved assistant line as cut off after `heard_ms`."""
    with session_scope() as session:
        row = session.exec(
            orm_select(TranscriptLine).where(TranscriptLine.call_id == call_id, TranscriptLine.item_id == item_id)
        ).first()
        if row is not None:
            row.heard_ms = heard_ms
            publish_after_commit(session, "transcript", call_id=call_id, business_id=business_id, line_id=row.id)


def save_one(write: LineWrite) -> None:
    """One transcript write on its own (`save_line` or `set_heard`): for a batch that keeps failing."""
    if write.is_heard:
        if write.item_id and write.heard_ms is not None:
            set_heard(write.call_id, write.business_id, write.item_id, write.heard_ms)
    else:
        save_line(
            write.call_id, write.business_id, write.seq or 0, write.speaker, write.item_id, write.text, write.heard_ms
        )
