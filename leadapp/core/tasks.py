"""Handing work to the worker: services enqueue RQ jobs by dotted name, after their data is committed.

Callers commit first and enqueue second; if Redis is down the enqueue fails softly (returns False) and
the maintenance sweepers re-enqueue what is still waiting, so nothing accepted is ever lost.
"""

from __future__ import annotations

from typing import Any

from redis.exceptions import RedisError
from rq import Queue, Retry

from leadapp.core.broker import get_redis
from leadapp.core.observability import get_logger

PIPELINE = "pipeline"
NOTIFICATIONS = "notifications"
CALLS = "calls"
MAINTENANCE = "maintenance"
ALL_QUEUES: tuple[str, ...] = (PIPELINE, NOTIFICATIONS, CALLS, MAINTENANCE)

log = get_logger(__name__)

RESULT_TTL = 300
"""Seconds a finished job and its return value stay in Redis."""
BRIEF_RESULT_TTL = 10
"""The same for a job whose effect is all in the database (`keep_result=False`). Not 0: RQ deletes a job kept for 0
s with seven more round trips after it ran (reading its status and executions back), where an expiry costs none."""


def queue(name: str) -> Queue:
    if name not in ALL_QUEUES:
        raise ValueError(f"unknown queue {name!r}; expected one of {', '.join(ALL_QUEUES)}")
    return Queue(name, connection=get_redis())


def enqueue(
    queue_name: str,
    func: str,
    *args: Any,
    job_id: str | None = None,
    retry: Retry | None = None,
    at_front: bool = False,
    fresh: bool = False,
    keep_result: bool = True,
    **kwargs: Any,
) -> bool:
    """Enqueue `func` (a dotted path in `worker.jobs`) with plain arguments; False if Redis is unreachable.

    With `job_id`, a job already waiting under that id is not enqueued twice — unless `fresh` says the
    caller knows none can exist yet (a row it has just created), which saves the look-up. `keep_result`
    False keeps the finished job only BRIEF_RESULT_TTL seconds (jobs whose effect is in the database).
    """
    try:
        q = queue(queue_name)
        if job_id is not None and not fresh:
            existing = q.fetch_job(job_id)
            if existing is not None and existing.get_status(refresh=True) in ("queued", "scheduled", "deferred"):
                return True
        # One round trip: RQ writes the queue's name, the job and its push in a pipeline given to it (two otherwise).
        with q.connection.pipeline() as pipe:
            q.enqueue_call(
                func,
                args=args,
                kwargs=kwargs or None,
                job_id=job_id,
                retry=retry,
                at_front=at_front,
                result_ttl=RESULT_TTL if keep_result else BRIEF_RESULT_TTL,
                failure_ttl=7 * 24 * 3600,
                pipeline=pipe,
            )
            pipe.execute()
        return True
    except RedisError as exc:
        log.warning("enqueue_failed", queue=queue_name, func=func, error=repr(exc))
        return False
