"""Notify: every email and SMS is a `Notification` row first, and sending it is an RQ job with retries.

Life of a notification::

    pending ──claim──▶ sending ──provider accepted──▶ sent
       ▲                  │ transient error, retries left → pending (RQ's Retry runs the job again)
       │                  │ permanent error, or no retries left → failed ──admin retry──▶ pending
       │                  └ SMS to a number that replied STOP → suppressed
       └── the sweeper re-enqueues pending rows (Redis was down, worker lost) and abandoned claims

Guarantees:
- One row per purpose: `dedupe_key` is unique and `create_notification` returns the existing row,
  also when a concurrent transaction inserts the same key first.
- Rows are committed before their jobs are enqueued (callers commit, then `enqueue_sends`); when
  Redis is down they stay pending and the sweeper enqueues them later, so none is lost.
- A job run twice (RQ retry, sweeper, a duplicate enqueue) sends once: see "Claims" below.

Claims (the schema is fixed: no claim-time column). A run sends only after two things succeed:
1. a lease in Redis, `<prefix>:notification:<id>:claim`, taken with SET NX and a
   `CLAIM_LEASE_SECONDS` expiry (redis-py's `Lock`), which says "a live run is on it";
2. a compare-and-set UPDATE in the database: `status = 'sending', attempts = attempts + 1 WHERE
   id = ? AND status IN ('pending', 'failed')`, the atomic, durable claim.
A run that finds the lease taken returns at once without sending. A row left in 'sending' by a run
that died has no lease any more once it expires (5 minutes, longer than the job timeout and any
provider call), so the run that next takes the lease may claim it back (`status IN ('pending',
'failed', 'sending')`). When Redis cannot be reached a run still claims pending/failed rows through
the database but never takes back a 'sending' one: it errs towards not sending twice.
The lease is released when the run ends, except after a claim whose outcome could not be recorded
(the provider may have accepted the message): then it is kept until it expires, so no re-run sends
it again at once; the sweeper picks the row up after that (at least once: had the provider taken it,
that message goes out twice, the one case where the database cannot know).
`attempts` counts claims, i.e. provider calls started, so a crash mid-send still counts.

Modules: `rows` (creating the rows), `enqueueing` (their jobs, retries and the sweeper), `leases` (the Redis
claim leases), `sending` (claiming and sending, an admin's retry), `sms_opt_outs` (numbers that replied STOP).
"""

from __future__ import annotations

from leadapp.core.services.notify.enqueueing import (
    BATCH_JOB,
    RETRY_INTERVALS,
    SEND_JOB,
    SWEEP_AFTER_SECONDS,
    SWEEP_BATCH,
    abandoned_notification_ids,
    enqueue_batch,
    enqueue_sends,
    max_attempts,
    pending_notification_ids,
    retry_policy,
    sweep_notifications,
)
from leadapp.core.services.notify.leases import (
    CLAIM_LEASE_SECONDS,
)
from leadapp.core.services.notify.rows import (
    NotificationFields,
    business_dedupe_key,
    business_targets,
    consumer_targets,
    create_notification,
    normalize_phone,
    notify_businesses,
    notify_consumer,
    notify_consumer_result,
    notify_matched_lead,
    thread_message_key,
    thread_reply_to,
)
from leadapp.core.services.notify.sending import (
    DONE,
    OPTED_OUT_ERROR,
    retry_notification,
    send_batch,
    send_notification,
)
from leadapp.core.services.notify.sms_opt_outs import (
    clear_sms_opt_out,
    is_opted_out,
    record_sms_opt_out,
)

__all__ = [
    "BATCH_JOB",
    "CLAIM_LEASE_SECONDS",
    "DONE",
    "OPTED_OUT_ERROR",
    "RETRY_INTERVALS",
    "SEND_JOB",
    "SWEEP_AFTER_SECONDS",
    "SWEEP_BATCH",
    "NotificationFields",
    "abandoned_notification_ids",
    "business_dedupe_key",
    "business_targets",
    "clear_sms_opt_out",
    "consumer_targets",
    "create_notification",
    "enqueue_batch",
    "enqueue_sends",
    "is_opted_out",
    "max_attempts",
    "normalize_phone",
    "notify_businesses",
    "notify_consumer",
    "notify_consumer_result",
    "notify_matched_lead",
    "pending_notification_ids",
    "record_sms_opt_out",
    "retry_notification",
    "retry_policy",
    "send_batch",
    "send_notification",
    "sweep_notifications",
    "thread_message_key",
    "thread_reply_to",
]
