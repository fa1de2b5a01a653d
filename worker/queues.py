"""The RQ queues LeadApp uses. The names are defined once, in `leadapp.core.tasks`, so services can
enqueue without importing the worker.

RQ queue names are global within a Redis database (RQ keys are not under `REDIS_PREFIX`), so two
deployments must not share one Redis database.
"""

from __future__ import annotations

from leadapp.core.tasks import ALL_QUEUES, CALLS, MAINTENANCE, NOTIFICATIONS, PIPELINE
from leadapp.core.tasks import queue as get_queue

__all__ = ["ALL_QUEUES", "CALLS", "MAINTENANCE", "NOTIFICATIONS", "PIPELINE", "get_queue"]
