"""Matching signals that move: a business's response rate and median response time are recomputed when it
accepts or declines a lead and every night (RQ cron, run by a real worker); the lead detail shows the points of
each factor of the stored match score, and they add up to it."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import redis
from rq import SimpleWorker
from rq.cron import CronScheduler
from rq.job import JobStatus
from sqlmodel import Session

from leadapp.core.db import get_engine
from leadapp.core.models import Business, Lead, Match, User, utcnow
from leadapp.core.services import inbox
from leadapp.core.services.intake import Submission
from tests import factories
from worker import jobs, schedule
from worker.queues import MAINTENANCE, get_queue

JOB_NAME = "worker.jobs.refresh_response_rates"
_serial = itertools.count(1)


def owner_and_business(session: Session, **fields: object) -> tuple[User, Business]:
    owner = User(email=f"owner{next(_serial)}@example.com", password_hash="x", role="business_owner")
    session.add(owner)
    session.flush()
    values: dict[str, object] = {
        "name": f"Plumber {next(_serial)}",
        "zip": "46032",
        "latitude": 39.9712,
        "longitude": -86.1245,
        "categories": ["plumbing"],
    }
    values.update(fields)
    business = Business(verified_at=utcnow(), owner_id=owner.id, **values)  # type: ignore[arg-type]
    session.add(business)
    session.flush()
    return owner, business


def match_for(session: Session, business: Business, age: timedelta, **fields: object) -> Match:
    lead = Lead(raw_text="The kitchen sink is blocked and the water will not drain at all", zip="46032")
    session.add(lead)
    session.flush()
    row = Match(lead_id=lead.id, business_id=business.id, score=70.0, created_at=utcnow() - age, **fields)  # type: ignore[arg-type]
    session.add(row)
    session.flush()
    return row


def test_accepting_and_declining_move_the_response_rate_and_the_median_time(db_session: Session) -> None:
    s = db_session
    owner, business = owner_and_business(s)
    fresh = match_for(s, business, timedelta(minutes=90))
    stale = match_for(s, business, timedelta(days=2))
    match_for(s, business, timedelta(days=2))  # unanswered for two days: counts against the business
    match_for(s, business, timedelta(hours=3))  # unanswered, but under a day old: not yet
    s.commit()
    assert s.get(Business, business.id).response_rate is None

    inbox.respond(s, owner, fresh.id, accept=True)
    s.commit()
    s.expire_all()
    stored = s.get(Business, business.id)
    assert stored.response_rate == pytest.approx(1 / 3)
    assert stored.avg_response_minutes == pytest.approx(90, abs=1)

    inbox.respond(s, owner, stale.id, accept=False, message="Fully booked this week")
    s.commit()
    s.expire_all()
    stored = s.get(Business, business.id)
    assert stored.response_rate == pytest.approx(2 / 3)
    assert stored.avg_response_minutes == pytest.approx((90 + 2 * 24 * 60) / 2, abs=1)  # the median of two

    inbox.respond(s, owner, fresh.id, accept=True)  # accepting again changes nothing
    s.commit()
    s.expire_all()
    assert s.get(Business, business.id).response_rate == pytest.approx(2 / 3)


@pytest.fixture
def new_york_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[ZoneInfo]:
    """The process's local time zone is New York (RQ evaluates cron expressions in local time)."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        yield ZoneInfo("America/New_York")
    finally:
        monkeypatch.undo()
        time.tzset()


def test_the_refresh_is_registered_for_every_night_at_0330_local_time(
    redis_env: redis.Redis, new_york_time: ZoneInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    scheduler = schedule.register(CronScheduler(connection=redis_env, name="rates-test"))
    scheduler.register_birth()
    try:
        (stored,) = CronScheduler.all(redis_env)
        registered = {job.func_name: job for job in stored.get_jobs()}
        assert (registered[JOB_NAME].cron, registered[JOB_NAME].queue_name) == ("30 3 * * *", MAINTENANCE)
        (live,) = [job for job in scheduler.get_jobs() if job.func_name == JOB_NAME]
        due = live.next_enqueue_time
        local = due.astimezone(new_york_time)
        assert (local.hour, local.minute) == (3, 30)
        assert timedelta(0) < due - datetime.now(UTC) <= timedelta(days=1)
        assert JOB_NAME not in [job.func_name for job in scheduler.enqueue_jobs()]  # not at start-up
        monkeypatch.setattr("rq.cron.now", lambda: due)
        assert JOB_NAME in [job.func_name for job in scheduler.enqueue_jobs()]
    finally:
        scheduler.register_death()


def test_a_real_worker_runs_the_nightly_refresh_and_stale_rates_move(sqlite_url: str, redis_env: redis.Redis) -> None:
    with Session(get_engine(), expire_on_commit=False) as s:
        # Rates stored yesterday, before matches aged past a day without an answer.
        _, prompt = owner_and_business(s, response_rate=1.0, avg_response_minutes=30.0)
        match_for(s, prompt, timedelta(days=3), responded_at=utcnow() - timedelta(days=3) + timedelta(minutes=30))
        match_for(s, prompt, timedelta(hours=30))
        _, silent = owner_and_business(s, response_rate=1.0, avg_response_minutes=10.0)
        match_for(s, silent, timedelta(hours=26))
        _, newcomer = owner_and_business(s)
        s.commit()

    queue = get_queue(MAINTENANCE)
    first, second = queue.enqueue(jobs.refresh_response_rates), queue.enqueue(jobs.refresh_response_rates)
    assert SimpleWorker([queue], connection=redis_env).work(burst=True, max_jobs=2)

    for job in (first, second):  # the second run (a retry, a second scheduler) writes the same figures
        assert job.get_status(refresh=True) == JobStatus.FINISHED, job.exc_info
        assert job.return_value(refresh=True) == 3
    with Session(get_engine()) as s:
        assert s.get(Business, prompt.id).response_rate == pytest.approx(0.5)
        assert s.get(Business, prompt.id).avg_response_minutes == pytest.approx(30, abs=1)
        assert s.get(Business, silent.id).response_rate == 0.0
        assert s.get(Business, silent.id).avg_response_minutes is None
        assert s.get(Business, newcomer.id).response_rate is None  # no history: the "new business" band


def test_the_lead_detail_shows_each_factors_points_adding_up_to_the_stored_score(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = db_session
    monkeypatch.setattr("leadapp.core.services.notify.send_batch", lambda ids: {})
    owners = [
        # Verified ratings (5 × 4.0 prior + stars) / (5 + reviews): 4.6, 3.8 and 4.2.
        owner_and_business(
            s, verified_review_count=80, verified_stars_total=371, licensed=True, insured=True, response_rate=0.9
        ),
        owner_and_business(
            s,
            verified_review_count=5,
            verified_stars_total=18,
            radius_miles=12,
            price_tier="premium",
            response_rate=0.55,
        ),
        owner_and_business(
            s, zip="46204", latitude=39.77, longitude=-86.16, verified_review_count=20, verified_stars_total=85
        ),
    ]
    s.commit()
    matches = factories.matched_lead(
        s,
        Submission(
            text="The water heater in our garage is leaking badly, we need a licensed plumber tomorrow, "
            "budget around $600",
            zip="46032",
            email="casey@example.com",
        ),
    )
    assert len(matches) == 3
    rating_points = set()
    for owner, business in owners:
        (row,) = [m for m in matches if m.business_id == business.id]
        detail = inbox.lead_detail(s, owner, row.id)
        shown = detail["points"]
        assert [line["factor"] for line in shown][:7] == [
            "distance",
            "category",
            "rating",
            "response_rate",
            "price",
            "urgency",
            "requirements",
        ]
        assert sum(round(float(line["points"]) * 10) for line in shown) == round(row.score * 10)
        assert detail["score_exact"] == f"{row.score:.1f}"
        assert all(float(line["points"]) <= float(line["max"]) for line in shown if line["max"])
        rating_points.add(shown[2]["points"])
    assert len(rating_points) == 3  # different ratings, different points: no longer a constant
