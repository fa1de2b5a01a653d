"""RQ jobs: thin plain functions that take ids (never ORM objects) and call one service each.

Every job must be safe to run twice: RQ may retry it, and a sweeper may enqueue it again.
"""

from __future__ import annotations

from leadapp.core.services.health import record_worker_heartbeat


def heartbeat() -> str:
    """Record that a worker is alive and processing jobs; returns the recorded time (ISO 8601, UTC).

    Idempotent: running it again only moves the heartbeat forward.
    """
    return record_worker_heartbeat().isoformat()
