"""The RQ queues as admins see them: counts, failed jobs, retry and delete (audited)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import redis
from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import (
    DeferredJobRegistry,
    FailedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)
from rq.results import Result
from sqlmodel import Session

from leadapp.core.db import committed
from leadapp.core.errors import NotFound, UserError
from leadapp.core.models import User
from leadapp.core.observability import get_logger
from leadapp.core.services import access, audit
from leadapp.core.services.admin_ops.common import FAILED_JOBS_LIMIT, REDIS_TIMEOUT_SECONDS, _when
from leadapp.core.settings import get_settings
from leadapp.core.tasks import ALL_QUEUES

log = get_logger(__name__)

# --- RQ queues ------------------------------------------------------------------------------------


class QueuesUnavailable(UserError):
    status_code = 503


@dataclass(frozen=True)
class QueueCounts:
    name: str
    queued: int
    started: int
    failed: int
    scheduled: int
    deferred: int


@dataclass(frozen=True)
class FailedJob:
    id: str
    queue: str
    func: str
    args: str
    enqueued_at: str
    ended_at: str
    error: str
    """The full traceback RQ stored (exc_info)."""

    @property
    def error_summary(self) -> str:
        """The last line of the traceback, e.g. "RuntimeError: provider down"."""
        lines = [line for line in self.error.strip().splitlines() if line.strip()]
        return lines[-1].strip()[:300] if lines else ""


@contextmanager
def _inspection_redis() -> Iterator[redis.Redis]:
    """A Redis client of its own for RQ inspection (never the shared one), closed afterwards."""
    client = redis.Redis.from_url(
        get_settings().redis_url,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
    )
    try:
        yield client
    except RedisError as exc:
        log.warning("queue_inspection_failed", error=repr(exc))
        raise QueuesUnavailable(f"Redis cannot be reached: {exc}") from exc
    finally:
        client.close()


def _check_queue(name: str) -> str:
    if name not in ALL_QUEUES:
        raise UserError(f"Unknown queue {name!r}.", field="queue")
    return name


def queue_overview(actor: User | None) -> list[QueueCounts]:
    """Per RQ queue: jobs waiting, running, failed, scheduled (e.g. a retry's backoff) and deferred.

    Read-only: registries are counted without RQ's clean-up (which would move abandoned jobs about).
    Raises QueuesUnavailable when Redis cannot be reached.
    """
    access.require_admin(actor)
    counts = []
    with _inspection_redis() as client:
        for name in ALL_QUEUES:
            q = Queue(name, connection=client)
            counts.append(
                QueueCounts(
                    name=name,
                    queued=q.count,
                    started=StartedJobRegistry(queue=q).get_job_count(cleanup=False),
                    failed=FailedJobRegistry(queue=q).get_job_count(cleanup=False),
                    scheduled=ScheduledJobRegistry(queue=q).get_job_count(cleanup=False),
                    deferred=DeferredJobRegistry(queue=q).get_job_count(cleanup=False),
                )
            )
    return counts


def _error_of(job: Job) -> str:
    result = job.latest_result()
    if result is not None and result.type == Result.Type.FAILED and result.exc_string:
        return result.exc_string
    return job._exc_info or ""  # RQ's stored exc_info when no result is kept


def _failed_job(job_id: str, queue_name: str, job: Job | None) -> FailedJob:
    if job is None:
        return FailedJob(job_id, queue_name, "", "", "", "", "The job's data has expired.")
    try:
        func_name, args = job.func_name or "", repr(job.args)[:300]
    except Exception as exc:  # arguments that no longer unpickle: still listed, so it can be deleted
        func_name, args = "(unreadable)", repr(exc)[:300]
    return FailedJob(
        id=job_id,
        queue=queue_name,
        func=func_name,
        args=args,
        enqueued_at=_when(job.enqueued_at),
        ended_at=_when(job.ended_at),
        error=_error_of(job),
    )


def failed_jobs(actor: User | None, queue: str, limit: int = FAILED_JOBS_LIMIT) -> list[FailedJob]:
    """The queue's failed jobs, most recently failed first (at most `limit`, ≤ 100), with their errors."""
    access.require_admin(actor)
    _check_queue(queue)
    limit = max(1, min(int(limit), FAILED_JOBS_LIMIT))
    with _inspection_redis() as client:
        registry = FailedJobRegistry(queue=Queue(queue, connection=client))
        job_ids = registry.get_job_ids(0, limit - 1, desc=True, cleanup=False)
        jobs = Job.fetch_many(job_ids, connection=client)
        return [_failed_job(job_id, queue, job) for job_id, job in zip(job_ids, jobs, strict=True)]


def _audit_job(session: Session, actor: User, action: str, queue: str, job_id: str, failed: FailedJob) -> None:
    audit.record(
        session,
        actor_id=actor.id,
        action=action,
        target_type="rq_job",
        target_id=job_id[:64],
        before={"queue": queue, "status": "failed", "func": failed.func, "error": failed.error_summary},
        after={"status": "queued" if action == "job.retry" else "deleted"},
    )
    session.flush()


def _failed_registry_job(client: redis.Redis, queue: str, job_id: str) -> tuple[FailedJobRegistry, FailedJob]:
    registry = FailedJobRegistry(queue=Queue(queue, connection=client))
    if job_id not in registry:
        raise NotFound("This job is not in the failed list any more.")
    try:
        job: Job | None = Job.fetch(job_id, connection=client)
    except NoSuchJobError:
        job = None
    return registry, _failed_job(job_id, queue, job)


def retry_failed_job(session: Session, actor: User | None, queue: str, job_id: str) -> None:
    """Put a failed job back on its queue (admins only), audited as `job.retry`; commits.

    Raises NotFound when the job is not in the queue's failed list (any more), UserError when its data
    has expired (it cannot run again), QueuesUnavailable without Redis (nothing is committed then).
    """
    admin = access.require_admin(actor)
    _check_queue(queue)
    with committed(session), _inspection_redis() as client:
        registry, failed = _failed_registry_job(client, queue, job_id)
        if not failed.func:
            raise UserError("This job's data has expired; it can only be deleted.")
        _audit_job(session, admin, "job.retry", queue, job_id, failed)
        try:
            registry.requeue(job_id)
        except (InvalidJobOperation, NoSuchJobError) as exc:
            raise NotFound("This job is not in the failed list any more.") from exc
    log.info("failed_job_retried", queue=queue, job_id=job_id, actor_id=admin.id)


def delete_failed_job(session: Session, actor: User | None, queue: str, job_id: str) -> None:
    """Drop a failed job for good (admins only), audited as `job.delete`; commits.

    Raises NotFound when it is not in the queue's failed list, QueuesUnavailable without Redis.
    """
    admin = access.require_admin(actor)
    _check_queue(queue)
    with committed(session), _inspection_redis() as client:
        registry, failed = _failed_registry_job(client, queue, job_id)
        _audit_job(session, admin, "job.delete", queue, job_id, failed)
        try:
            Job.fetch(job_id, connection=client).delete()
        except NoSuchJobError:
            registry.remove(job_id)
    log.info("failed_job_deleted", queue=queue, job_id=job_id, actor_id=admin.id)
