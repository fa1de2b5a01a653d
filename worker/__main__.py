"""`python -m worker [--workers N] [--burst]`: RQ workers on every queue, plus RQ's cron scheduler.

One process supervises the rest: N forked RQ workers (rq's `WorkerPool`, which respawns any that
die) and one forked cron scheduler process (restarted the same way). SIGINT or SIGTERM stops them
all: workers finish their current job (warm shutdown), the scheduler unregisters itself, then the
supervisor exits 0. A second signal while a job is still running kills that job (RQ's cold shutdown).

`--burst` is for tests and one-off runs: enqueue whatever periodic jobs are due now, work every
queue until it is empty, and exit.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import sys
import time
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

import redis
from rq.cron import CronScheduler
from rq.exceptions import StopRequested
from rq.worker_pool import WorkerPool

from leadapp.core.broker import get_redis
from leadapp.core.observability import configure, get_logger, report_exception
from leadapp.core.services.health import record_worker_heartbeat
from leadapp.core.settings import get_settings
from worker import schedule
from worker.queues import ALL_QUEUES

PROGRAM = "worker"
REDIS_WAIT_SECONDS = 15
"""How long start-up waits for Redis (e.g. started by the same `make run`) before giving up."""
CRON_RETRY_SECONDS = 5
"""Pause before the cron scheduler retries after losing Redis."""
SHUTDOWN_GRACE_SECONDS = 30
"""How long an interrupted start-up waits for children before killing them."""

log = get_logger(PROGRAM)


def run_cron_scheduler(logging_level: str) -> None:
    """Run RQ's cron scheduler with `worker.schedule`'s jobs until SIGINT/SIGTERM (child process body).

    Survives Redis outages: the same scheduler restarts after a pause, keeping its timing, so
    interval jobs are not fired again just because Redis blinked.
    """
    # Forked from the pool after it installed its handlers: drop them, they act on the pool's children.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    scheduler = schedule.register(CronScheduler(connection=get_redis(), logging_level=logging_level))
    while True:
        try:
            scheduler.start()  # installs its own SIGINT/SIGTERM handlers; returns once asked to stop
            return
        except (StopRequested, KeyboardInterrupt):  # a signal that arrived before start() took over
            return
        except redis.exceptions.RedisError as exc:
            log.error("cron_scheduler_lost_redis", error=repr(exc), retry_in_seconds=CRON_RETRY_SECONDS)
        except Exception as exc:
            report_exception(exc, where="cron_scheduler")
            raise
        try:
            time.sleep(CRON_RETRY_SECONDS)
        except (StopRequested, KeyboardInterrupt):  # the scheduler's handlers are still installed
            return


class CronWorkerPool(WorkerPool):
    """RQ's `WorkerPool` that also keeps one cron scheduler process alive and stops it with the workers."""

    def __init__(self, *args: Any, logging_level: str = "INFO", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._logging_level = logging_level
        self._cron_process: BaseProcess | None = None

    def _cron_alive(self) -> bool:
        if self._cron_process is None:
            return False
        self._cron_process.join(0)
        return self._cron_process.is_alive()

    def start_cron(self) -> None:
        """Fork the cron scheduler process (replacing a dead one)."""
        process = multiprocessing.get_context("fork").Process(
            target=run_cron_scheduler, args=(self._logging_level,), name=f"rq cron scheduler (WorkerPool {self.name})"
        )
        process.start()
        self._cron_process = process
        log.info("cron_scheduler_started", pid=process.pid)

    def check_workers(self, respawn: bool = True) -> None:
        """Respawn dead workers (RQ) and, unless stopping, a dead cron scheduler."""
        super().check_workers(respawn=respawn)
        if respawn and self.status != self.Status.STOPPED and not self._cron_alive():
            if self._cron_process is not None:
                log.warning("cron_scheduler_died", exitcode=self._cron_process.exitcode)
            self.start_cron()

    def stop_workers(self) -> None:
        """Ask every worker (SIGINT, warm shutdown) and the cron scheduler (SIGTERM) to stop."""
        super().stop_workers()
        if self._cron_alive() and self._cron_process is not None and self._cron_process.pid is not None:
            try:
                os.kill(self._cron_process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def all_workers_have_stopped(self) -> bool:
        """True once every worker and the cron scheduler have exited."""
        workers_stopped = super().all_workers_have_stopped()
        return workers_stopped and not self._cron_alive()

    def shutdown(self, grace_seconds: float) -> None:
        """Stop whatever is still running, killing it after `grace_seconds` (no-op after a normal stop)."""
        if self.all_workers_have_stopped():
            return
        self.status = self.Status.STOPPED
        self.stop_workers()
        deadline = time.monotonic() + grace_seconds
        while time.monotonic() < deadline and not self.all_workers_have_stopped():
            time.sleep(0.2)
        leftovers = [data.process for data in self.worker_dict.values()]
        if self._cron_alive() and self._cron_process is not None:
            leftovers.append(self._cron_process)
        for process in leftovers:
            log.warning("killing_child", pid=process.pid, name=process.name)
            process.kill()
            process.join(5)


def _exit_cleanly(signum: int, _frame: FrameType | None) -> None:
    """Until the pool installs its own handlers, a stop signal unwinds start-up through `finally`."""
    raise SystemExit(0)


def _wait_for_redis(client: redis.Redis, seconds: float) -> bool:
    """PING Redis until it answers or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return bool(client.ping())
        except redis.exceptions.RedisError as exc:
            if time.monotonic() >= deadline:
                log.error("redis_unreachable", redis_url=get_settings().redis_url, error=repr(exc))
                return False
            time.sleep(0.5)


def run_burst(connection: redis.Redis, workers: int, logging_level: str) -> None:
    """Enqueue the periodic jobs due now (every interval job), work all queues until empty, return."""
    scheduler = schedule.register(CronScheduler(connection=connection, logging_level=logging_level))
    due = scheduler.enqueue_jobs()
    log.info("burst_started", periodic_jobs_enqueued=[job.name for job in due], workers=workers)
    WorkerPool(ALL_QUEUES, connection=connection, num_workers=workers).start(burst=True, logging_level=logging_level)


def run_forever(connection: redis.Redis, workers: int, logging_level: str) -> None:
    """Run `workers` RQ workers and the cron scheduler until SIGINT/SIGTERM; return once all have exited."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _exit_cleanly)
    pool = CronWorkerPool(ALL_QUEUES, connection=connection, num_workers=workers, logging_level=logging_level)
    try:
        pool.start(burst=False, logging_level=logging_level)
    finally:
        pool.shutdown(SHUTDOWN_GRACE_SECONDS)
    log.info("worker_stopped")


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def main(argv: list[str] | None = None) -> int:
    """Parse options, check Redis, record a first heartbeat, then run; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m worker", description="Run LeadApp's RQ workers and scheduler.")
    parser.add_argument("--workers", type=_positive_int, default=2, help="worker processes (default: %(default)s)")
    parser.add_argument("--burst", action="store_true", help="enqueue due periodic jobs, drain the queues, exit")
    args = parser.parse_args(argv)

    configure(PROGRAM)
    settings = get_settings()
    logging_level = settings.log_level.upper()
    connection = get_redis()
    if not _wait_for_redis(connection, REDIS_WAIT_SECONDS):
        return 1
    # The health page turns green at once instead of after the first scheduled beat.
    record_worker_heartbeat()
    log.info("worker_starting", queues=list(ALL_QUEUES), workers=args.workers, burst=args.burst, pid=os.getpid())
    if args.burst:
        run_burst(connection, args.workers, logging_level)
    else:
        run_forever(connection, args.workers, logging_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
