"""Enqueueing send jobs (with RQ's Retry) and the sweeper that re-enqueues what waits too long."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from redis.exceptions import RedisError
from rq import Retry
from sqlmodel import Session, col, select

from leadapp.core.broker import get_redis
from leadapp.core.db import session_scope
from leadapp.core.models import Notification, utcnow
from leadapp.core.observability import get_logger
from leadapp.core.services.notify.leases import _lease_key
from leadapp.core.tasks import NOTIFICATIONS, enqueue
from leadapp.core.vocab import NotificationStatus

log = get_logger(__name__)

SEND_JOB = "worker.jobs.send_notification"
BATCH_JOB = "worker.jobs.send_notifications"
RETRY_INTERVALS: list[int] = [2, 10, 30, 120]
"""Seconds between attempts (exponential backoff); one retry per interval. Tests may shorten them (here, where
`retry_policy` and `max_attempts` read them)."""
SWEEP_AFTER_SECONDS = 60
"""A row pending this long without a queued job is re-enqueued by the sweeper."""
SWEEP_BATCH = 500


_PENDING = NotificationStatus.PENDING.value
_SENDING = NotificationStatus.SENDING.value
_SENT = NotificationStatus.SENT.value
_FAILED = NotificationStatus.FAILED.value
_SUPPRESSED = NotificationStatus.SUPPRESSED.value


def retry_policy() -> Retry:
    """RQ's Retry for a send job: one retry per entry of `RETRY_INTERVALS`."""
    return Retry(max=len(RETRY_INTERVALS), interval=list(RETRY_INTERVALS))


def max_attempts() -> int:
    """Provider calls a notification gets from one enqueue: the first run plus every retry."""
    return 1 + len(RETRY_INTERVALS)


def enqueue_sends(notification_ids: Iterable[int]) -> int:
    """Enqueue a send job (with `retry_policy()`, job id `notify-<id>`) per id; returns how many are queued.

    Call after committing the rows. Stops at the first Redis failure (the rest would fail the same
    way); rows not enqueued stay pending and the sweeper enqueues them later.
    """
    count = 0
    for notification_id in notification_ids:
        if not enqueue(
            NOTIFICATIONS, SEND_JOB, notification_id, job_id=f"notify-{notification_id}", retry=retry_policy()
        ):
            log.warning("notification_enqueue_failed", notification_id=notification_id)
            break
        count += 1
    return count


def pending_notification_ids(session: Session, older_than_seconds: float) -> list[int]:
    """Ids of rows still pending that were created more than `older_than_seconds` ago, oldest first."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    query = (
        select(Notification.id)
        .where(Notification.status == _PENDING, Notification.created_at < cutoff)
        .order_by(col(Notification.id))
        .limit(SWEEP_BATCH)
    )
    return [i for i in session.exec(query).all() if i is not None]


def abandoned_notification_ids(session: Session) -> list[int]:
    """Ids of rows left in 'sending' whose claim lease has expired (the run that claimed them died).

    Empty when Redis cannot be reached: without the lease nobody can tell a live claim from a dead one.
    """
    query = select(Notification.id).where(Notification.status == _SENDING).order_by(col(Notification.id))
    ids = [i for i in session.exec(query.limit(SWEEP_BATCH)).all() if i is not None]
    if not ids:
        return []
    try:
        client = get_redis()
        return [i for i in ids if not client.exists(_lease_key(i))]
    except RedisError as exc:
        log.warning("abandoned_claims_unknown", error=repr(exc))
        return []


def sweep_notifications(older_than_seconds: float = SWEEP_AFTER_SECONDS) -> int:
    """Re-enqueue what waits too long (pending rows, abandoned claims); returns how many were enqueued.

    Safe to run any time and often: a row whose job is still queued or scheduled is not enqueued twice,
    and a run of a job whose row is already handled sends nothing.
    """
    with session_scope() as session:
        ids = pending_notification_ids(session, older_than_seconds) + abandoned_notification_ids(session)
    if not ids:
        return 0
    count = enqueue_sends(ids)
    log.info("notifications_swept", found=len(ids), enqueued=count)
    return count


def enqueue_batch(lead_id: int, notification_ids: list[int]) -> bool:
    """Enqueue one `send_batch` job for a lead's new notifications (call after committing them).

    False when Redis is down: the rows stay pending and the sweeper enqueues them one by one.
    """
    if not notification_ids:
        return True
    ok = enqueue(NOTIFICATIONS, BATCH_JOB, notification_ids, job_id=f"notify-lead-{lead_id}-{notification_ids[0]}")
    if not ok:
        log.warning("notification_batch_enqueue_failed", lead_id=lead_id, notification_ids=notification_ids)
    return ok
