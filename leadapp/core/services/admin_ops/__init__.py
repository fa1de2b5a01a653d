"""Running the platform: the notification outbox, RQ queue health, the calls log and its costs, the
do-not-call list and the audit trail.

Guarantees:
- Every function is for admins only: anyone else gets NotAllowed (NotLoggedIn when anonymous) before
  anything is read or changed.
- Every change is audited (`audit.record`) in the same database transaction as the change itself. DNC
  changes do not commit (the caller does, or rolls back the change and its audit event together). Retrying
  or deleting a failed RQ job cannot be rolled back, so those record the audit event first, act on Redis,
  then commit; if Redis fails, nothing is committed.
- Lists are paged on the server (`PAGE_SIZE` rows a page) and their rows are plain strings, ready to show.
- Queue inspection never uses the shared Redis client (`broker.get_redis()`): RQ code that builds a Worker
  raises its client's socket timeout in place, and the web app's rate limits and events must keep theirs.
  Each call opens a client of its own and closes it.
- Numbers on the do-not-call list are stored only as a keyed hash plus a masked display form, the same
  hash as a lead's `contact_phone_hash`, so the calls work finds them.
"""

from __future__ import annotations

from leadapp.core.services.admin_ops.audit_trail import (
    audit_actions,
    audit_trail,
)
from leadapp.core.services.admin_ops.calls_log import (
    CallCosts,
    CostTotal,
    call_businesses,
    call_costs,
    calls_log,
    cost_row,
    month_bounds,
    utc_month,
)
from leadapp.core.services.admin_ops.common import (
    COST_MONTHS,
    DNC_IMPORT_MAX_CHARS,
    DNC_IMPORT_MAX_ROWS,
    FAILED_JOBS_LIMIT,
    PAGE_SIZE,
    REDIS_TIMEOUT_SECONDS,
    Page,
)
from leadapp.core.services.admin_ops.dnc import (
    DncImport,
    add_dnc,
    dnc_number,
    import_dnc_csv,
    list_dnc,
    remove_dnc,
)
from leadapp.core.services.admin_ops.outbox import (
    CHANNELS,
    NOTIFICATION_STATUSES,
    VIEWER_POLICY,
    list_notifications,
    notification_detail,
    viewer_document,
)
from leadapp.core.services.admin_ops.queues import (
    FailedJob,
    QueueCounts,
    QueuesUnavailable,
    delete_failed_job,
    failed_jobs,
    queue_overview,
    retry_failed_job,
)

__all__ = [
    "CHANNELS",
    "COST_MONTHS",
    "DNC_IMPORT_MAX_CHARS",
    "DNC_IMPORT_MAX_ROWS",
    "FAILED_JOBS_LIMIT",
    "NOTIFICATION_STATUSES",
    "PAGE_SIZE",
    "REDIS_TIMEOUT_SECONDS",
    "VIEWER_POLICY",
    "CallCosts",
    "CostTotal",
    "DncImport",
    "FailedJob",
    "Page",
    "QueueCounts",
    "QueuesUnavailable",
    "add_dnc",
    "audit_actions",
    "audit_trail",
    "call_businesses",
    "call_costs",
    "calls_log",
    "cost_row",
    "delete_failed_job",
    "dnc_number",
    "failed_jobs",
    "import_dnc_csv",
    "list_dnc",
    "list_notifications",
    "month_bounds",
    "notification_detail",
    "queue_overview",
    "remove_dnc",
    "retry_failed_job",
    "utc_month",
    "viewer_document",
]
