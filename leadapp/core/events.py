"""Live events over Redis pub/sub: published only after the data they announce is committed.

The web app's listener relays them to open pages (dashboards, portals, the admin area). A lost event
only delays a page: pages also reload their data when opened, so events carry ids, never data.
"""

from __future__ import annotations

import json
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession

from leadapp.core.broker import get_redis, key
from leadapp.core.observability import get_logger

log = get_logger(__name__)
_PENDING = "leadapp_pending_events"


def channel() -> str:
    return key("events")


def publish(kind: str, **data: Any) -> bool:
    """Publish one event now (use `publish_after_commit` inside a transaction); False if Redis is down."""
    try:
        get_redis().publish(channel(), json.dumps({"kind": kind, **data}, default=str))
        return True
    except RedisError as exc:
        log.warning("event_publish_failed", kind=kind, error=repr(exc))
        return False


def publish_after_commit(session: OrmSession, kind: str, **data: Any) -> None:
    """Queue an event on this session; it is published once the transaction commits (dropped on rollback)."""
    session.info.setdefault(_PENDING, []).append((kind, data))


@event.listens_for(OrmSession, "after_commit")
def _flush_events(session: OrmSession) -> None:
    for kind, data in session.info.pop(_PENDING, []):
        publish(kind, **data)


@event.listens_for(OrmSession, "after_soft_rollback")
def _drop_events(session: OrmSession, previous_transaction: Any) -> None:
    # A rolled-back SAVEPOINT keeps the outer transaction's events; only the outermost rollback drops them.
    if previous_transaction.parent is None and not previous_transaction.nested:
        session.info.pop(_PENDING, None)
