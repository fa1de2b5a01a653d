"""The delivery job: POST one recorded delivery to its partner, signed, and record what happened.

Life of a delivery::

    pending ──claim──▶ sending ──2xx──▶ delivered
       ▲                  │ other answer or no answer, retries left → pending (RQ's Retry runs the job again)
       │                  └ no retries left, or nowhere to send (key revoked, webhook removed, address refused) → failed
       └── an admin's re-send (same webhook-id), the sweeper (pending rows without a job)

Safe twice: only the run whose compare-and-set claims the row POSTs; a delivered row is never sent again by a
job (only an admin's re-send does, with the same `webhook-id`). A claim older than `service.CLAIM_TIMEOUT` (its run
died) may be taken back; the sweeper enqueues such a row again.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import httpx
from rq import get_current_job
from sqlalchemy import and_, or_, update
from sqlmodel import col

from leadapp.core.db import session_scope
from leadapp.core.models import ApiKey, WebhookDelivery, utcnow
from leadapp.core.observability import get_logger
from leadapp.core.services.webhooks import service, signing
from leadapp.core.services.webhooks.addresses import AddressRefused, pinned
from leadapp.core.vocab import WebhookStatus

log = get_logger(__name__)

TIMEOUT_SECONDS = 10.0

_PENDING, _SENDING = WebhookStatus.PENDING.value, WebhookStatus.SENDING.value
_DELIVERED, _FAILED = WebhookStatus.DELIVERED.value, WebhookStatus.FAILED.value


class DeliveryFailed(Exception):
    """The partner did not take the delivery (raised so that RQ's Retry runs the job again)."""


def _retries_left() -> int:
    job = get_current_job()
    return int(job.retries_left or 0) if job is not None else 0


def _claim(delivery_id: int) -> tuple[WebhookDelivery, ApiKey | None] | None:
    """Claim the row (pending, or sending but abandoned) for this run; None when it is not this run's to send."""
    now = utcnow()
    with session_scope() as session:
        stale = and_(
            col(WebhookDelivery.status) == _SENDING, col(WebhookDelivery.claimed_at) < now - service.CLAIM_TIMEOUT
        )
        claimed = session.exec(
            update(WebhookDelivery)
            .where(
                col(WebhookDelivery.id) == delivery_id,
                or_(col(WebhookDelivery.status) == _PENDING, stale),
            )
            .values(status=_SENDING, attempts=WebhookDelivery.attempts + 1, claimed_at=now)  # type: ignore[operator]
        )
        if int(claimed.rowcount) != 1:  # type: ignore[attr-defined]
            return None
        row = session.get(WebhookDelivery, delivery_id)
        assert row is not None
        return row, session.get(ApiKey, row.api_key_id)


def _record(delivery_id: int, **values: Any) -> None:
    with session_scope() as session:
        session.exec(
            update(WebhookDelivery)
            .where(col(WebhookDelivery.id) == delivery_id, col(WebhookDelivery.status) == _SENDING)
            .values(**values)
        )


def _post(key: ApiKey, row: WebhookDelivery) -> tuple[int | None, str]:
    """One attempt: (the HTTP status, "" when it was 2xx, else the error); raises AddressRefused for an address
    deliveries may no longer go to."""
    # Checked again (the name may resolve elsewhere than when it was registered), and the connection goes to the
    # address checked, whatever the name resolves to a moment later.
    target, host, server_name = pinned(key.webhook_url)
    body = json.dumps(row.payload, separators=(",", ":")).encode()
    headers = {**signing.headers(key.webhook_secret, row.webhook_id, int(time.time()), body), "host": host}
    try:
        with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
            response = client.post(target, content=body, headers=headers, extensions={"sni_hostname": server_name})
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, ""
    return response.status_code, f"HTTP {response.status_code}: {response.text[:200]}"[:500]


def deliver(delivery_id: int) -> str:
    """Send one delivery (the RQ job body); returns its status afterwards.

    - Not pending (delivered, failed, or claimed by a live run): returns it, sends nothing.
    - The key revoked, its webhook removed, or its address refused now: 'failed' with the reason, no retry.
    - The partner answered 2xx: 'delivered'.
    - Otherwise, with RQ retries left: back to 'pending' with the time of the next try, and DeliveryFailed is
      raised for RQ's Retry; without: 'failed' with the last error (an admin may re-send it).
    """
    claim = _claim(delivery_id)
    if claim is None:
        with session_scope() as session:
            row = session.get(WebhookDelivery, delivery_id)
            return row.status if row is not None else "missing"
    row, key = claim
    if key is None or key.revoked_at is not None or not key.webhook_url or not key.webhook_secret:
        reason = "the API key was revoked" if key is not None and key.revoked_at else "the key has no webhook URL"
        _record(delivery_id, status=_FAILED, last_error=reason, next_try_at=None)
        return _FAILED
    try:
        status_code, error = _post(key, row)
    except AddressRefused as exc:
        _record(delivery_id, status=_FAILED, last_error=exc.message[:500], next_try_at=None)
        log.warning("webhook_address_refused", delivery_id=delivery_id, error=exc.message)
        return _FAILED
    if not error:
        _record(delivery_id, status=_DELIVERED, last_status_code=status_code, last_error="", delivered_at=utcnow())
        log.info("webhook_delivered", delivery_id=delivery_id, attempts=row.attempts, status_code=status_code)
        return _DELIVERED
    left = _retries_left()
    if left <= 0:
        _record(delivery_id, status=_FAILED, last_status_code=status_code, last_error=error, next_try_at=None)
        log.warning("webhook_failed", delivery_id=delivery_id, attempts=row.attempts, error=error)
        return _FAILED
    wait = service.RETRY_INTERVALS[min(len(service.RETRY_INTERVALS) - left, len(service.RETRY_INTERVALS) - 1)]
    next_try = utcnow() + timedelta(seconds=wait)
    _record(delivery_id, status=_PENDING, last_status_code=status_code, last_error=error, next_try_at=next_try)
    log.info("webhook_retry", delivery_id=delivery_id, attempts=row.attempts, retries_left=left, error=error)
    raise DeliveryFailed(error)
