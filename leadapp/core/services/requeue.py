"""An admin's re-queue of one outbound row (a failed notification's retry, a webhook delivery's resend): the
one step both share, so the audit, the commit and the enqueue happen in the same order for both."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlmodel import Session

from leadapp.core.errors import UserError
from leadapp.core.models import Notification, WebhookDelivery
from leadapp.core.services import audit

Row = TypeVar("Row", Notification, WebhookDelivery)


def requeue(
    session: Session,
    *,
    admin_id: int | None,
    row: Row,
    move: Callable[[], int],
    refused: str,
    action: str,
    pending: str,
    enqueue: Callable[[], object],
) -> Row:
    """Put `row` back to pending through `move` (an UPDATE guarded on the row's state, returning how many rows it
    changed). Unless exactly one changed, roll back and raise UserError(`refused`). Else audit `action` (status,
    attempts and last error before; the `pending` status after), commit — the job must find the row pending —
    refresh the row and `enqueue` its job; if Redis is down the row stays pending for the sweeper."""
    before = {"status": row.status, "attempts": row.attempts, "last_error": row.last_error}
    if move() != 1:
        session.rollback()
        raise UserError(refused)
    audit.record(session, actor_id=admin_id, action=action, target=row, before=before, after={"status": pending})
    session.commit()
    session.refresh(row)
    enqueue()
    return row
