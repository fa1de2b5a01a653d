"""`python -m worker [--workers N] [--burst]`: RQ workers on every queue, plus RQ's cron scheduler.

One process supervises the rest: N forked RQ workers (rq's `WorkerPool`, which respawns any that
die) and one forked cron scheduler process (restarted the same way). SIGINT or SIGTERM stops them
all: workers finish their current job (warm shutdown), the scheduler unregisters itself, then the
supervisor exits 0. A second signal while a job is still running kills that job (RQ's cold shutdown).

`--burst` is for tests and one-off runs: enqueue whatever periodic jobs are due now, work every
queue until it is empty, and exit.

RQ's cron scheduler has no leader election: with several worker machines, run it on one of them and
start the others with `--no-cron`, or every periodic job is enqueued once per machine.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from types import FrameType

import redis
from rq.cron import CronScheduler
from rq.worker_pool import WorkerPool

from leadapp.core.broker import get_redis
from leadapp.core.observability import configure, get_logger
from leadapp.core.services.health import record_worker_heartbeat
from leadapp.core.settings import get_settings, refuse_insecure_production
from worker import schedule
from worker.pool import CronWorkerPool, LeadWorker
from worker.queues import ALL_QUEUES

PROGRAM = "worker"
REDIS_WAIT_SECONDS = 15
"""How long a burst run waits for Redis before giving up; a long-running worker waits as long as it takes,
saying so this often (a worker started again during a Redis outage must be there when Redis is back)."""
SHUTDOWN_GRACE_SECONDS = 30
"""How long an interrupted start-up waits for children before killing them."""

log = get_logger(PROGRAM)


def _exit_cleanly(signum: int, _frame: FrameType | None) -> None:
    """Until the pool installs its own handlers, a stop signal unwinds start-up through `finally`."""
    raise SystemExit(0)


def _wait_for_redis(client: redis.Redis, seconds: float, *, forever: bool) -> bool:
    """PING Redis until it answers; after `seconds` without an answer, log it and give up (or, `forever`, log
    it again every `seconds` and go on waiting)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return bool(client.ping())
        except redis.exceptions.RedisError as exc:
            if time.monotonic() >= deadline:
                where = client.connection_pool.connection_kwargs  # host and port only: the URL may hold a password
                log.error(
                    "redis_unreachable",
                    host=where.get("host"),
                    port=where.get("port"),
                    error=repr(exc),
                    waiting=forever,
                )
                if not forever:
                    return False
                deadline = time.monotonic() + seconds
            time.sleep(0.5)


def run_burst(connection: redis.Redis, workers: int, logging_level: str) -> None:
    """Enqueue the periodic jobs due now (every interval job), work all queues until empty, return."""
    scheduler = schedule.register(CronScheduler(connection=connection, logging_level=logging_level))
    due = scheduler.enqueue_jobs()
    log.info("burst_started", periodic_jobs_enqueued=[job.name for job in due], workers=workers)
    pool = WorkerPool(ALL_QUEUES, connection=connection, num_workers=workers, worker_class=LeadWorker)
    pool.start(burst=True, logging_level=logging_level)


def run_forever(connection: redis.Redis, workers: int, logging_level: str, with_cron: bool = True) -> None:
    """Run `workers` RQ workers (and the cron scheduler) until SIGINT/SIGTERM; return once all have exited."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _exit_cleanly)
    pool = CronWorkerPool(
        ALL_QUEUES, connection=connection, num_workers=workers, logging_level=logging_level, with_cron=with_cron
    )
    try:
        pool.start(burst=False, logging_level=logging_level)
    finally:
        pool.shutdown(SHUTDOWN_GRACE_SECONDS)
    log.info("worker_stopped")


def warm_up() -> None:
    """Load what every pipeline job needs (the ZIP database, the classifier's tables) once, before the
    workers fork, so they inherit it instead of each paying for it on its first job."""
    from leadapp.core.services import match  # loading it here, in the pool's parent, is the point

    match.zip_centroid("10001")
    match.haversine_miles((40.0, -86.0), (40.1, -86.1))


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
    parser.add_argument("--no-cron", action="store_true", help="no cron scheduler (another worker machine runs it)")
    args = parser.parse_args(argv)

    refuse_insecure_production(PROGRAM)
    configure(PROGRAM)
    settings = get_settings()
    logging_level = settings.log_level.upper()
    connection = get_redis()
    if not _wait_for_redis(connection, REDIS_WAIT_SECONDS, forever=not args.burst):
        return 1
    # The health page turns green at once instead of after the first scheduled beat.
    record_worker_heartbeat()
    warm_up()
    log.info("worker_starting", queues=list(ALL_QUEUES), workers=args.workers, burst=args.burst, cron=not args.no_cron)
    if args.burst:
        run_burst(connection, args.workers, logging_level)
    else:
        run_forever(connection, args.workers, logging_level, with_cron=not args.no_cron)
    return 0


if __name__ == "__main__":
    sys.exit(main())
