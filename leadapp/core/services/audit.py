"""The audit trail: every privileged action, with actor, time, target and before/after."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, SQLModel

from leadapp.core.models import AuditEvent


def record(
    session: Session,
    *,
    actor_id: int | None,
    action: str,
    target: SQLModel | None = None,
    target_type: str = "",
    target_id: str | int = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    ip: str = "",
) -> AuditEvent:
    """Add an audit event in the caller's transaction, so it commits (or rolls back) with the action."""
    if target is not None:
        target_type = target_type or str(getattr(target, "__tablename__", type(target).__name__))
        target_id = target_id or getattr(target, "id", "") or ""
    event = AuditEvent(
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        before=before,
        after=after,
        ip=ip[:64],
    )
    session.add(event)
    return event
