"""What a consumer sees of their own requests, and what they may do with them.

Guarantees:
- a consumer sees and acts on their own requests only; an admin may read any request but not act for
  the consumer; a magic link (a signed token for one lead, `magic_link`) stands in for an account, for
  that one lead only, and is checked again on every action;
- never a business's phone or email; never another consumer's request; never a deleted request
  (`deleted_at` hides it everywhere at once, `purge_deleted` removes it for good 30 days later);
- every change is published to open pages after it commits (portal tabs, dashboards, tracking tabs).
"""

from __future__ import annotations

from leadapp.core.services.portal.actions import (
    ai_calls_by_link,
    delete_my_data,
    purge_deleted,
    request_callback,
    set_no_ai_calls_by_link,
    stop_pending_work,
    withdraw_request,
)
from leadapp.core.services.portal.base import (
    PHONE_UNVERIFIED,
    PURGE_AFTER,
    PURGE_BATCH,
    Actor,
    MagicGrant,
    lead_for,
    lead_for_magic_token,
)
from leadapp.core.services.portal.views import (
    SEEN_MATCH_STATUSES,
    accepted_label,
    callback_explanation,
    consumer_leads,
    lead_status_for_submitter,
    lead_view,
    matched_businesses,
    reach_label,
    request_view,
)

__all__ = [
    "PHONE_UNVERIFIED",
    "PURGE_AFTER",
    "PURGE_BATCH",
    "SEEN_MATCH_STATUSES",
    "Actor",
    "MagicGrant",
    "accepted_label",
    "ai_calls_by_link",
    "callback_explanation",
    "consumer_leads",
    "delete_my_data",
    "lead_for",
    "lead_for_magic_token",
    "lead_status_for_submitter",
    "lead_view",
    "matched_businesses",
    "purge_deleted",
    "reach_label",
    "request_callback",
    "request_view",
    "set_no_ai_calls_by_link",
    "stop_pending_work",
    "withdraw_request",
]
