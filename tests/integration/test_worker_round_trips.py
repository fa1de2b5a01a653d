"""The worker's Redis bookkeeping per job (LeadWorker over RQ's SimpleWorker): few round trips, and the worker's key
never left with less life than RQ gives it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from redis.connection import AbstractConnection
from rq.exceptions import StopRequested
from rq.job import JobStatus
from rq.suspension import resume, suspend

from leadapp.core.broker import get_redis
from leadapp.core.tasks import MAINTENANCE, enqueue
from worker import pool
from worker.pool import LeadWorker
from worker.queues import get_queue

JOBS = 20


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts what is sent to Redis (a command, or a whole pipeline): one round trip each."""
    counted = [0]
    send = AbstractConnection.send_packed_command

    def counting(self: AbstractConnection, command: object, check_health: bool = True) -> None:
        counted[0] += 1
        send(self, command, check_health)  # type: ignore[arg-type]

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    yield counted


def test_a_job_costs_the_worker_a_dozen_round_trips_and_each_job_runs_once(
    redis_env: redis.Redis, round_trips: list[int]
) -> None:
    for i in range(JOBS):
        assert enqueue(MAINTENANCE, "builtins.abs", -i, job_id=f"abs-{i}", keep_result=(i % 2 == 0), fresh=True)
    worker = LeadWorker([get_queue(MAINTENANCE)], connection=get_redis())
    round_trips[0] = 0
    worker.work(burst=True, logging_level="WARNING")
    # RQ's SimpleWorker takes about 21 here: three heartbeats of three round trips each and the idle state written
    # twice per job (and 7 more for a job kept for 0 s, read back to be deleted).
    assert round_trips[0] / JOBS <= 12
    queue = get_queue(MAINTENANCE)
    for i in range(JOBS):
        job = queue.fetch_job(f"abs-{i}")
        assert job is not None and job.get_status() == JobStatus.FINISHED and job.return_value() == i
        assert 0 < redis_env.ttl(job.key) <= (300 if i % 2 == 0 else 10)  # a job keeping no result expires soon


def test_a_heartbeat_with_a_job_ttl_is_never_skipped_and_the_routine_one_follows_it(redis_env: redis.Redis) -> None:
    worker = LeadWorker([get_queue(MAINTENANCE)], connection=get_redis())
    worker.register_birth()
    try:
        worker.heartbeat()
        routine = redis_env.ttl(worker.key)
        assert routine > worker.worker_ttl
        worker.heartbeat(30)  # a job's TTL, right after a routine beat
        assert redis_env.ttl(worker.key) <= 30
        worker.heartbeat()  # the routine beat after the job is sent, however soon
        assert redis_env.ttl(worker.key) > worker.worker_ttl
        redis_env.expire(worker.key, 100)
        worker.heartbeat()  # within HEARTBEAT_REPEAT_SECONDS of a routine beat: skipped
        assert redis_env.ttl(worker.key) <= 100
    finally:
        worker.register_death()


def test_suspension_is_looked_for_once_a_second_and_a_burst_run_looks_every_time(
    redis_env: redis.Redis, round_trips: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = LeadWorker([get_queue(MAINTENANCE)], connection=get_redis())
    worker.check_for_suspension(False)
    round_trips[0] = 0
    worker.check_for_suspension(False)  # just looked: Redis is not asked again
    assert round_trips[0] == 0
    suspend(redis_env)
    try:
        worker.check_for_suspension(False)  # within the second: not seen yet
        with pytest.raises(StopRequested):
            worker.check_for_suspension(True)  # a burst run looks every time, and stops when suspended
    finally:
        resume(redis_env)
    monkeypatch.setattr(pool, "SUSPENSION_CHECK_SECONDS", 0.0)
    round_trips[0] = 0
    worker.check_for_suspension(False)  # the second is over: Redis is asked
    assert round_trips[0] == 1
