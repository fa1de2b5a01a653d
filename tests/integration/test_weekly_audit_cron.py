"""The weekly audit as the worker runs it: registered on RQ's cron scheduler for Sunday 02:00 (local time),
enqueued when that moment comes, and run by a real RQ worker that writes the report row."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import redis
from rq import SimpleWorker
from rq.cron import CronScheduler, get_cron_job_ids
from rq.job import Job, JobStatus
from sqlmodel import Session, select

from leadapp.core.db import get_engine
from leadapp.core.models import AuditEvent, AuditReport, utcnow
from tests import factories
from worker import jobs, schedule
from worker.queues import MAINTENANCE, get_queue

JOB_NAME = "worker.jobs.weekly_audit"
LOCAL_ZONE = "America/New_York"


@pytest.fixture
def new_york_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[ZoneInfo]:
    """The process's local time zone is New York for the test (RQ evaluates cron expressions in local time)."""
    monkeypatch.setenv("TZ", LOCAL_ZONE)
    time.tzset()
    try:
        yield ZoneInfo(LOCAL_ZONE)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_the_weekly_audit_is_registered_for_sunday_0200_local_time(
    redis_env: redis.Redis, new_york_time: ZoneInfo, monkeypatch: pytest.MonkeyPatch
):
    scheduler = schedule.register(CronScheduler(connection=redis_env, name="audit-test"))
    scheduler.register_birth()
    try:
        # What the scheduler stored in Redis, read back as any monitoring tool would.
        (stored,) = CronScheduler.all(redis_env)
        registered = {job.func_name: job for job in stored.get_jobs()}
        audit_job = registered[JOB_NAME]
        assert (audit_job.cron, audit_job.queue_name, audit_job.interval) == ("0 2 * * 0", MAINTENANCE, None)
        assert schedule.WEEKLY_AUDIT_CRON == "0 2 * * 0"

        # The next run is the coming Sunday at 02:00 New York time (06:00 or 07:00 UTC), within a week.
        (live,) = [job for job in scheduler.get_jobs() if job.func_name == JOB_NAME]
        due = live.next_enqueue_time
        local = due.astimezone(new_york_time)
        assert (local.weekday(), local.hour, local.minute) == (6, 2, 0)
        assert due.astimezone(UTC).hour in (6, 7)
        assert timedelta(0) < due - datetime.now(UTC) <= timedelta(days=7)

        # Starting the scheduler does not run the audit (unlike the interval jobs) ...
        assert JOB_NAME not in [job.func_name for job in scheduler.enqueue_jobs()]
        # ... one second before it is due it still waits, and at 02:00 it enqueues it on the maintenance queue.
        monkeypatch.setattr("rq.cron.now", lambda: due - timedelta(seconds=1))
        assert JOB_NAME not in [job.func_name for job in scheduler.enqueue_jobs()]
        monkeypatch.setattr("rq.cron.now", lambda: due)
        assert JOB_NAME in [job.func_name for job in scheduler.enqueue_jobs()]
        (job_id,) = get_cron_job_ids(JOB_NAME, redis_env)
        job = Job.fetch(job_id, connection=redis_env)
        assert (job.func_name, job.origin, job.get_status()) == (JOB_NAME, MAINTENANCE, JobStatus.QUEUED)
        # The next one is a week later.
        assert live.next_enqueue_time == due + timedelta(days=7) or (
            # a daylight-saving change in between moves it by an hour in UTC, never in local time
            live.next_enqueue_time.astimezone(new_york_time).replace(tzinfo=None)
            == (due.astimezone(new_york_time) + timedelta(days=7)).replace(tzinfo=None)
        )
    finally:
        scheduler.register_death()


def test_a_real_worker_runs_the_job_and_the_report_appears(
    sqlite_url: str, redis_env: redis.Redis, monkeypatch: pytest.MonkeyPatch
):
    # Both runs see the same clock reading, so the test cannot straddle an hour boundary.
    half_past = utcnow().replace(minute=30, second=0, microsecond=0)
    monkeypatch.setattr("leadapp.core.models.utcnow", lambda: half_past)
    with Session(get_engine()) as session:
        for _ in range(3):
            factories.received_lead(
                session,
                "Same message about cheap backlinks for sale every single day",
                quality_score=1.0,
                is_spam=False,
                status="flagged",
                created_at=half_past - timedelta(hours=2),
            )
        session.commit()

    queue = get_queue(MAINTENANCE)
    first = queue.enqueue(jobs.weekly_audit)
    second = queue.enqueue(jobs.weekly_audit)  # a retry or a second scheduler: must not write twice
    worker = SimpleWorker([queue], connection=redis_env)
    assert worker.work(burst=True, max_jobs=2)

    for job in (first, second):
        assert job.get_status(refresh=True) == JobStatus.FINISHED, job.exc_info
    report_id = first.return_value(refresh=True)
    assert second.return_value(refresh=True) == report_id

    with Session(get_engine()) as session:
        (report,) = session.exec(select(AuditReport)).all()
        assert report.id == report_id
        assert report.created_by_id is None and report.narrator == "template"
        end = report.period_end
        assert end == half_past.replace(minute=0)
        assert end - report.period_start == timedelta(days=7)
        assert report.figures["leads"]["total"] == 3
        assert report.figures["patterns"]["repeated_texts"][0]["count"] == 3
        assert report.recommendations[0]["change"]["op"] == "add_spam_keywords"
        assert report.markdown.startswith("# Weekly audit:")
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "audit_report.run")).all()
        assert [(e.actor_id, e.target_id) for e in events] == [(None, str(report_id))]
