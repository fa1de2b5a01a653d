"""Partner webhooks: registering a key's URL, recording each lead status change as a delivery, the admin outbox,
and a partner reading its own lead's status.

Guarantees:
- only admins register a webhook (a public https URL, see `addresses`); saving one issues a new signing secret,
  shown once and kept encrypted; audited;
- `lead_status_changed` is the one place a status change becomes a delivery: called in the transaction that
  commits the change, it adds the row there (one per lead and event, whoever calls it twice) and enqueues its job
  only after the commit, so a delivery is never sent for a change that rolled back, nor lost when Redis is down
  (the sweeper enqueues rows left pending);
- a delivery keeps its `webhook_id` for life: RQ's retries and an admin's re-send carry the same id;
- a partner reads the status of a lead only with the key that created it; any other lead, whether it exists or
  not, is the same NotFound.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from rq import Retry
from sqlalchemy import and_, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from leadapp.core import labels, localtime
from leadapp.core.db import session_scope
from leadapp.core.errors import NotFound, UserError
from leadapp.core.events import run_after_commit
from leadapp.core.models import ApiKey, Lead, User, WebhookDelivery, utcnow
from leadapp.core.observability import get_logger
from leadapp.core.services import access, audit
from leadapp.core.services.requeue import requeue
from leadapp.core.services.webhooks import signing
from leadapp.core.services.webhooks.addresses import check_url
from leadapp.core.tasks import NOTIFICATIONS, enqueue
from leadapp.core.vocab import LeadStatus, WebhookEvent, WebhookStatus

log = get_logger(__name__)

DELIVER_JOB = "worker.jobs.deliver_webhook"
RETRY_INTERVALS: list[int] = [5, 300, 1800, 7200, 18000, 36000, 21600]
"""Seconds between attempts: the Standard Webhooks schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h), then a last try
6 h later, 23 h 35 min after the first. Tests may shorten them (read here by `retry_policy`)."""
SWEEP_AFTER_SECONDS = 60
CLAIM_TIMEOUT = timedelta(minutes=5)
"""A claim ('sending') older than this was abandoned (its run died): longer than any attempt (the POST times out
after 10 s, RQ's job timeout is 3 minutes)."""
SWEEP_BATCH = 500

EVENTS: dict[str, WebhookEvent] = {
    LeadStatus.MATCHED.value: WebhookEvent.LEAD_MATCHED,
    LeadStatus.ACCEPTED.value: WebhookEvent.LEAD_ACCEPTED,
    LeadStatus.CONVERTED.value: WebhookEvent.LEAD_CONVERTED,
    LeadStatus.WITHDRAWN.value: WebhookEvent.LEAD_WITHDRAWN,
}
NOT_YOURS = "No lead with this id was made with this API key."


def retry_policy() -> Retry:
    """RQ's Retry for a delivery job: one retry per entry of `RETRY_INTERVALS`."""
    return Retry(max=len(RETRY_INTERVALS), interval=list(RETRY_INTERVALS))


def enqueue_delivery(delivery_id: int) -> bool:
    """Enqueue the delivery's job (`webhook-<id>`, with `retry_policy()`); False when Redis is down (the row stays
    pending for the sweeper). Not twice while one is queued or scheduled."""
    return enqueue(NOTIFICATIONS, DELIVER_JOB, delivery_id, job_id=f"webhook-{delivery_id}", retry=retry_policy())


# --- registering --------------------------------------------------------------------------------------


def register_webhook(session: Session, actor: User | None, key_id: int, url: str) -> tuple[ApiKey, str]:
    """Set (or, with an empty `url`, remove) a key's webhook URL (admins only); returns the key and its new
    signing secret ("" when removed), which is never shown again. AddressRefused (on `webhook_url`) for a URL
    deliveries may not go to. Audited. Does not commit."""
    admin = access.require_admin(actor)
    key = session.get(ApiKey, key_id, with_for_update=True)
    if key is None:
        raise NotFound("No such API key.")
    return key, _set_webhook(session, key, url, admin.id)


def register_own_webhook(session: Session, key: ApiKey, url: str) -> str:
    """A partner sets (or, with an empty `url`, removes) its own key's webhook, authenticated by that key (the API
    checked it); returns the new signing secret ("" when removed), shown this once. Same checks as an admin's
    registration; audited with no actor. Does not commit."""
    return _set_webhook(session, key, url, None)


def _set_webhook(session: Session, key: ApiKey, url: str, actor_id: int | None) -> str:
    if key.revoked_at is not None:
        raise UserError("This API key is revoked: it gets no webhooks.", field="webhook_url")
    before = {"webhook_url": key.webhook_url}
    cleaned = check_url(url) if (url or "").strip() else ""
    secret = signing.new_secret() if cleaned else ""
    key.webhook_url, key.webhook_secret = cleaned, secret
    session.add(key)
    audit.record(
        session, actor_id=actor_id, action="api_key.webhook", target=key, before=before, after={"webhook_url": cleaned}
    )
    return secret


# --- recording a status change --------------------------------------------------------------------------


def lead_status_changed(session: Session, lead: Lead) -> int | None:
    """Record the lead's new status as a delivery to the partner whose key created it, if it is one partners hear
    of (matched, accepted, converted, withdrawn) and the key (live) has a webhook; returns the delivery's id.

    Call in the transaction that changes the status, after the change: the row commits with it and its job is
    enqueued after the commit. Once per lead and event (a second call, a concurrent one too, adds nothing)."""
    event = EVENTS.get(lead.status)
    if event is None or lead.api_key_id is None or lead.id is None:
        return None
    key = session.get(ApiKey, lead.api_key_id)
    if key is None or key.revoked_at is not None or not key.webhook_url:
        return None
    dedupe_key = f"lead:{lead.id}:{event.value}"
    now = utcnow()
    # Deliveries are the platform's own rows (PostgreSQL walls them from every tenant): the business or consumer
    # whose action changed the status writes this one row as the system, and reads nothing back but its id.
    with access.as_system(session, "webhooks: record a partner's lead event"):
        if session.exec(select(WebhookDelivery.id).where(WebhookDelivery.dedupe_key == dedupe_key)).first():
            return None
        delivery = WebhookDelivery(
            webhook_id="msg_" + secrets.token_urlsafe(18),
            api_key_id=key.id,  # type: ignore[arg-type]
            lead_id=lead.id,
            event=event.value,
            dedupe_key=dedupe_key,
            payload={
                "type": event.value,
                "timestamp": now.isoformat().replace("+00:00", "Z"),
                "data": {"lead_id": lead.id, "status": lead.status},
            },
            created_at=now,
        )
        try:
            with session.begin_nested():
                session.add(delivery)
        except IntegrityError:  # a concurrent transaction recorded the same event first
            return None
        delivery_id = int(delivery.id)  # type: ignore[arg-type]
    run_after_commit(session, enqueue_delivery, delivery_id)
    log.info("webhook_recorded", delivery_id=delivery_id, lead_id=lead.id, kind=event.value, api_key_id=key.id)
    return delivery_id


# --- the admin outbox ---------------------------------------------------------------------------------


def list_deliveries(session: Session, actor: User | None, limit: int = 50) -> list[dict[str, str]]:
    """The newest deliveries (admins only), as the outbox shows them: never the payload's secret (there is none)
    nor the key's secret."""
    admin = access.require_admin(actor)
    zone = localtime.viewer_zone(session, admin)
    rows = session.exec(
        select(WebhookDelivery, ApiKey.name)
        .join(ApiKey, col(ApiKey.id) == WebhookDelivery.api_key_id)
        .order_by(col(WebhookDelivery.created_at).desc(), col(WebhookDelivery.id).desc())
        .limit(max(1, min(limit, 200)))
    ).all()
    return [
        {
            "id": str(d.id),
            "webhook_id": d.webhook_id,
            "partner": name,
            "event": d.event,
            "lead_id": str(d.lead_id or ""),
            "status": d.status,
            "status_label": labels.webhook_status(d.status),
            "attempts": str(d.attempts),
            "last_error": d.last_error,
            "created": localtime.exact(d.created_at, zone),
            "next_try": localtime.exact(d.next_try_at, zone) if d.status == WebhookStatus.PENDING.value else "",
            "delivered": localtime.exact(d.delivered_at, zone),
            "resendable": "no" if d.status == WebhookStatus.SENDING.value else "yes",
        }
        for d, name in rows
    ]


def resend(session: Session, actor: User | None, delivery_id: int) -> WebhookDelivery:
    """Admins only: send a delivery again with the same `webhook-id` (the partner drops a copy it already has):
    back to pending, audited, committed, then enqueued with a fresh retry schedule. Refused while an attempt is
    running. Commits."""
    admin = access.require_admin(actor)
    row = session.get(WebhookDelivery, delivery_id)
    if row is None:
        raise NotFound("No such webhook delivery.")

    def move() -> int:
        changed = session.exec(
            update(WebhookDelivery)
            .where(col(WebhookDelivery.id) == delivery_id, col(WebhookDelivery.status) != WebhookStatus.SENDING.value)
            .values(status=WebhookStatus.PENDING.value, next_try_at=None)
        )
        return int(changed.rowcount)  # type: ignore[attr-defined]

    return requeue(
        session,
        admin_id=admin.id,
        row=row,
        move=move,
        refused="This delivery is being sent right now; reload in a moment.",
        action="webhook.resend",
        pending=WebhookStatus.PENDING.value,
        enqueue=lambda: enqueue_delivery(delivery_id),
    )


def sweep_deliveries(older_than_seconds: float = SWEEP_AFTER_SECONDS) -> int:
    """Enqueue deliveries left pending (Redis was down after the commit) or abandoned mid-attempt (a worker died
    while it was 'sending', longer ago than CLAIM_TIMEOUT); returns how many.

    Safe any time: a delivery whose job is queued or scheduled (a retry waiting) is not enqueued twice, and a job
    for a delivery already delivered sends nothing."""
    now = utcnow()
    cutoff = now - timedelta(seconds=older_than_seconds)
    with session_scope() as session:
        ids = session.exec(
            select(WebhookDelivery.id)
            .where(
                or_(
                    and_(
                        col(WebhookDelivery.status) == WebhookStatus.PENDING.value,
                        col(WebhookDelivery.created_at) < cutoff,
                    ),
                    and_(
                        col(WebhookDelivery.status) == WebhookStatus.SENDING.value,
                        col(WebhookDelivery.claimed_at) < now - CLAIM_TIMEOUT,
                    ),
                )
            )
            .order_by(col(WebhookDelivery.id))
            .limit(SWEEP_BATCH)
        ).all()
    return sum(1 for delivery_id in ids if delivery_id is not None and enqueue_delivery(delivery_id))


# --- a partner's own lead -------------------------------------------------------------------------------


def lead_status_for_key(session: Session, key: ApiKey, lead_id: int) -> dict[str, Any]:
    """The status of a lead `key` created (id, status, created, updated); NotFound with the same reason for a lead
    of another key, a lead made without a key, a deleted lead and an id that exists nowhere."""
    # The API acts for an anonymous caller, whom row-level security shows no lead: the key itself is the
    # credential, and the WHERE clause hands back only a lead this key created.
    with access.as_system(session, "api: the status of a lead the presenting key created"):
        lead = session.exec(
            select(Lead).where(col(Lead.id) == lead_id, col(Lead.api_key_id) == key.id, col(Lead.deleted_at).is_(None))
        ).first()
        if lead is None:
            raise NotFound(NOT_YOURS)
        return {
            "id": lead.id,
            "status": lead.status,
            "created_at": lead.created_at.isoformat(),
            "updated_at": lead.updated_at.isoformat(),
        }
