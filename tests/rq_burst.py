"""A real RQ worker run in the test's own process: burst runs (with RQ's scheduler, for scheduled retries)
until what the test waits for is true, for a bounded time."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from rq import SimpleWorker

from leadapp.core.broker import get_redis
from leadapp.core.tasks import NOTIFICATIONS
from worker.queues import get_queue

WAIT_SECONDS = 30.0


def run_worker_until(condition: Callable[[], bool], what: str, queue: str = NOTIFICATIONS) -> None:
    """Work `queue` in bursts until `condition` holds; fail after WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        SimpleWorker([get_queue(queue)], connection=get_redis()).work(
            burst=True, with_scheduler=True, logging_level="WARNING"
        )
        if condition():
            return
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)
