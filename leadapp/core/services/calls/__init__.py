"""AI calls: who may ask, the rules every call obeys, placing it, and what happens when it ends.

Life of an outbound call::

    requested ──(window open)──▶ place_call job ──claim──▶ dialing ─▶ ringing ─▶ in_progress ─▶ completed
    scheduled ──(next window)──▶       │ refused now (consent, DNC, quota, 3 a day) → canceled (reason in `error`)
        │                              └ provider error → failed (outcome error)
        └── cancel_call → canceled                  busy / no-answer → completed (outcome no_answer)

Guarantees:
- A request is refused, with the reason, when the lead has no AI-call consent on file (or no phone), the
  number is on the do-not-call list, the business's plan has used its monthly call quota, or three calls
  were already made to that number in the last 24 hours. `place_call` checks all of it again before dialling.
- Calls are placed only within the recipient's calling hours, 9:00–21:00 in the time zone of the lead's ZIP
  (`zipcodes`); a call requested outside them is `scheduled` for the next window (RQ `enqueue_at`, job id
  `call-<id>`), one requested inside them is enqueued at once. An unknown ZIP must be inside the window on
  both coasts at once.
- Work for the worker is enqueued only after the transaction that records it commits (dropped on rollback);
  when Redis is down `sweep_calls` enqueues what is overdue.
- A `place_call` job run twice (RQ retry, sweeper, duplicate enqueue) dials once: the row moves
  requested/scheduled → dialing by compare-and-set, and a row with a provider call id is never dialled again.
- Quota: a call counts once, in the month it was requested; its retry and consumer-requested callbacks do not
  count (the business did not ask for those).
- Provider status callbacks only move a call forward; the first terminal one ends it, and only that one sets
  the outcome (never replacing one the conversation set), the carrier cost, the one retry (attempt 2, 2 hours
  later within calling hours, for no_answer and error) and the CALL_SUMMARY notifications.
- Recordings are reachable only through signed links that expire (`recording_link`), checked again against
  the viewer's rights on every request (`open_recording`); the app streams them from the provider (never a
  redirect to the provider's URL). Twilio's recording arrives by the signed recording status callback
  (`record_recording`); a purged lead's recordings are deleted at the provider (`delete_recording`).
"""

from __future__ import annotations

from leadapp.core.services.calls.hints import (
    MAX_HINT_CHARS,
    calls_with_signals,
    request_take_over,
    send_hint,
    take_signals,
)
from leadapp.core.services.calls.kinds import KIND_LABELS, available_kinds, parse_when, zone_label
from leadapp.core.services.calls.notices import (
    CONCIERGE_DONE,
    OUTCOME_LABELS,
    SIMULATED_NOTE,
    SUMMARY_FIELDS,
    call_name,
    calls_for_lead,
    is_simulated,
    local_summary,
    notify_call_ended,
)
from leadapp.core.services.calls.outcome import (
    CARRIER_CENTS_PER_MINUTE,
    MACHINE_ANSWERS,
    MAX_ATTEMPTS,
    RETRY_DELAY,
    TWILIO_STATUSES,
    UNANSWERED_TWILIO_STATUSES,
    VOICEMAIL_TEXT,
    end_call,
    record_answered_by,
    record_provider_status,
    schedule_retry,
    voicemail_message,
)
from leadapp.core.services.calls.placement import (
    DIAL_NOW_SLACK,
    bridge_urls,
    place_call,
)
from leadapp.core.services.calls.pricing import (
    CARRIER_PRICE_JOB,
    PriceNotYet,
    enqueue_price_check,
    price_cents,
    record_carrier_price,
    refresh_carrier_price,
)
from leadapp.core.services.calls.recordings import (
    DELETE_RECORDING_JOB,
    RECORDING_EXPIRED_GRACE_SECONDS,
    RECORDING_LINK_TTL_SECONDS,
    RECORDING_PATH,
    RECORDING_PURPOSE,
    RecordingAccess,
    delete_recording,
    enqueue_recording_deletion,
    open_recording,
    purged_recording_call_ids,
    record_local_recording,
    record_recording,
    recording_callback_url,
    recording_link,
)
from leadapp.core.services.calls.request import (
    JOB_RESULT_TTL,
    PLACE_CALL_JOB,
    cancel_call,
    enqueue_place_call,
    new_outbound_call,
    request_call,
)
from leadapp.core.services.calls.rules import (
    MAX_CALLS_PER_NUMBER_PER_DAY,
    UNVERIFIED,
    Eligibility,
    attempts_today,
    attempts_today_by_number,
    calls_this_month,
    eligibility,
    on_do_not_call_list,
    placement_refusal,
    quota_left,
)
from leadapp.core.services.calls.states import (
    CANCELLABLE_STATUSES,
    OPEN_STATUSES,
    TERMINAL_STATUSES,
)
from leadapp.core.services.calls.stream import (
    STREAMABLE_STATUSES,
    StreamClaim,
    claim_media_stream,
    release_media_stream,
)
from leadapp.core.services.calls.sweeper import (
    ALIVE_EVERY_SECONDS,
    ALIVE_SECONDS,
    BRIDGE_LOST,
    OVERDUE_AFTER,
    STUCK_DIALING_AFTER,
    SWEEP_BATCH,
    mark_alive,
    mark_all_alive,
    sweep_calls,
)
from leadapp.core.services.calls.window import (
    UNKNOWN_ZIP_ZONES,
    calling_hours,
    calling_window,
    zip_time_zone,
)

__all__ = [
    "ALIVE_EVERY_SECONDS",
    "ALIVE_SECONDS",
    "BRIDGE_LOST",
    "CANCELLABLE_STATUSES",
    "CARRIER_CENTS_PER_MINUTE",
    "CARRIER_PRICE_JOB",
    "CONCIERGE_DONE",
    "DELETE_RECORDING_JOB",
    "DIAL_NOW_SLACK",
    "JOB_RESULT_TTL",
    "KIND_LABELS",
    "MACHINE_ANSWERS",
    "MAX_ATTEMPTS",
    "MAX_CALLS_PER_NUMBER_PER_DAY",
    "MAX_HINT_CHARS",
    "OPEN_STATUSES",
    "OUTCOME_LABELS",
    "OVERDUE_AFTER",
    "PLACE_CALL_JOB",
    "RECORDING_EXPIRED_GRACE_SECONDS",
    "RECORDING_LINK_TTL_SECONDS",
    "RECORDING_PATH",
    "RECORDING_PURPOSE",
    "RETRY_DELAY",
    "SIMULATED_NOTE",
    "STREAMABLE_STATUSES",
    "STUCK_DIALING_AFTER",
    "SUMMARY_FIELDS",
    "SWEEP_BATCH",
    "TERMINAL_STATUSES",
    "TWILIO_STATUSES",
    "UNANSWERED_TWILIO_STATUSES",
    "UNKNOWN_ZIP_ZONES",
    "UNVERIFIED",
    "VOICEMAIL_TEXT",
    "Eligibility",
    "PriceNotYet",
    "RecordingAccess",
    "StreamClaim",
    "attempts_today",
    "attempts_today_by_number",
    "available_kinds",
    "bridge_urls",
    "call_name",
    "calling_hours",
    "calling_window",
    "calls_for_lead",
    "calls_this_month",
    "calls_with_signals",
    "cancel_call",
    "claim_media_stream",
    "delete_recording",
    "eligibility",
    "end_call",
    "enqueue_place_call",
    "enqueue_price_check",
    "enqueue_recording_deletion",
    "is_simulated",
    "local_summary",
    "mark_alive",
    "mark_all_alive",
    "new_outbound_call",
    "notify_call_ended",
    "on_do_not_call_list",
    "open_recording",
    "parse_when",
    "place_call",
    "placement_refusal",
    "price_cents",
    "purged_recording_call_ids",
    "quota_left",
    "record_answered_by",
    "record_carrier_price",
    "record_local_recording",
    "record_provider_status",
    "record_recording",
    "recording_callback_url",
    "recording_link",
    "refresh_carrier_price",
    "release_media_stream",
    "request_call",
    "request_take_over",
    "schedule_retry",
    "send_hint",
    "sweep_calls",
    "take_signals",
    "voicemail_message",
    "zip_time_zone",
    "zone_label",
]
