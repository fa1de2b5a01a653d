"""RQ jobs: thin plain functions that take ids (never ORM objects) and call one service each.

Every job must be safe to run twice: RQ may retry it, and a sweeper may enqueue it again.
"""

from __future__ import annotations

from leadapp.core.db import session_scope
from leadapp.core.models import utcnow
from leadapp.core.observability import report_exception
from leadapp.core.providers import telephony
from leadapp.core.services import (
    calls,
    discovery,
    intake,
    interview,
    match,
    notify,
    pipeline,
    portal,
    quotes,
    webhooks,
)
from leadapp.core.services import weekly_audit as audit_report
from leadapp.core.services.calls import automatic as automatic_calls
from leadapp.core.services.health import record_worker_heartbeat
from leadapp.core.services.webhooks import flows as webhook_flows
from leadapp.core.tasks import CALLS, enqueue
from voice_bridge import simulated


def heartbeat() -> str:
    """Record that a worker is alive and processing jobs; returns the recorded time (ISO 8601, UTC).

    Idempotent: running it again only moves the heartbeat forward.
    """
    return record_worker_heartbeat().isoformat()


def send_notification(notification_id: int) -> str:
    """Send one notification; returns its status afterwards (see `notify.send_notification`).

    Safe to run twice: an already sent or suppressed notification, or one another live run has
    claimed, is not sent again. A transient provider error re-raises so RQ's Retry runs it again.
    """
    return notify.send_notification(notification_id)


def send_notifications(notification_ids: list[int]) -> dict[int, str]:
    """First attempt for a lead's batch of notifications (see `notify.send_batch`); safe to run twice."""
    return notify.send_batch(notification_ids)


def sweep_pending_notifications() -> int:
    """Re-enqueue notifications pending for over a minute (or abandoned mid-send); returns how many."""
    return notify.sweep_notifications(notify.SWEEP_AFTER_SECONDS)


def deliver_webhook(delivery_id: int) -> str:
    """POST one partner webhook delivery, signed; returns its status afterwards (see `webhooks.flows.deliver`).

    Safe to run twice: only the run that claims the pending row POSTs, and a delivered one is not sent again. A
    refused or failed POST re-raises so RQ's Retry runs it again (same webhook-id) while retries are left.
    """
    return webhook_flows.deliver(delivery_id)


def sweep_webhook_deliveries() -> int:
    """Enqueue webhook deliveries left pending without a job (Redis was down at the commit); returns how many.
    Safe any time: a delivery with a queued or scheduled job is not enqueued again."""
    return webhooks.sweep_deliveries()


def process_lead(lead_id: int) -> str:
    """Classify, match and notify one lead; returns its status (safe to run twice, see `pipeline`)."""
    return pipeline.process_lead(lead_id)


def rematch_after_concierge(lead_id: int) -> str:
    """Match a lead again after a LeadApp concierge call completed its details (see `pipeline.rematch_lead`).

    Safe to run twice: a repeat finds the businesses already matched, creates and notifies nothing new.
    """
    return pipeline.rematch_lead(lead_id, details_confirmed=True)


def offer_next_waves() -> int:
    """Offer waterfall leads whose next wave is due to their next businesses; returns how many were due.

    Safe twice: each lead is claimed by a compare-and-set on its `next_wave_at` (see `pipeline`).
    """
    return pipeline.offer_next_waves()


def sweep_stuck_leads() -> int:
    """Re-enqueue leads waiting in an early status for over a minute (Redis was down, a worker died)."""
    with session_scope() as session:
        lead_ids = intake.stuck_lead_ids(session, older_than_seconds=60)
    return sum(1 for lead_id in lead_ids if intake.enqueue_pipeline(lead_id))


def purge_deleted_leads() -> int:
    """Remove for good the leads deleted more than 30 days ago, a batch per transaction; returns how many.

    Safe to run twice: a purged lead is gone, so a second run finds nothing more to do.
    """

    purged = 0
    while True:
        with session_scope() as session:
            batch = portal.purge_deleted(session)
        purged += batch
        if batch < portal.PURGE_BATCH:
            break
    _delete_purged_recordings()
    return purged


def _delete_purged_recordings() -> None:
    """Catch up with purged leads' recordings still at the provider (a deletion job lost or given up)."""

    with session_scope() as session:
        call_ids = calls.purged_recording_call_ids(session)
    for call_id in call_ids:
        try:
            calls.delete_recording(call_id)
        except Exception as exc:  # the provider is down: tomorrow's run tries again
            report_exception(exc, where="delete_purged_recordings", call_id=call_id)


def delete_call_recording(call_id: int) -> str:
    """Delete a purged lead's call recording at its provider, then forget it (see `calls.delete_recording`).

    Safe to run twice: once deleted, the call has no recording reference and the job does nothing. A transient
    provider error re-raises so RQ's Retry runs it again.
    """

    return calls.delete_recording(call_id)


def refresh_carrier_price(call_id: int) -> str:
    """Record the price Twilio reports for an ended call in place of the estimate (see `calls.refresh_carrier_price`).

    Safe to run twice: a reported price is never replaced. While Twilio has not priced the call it raises, and
    RQ's Retry asks again later.
    """

    return calls.refresh_carrier_price(call_id)


def expire_quotes() -> int:
    """Mark open quotes past their valid-until day expired (both sides' pages refresh); returns how many.

    Safe to run twice: a second run finds only quotes that have passed since (accepting checks the day too).
    """
    with session_scope() as session:
        return quotes.expire_quotes(session)


def schedule_automatic_calls() -> int:
    """Schedule the visit confirmations and job follow-ups the platform rules ask for (`calls.automatic`);
    returns how many. Safe twice: one call per (lead, business, kind)."""
    with session_scope() as session:
        return automatic_calls.schedule_automatic_calls(session)


def purge_abandoned_interviews() -> int:
    """Delete guided interviews nobody touched for INTERVIEW_RETENTION_HOURS (their answers hold contact
    details); returns how many. Safe to run twice: a second run finds only what has aged since."""

    with session_scope() as session:
        return interview.purge_abandoned(session)


def invitation_followup(invitation_id: int, number: int) -> str:
    """Send follow-up `number` (1–3) of a business invitation unless it was stopped (signed up,
    disqualified, unsubscribed); safe to run twice (see `discovery.invitation_followup`)."""

    return discovery.invitation_followup(invitation_id, number)


def sweep_invitation_followups() -> int:
    """Enqueue invitation follow-ups whose scheduled job was lost (Redis down at invite time); returns how many."""

    return discovery.sweep_followups()


def weekly_audit() -> int:
    """Write the weekly audit report for the 7 days up to the start of the current hour (UTC); returns its id.

    Safe to run twice: the period ends on the hour, and a second run within that hour returns the report
    the first one wrote (see `weekly_audit.run_weekly_audit`).
    """

    now = utcnow().replace(minute=0, second=0, microsecond=0)
    with session_scope() as session:
        report = audit_report.run_weekly_audit(session, actor=None, now=now)
        session.flush()
        assert report.id is not None
        return report.id


def place_call(call_id: int) -> str:
    """Dial one AI call when its rules and the recipient's calling hours allow (see `calls.place_call`).

    Safe to run twice: only the run that claims the row dials, and a call with a provider id is never redialled.
    """

    result = calls.place_call(call_id)
    if result == "dialled" and telephony.is_simulated():
        # No phone accounts: the local callee and realtime peer run the call through the same bridge code.
        enqueue(CALLS, "worker.jobs.run_simulated_call", call_id, job_id=f"simulated-call-{call_id}")
    return result


def run_simulated_call(call_id: int) -> str:
    """Run a simulated call (no Twilio/OpenAI accounts) to its end; returns its outcome."""

    return simulated.run_simulated_call(call_id)


def run_simulated_inbound_call(call_id: int) -> str:
    """Run a simulated call to a business's local line to its end; returns its outcome.

    Safe to run twice: a call that is no longer in progress (served by an earlier run) is not answered again,
    and a call makes one lead at most (`conversation.finish_call`).
    """

    return simulated.run_simulated_inbound_call(call_id)


def refresh_response_rates() -> int:
    """Nightly: recompute every business's response rate and median response time; returns how many.

    Safe to run twice: the figures come from the matches, so a second run writes the same values.
    """

    return match.refresh_all_response_rates()


def sweep_calls() -> int:
    """Enqueue overdue calls whose job was lost and end calls stranded mid-dial; returns how many (see
    `calls.sweep_calls`)."""

    return calls.sweep_calls()
