"""The audit trail: every privileged action, with actor, time, target and before/after."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, SQLModel

from leadapp.core.models import AuditEvent, utcnow


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


def apply_change(
    session: Session, *, actor_id: int | None, action: str, target: SQLModel, values: dict[str, Any]
) -> bool:
    """Set `values` on `target` (and its `updated_at`), recording the values they replace; in the caller's transaction.

    A target that already has every value is left alone and nothing is recorded: False then, True otherwise.
    """
    before = {name: getattr(target, name) for name in values}
    if before == values:
        return False
    for name, value in values.items():
        setattr(target, name, value)
    target.updated_at = utcnow()  # type: ignore[attr-defined]
    session.add(target)
    record(session, actor_id=actor_id, action=action, target=target, before=before, after=values)
    return True
