"""Partner webhooks (Standard Webhooks): a partner's API key may register a URL, and the status changes of the
leads that key created (`lead.matched`, `lead.accepted`, `lead.converted`, `lead.withdrawn`) are POSTed to it,
signed, retried by RQ for up to a day, each delivery a row first (the admin outbox shows and re-sends them).

Modules: `service` (registering, recording a change, the outbox, a partner's own lead), `flows` (the delivery
job), `signing` (the wire format), `addresses` (where a webhook may go: no SSRF).
"""

from __future__ import annotations

from leadapp.core.services.webhooks.addresses import AddressRefused, check_url
from leadapp.core.services.webhooks.service import (
    NOT_YOURS,
    enqueue_delivery,
    lead_status_changed,
    lead_status_for_key,
    list_deliveries,
    register_own_webhook,
    register_webhook,
    resend,
    retry_policy,
    sweep_deliveries,
)

__all__ = [
    "NOT_YOURS",
    "AddressRefused",
    "check_url",
    "enqueue_delivery",
    "lead_status_changed",
    "lead_status_for_key",
    "list_deliveries",
    "register_own_webhook",
    "register_webhook",
    "resend",
    "retry_policy",
    "sweep_deliveries",
]
