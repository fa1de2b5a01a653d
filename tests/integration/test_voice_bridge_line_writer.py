"""The bridge's batched transcript writer (`voice_bridge.transcripts`) on SQLite and PostgreSQL.

Every call's lines go through one process-wide writer: they must land in order, a second save of an
item must update its row, heard positions must follow, a batch the database refuses once must be
retried without losing or duplicating anything, a call's end must flush at once, and each saved line
must still be announced by a "transcript" live event.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import pytest
import redis
from sqlmodel import Session, select

from leadapp.core import events
from leadapp.core.db import get_engine, session_scope
from leadapp.core.models import Call, TranscriptLine
from leadapp.core.services import transcript
from tests.integration.bridge_harness import seed
from tests.live_events import payload as event_payload
from voice_bridge.transcripts import LineWrite, LineWriter, save_batch, write_lines


def calls(n: int) -> list[int]:
    """`n` calls of one seeded business and lead."""
    seeded = seed()
    ids = [seeded.call_id]
    with session_scope() as session:
        for _ in range(n - 1):
            call = Call(lead_id=seeded.lead_id, business_id=seeded.business_id, objective="Confirm the job.")
            session.add(call)
            session.flush()
            ids.append(call.id)  # type: ignore[arg-type]
    return ids


def lines_of(call_id: int) -> list[tuple[int, str, str | None, str, int | None]]:
    with Session(get_engine()) as session:
        rows = session.exec(
            select(TranscriptLine).where(TranscriptLine.call_id == call_id).order_by(TranscriptLine.seq)
        ).all()
        return [(r.seq, r.speaker, r.item_id, r.text, r.heard_ms) for r in rows]


def line(call_id: int, seq: int, item_id: str | None, text: str, heard_ms: int | None = None) -> LineWrite:
    speaker = "assistant" if item_id and item_id.startswith("a") else "caller" if item_id else "system"
    return LineWrite(call_id, None, item_id, seq, speaker, text, heard_ms)


def heard(call_id: int, item_id: str, heard_ms: int) -> LineWrite:
    return LineWrite(call_id, None, item_id, None, heard_ms=heard_ms)


def published(pubsub: Any) -> list[dict[str, Any]]:
    seen = []
    while (message := pubsub.get_message(timeout=0.2)) is not None:
        if message["type"] == "message":
            seen.append(event_payload(message["data"]))
    return seen


def test_one_batch_inserts_updates_and_marks_heard_for_several_calls(app_env: dict[str, str]) -> None:
    first, second = calls(2)
    write_lines([line(first, 1, "a1", "Hello, this is the assistant."), line(second, 1, "a9", "Hi there.")])

    got = write_lines(
        [
            line(first, 2, "c2", "Who is this?"),
            line(first, 1, "a1", "Hello, this is the assistant, calling about the job."),  # the same item again
            heard(first, "a1", 1200),
            heard(first, "unknown-item", 300),  # never saved: nothing to mark
            line(second, 2, None, "The caller pressed 0 to ask for a person."),
            line(first, 3, "a3", "Great, thanks.", heard_ms=400),
        ]
    )

    assert lines_of(first) == [
        (1, "assistant", "a1", "Hello, this is the assistant, calling about the job.", 1200),
        (2, "caller", "c2", "Who is this?", None),
        (3, "assistant", "a3", "Great, thanks.", 400),
    ]
    assert lines_of(second) == [
        (1, "assistant", "a9", "Hi there.", None),
        (2, "system", None, "The caller pressed 0 to ask for a person.", None),
    ]
    assert [(e["call_id"], e.get("seq")) for e in got] == [
        (first, 2),
        (first, 1),
        (first, None),
        (second, 2),
        (first, 3),
    ]
    assert all(e["kind"] == "transcript" and e["line_id"] for e in got)


@pytest.mark.parametrize("any_db_url", ["sqlite"], indirect=True)
async def test_the_writer_keeps_order_retries_a_failed_batch_and_flushes_at_call_end(
    app_env: dict[str, str], redis_env: redis.Redis
) -> None:
    (call_id,) = calls(1)
    pubsub = redis_env.pubsub()
    pubsub.subscribe(events.channel())
    pubsub.get_message(timeout=1.0)
    attempts: list[int] = []

    def flaky(writes: Sequence[LineWrite]) -> None:  # the database refuses the first batch once
        attempts.append(len(writes))
        if len(attempts) == 1:
            raise RuntimeError("database is locked")
        save_batch(writes)

    writer = LineWriter(flaky, transcript.save_one, interval_s=0.05)
    futures = [writer.submit(line(call_id, seq, f"{'a' if seq % 2 else 'c'}{seq}", f"line {seq}")) for seq in (1, 2, 3)]
    futures.append(writer.submit(heard(call_id, "a3", 250)))
    await asyncio.wait_for(asyncio.gather(*futures), 10)
    assert attempts[:2] == [4, 4]  # failed once, then the same batch again
    assert lines_of(call_id) == [
        (1, "assistant", "a1", "line 1", None),
        (2, "caller", "c2", "line 2", None),
        (3, "assistant", "a3", "line 3", 250),
    ]

    slow = LineWriter(save_batch, transcript.save_one, interval_s=30.0)
    started = time.monotonic()
    await asyncio.wait_for(slow.submit(line(call_id, 4, "c4", "Bye."), now=True), 10)  # a call ending: no wait
    assert time.monotonic() - started < 5
    assert lines_of(call_id)[-1] == (4, "caller", "c4", "Bye.", None)

    kept = slow.submit(line(call_id, 5, None, "The call was ended."))
    await asyncio.wait_for(slow.drain(), 10)  # the app's shutdown
    assert kept.done() and lines_of(call_id)[-1] == (5, "system", None, "The call was ended.", None)

    events_seen = [e for e in published(pubsub) if e["call_id"] == call_id]
    assert [e.get("seq") for e in events_seen] == [1, 2, 3, None, 4, 5]  # one per write, after its commit
    pubsub.close()


@pytest.mark.parametrize("any_db_url", ["sqlite"], indirect=True)
async def test_a_batch_that_keeps_failing_is_written_line_by_line(
    app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (call_id,) = calls(1)
    monkeypatch.setattr("voice_bridge.transcripts.RETRY_DELAY_S", 0.01)

    def broken(writes: Sequence[LineWrite]) -> None:
        raise RuntimeError("batch refused")

    def one(write: LineWrite) -> None:  # one line is bad on its own too; the others must still be saved
        if write.text == "bad":
            raise ValueError("bad line")
        transcript.save_one(write)

    writer = LineWriter(broken, one, interval_s=0.01)
    writes = [line(call_id, 1, "a1", "one"), line(call_id, 2, "c2", "bad"), line(call_id, 3, "a3", "three")]
    await asyncio.wait_for(asyncio.gather(*(writer.submit(w) for w in writes)), 10)
    assert lines_of(call_id) == [(1, "assistant", "a1", "one", None), (3, "assistant", "a3", "three", None)]
