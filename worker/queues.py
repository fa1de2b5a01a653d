"""The RQ queues LeadApp uses, named in one place.

RQ queue names are global within a Redis database (RQ keys are not under `REDIS_PREFIX`), so two
deployments must not share one Redis database.
"""

from __future__ import annotations

from rq import Queue

from leadapp.core.broker import get_redis

PIPELINE = "pipeline"
"""Lead intake: classify, score, match, compose."""
NOTIFICATIONS = "notifications"
"""Email and SMS sends, with retries."""
CALLS = "calls"
"""Outbound AI calls and their summaries."""
MAINTENANCE = "maintenance"
"""Housekeeping: heartbeats, sweepers, the weekly audit."""

ALL_QUEUES: tuple[str, ...] = (PIPELINE, NOTIFICATIONS, CALLS, MAINTENANCE)
"""Every queue, highest priority first: a worker always drains earlier queues before later ones."""


def get_queue(name: str) -> Queue:
    """The RQ queue called `name` on the shared Redis connection.

    Raises `ValueError` for a name that is not one of `ALL_QUEUES`, so a typo cannot silently create a
    queue that no worker listens to.
    """
    if name not in ALL_QUEUES:
        raise ValueError(f"unknown queue {name!r}; expected one of {', '.join(ALL_QUEUES)}")
    return Queue(name, connection=get_redis())
