"""Live events over Redis pub/sub: published only after the data they announce is committed.

The web app's listener relays them to open pages (dashboards, portals, the admin area). A lost event
only delays a page: pages also reload their data when opened, so events carry ids, never data.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession

from leadapp.core.broker import get_redis, key
from leadapp.core.observability import get_logger, report_exception

log = get_logger(__name__)
_PENDING = "leadapp_after_commit"


def channel() -> str:
    return key("events")


def encode(event: dict[str, Any]) -> str:
    """The message for one event (`{"kind": …, …}`): with a fresh `id`, which the web backends share tabs by."""
    return json.dumps({**event, "id": uuid.uuid4().hex}, default=str)


def publish(kind: str, **data: Any) -> bool:
    """Publish one event now (use `publish_after_commit` inside a transaction); False if Redis is down.

    Each event carries a fresh `id`: every web backend hears every event, and the id lets them agree that
    each open tab is refreshed once (see `leadapp.live`).
    """
    try:
        get_redis().publish(channel(), encode({"kind": kind, **data}))
        return True
    except RedisError as exc:
        log.warning("event_publish_failed", kind=kind, error=repr(exc))
        return False


def publish_many(events: list[tuple[str, dict[str, Any]]]) -> bool:
    """Publish several events now in one Redis round trip (each as `publish` would); False if Redis is down."""
    if len(events) == 1:
        kind, data = events[0]
        return publish(kind, **data)
    try:
        pipe = get_redis().pipeline(transaction=False)
        for kind, data in events:
            pipe.publish(channel(), encode({"kind": kind, **data}))
        pipe.execute()
        return True
    except RedisError as exc:
        log.warning("event_publish_failed", kinds=[kind for kind, _ in events], error=repr(exc))
        return False


def run_after_commit(session: OrmSession, work: Callable[..., object], *args: object) -> None:
    """Run `work(*args)` once this session's transaction commits (never if it rolls back).

    For what must follow committed data: live events, enqueueing jobs. A failure is reported, not
    raised (the data is committed; the sweepers catch up with what did not run).
    """
    session.info.setdefault(_PENDING, []).append((work, args))


def _publish_later(kind: str, data: dict[str, Any]) -> None:
    publish(kind, **data)


def publish_after_commit(session: OrmSession, kind: str, **data: Any) -> None:
    """Queue an event on this session; it is published once the transaction commits (dropped on rollback)."""
    run_after_commit(session, _publish_later, kind, data)


@event.listens_for(OrmSession, "after_commit")
def _run_pending(session: OrmSession) -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    for work, args in session.info.pop(_PENDING, []):
        if work is _publish_later:  # the transaction's events go out together, in one round trip
            events.append((args[0], args[1]))  # type: ignore[arg-type]
            continue
        try:
            work(*args)
        except Exception as exc:  # the data is committed; sweepers catch up with what did not run
            report_exception(exc, where="after_commit", work=getattr(work, "__name__", repr(work)))
    if events:
        try:
            publish_many(events)
        except Exception as exc:
            report_exception(exc, where="after_commit", work="publish_many")


@event.listens_for(OrmSession, "after_soft_rollback")
def _drop_pending(session: OrmSession, previous_transaction: Any) -> None:
    # A rolled-back SAVEPOINT keeps the outer transaction's work; only the outermost rollback drops it.
    if previous_transaction.parent is None and not previous_transaction.nested:
        session.info.pop(_PENDING, None)
