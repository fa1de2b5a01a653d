"""A call's states: the status groups, the compare-and-set that moves a call between them, and telling
open dashboards and portals that it moved."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col

from leadapp.core.events import publish_after_commit
from leadapp.core.models import Call, Lead, utcnow
from leadapp.core.vocab import CallStatus

OPEN_STATUSES = (
    CallStatus.REQUESTED.value,
    CallStatus.SCHEDULED.value,
    CallStatus.DIALING.value,
    CallStatus.RINGING.value,
    CallStatus.IN_PROGRESS.value,
)
CANCELLABLE_STATUSES = (CallStatus.REQUESTED.value, CallStatus.SCHEDULED.value)
TERMINAL_STATUSES = (CallStatus.COMPLETED.value, CallStatus.CANCELED.value, CallStatus.FAILED.value)


def _publish_call(session: Session, call: Call) -> None:
    """Tell open dashboards and portals that this call changed (after commit)."""
    lead = session.get(Lead, call.lead_id) if call.lead_id else None
    if call.business_id is not None:
        publish_after_commit(session, "match", business_id=call.business_id, lead_id=call.lead_id)
    if lead is not None:
        publish_after_commit(session, "lead", lead_id=lead.id, status=lead.status, consumer_id=lead.consumer_id)


def _set_if(session: Session, call_id: int, statuses: tuple[str, ...], **values: Any) -> bool:
    """Compare-and-set: apply `values` only while the call is in one of `statuses`; True if it was."""
    changed = session.execute(
        update(Call)
        .where(col(Call.id) == call_id, col(Call.status).in_(statuses))
        .values(updated_at=utcnow(), **values)
    )
    return changed.rowcount == 1  # type: ignore[attr-defined]
