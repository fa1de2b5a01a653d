"""Notify end to end: rows, providers through their real SDKs against loopback fakes, and real RQ workers.

Every test runs on SQLite and on PostgreSQL (the `db_session` fixture), with the private Redis.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from rq.job import Job, JobStatus
from sqlalchemy import update
from sqlmodel import Session, col, func, select

from leadapp.core.broker import get_redis
from leadapp.core.crypto import phone_hash
from leadapp.core.db import get_engine
from leadapp.core.errors import NotAllowed, UserError
from leadapp.core.models import AuditEvent, Business, Lead, Match, Notification, SmsOptOut, User, utcnow
from leadapp.core.services import notify
from leadapp.core.settings import get_settings
from leadapp.core.tasks import NOTIFICATIONS
from leadapp.core.vocab import MatchStatus, Plan
from tests import factories
from tests.conftest import RedisProcess
from tests.fakes.sendgrid_api import FakeSendGrid, fake_sendgrid  # noqa: F401
from tests.fakes.smtp_server import FakeSmtp, fake_smtp, fake_smtp_with_login  # noqa: F401
from tests.fakes.twilio_api import FakeTwilio, fake_twilio  # noqa: F401
from tests.rq_burst import run_worker_until
from worker import jobs
from worker.queues import get_queue

WAIT_SECONDS = 30.0
CONSUMER_EMAIL = "jane.doe@example.com"
CONSUMER_PHONE = "+13175550123"
BUSINESS_PHONE = "+13175550999"
PROVIDER_VARIABLES = (
    "SENDGRID_API_KEY",
    "SENDGRID_HOST",
    "SMTP_HOST",
    "SMTP_USERNAME",
    "SMTP_PASSWORD",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_FROM_NUMBER",
    "TWILIO_API_BASE",
    "ANTHROPIC_API_KEY",
)


# --- fixtures and helpers -------------------------------------------------------------------------


@pytest.fixture
def session(db_session: Session, redis_env: redis.Redis, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    """The test database and the private Redis (no RQ keys left over), with no provider configured."""
    for name in PROVIDER_VARIABLES:
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("APP_URL", "https://leads.example.test")
    get_settings.cache_clear()
    yield db_session
    db_session.rollback()


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """`configure(SENDGRID_API_KEY=...)`: set variables for this test and make settings see them."""

    def apply(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    return apply


@pytest.fixture
def sendgrid_api(request: pytest.FixtureRequest, configure: Callable[..., None]) -> FakeSendGrid:
    """The fake SendGrid, with the app configured to send through it."""
    fake: FakeSendGrid = request.getfixturevalue("fake_sendgrid")
    configure(SENDGRID_API_KEY=fake.api_key, SENDGRID_HOST=fake.url)
    return fake


def _use_smtp(request: pytest.FixtureRequest, configure: Callable[..., None], fixture: str) -> FakeSmtp:
    fake: FakeSmtp = request.getfixturevalue(fixture)
    configure(SMTP_HOST=fake.host, SMTP_PORT=str(fake.port), SMTP_USE_TLS="false")
    return fake


@pytest.fixture
def smtp_server(request: pytest.FixtureRequest, configure: Callable[..., None]) -> FakeSmtp:
    """The fake SMTP server, configured as the app's SMTP (backup) provider."""
    return _use_smtp(request, configure, "fake_smtp")


@pytest.fixture
def smtp_server_with_login(request: pytest.FixtureRequest, configure: Callable[..., None]) -> FakeSmtp:
    """The fake SMTP server requiring AUTH (user "mailer"), configured as the app's SMTP provider."""
    return _use_smtp(request, configure, "fake_smtp_with_login")


@pytest.fixture
def twilio_api(request: pytest.FixtureRequest, configure: Callable[..., None]) -> FakeTwilio:
    """The fake Twilio REST API, with the app configured to send SMS through it."""
    fake: FakeTwilio = request.getfixturevalue("fake_twilio")
    configure(
        TWILIO_ACCOUNT_SID=fake.account_sid,
        TWILIO_AUTH_TOKEN=fake.auth_token,
        TWILIO_FROM_NUMBER=fake.from_number,
        TWILIO_API_BASE=fake.url,
    )
    return fake


def seed(
    session: Session, *, channels: list[str] | None = None, notify_email: str = "office@smith.example"
) -> tuple[Lead, Business, Match]:
    """A business owner, their business, a classified lead and its match, committed."""
    owner = factories.user(session, "business_owner", "owner@smith.example", full_name="Sam Smith")
    business = factories.business(
        session,
        owner,
        "Smith & Sons Plumbing",
        plan=Plan.FREE.value,
        rating=4.8,
        review_count=120,
        notify_email=notify_email,
        notify_phone="(317) 555-0999",
        notify_channels=channels or ["email", "sms"],
    )
    lead = factories.lead(
        session,
        phone=CONSUMER_PHONE,
        consent=False,
        raw_text="My water heater is leaking <script>alert(1)</script> & flooding. Call (317) 555-0123.",
        contact_name="Jane Doe",
        contact_email=CONSUMER_EMAIL,
        preferred_contact="sms",
        location_zip="46032",
        urgency="emergency",
        budget_min=300,
        budget_max=500,
    )
    match = factories.match(
        session, lead, business, MatchStatus.NEW.value, score=87.0, distance_miles=3.4, reasons=["Exact category"]
    )
    session.commit()
    return lead, business, match


def make_notification(session: Session, channel: str = "email", recipient: str | None = None, key: str = "t") -> int:
    """One committed pending notification; returns its id."""
    row = notify.create_notification(
        session,
        kind="business_new_lead",
        channel=channel,
        recipient=recipient or ("office@smith.example" if channel == "email" else BUSINESS_PHONE),
        subject="New lead <b>& more</b>",
        text="A new lead matches your business.",
        html="<p>A new lead matches &amp; more.</p>",
        dedupe_key=f"test:{key}:{channel}",
    )
    session.commit()
    assert row.id is not None
    return row.id


def reload(session: Session, notification_id: int) -> Notification:
    session.commit()  # end any open transaction so we read what other sessions committed
    row = session.get(Notification, notification_id, populate_existing=True)
    assert row is not None
    return row


def status_is(session: Session, notification_id: int, *statuses: str) -> Callable[[], bool]:
    return lambda: reload(session, notification_id).status in statuses


# --- creating rows --------------------------------------------------------------------------------


def test_business_rows_per_channel_without_consumer_contact_and_idempotent(session: Session) -> None:
    lead, business, match = seed(session)

    rows = notify.notify_businesses(session, lead, [match])
    session.commit()
    again = notify.notify_businesses(session, lead, [match])
    session.commit()

    assert [(r.channel, r.recipient) for r in rows] == [("email", "office@smith.example"), ("sms", BUSINESS_PHONE)]
    assert [r.id for r in again] == [r.id for r in rows]
    assert session.exec(select(func.count()).select_from(Notification)).one() == 2
    email, sms = rows
    assert email.dedupe_key == f"lead:{lead.id}:biz:{business.id}:email"
    assert sms.dedupe_key == f"lead:{lead.id}:biz:{business.id}:sms"
    assert (email.kind, email.status, email.lead_id, email.match_id, email.business_id, email.user_id) == (
        "business_new_lead",
        "pending",
        lead.id,
        match.id,
        business.id,
        business.owner_id,
    )
    assert email.body_html and not sms.body_html and not sms.subject
    assert len(sms.body_text) <= 320
    for row in rows:
        everything = " ".join([row.subject, row.body_text, row.body_html])
        assert CONSUMER_EMAIL not in everything
        assert "555-0123" not in everything and "5550123" not in everything
        assert "<script>" not in row.body_html
    assert "&lt;script&gt;" in email.body_html
    assert f"https://leads.example.test/dashboard/leads/{lead.id}" in email.body_text


def test_business_email_falls_back_to_the_owner(session: Session) -> None:
    lead, _, match = seed(session, channels=["email"], notify_email="")
    (row,) = notify.notify_businesses(session, lead, [match])
    assert row.recipient == "owner@smith.example"


def test_consumer_result_rows(session: Session) -> None:
    lead, _, match = seed(session)

    matched = notify.notify_consumer_result(session, lead, [match])
    no_match = notify.notify_consumer_result(session, lead, [])
    session.commit()

    assert [(r.kind, r.channel, r.recipient) for r in matched] == [
        ("consumer_matched", "email", CONSUMER_EMAIL),
        ("consumer_matched", "sms", CONSUMER_PHONE),
    ]
    assert "Smith & Sons Plumbing" in matched[0].body_text and "Smith &amp; Sons Plumbing" in matched[0].body_html
    assert "office@smith.example" not in matched[0].body_text and "555-0999" not in matched[0].body_text
    assert [r.kind for r in no_match] == ["consumer_no_match", "consumer_no_match"]
    assert [r.id for r in notify.notify_consumer_result(session, lead, [match])] == [r.id for r in matched]
    assert all(r.user_id == lead.consumer_id for r in matched)


def test_consumer_email_only_when_they_prefer_email(session: Session) -> None:
    lead, _, match = seed(session)
    lead.preferred_contact = "email"
    rows = notify.notify_consumer_result(session, lead, [match])
    assert [r.channel for r in rows] == ["email"]


def test_dedupe_key_returns_the_existing_row(session: Session) -> None:
    first = make_notification(session, key="same")
    second = make_notification(session, key="same")
    assert first == second
    assert session.exec(select(func.count()).select_from(Notification)).one() == 1


def test_dedupe_survives_a_concurrent_insert(session: Session) -> None:
    """Another transaction inserts the same key after our look-up: we get its row, our transaction lives on."""
    other = Session(get_engine())
    rival = Notification(kind="k", channel="email", recipient="a@example.com", dedupe_key="race")
    other.add(rival)
    other.flush()  # inserted, not committed: our look-up cannot see it, our insert has to wait for it

    def commit_later() -> None:
        time.sleep(0.5)
        other.commit()

    committer = threading.Thread(target=commit_later)
    committer.start()
    try:
        row = notify.create_notification(
            session,
            kind="k",
            channel="email",
            recipient="b@example.com",
            subject="",
            text="",
            html="",
            dedupe_key="race",
        )
    finally:
        committer.join()
    assert row.recipient == "a@example.com" and row.id == rival.id
    later = make_notification(session, key="after-the-race")  # the outer transaction still works
    assert reload(session, later).status == "pending"
    other.close()


# --- providers ------------------------------------------------------------------------------------


def test_outbox_by_default(session: Session) -> None:
    email_id = make_notification(session, "email")
    sms_id = make_notification(session, "sms")

    assert notify.send_notification(email_id) == "sent"
    assert notify.send_notification(sms_id) == "sent"

    for notification_id in (email_id, sms_id):
        row = reload(session, notification_id)
        assert (row.status, row.provider, row.attempts, row.last_error) == ("sent", "outbox", 1, "")
        assert row.provider_id.startswith("outbox-") and row.sent_at is not None


def test_sendgrid_through_the_sdk(session: Session, configure: Callable[..., None], sendgrid_api: FakeSendGrid) -> None:
    configure(EMAIL_FROM="LeadApp <no-reply@leads.example.test>")
    notification_id = make_notification(session)

    assert notify.send_notification(notification_id) == "sent"

    (sent,) = sendgrid_api.messages
    assert sent["personalizations"][0]["to"] == [{"email": "office@smith.example"}]
    assert sent["from"] == {"email": "no-reply@leads.example.test", "name": "LeadApp"}
    assert sent["subject"] == "New lead <b>& more</b>"
    assert [c["type"] for c in sent["content"]] == ["text/plain", "text/html"]
    assert sendgrid_api.requests[0]["headers"]["Authorization"] == f"Bearer {sendgrid_api.api_key}"
    row = reload(session, notification_id)
    assert (row.status, row.provider, row.provider_id, row.attempts) == ("sent", "sendgrid", sent["message_id"], 1)


def test_sendgrid_down_smtp_backup_delivers(
    session: Session,
    sendgrid_api: FakeSendGrid,
    smtp_server: FakeSmtp,
) -> None:
    sendgrid_api.always_fail = True
    notification_id = make_notification(session)

    assert notify.send_notification(notification_id) == "sent"

    assert len(sendgrid_api.requests) == 1 and sendgrid_api.messages == []
    (mail,) = smtp_server.messages
    assert mail.rcpt_tos == ["office@smith.example"]
    assert mail.message["Subject"] == "New lead <b>& more</b>"
    assert mail.message.get_body(("plain",)).get_content().strip() == "A new lead matches your business."
    assert "&amp; more" in mail.message.get_body(("html",)).get_content()
    row = reload(session, notification_id)
    assert (row.status, row.provider, row.attempts) == ("sent", "smtp", 1)
    assert row.provider_id == mail.message["Message-ID"].strip("<>")


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")  # loopback only
def test_smtp_with_login(
    session: Session,
    configure: Callable[..., None],
    smtp_server_with_login: FakeSmtp,
) -> None:
    configure(SMTP_USERNAME="mailer", SMTP_PASSWORD="s3cret-pass")
    notification_id = make_notification(session)

    assert notify.send_notification(notification_id) == "sent"
    assert [m.login for m in smtp_server_with_login.messages] == ["mailer"]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")  # loopback only
def test_smtp_wrong_password_fails_permanently(
    session: Session,
    configure: Callable[..., None],
    smtp_server_with_login: FakeSmtp,
) -> None:
    configure(SMTP_USERNAME="mailer", SMTP_PASSWORD="wrong")
    notification_id = make_notification(session)

    assert notify.send_notification(notification_id) == "failed"
    row = reload(session, notification_id)
    assert row.attempts == 1 and row.last_error.startswith("smtp: 535")
    assert smtp_server_with_login.messages == []


def test_twilio_through_the_sdk(session: Session, twilio_api: FakeTwilio) -> None:
    notification_id = make_notification(session, "sms")

    assert notify.send_notification(notification_id) == "sent"

    (request,) = twilio_api.requests
    assert request["auth"] == (twilio_api.account_sid, twilio_api.auth_token)
    assert request["form"] == {
        "To": BUSINESS_PHONE,
        "From": twilio_api.from_number,
        "Body": "A new lead matches your business.",
    }
    row = reload(session, notification_id)
    assert (row.status, row.provider, row.provider_id) == ("sent", "twilio", twilio_api.messages[0]["sid"])
    assert row.provider_id.startswith("SM")


# --- retries with a real RQ worker ----------------------------------------------------------------


def test_two_failures_then_success_with_scheduled_retries(
    session: Session,
    sendgrid_api: FakeSendGrid,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(notify.enqueueing, "RETRY_INTERVALS", [1, 1, 1, 1])  # scheduled retries, just shorter
    sendgrid_api.fail_next(2)
    notification_id = make_notification(session)

    assert notify.enqueue_sends([notification_id]) == 1
    run_worker_until(status_is(session, notification_id, "sent", "failed"), "the notification to be sent")

    row = reload(session, notification_id)
    assert (row.status, row.attempts, row.provider, row.last_error) == ("sent", 3, "sendgrid", "")
    assert len(sendgrid_api.requests) == 3 and len(sendgrid_api.messages) == 1
    job = Job.fetch(f"notify-{notification_id}", connection=get_redis())
    assert job.get_status() == JobStatus.FINISHED and job.return_value() == "sent"


def test_always_failing_provider_ends_failed_after_every_attempt(
    session: Session,
    sendgrid_api: FakeSendGrid,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(notify.enqueueing, "RETRY_INTERVALS", [0, 0, 0, 0])
    sendgrid_api.always_fail = True
    notification_id = make_notification(session)

    notify.enqueue_sends([notification_id])
    run_worker_until(status_is(session, notification_id, "failed"), "the notification to fail")

    row = reload(session, notification_id)
    assert row.status == "failed"
    assert row.attempts == notify.max_attempts() == 5
    assert "HTTP 500" in row.last_error
    assert len(sendgrid_api.requests) == 5 and sendgrid_api.messages == []
    assert notify.pending_notification_ids(session, 0) == []  # a failed row is not swept again


def test_permanent_error_fails_after_one_attempt(
    session: Session,
    twilio_api: FakeTwilio,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(notify.enqueueing, "RETRY_INTERVALS", [0, 0, 0, 0])
    twilio_api.invalid_numbers.add("+13175550111")
    notification_id = make_notification(session, "sms", recipient="+13175550111")

    notify.enqueue_sends([notification_id])
    run_worker_until(status_is(session, notification_id, "failed", "sent"), "the notification to fail")

    row = reload(session, notification_id)
    assert (row.status, row.attempts) == ("failed", 1)
    assert "21211" in row.last_error and "Invalid 'To' Phone Number" in row.last_error
    assert len(twilio_api.requests) == 1


def test_the_same_job_run_twice_sends_once(
    session: Session,
    twilio_api: FakeTwilio,
) -> None:
    notification_id = make_notification(session, "sms")

    notify.enqueue_sends([notification_id])
    run_worker_until(status_is(session, notification_id, "sent"), "the first send")
    notify.enqueue_sends([notification_id])  # the sweeper, a retry, a duplicate: the job runs again
    run_worker_until(lambda: get_queue(NOTIFICATIONS).count == 0, "the second run")
    assert jobs.send_notification(notification_id) == "sent"  # and once more by hand

    assert len(twilio_api.requests) == 1
    assert reload(session, notification_id).attempts == 1


def test_concurrent_runs_send_once(
    session: Session,
    twilio_api: FakeTwilio,
) -> None:
    twilio_api.delay_seconds = 1.0
    notification_id = make_notification(session, "sms")
    results: list[str] = []
    first = threading.Thread(target=lambda: results.append(notify.send_notification(notification_id)))
    first.start()
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while reload(session, notification_id).status != "sending":
            assert time.monotonic() < deadline, "the first run never claimed the row"
            time.sleep(0.02)
        second = notify.send_notification(notification_id)  # while the first is inside the provider call
    finally:
        first.join()

    assert second == "sending" and results == ["sent"]
    assert len(twilio_api.requests) == 1


def test_an_abandoned_claim_is_taken_back_but_a_live_one_is_not(
    session: Session,
    twilio_api: FakeTwilio,
) -> None:
    notification_id = make_notification(session, "sms")
    # A run claimed it and died mid-send: 'sending', one attempt, no lease left behind.
    session.exec(
        update(Notification).where(col(Notification.id) == notification_id).values(status="sending", attempts=1)
    )
    session.commit()

    live = get_redis().lock(notify.leases._lease_key(notification_id), timeout=60)
    assert live.acquire(blocking=False)
    try:
        assert notify.abandoned_notification_ids(session) == []
        assert notify.send_notification(notification_id) == "sending"
        assert twilio_api.requests == []
    finally:
        live.release()

    assert notify.abandoned_notification_ids(session) == [notification_id]
    assert jobs.sweep_pending_notifications() == 1  # the sweeper re-enqueues it
    run_worker_until(status_is(session, notification_id, "sent"), "the abandoned row to be sent")
    row = reload(session, notification_id)
    assert (row.status, row.attempts) == ("sent", 2)
    assert len(twilio_api.requests) == 1


def test_sms_to_an_opted_out_number_is_suppressed(
    session: Session,
    twilio_api: FakeTwilio,
) -> None:
    notify.record_sms_opt_out(session, "(317) 555-0999")  # stored by keyed hash, whatever the format
    session.commit()
    notification_id = make_notification(session, "sms", recipient=BUSINESS_PHONE)

    assert notify.send_notification(notification_id) == "suppressed"
    assert notify.send_notification(notification_id) == "suppressed"

    row = reload(session, notification_id)
    assert (row.status, row.last_error, row.attempts) == ("suppressed", notify.OPTED_OUT_ERROR, 0)
    assert twilio_api.requests == []
    stored = session.exec(select(SmsOptOut)).one()
    assert stored.phone_hash == phone_hash(BUSINESS_PHONE)


def test_opt_out_record_and_clear_are_idempotent(session: Session) -> None:
    notify.record_sms_opt_out(session, BUSINESS_PHONE)
    notify.record_sms_opt_out(session, BUSINESS_PHONE)
    session.commit()
    assert notify.is_opted_out(session, BUSINESS_PHONE)
    assert session.exec(select(func.count()).select_from(SmsOptOut)).one() == 1
    assert notify.clear_sms_opt_out(session, BUSINESS_PHONE) is True
    assert notify.clear_sms_opt_out(session, BUSINESS_PHONE) is False
    session.commit()
    assert not notify.is_opted_out(session, BUSINESS_PHONE)


# --- Redis down, the sweeper, admin retry ---------------------------------------------------------


def test_redis_down_leaves_rows_pending_for_the_sweeper(
    session: Session, own_redis: RedisProcess, configure: Callable[..., None], tmp_path: Path
) -> None:
    configure(REDIS_URL=own_redis.url)
    notification_id = make_notification(session)
    own_redis.stop()

    assert notify.enqueue_sends([notification_id]) == 0
    assert reload(session, notification_id).status == "pending"

    own_redis.start_again(tmp_path)
    assert notify.pending_notification_ids(session, 60) == []  # too fresh to sweep yet
    session.exec(
        update(Notification)
        .where(col(Notification.id) == notification_id)
        .values(created_at=utcnow().replace(year=2000))
    )
    session.commit()
    assert notify.pending_notification_ids(session, 60) == [notification_id]
    assert jobs.sweep_pending_notifications() == 1
    run_worker_until(status_is(session, notification_id, "sent"), "the swept notification to be sent")


@pytest.mark.parametrize("role", [None, "consumer", "business_owner"])
def test_retry_is_refused_to_non_admins(session: Session, role: str | None) -> None:
    notification_id = make_notification(session)
    session.exec(update(Notification).where(col(Notification.id) == notification_id).values(status="failed"))
    session.commit()
    actor = None if role is None else User(id=99, email="x@example.com", password_hash="x", role=role)

    with pytest.raises(NotAllowed):
        notify.retry_notification(session, actor, notification_id)

    assert reload(session, notification_id).status == "failed"
    assert session.exec(select(func.count()).select_from(AuditEvent)).one() == 0
    assert get_queue(NOTIFICATIONS).count == 0


def test_admin_retry_resets_audits_and_sends(
    session: Session,
    twilio_api: FakeTwilio,
) -> None:
    twilio_api.always_fail = True
    notification_id = make_notification(session, "sms")
    assert notify.send_notification(notification_id) == "failed"  # outside RQ: no retries left
    admin = User(email="admin@example.com", password_hash="x", role="admin")
    session.add(admin)
    session.commit()

    pending = make_notification(session, key="other")
    with pytest.raises(UserError):
        notify.retry_notification(session, admin, pending)  # only failed rows

    twilio_api.always_fail = False
    row = notify.retry_notification(session, admin, notification_id)
    assert row.status == "pending"
    event = session.exec(select(AuditEvent)).one()
    assert (event.actor_id, event.action, event.target_type, event.target_id) == (
        admin.id,
        "notification.retry",
        "notifications",
        str(notification_id),
    )
    assert event.before is not None and event.before["status"] == "failed"
    run_worker_until(status_is(session, notification_id, "sent"), "the retried notification to be sent")
    assert reload(session, notification_id).attempts == 2
    assert len(twilio_api.requests) == 2


def test_the_sweeper_is_scheduled(redis_env: redis.Redis) -> None:
    from rq.cron import CronScheduler

    from worker import schedule

    scheduler = schedule.register(CronScheduler(connection=redis_env))
    assert "worker.jobs.sweep_pending_notifications" in [job.func_name for job in scheduler.get_jobs()]


def test_a_database_restart_while_the_provider_sends_does_not_send_it_twice(
    session: Session, twilio_api: FakeTwilio
) -> None:
    """PostgreSQL restarted (every connection dropped) while a text is with Twilio: its outcome is written once
    the database answers again; left 'sending', the sweeper would have sent it a second time."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("a restart drops PostgreSQL's connections; SQLite has none to drop")
    from tests.conftest import _pg_admin_connection

    database = session.get_bind().url.database
    twilio_api.delay_seconds = 1.0
    notification_id = make_notification(session, "sms")
    session.close()
    results: list[str] = []
    sender = threading.Thread(target=lambda: results.append(notify.send_notification(notification_id)))
    sender.start()
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while reload(session, notification_id).status != "sending":  # claimed: the text is with the provider
            assert time.monotonic() < deadline, "the sender never claimed the row"
            time.sleep(0.02)
        session.close()
        with _pg_admin_connection() as admin:
            dropped = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s", (database,)
            ).fetchone()[0]
        assert dropped >= 1
    finally:
        sender.join(timeout=WAIT_SECONDS)
    assert results == ["sent"]
    get_engine().dispose()  # the test's own pooled connections were dropped too
    row = reload(session, notification_id)
    assert (row.status, row.attempts) == ("sent", 1)
    notify.enqueue_sends([notification_id])  # the sweeper comes by: nothing to send again
    run_worker_until(lambda: get_queue(NOTIFICATIONS).count == 0, "the sweeper's job")
    assert len(twilio_api.requests) == 1
