"""The audit trail as admins read and filter it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from leadapp.core.errors import UserError
from leadapp.core.models import AuditEvent, User
from leadapp.core.observability import get_logger
from leadapp.core.services import access
from leadapp.core.services.admin_ops.common import Page, _paged, _when

log = get_logger(__name__)

# --- audit trail ----------------------------------------------------------------------------------


def _since(since: date | datetime | str | None) -> datetime | None:
    if since is None or since == "":
        return None
    if isinstance(since, str):
        try:
            since = date.fromisoformat(since.strip())
        except ValueError as exc:
            raise UserError("Write the date as YYYY-MM-DD.", field="since") from exc
    if isinstance(since, datetime):
        return since if since.tzinfo is not None else since.replace(tzinfo=UTC)
    return datetime(since.year, since.month, since.day, tzinfo=UTC)


def _json(value: dict[str, Any] | None) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str) if value else ""


def audit_trail(
    session: Session,
    actor: User | None,
    action: str = "",
    actor_email: str = "",
    target_type: str = "",
    since: date | datetime | str | None = None,
    page: int = 1,
) -> Page:
    """Audit events, newest first (admins only). Filters combine:

    - `action`: that action, or every action under it ("dnc" matches "dnc.add" and "dnc.remove");
    - `actor_email`: actors whose e-mail contains it (any case);
    - `target_type`: that table, e.g. "notifications";
    - `since`: events at or after that UTC day (a date, "YYYY-MM-DD") or instant.
    Rows carry before/after as indented JSON. Raises UserError for a malformed date.
    """
    access.require_admin(actor)
    conditions = []
    action = action.strip()
    if action:
        conditions.append(
            (col(AuditEvent.action) == action)
            | col(AuditEvent.action).startswith(action.rstrip(".") + ".", autoescape=True)
        )
    if actor_email.strip():
        conditions.append(func.lower(col(User.email)).contains(actor_email.strip().lower(), autoescape=True))
    if target_type.strip():
        conditions.append(col(AuditEvent.target_type) == target_type.strip())
    start = _since(since)
    if start is not None:
        conditions.append(col(AuditEvent.created_at) >= start)

    base = select(AuditEvent, User.email).join(User, col(User.id) == col(AuditEvent.actor_id), isouter=True)
    events, total, page = _paged(
        session,
        base.where(*conditions).order_by(col(AuditEvent.created_at).desc(), col(AuditEvent.id).desc()),
        select(func.count()).select_from(base.where(*conditions).subquery()),
        page,
    )
    rows = [
        {
            "id": str(event.id),
            "created_at": _when(event.created_at),
            "actor": email or ("(deleted user)" if event.actor_id else "system"),
            "action": event.action,
            "target_type": event.target_type,
            "target_id": event.target_id,
            "before": _json(event.before),
            "after": _json(event.after),
            "ip": event.ip,
        }
        for event, email in events
    ]
    return Page(rows, total, page)


def audit_actions(session: Session, actor: User | None) -> list[str]:
    """The distinct actions recorded so far (for the filter's choices), sorted. Admins only."""
    access.require_admin(actor)
    return sorted(a for a in session.exec(select(AuditEvent.action).distinct()).all() if a)
