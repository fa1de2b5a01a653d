"""Queue health against a real Redis and a real RQ worker: counts per queue, failed jobs with their errors,
retry and delete (audited), and the shared Redis client left exactly as it was."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from rq import Queue, SimpleWorker
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlmodel import Session, col, select

from leadapp.core.broker import get_redis
from leadapp.core.errors import NotFound
from leadapp.core.models import AuditEvent, User
from leadapp.core.services import admin_ops
from leadapp.core.tasks import ALL_QUEUES, MAINTENANCE
from tests.conftest import RedisProcess, clear_app_caches

SHARED_SOCKET_TIMEOUT = 5


def flaky(flag_path: str) -> str:
    """A job that fails until `flag_path` exists (the "provider" comes back)."""
    if not Path(flag_path).exists():
        raise RuntimeError(f"provider down: {Path(flag_path).name} is missing")
    return "done"


@pytest.fixture
def session(db_session: Session, own_redis: RedisProcess, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    """The test database, and REDIS_URL pointing at a Redis of this test's own (RQ keys are global)."""
    monkeypatch.setenv("REDIS_URL", own_redis.url)
    clear_app_caches()
    yield db_session
    db_session.rollback()
    clear_app_caches()


@pytest.fixture
def rq_redis(session: Session, own_redis: RedisProcess) -> Iterator[redis.Redis]:
    """A client for the test's own enqueueing and workers, apart from the app's shared client."""
    client = redis.Redis.from_url(own_redis.url)
    yield client
    client.close()


def run_worker(client: redis.Redis) -> None:
    """One burst of a real RQ worker over every queue, on the test's client (never the app's shared one)."""
    queues = [Queue(name, connection=client) for name in ALL_QUEUES]
    SimpleWorker(queues, connection=client).work(burst=True, with_scheduler=False, logging_level="WARNING")


def counts_of(admin: User, queue: str) -> tuple[int, int, int, int, int]:
    (counts,) = [c for c in admin_ops.queue_overview(admin) if c.name == queue]
    return counts.queued, counts.started, counts.failed, counts.scheduled, counts.deferred


def test_failed_jobs_are_listed_retried_and_deleted(session: Session, rq_redis: redis.Redis, tmp_path: Path) -> None:
    shared = get_redis()
    shared.ping()  # the app's shared client exists (and is connected) before any queue inspection
    admin = User(email="admin@example.com", password_hash="x", role="admin")
    session.add(admin)
    session.commit()
    flag = tmp_path / "provider-up"
    maintenance = Queue(MAINTENANCE, connection=rq_redis)
    maintenance.enqueue(flaky, str(flag), job_id="flaky-retry")
    maintenance.enqueue(flaky, str(flag), job_id="flaky-delete")
    maintenance.enqueue_in(timedelta(hours=1), flaky, str(flag), job_id="later")
    assert counts_of(admin, MAINTENANCE) == (2, 0, 0, 1, 0)

    run_worker(rq_redis)

    overview = {
        c.name: (c.queued, c.started, c.failed, c.scheduled, c.deferred) for c in admin_ops.queue_overview(admin)
    }
    assert overview == {name: (0, 0, 2, 1, 0) if name == MAINTENANCE else (0, 0, 0, 0, 0) for name in ALL_QUEUES}
    failed = admin_ops.failed_jobs(admin, MAINTENANCE)
    assert {job.id for job in failed} == {"flaky-retry", "flaky-delete"}
    for job in failed:
        assert job.func == "tests.integration.test_admin_queues.flaky"
        assert "Traceback" in job.error and "RuntimeError: provider down: provider-up is missing" in job.error
        assert job.error_summary == "RuntimeError: provider down: provider-up is missing"
        assert job.ended_at.endswith(" UTC")
    assert admin_ops.failed_jobs(admin, "calls") == []

    flag.touch()  # the provider is back
    admin_ops.retry_failed_job(session, admin, MAINTENANCE, "flaky-retry")
    assert counts_of(admin, MAINTENANCE) == (1, 0, 1, 1, 0)
    run_worker(rq_redis)

    retried = Job.fetch("flaky-retry", connection=rq_redis)
    assert (retried.get_status(), retried.return_value()) == (JobStatus.FINISHED, "done")
    assert [job.id for job in admin_ops.failed_jobs(admin, MAINTENANCE)] == ["flaky-delete"]

    admin_ops.delete_failed_job(session, admin, MAINTENANCE, "flaky-delete")
    assert counts_of(admin, MAINTENANCE) == (0, 0, 0, 1, 0)
    with pytest.raises(NoSuchJobError):
        Job.fetch("flaky-delete", connection=rq_redis)
    with pytest.raises(NotFound):
        admin_ops.retry_failed_job(session, admin, MAINTENANCE, "flaky-delete")
    with pytest.raises(NotFound):
        admin_ops.delete_failed_job(session, admin, MAINTENANCE, "flaky-retry")  # it succeeded: not failed any more

    session.commit()
    events = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    assert [(e.actor_id, e.action, e.target_type, e.target_id) for e in events] == [
        (admin.id, "job.retry", "rq_job", "flaky-retry"),
        (admin.id, "job.delete", "rq_job", "flaky-delete"),
    ]
    assert events[0].before == {
        "queue": MAINTENANCE,
        "status": "failed",
        "func": "tests.integration.test_admin_queues.flaky",
        "error": "RuntimeError: provider down: provider-up is missing",
    }
    assert (events[0].after, events[1].after) == ({"status": "queued"}, {"status": "deleted"})

    # Inspecting, retrying and deleting never touched the app's shared client (a Worker raises its timeout).
    assert get_redis() is shared
    assert shared.connection_pool.connection_kwargs["socket_timeout"] == SHARED_SOCKET_TIMEOUT


def test_redis_down_is_a_clear_error_and_nothing_is_audited(
    session: Session, rq_redis: redis.Redis, own_redis: RedisProcess
) -> None:
    admin = User(email="admin@example.com", password_hash="x", role="admin")
    session.add(admin)
    session.commit()
    Queue(MAINTENANCE, connection=rq_redis).enqueue(flaky, "/nonexistent/flag", job_id="doomed")
    run_worker(rq_redis)
    own_redis.stop()

    with pytest.raises(admin_ops.QueuesUnavailable, match="Redis cannot be reached"):
        admin_ops.queue_overview(admin)
    with pytest.raises(admin_ops.QueuesUnavailable):
        admin_ops.retry_failed_job(session, admin, MAINTENANCE, "doomed")

    session.commit()
    assert session.exec(select(AuditEvent)).all() == []
