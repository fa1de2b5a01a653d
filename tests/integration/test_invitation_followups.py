"""Invitation follow-ups through a real RQ scheduler and worker, with time moved forward.

`invite` schedules follow-ups with `Queue.enqueue_at` (RQ's ScheduledJobRegistry, a sorted set scored by
the due timestamp). In RQ 3.0 the scheduler a worker runs (`Worker.work(with_scheduler=True)`; in
burst mode it runs `RQScheduler.enqueue_scheduled_jobs()` once, in-process) reads "now" from
`rq.utils.current_timestamp`, imported into `rq.scheduler` — so patching `rq.scheduler.current_timestamp`
moves the scheduler's clock, and nothing else: jobs, registries and the database keep real time.
Each step then runs a real `SimpleWorker` burst on the notifications queue, which enqueues the due
follow-ups, runs them, and runs the email sends they enqueue (the local outbox "sends" them).
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

import pytest
import redis
import rq.scheduler
from rq import SimpleWorker
from rq.job import Job
from rq.registry import ScheduledJobRegistry
from sqlmodel import Session, select

from leadapp.core import links
from leadapp.core.broker import get_redis
from leadapp.core.db import get_engine
from leadapp.core.models import Invitation, Notification, Prospect, User
from leadapp.core.services import accounts, discovery
from leadapp.core.tasks import NOTIFICATIONS, queue

PASSWORD = "a long enough password"


@pytest.fixture
def session(any_db_url: str, redis_env: redis.Redis, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PASSWORD_HASH_MEMORY_KIB", "1024")
    monkeypatch.setenv("PASSWORD_HASH_TIME_COST", "1")
    monkeypatch.setenv("GOOGLE_PLACES_API_KEY", "")  # the local directory
    from leadapp.core.settings import get_settings

    get_settings.cache_clear()
    with Session(get_engine(), expire_on_commit=False) as s:
        yield s


def at(moment: datetime, monkeypatch: pytest.MonkeyPatch) -> None:
    """Set the RQ scheduler's clock to `moment`."""
    monkeypatch.setattr(rq.scheduler, "current_timestamp", lambda: calendar.timegm(moment.utctimetuple()))


def burst() -> None:
    """One real worker burst on the notifications queue, with its scheduler."""
    SimpleWorker([queue(NOTIFICATIONS)], connection=get_redis()).work(
        burst=True, with_scheduler=True, logging_level="WARNING"
    )


def emails(session: Session, invitation: Invitation) -> dict[str, str]:
    """dedupe suffix → status of the invitation's emails."""
    session.commit()  # see what the worker committed
    prefix = f"invitation:{invitation.id}:"
    rows = session.exec(select(Notification).where(Notification.dedupe_key.startswith(prefix))).all()  # type: ignore[attr-defined]
    return {row.dedupe_key.removeprefix(prefix): row.status for row in rows}


def reload(session: Session, invitation: Invitation) -> Invitation:
    session.commit()
    row = session.get(Invitation, invitation.id, populate_existing=True)
    assert row is not None
    return row


def invite_carmel_rooter(session: Session) -> tuple[User, Invitation]:
    admin = accounts.ensure_admin(session, "admin@example.com", PASSWORD)
    session.commit()
    found = {p.name: p for p in discovery.discover(session, admin, "46032", "plumbing")}
    session.commit()
    invitation = discovery.invite(session, admin, found["Carmel Rooter Pros"].id, "pat@rooter.example.com")
    return admin, invitation


def followup_result(invitation: Invitation, number: int) -> object:
    job = Job.fetch(f"invitation-{invitation.id}-followup-{number}", connection=get_redis())
    return job.return_value()


def test_day_3_follow_up_is_sent_and_after_unsubscribe_day_7_is_not(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, invitation = invite_carmel_rooter(session)
    sent_at = invitation.sent_at
    assert sent_at is not None
    scheduled = ScheduledJobRegistry(queue=queue(NOTIFICATIONS))
    assert sorted(scheduled.get_job_ids()) == [f"invitation-{invitation.id}-followup-{n}" for n in (1, 2, 3)]

    # Now: the invitation itself goes out; no follow-up is due.
    burst()
    assert emails(session, invitation) == {"initial": "sent"}
    assert len(scheduled.get_job_ids()) == 3

    # A minute before day 3: still nothing.
    at(sent_at + timedelta(days=3, minutes=-1), monkeypatch)
    burst()
    assert emails(session, invitation) == {"initial": "sent"}

    # Day 3: follow-up 1 is enqueued by the scheduler, run, and its email sent.
    at(sent_at + timedelta(days=3, minutes=1), monkeypatch)
    burst()
    assert emails(session, invitation) == {"initial": "sent", "followup:1": "sent"}
    assert followup_result(invitation, 1) == "sent"
    row = reload(session, invitation)
    assert (row.followups_sent, row.next_followup_at) == (1, sent_at + timedelta(days=7))
    assert sorted(scheduled.get_job_ids()) == [f"invitation-{invitation.id}-followup-{n}" for n in (2, 3)]

    # The business unsubscribes through the link in the email.
    assert discovery.unsubscribe(session, links.invitation_token(invitation)) is not None
    session.commit()

    # Day 7 and day 14: the jobs run, find the invitation stopped, and send nothing.
    at(sent_at + timedelta(days=7, minutes=1), monkeypatch)
    burst()
    assert followup_result(invitation, 2) == "stopped:unsubscribed"
    at(sent_at + timedelta(days=14, minutes=1), monkeypatch)
    burst()
    assert followup_result(invitation, 3) == "stopped:unsubscribed"
    assert emails(session, invitation) == {"initial": "sent", "followup:1": "sent"}
    row = reload(session, invitation)
    assert (row.followups_sent, row.stopped_reason, row.next_followup_at) == (1, "unsubscribed", None)
    assert session.get(Prospect, row.prospect_id, populate_existing=True).status == "unsubscribed"
    assert scheduled.get_job_ids() == []


def test_signing_up_through_the_link_stops_every_follow_up(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    _, invitation = invite_carmel_rooter(session)
    sent_at = invitation.sent_at
    assert sent_at is not None
    owner = accounts.register(session, "pat.owner@rooter.example.com", PASSWORD, "business_owner")
    discovery.activate_invitation(session, links.invitation_token(invitation), owner)
    session.commit()

    at(sent_at + timedelta(days=15), monkeypatch)  # everything is due at once
    burst()
    assert [followup_result(invitation, n) for n in (1, 2, 3)] == ["stopped:activated"] * 3
    assert emails(session, invitation) == {"initial": "sent"}
    assert reload(session, invitation).stopped_reason == "activated"


def test_the_follow_up_sweeper_is_scheduled(redis_env: redis.Redis) -> None:
    from rq.cron import CronScheduler

    from worker import schedule

    scheduler = schedule.register(CronScheduler(connection=redis_env))
    assert "worker.jobs.sweep_invitation_followups" in [job.func_name for job in scheduler.get_jobs()]
