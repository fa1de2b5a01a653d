"""`python -m worker` as a real process: RQ workers on every queue, the cron scheduler, clean shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from rq import Worker
from rq.cron import CronScheduler, get_cron_job_ids
from rq.job import Job, JobStatus

from leadapp.core.services import health
from leadapp.core.settings import ROOT
from tests.integration.programs import program_env, program_output, start_program, stop_program, wait_until
from worker import jobs
from worker.queues import ALL_QUEUES, get_queue

WAIT_SECONDS = 30.0
HEARTBEAT_JOB = "worker.jobs.heartbeat"


@pytest.fixture
def worker_env(sqlite_url: str, redis_env: redis.Redis) -> dict[str, str]:
    """The worker's environment: the test database and Redis, and a heartbeat every second."""
    return program_env(WORKER_HEARTBEAT_SECONDS="1")


@pytest.fixture
def worker_log(tmp_path: Path) -> Path:
    return tmp_path / "worker.log"


@pytest.fixture
def running_worker(worker_env: dict[str, str], worker_log: Path) -> Iterator[subprocess.Popen]:
    """`python -m worker --workers 1` in its own process group, up and heartbeating."""
    proc = start_program(["-m", "worker", "--workers", "1"], worker_log, worker_env, new_session=True)
    try:
        wait_until(lambda: proc.poll() is not None or health.check_worker().ok, "the first heartbeat", worker_log)
        assert proc.poll() is None, program_output(worker_log)
        yield proc
    finally:
        stop_program(proc)


def _exits_within(proc: subprocess.Popen, timeout: float) -> int | None:
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def test_worker_runs_a_job_on_every_queue_and_the_scheduled_heartbeat(
    running_worker: subprocess.Popen, redis_env: redis.Redis, worker_log: Path
) -> None:
    queued = [get_queue(name).enqueue(jobs.heartbeat) for name in ALL_QUEUES]

    for job in queued:
        wait_until(
            lambda job=job: job.get_status(refresh=True) == JobStatus.FINISHED, f"job on {job.origin}", worker_log
        )

    # The cron scheduler is registered with the heartbeat job and keeps beating through the workers.
    wait_until(lambda: CronScheduler.all(redis_env), "the cron scheduler to register", worker_log)
    schedulers = CronScheduler.all(redis_env)
    assert len(schedulers) == 1
    assert HEARTBEAT_JOB in [job.func_name for job in schedulers[0].get_jobs()]
    redis_env.delete(health.heartbeat_key())
    wait_until(lambda: redis_env.exists(health.heartbeat_key()), "a scheduled heartbeat", worker_log)
    assert health.check_worker().ok


@pytest.mark.parametrize("target", ["supervisor", "process group"])
def test_worker_stops_cleanly_on_a_stop_signal(
    running_worker: subprocess.Popen, redis_env: redis.Redis, worker_log: Path, target: str
) -> None:
    # Make sure the workers are busy being alive (registered and idle in BLPOP), not still starting.
    wait_until(lambda: len(Worker.all(connection=redis_env)) == 1, "the RQ worker to register", worker_log)
    wait_until(lambda: len(CronScheduler.all(redis_env)) == 1, "the cron scheduler to register", worker_log)

    if target == "supervisor":  # what a process manager does
        running_worker.send_signal(signal.SIGTERM)
    else:  # what Ctrl-C in a terminal does: every process of the group gets SIGINT
        os.killpg(running_worker.pid, signal.SIGINT)

    code = _exits_within(running_worker, WAIT_SECONDS)
    assert code == 0, f"exit code {code}; output:\n{program_output(worker_log)}"
    assert Worker.all(connection=redis_env) == []
    assert CronScheduler.all(redis_env) == []


def test_burst_run_enqueues_the_periodic_jobs_works_them_and_exits(
    worker_env: dict[str, str], redis_env: redis.Redis, worker_log: Path
) -> None:
    with worker_log.open("wb") as log:
        result = subprocess.run(
            [sys.executable, "-m", "worker", "--burst", "--workers", "1"],
            cwd=ROOT,
            env=worker_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=60,
        )

    assert result.returncode == 0, program_output(worker_log)
    spawned = get_cron_job_ids(HEARTBEAT_JOB, redis_env)
    assert len(spawned) == 1
    assert Job.fetch(spawned[0], connection=redis_env).get_status() == JobStatus.FINISHED
    assert health.check_worker().ok
    for name in ALL_QUEUES:
        assert get_queue(name).count == 0


def test_a_worker_started_while_redis_is_down_waits_for_it_and_then_works(
    own_redis, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, worker_log: Path, tmp_path: Path
) -> None:
    """A worker (re)started during a Redis outage (a supervisor restarting it, a deploy) must still be there
    when Redis is back: giving up after a few seconds left the queue without workers until someone came."""
    from tests.conftest import clear_app_caches

    monkeypatch.setenv("REDIS_URL", own_redis.url)
    clear_app_caches()
    own_redis.stop()
    proc = start_program(
        ["-m", "worker", "--workers", "1"], worker_log, program_env(WORKER_HEARTBEAT_SECONDS="1"), new_session=True
    )
    try:
        wait_until(
            lambda: b"redis_unreachable" in worker_log.read_bytes(), "the worker to say Redis is away", worker_log
        )
        assert proc.poll() is None, program_output(worker_log)  # still waiting, not gone
        own_redis.start_again(tmp_path)
        wait_until(lambda: proc.poll() is not None or health.check_worker().ok, "the first heartbeat", worker_log)
        assert proc.poll() is None, program_output(worker_log)
        job = get_queue(ALL_QUEUES[0]).enqueue(jobs.heartbeat)
        wait_until(lambda: job.get_status(refresh=True) == JobStatus.FINISHED, "a job after the outage", worker_log)
    finally:
        stop_program(proc)
