"""The processes behind `python -m worker`: RQ workers whose stop signals always land, and a pool
that also supervises RQ's cron scheduler."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import time
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

import redis
from rq import SimpleWorker
from rq.cron import CronScheduler
from rq.exceptions import StopRequested
from rq.worker.base import BaseWorker, WorkerStatus
from rq.worker_pool import WorkerPool

from leadapp.core import rls
from leadapp.core.broker import get_redis
from leadapp.core.observability import get_logger, report_exception
from worker import schedule

CRON_RETRY_SECONDS = 5
"""Pause before the cron scheduler retries after losing Redis."""
HEARTBEAT_REPEAT_SECONDS = 5.0
"""A worker's routine heartbeat is not sent again within this long of the last one (RQ sends one before and after
each dequeue and after each job: three round trips each). Its key lives `worker_ttl + 60` s (480 s by default) and
RQ's longest wait for a job is `worker_ttl - 15` s, so a skipped beat never lets the worker look dead."""
SUSPENSION_CHECK_SECONDS = 1.0
"""`rq suspend` is looked for at most this often (RQ asks Redis before every job: one round trip per job); a burst
run looks every time, as RQ does."""

log = get_logger("worker")


class LeadWorker(SimpleWorker):
    """RQ's `SimpleWorker` (jobs run in the worker process itself: no fork per job, so warm caches such as
    the ZIP centroids and connection pools survive from one job to the next — about 3× the throughput of
    the forking worker; the pool respawns a worker that dies), except that SIGINT/SIGTERM are always
    handled by its main thread.

    RQ listens for commands on a pub/sub thread. When the kernel delivers a stop signal to that
    thread, the main thread stays blocked in BLPOP until the dequeue timeout (about 400 s) before
    Python runs the handler, so a warm shutdown could take minutes. Threads inherit their creator's
    signal mask, so the stop signals are blocked while the pub/sub thread is created.
    Usable with the CLI too: `rq worker -w worker.pool.LeadWorker ...`.
    """

    _beat_at: float | None = None
    """When the last routine heartbeat (RQ's default TTL) was sent; None after one with another TTL."""

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        """RQ's heartbeat, in one round trip instead of three; a routine one (RQ's default TTL) is skipped when one
        went out less than HEARTBEAT_REPEAT_SECONDS ago."""
        if pipeline is not None:  # part of RQ's own round trip (a job's TTL, or the routine one)
            super().heartbeat(timeout, pipeline)
            self._beat_at = None if timeout is not None else time.monotonic()
            return
        recent = self._beat_at is not None and time.monotonic() - self._beat_at < HEARTBEAT_REPEAT_SECONDS
        if timeout is None and recent:
            return
        with self.connection.pipeline(transaction=False) as pipe:
            super().heartbeat(timeout, pipe)
            pipe.execute()
        self._beat_at = None if timeout is not None else time.monotonic()

    _suspension_checked_at: float | None = None

    def check_for_suspension(self, burst: bool) -> None:
        """RQ's (wait while `rq suspend` holds), asked of Redis at most once per SUSPENSION_CHECK_SECONDS: a suspension
        stops the worker after the job it is doing and at most that much later."""
        checked = self._suspension_checked_at
        if not burst and checked is not None and time.monotonic() - checked < SUSPENSION_CHECK_SECONDS:
            return
        super().check_for_suspension(burst)
        self._suspension_checked_at = time.monotonic()

    def set_state(self, state: str, pipeline: Any = None) -> None:
        """RQ's, except that a state the worker already wrote is not written again (idle after a job, then idle
        again before the next dequeue)."""
        if pipeline is None and state == self._state:
            return
        super().set_state(state, pipeline)

    def execute_job(self, job: Any, queue: Any) -> None:
        """SimpleWorker's, with the idle state and the heartbeat after the job sent in one round trip."""
        execution = self.prepare_execution(job)
        self.perform_job(job, queue, execution)
        with self.connection.pipeline(transaction=False) as pipe:
            super().set_state(WorkerStatus.IDLE, pipe)
            BaseWorker.heartbeat(self, None, pipe)
            pipe.execute()
        self._beat_at = time.monotonic()

    def perform_job(self, job: Any, queue: Any, *args: Any, **kwargs: Any) -> bool:
        """Run the job as the system (every row), logged with the job's name."""
        with rls.system_context(f"job {job.func_name}"):
            return super().perform_job(job, queue, *args, **kwargs)

    def subscribe(self) -> None:
        stop_signals = {signal.SIGINT, signal.SIGTERM}
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
        try:
            super().subscribe()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class LeadCronScheduler(CronScheduler):
    """RQ's `CronScheduler`, except that once asked to stop it ignores further stop signals.

    On Ctrl-C the scheduler gets SIGINT from the terminal and, moments later, SIGTERM from the pool;
    in plain RQ the second signal interrupts `register_death`, leaving a dead scheduler listed in Redis.
    """

    def _request_stop(self, signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        super()._request_stop(signum, frame)


def run_cron_scheduler(logging_level: str) -> None:
    """Run RQ's cron scheduler with `worker.schedule`'s jobs until SIGINT/SIGTERM (child process body).

    Survives Redis outages: the same scheduler restarts after a pause, keeping its timing, so
    interval jobs are not fired again just because Redis blinked.
    """
    # Forked from the pool after it installed its handlers: drop them, they act on the pool's children.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    scheduler = schedule.register(LeadCronScheduler(connection=get_redis(), logging_level=logging_level))
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
    """RQ's `WorkerPool` of `LeadWorker`s that also keeps one cron scheduler process alive and stops it
    with the workers: `start()` returns only once every worker and the scheduler have exited."""

    def __init__(self, *args: Any, logging_level: str = "INFO", with_cron: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("worker_class", LeadWorker)
        super().__init__(*args, **kwargs)
        self._logging_level = logging_level
        self._with_cron = with_cron
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
        if self._with_cron and respawn and self.status != self.Status.STOPPED and not self._cron_alive():
            if self._cron_process is not None:
                log.warning("cron_scheduler_died", exitcode=self._cron_process.exitcode)
            self.start_cron()

    def stop_workers(self) -> None:
        """Ask every worker (SIGINT, warm shutdown) and the cron scheduler (SIGTERM) to stop."""
        super().stop_workers()
        if self._cron_alive() and self._cron_process is not None and self._cron_process.pid is not None:
            with contextlib.suppress(ProcessLookupError):  # it exited since we looked
                os.kill(self._cron_process.pid, signal.SIGTERM)

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
