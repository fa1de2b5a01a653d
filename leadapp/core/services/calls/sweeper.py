"""The sweeper: catching up with calls whose job was lost, and ending calls whose bridge died mid-call."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from leadapp.core.broker import get_redis, key
from leadapp.core.db import session_scope
from leadapp.core.models import Call, utcnow
from leadapp.core.observability import get_logger
from leadapp.core.services.calls.outcome import end_call
from leadapp.core.services.calls.request import enqueue_place_call
from leadapp.core.services.calls.states import CANCELLABLE_STATUSES
from leadapp.core.services.calls.window import _aware
from leadapp.core.vocab import CallOutcome, CallStatus

log = get_logger(__name__)

OVERDUE_AFTER = timedelta(minutes=2)
"""A call still waiting this long after its time had its job lost (Redis down): the sweeper enqueues it."""
STUCK_DIALING_AFTER = timedelta(minutes=10)
"""A call claimed this long ago with no provider call id lost its worker mid-dial: it ends as an error."""
# A bridge serving a call says so every ALIVE_EVERY_SECONDS (a Redis key that lives ALIVE_SECONDS); a call in
# progress that nobody has said is alive for longer was left by a bridge that died mid-call.
ALIVE_EVERY_SECONDS = 10
ALIVE_SECONDS = 45
BRIDGE_LOST = "the voice bridge stopped in the middle of the call"
SWEEP_BATCH = 200


def _alive_key(call_id: int) -> str:
    return key("call", "alive", call_id)


def mark_alive(call_id: int) -> None:
    """The bridge (or the simulated line) serving this call says it still is (see `sweep_calls`)."""
    mark_all_alive([call_id])


def mark_all_alive(call_ids: Sequence[int]) -> None:
    """`mark_alive` for every call a bridge serves, in one round trip."""
    pipe = get_redis().pipeline(transaction=False)
    for call_id in call_ids:
        pipe.set(_alive_key(call_id), 1, ex=ALIVE_SECONDS)
    pipe.execute()


def _served(call_ids: Sequence[int]) -> set[int] | None:
    """The calls some bridge said are alive lately; None when Redis cannot tell (then nothing is ended)."""
    if not call_ids:
        return set()
    try:
        pipe = get_redis().pipeline(transaction=False)
        for call_id in call_ids:
            pipe.exists(_alive_key(call_id))
        return {call_id for call_id, alive in zip(call_ids, pipe.execute(), strict=True) if alive}
    except Exception as exc:  # Redis down: a sweep that cannot see the bridges ends no call
        log.warning("calls_alive_check_failed", error=repr(exc))
        return None


def _batch(*where: Any) -> SelectOfScalar[int | None]:
    """The ids of the first SWEEP_BATCH calls (oldest first) that meet `where`."""
    return select(Call.id).where(*where).order_by(col(Call.id)).limit(SWEEP_BATCH)


def sweep_calls(now: datetime | None = None) -> int:
    """Catch up with calls whose job was lost: enqueue overdue requested/scheduled calls, and end calls left
    `dialing` without a provider call id by a worker that died mid-dial (outcome error, retried once), and
    calls in progress whose bridge stopped saying they are alive (a bridge that died mid-call: failed, with
    the reason, retried once).
    Returns how many calls it acted on. Safe to run any time (jobs are idempotent, waiting jobs not doubled).
    """
    now = _aware(now or utcnow())
    with session_scope() as session:
        due = session.exec(
            _batch(
                col(Call.status).in_(CANCELLABLE_STATUSES),
                func.coalesce(col(Call.scheduled_for), col(Call.created_at)) <= now - OVERDUE_AFTER,
            )
        ).all()
        stuck = session.exec(
            _batch(
                Call.status == CallStatus.DIALING.value,
                col(Call.provider_call_sid).is_(None),
                col(Call.started_at) <= now - STUCK_DIALING_AFTER,
            )
        ).all()
        streaming = session.exec(
            _batch(
                Call.status == CallStatus.IN_PROGRESS.value,
                col(Call.media_stream_sid).is_not(None),
                func.coalesce(col(Call.answered_at), col(Call.started_at)) <= now - timedelta(seconds=ALIVE_SECONDS),
            )
        ).all()
    acted = sum(1 for call_id in due if enqueue_place_call(call_id))
    for call_id in stuck:
        if end_call(call_id, CallStatus.FAILED.value, CallOutcome.ERROR.value, error="lost while dialling", now=now):
            acted += 1
    served = _served(list(streaming))
    orphaned = [] if served is None else [call_id for call_id in streaming if call_id not in served]
    for call_id in orphaned:
        if end_call(call_id, CallStatus.FAILED.value, CallOutcome.ERROR.value, error=BRIDGE_LOST, now=now):
            acted += 1
    if due or stuck or orphaned:
        log.info("calls_swept", overdue=len(due), stuck=len(stuck), orphaned=len(orphaned), acted=acted)
    return acted
