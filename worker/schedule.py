"""Every periodic job, registered in one place.

RQ's cron scheduler (`rq.cron.CronScheduler`) enqueues these; the workers run them. Interval jobs
run once as soon as the scheduler starts, then every `interval` seconds; `cron=` expressions are
evaluated in the machine's local time zone (e.g. `cron="0 2 * * 0"` is Sunday 02:00 local time).
"""

from __future__ import annotations

from rq.cron import CronScheduler

from leadapp.core.settings import get_settings
from worker import jobs
from worker.queues import MAINTENANCE

# Sunday 02:00 in the LOCAL time zone of the machine running the cron scheduler (RQ evaluates cron
# expressions in local time; set TZ=UTC for the scheduler to run it at 02:00 UTC).
WEEKLY_AUDIT_CRON = "0 2 * * 0"
# Every night at 03:30 local time: unanswered matches age into the response rate without anyone acting.
RESPONSE_RATES_CRON = "30 3 * * *"


def register(cron_scheduler: CronScheduler) -> CronScheduler:
    """Register LeadApp's periodic jobs on `cron_scheduler` and return it.

    Guarantees the worker heartbeat is enqueued on the maintenance queue every
    `WORKER_HEARTBEAT_SECONDS` seconds, expiring if no worker picks it up before the next one is due
    (so a stopped worker does not leave a pile of stale heartbeats behind).
    """
    interval = get_settings().worker_heartbeat_seconds
    cron_scheduler.register(jobs.heartbeat, MAINTENANCE, interval=interval, ttl=max(interval, 1))
    cron_scheduler.register(jobs.sweep_pending_notifications, MAINTENANCE, interval=60, ttl=60)
    cron_scheduler.register(jobs.sweep_stuck_leads, MAINTENANCE, interval=60, ttl=60)
    cron_scheduler.register(jobs.sweep_webhook_deliveries, MAINTENANCE, interval=60, ttl=60)
    # Waterfall routing: the next businesses hear of a lead nobody accepted within `wave_minutes`.
    cron_scheduler.register(jobs.offer_next_waves, MAINTENANCE, interval=60, ttl=60)
    # Quotes past their valid-until day read as expired at once; this marks them so (accepting checks it too).
    cron_scheduler.register(jobs.expire_quotes, MAINTENANCE, interval=600, ttl=600)
    # Visit confirmations and job follow-ups by AI call, when the platform rules turn them on.
    cron_scheduler.register(jobs.schedule_automatic_calls, MAINTENANCE, interval=900, ttl=900)
    # Daily, and once at every scheduler start (a scheduler restarted often still purges).
    cron_scheduler.register(jobs.purge_deleted_leads, MAINTENANCE, interval=24 * 3600, ttl=3600)
    # Abandoned guided interviews hold contact details: gone within an hour of INTERVIEW_RETENTION_HOURS.
    cron_scheduler.register(jobs.purge_abandoned_interviews, MAINTENANCE, interval=3600, ttl=3600)
    # Weekly audit report; a job not picked up within 6 hours is dropped (the next Sunday writes a new one).
    cron_scheduler.register(jobs.weekly_audit, MAINTENANCE, cron=WEEKLY_AUDIT_CRON, ttl=6 * 3600, job_timeout=600)
    # Matching signals: refreshed on every accept/decline, and nightly for matches that aged unanswered.
    cron_scheduler.register(
        jobs.refresh_response_rates, MAINTENANCE, cron=RESPONSE_RATES_CRON, ttl=6 * 3600, job_timeout=1800
    )
    # Follow-ups are RQ scheduled jobs; this only catches those lost while Redis was down.
    cron_scheduler.register(jobs.sweep_invitation_followups, MAINTENANCE, interval=3600, ttl=3600)
    # Calls are RQ (scheduled) jobs; this only catches those lost while Redis was down, or stranded mid-dial.
    cron_scheduler.register(jobs.sweep_calls, MAINTENANCE, interval=60, ttl=60)
    return cron_scheduler
