"""Admin operations against a real database (SQLite and PostgreSQL): who may use them, the do-not-call list,
call costs summed in SQL, the audit trail's filters, and a failed notification retried end to end."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from rq import Queue, SimpleWorker
from sqlalchemy import text, update
from sqlmodel import Session, col, func, select

from leadapp.core.broker import get_redis
from leadapp.core.crypto import encrypt_phone, phone_hash
from leadapp.core.errors import NotAllowed, NotFound, UserError
from leadapp.core.models import AuditEvent, Business, Call, DoNotCall, Lead, Notification, User, utcnow
from leadapp.core.services import admin_ops, calls, notify
from leadapp.core.settings import get_settings
from leadapp.core.tasks import NOTIFICATIONS
from tests import factories
from tests.conftest import RedisProcess, clear_app_caches

PROVIDER_VARIABLES = (
    "SENDGRID_API_KEY",
    "SENDGRID_HOST",
    "SMTP_HOST",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_FROM_NUMBER",
    "TWILIO_API_BASE",
)


# --- helpers --------------------------------------------------------------------------------------


def make_user(session: Session, role: str = "admin", email: str = "admin@example.com") -> User:
    user = User(email=email, password_hash="x", role=role, full_name=email.split("@")[0])
    session.add(user)
    session.commit()
    return user


@pytest.fixture
def admin(db_session: Session) -> User:
    return make_user(db_session)


def count(session: Session, model: Any) -> int:
    session.commit()  # read what is committed, not a stale snapshot
    return int(session.exec(select(func.count()).select_from(model)).one())


def audit_events(session: Session) -> list[AuditEvent]:
    session.commit()
    return list(session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all())


def make_business(session: Session, name: str) -> Business:
    owner = make_user(session, "business_owner", f"owner-{name.lower().replace(' ', '')}@example.com")
    business = factories.business(session, owner, name)
    session.commit()
    return business


def month_start(months_back: int) -> datetime:
    now = datetime.now(UTC)
    index = now.year * 12 + now.month - 1 - months_back
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def label(moment: datetime) -> str:
    return moment.strftime("%Y-%m")


def make_call(
    session: Session,
    business: Business | None,
    created_at: datetime,
    carrier: float = 0.0,
    realtime: float = 0.0,
    summary: float = 0.0,
    outcome: str | None = "goal_achieved",
) -> Call:
    call = Call(
        business_id=business.id if business else None,
        status="completed",
        outcome=outcome,
        to_number_enc=encrypt_phone("+13178462299"),
        to_number_hash=phone_hash("+13178462299"),
        duration_seconds=95,
        cost_carrier_cents=carrier,
        cost_realtime_cents=realtime,
        cost_summary_cents=summary,
        cost_total_cents=carrier + realtime + summary,
        created_at=created_at,
    )
    session.add(call)
    return call


# --- only admins ----------------------------------------------------------------------------------

NON_ADMINS: dict[str, Callable[[], User | None]] = {
    "anonymous": lambda: None,
    "consumer": lambda: User(id=9001, email="c@example.com", password_hash="x", role="consumer"),
    "business_owner": lambda: User(id=9002, email="b@example.com", password_hash="x", role="business_owner"),
    "disabled_admin": lambda: User(id=9003, email="a@example.com", password_hash="x", role="admin", is_active=False),
}


@pytest.mark.parametrize("who", list(NON_ADMINS))
def test_every_function_refuses_non_admins(db_session: Session, admin: User, who: str) -> None:
    session = db_session
    actor = NON_ADMINS[who]()
    entry = admin_ops.add_dnc(session, admin, "(317) 846-2200", "asked")
    row = factories.notification(session, "a@b.example", subject="s", text="t", dedupe_key="refuse")
    session.commit()
    before_audit, before_dnc = count(session, AuditEvent), count(session, DoNotCall)

    attempts: dict[str, Callable[[], object]] = {
        "list_notifications": lambda: admin_ops.list_notifications(session, actor),
        "notification_detail": lambda: admin_ops.notification_detail(session, actor, row.id),
        "retry_notification": lambda: notify.retry_notification(session, actor, row.id),
        "queue_overview": lambda: admin_ops.queue_overview(actor),
        "failed_jobs": lambda: admin_ops.failed_jobs(actor, NOTIFICATIONS),
        "retry_failed_job": lambda: admin_ops.retry_failed_job(session, actor, NOTIFICATIONS, "x"),
        "delete_failed_job": lambda: admin_ops.delete_failed_job(session, actor, NOTIFICATIONS, "x"),
        "calls_log": lambda: admin_ops.calls_log(session, actor),
        "call_businesses": lambda: admin_ops.call_businesses(session, actor),
        "call_costs": lambda: admin_ops.call_costs(session, actor),
        "add_dnc": lambda: admin_ops.add_dnc(session, actor, "(317) 846-2201"),
        "remove_dnc": lambda: admin_ops.remove_dnc(session, actor, entry.id),
        "import_dnc_csv": lambda: admin_ops.import_dnc_csv(session, actor, "3178462202\n"),
        "list_dnc": lambda: admin_ops.list_dnc(session, actor),
        "audit_trail": lambda: admin_ops.audit_trail(session, actor),
        "audit_actions": lambda: admin_ops.audit_actions(session, actor),
    }
    for name, attempt in attempts.items():
        with pytest.raises(NotAllowed):
            attempt()
        session.rollback()
        assert (count(session, AuditEvent), count(session, DoNotCall)) == (before_audit, before_dnc), name


# --- do-not-call list -----------------------------------------------------------------------------


def test_add_stores_hash_and_mask_audits_and_blocks_calls(db_session: Session, admin: User) -> None:
    session = db_session
    entry = admin_ops.add_dnc(session, admin, "(317) 846-2200", "  asked us to stop ")
    session.commit()

    stored = session.exec(select(DoNotCall)).one()
    assert stored.id == entry.id
    assert stored.phone_hash == phone_hash("+13178462200")
    assert stored.phone_display == "+1•••••••2200"
    assert (stored.reason, stored.source, stored.created_by_id) == ("asked us to stop", "admin", admin.id)
    (event,) = audit_events(session)
    assert (event.actor_id, event.action, event.target_type, event.target_id) == (
        admin.id,
        "dnc.add",
        "do_not_call",
        str(entry.id),
    )
    assert event.after == {"phone": "+1•••••••2200", "reason": "asked us to stop", "source": "admin"}
    assert "8462200" not in str(event.after) and "846-2200" not in str(event.after)

    # The calls work finds the number through the same keyed hash a lead stores.
    owner = make_user(session, "business_owner", "o@example.com")
    business = Business(verified_at=utcnow(), owner_id=owner.id, name="Pipes", zip="46032", plan="pro")
    lead = Lead(
        raw_text="leaking water heater in the basement please help soon today",
        zip="46032",
        consent_ai_calls=True,
        consent_at=datetime.now(UTC),
        phone_verified_at=datetime.now(UTC),
        contact_phone_enc=encrypt_phone("+13178462200"),
        contact_phone_hash=phone_hash("+13178462200"),
    )
    session.add_all([business, lead])
    session.commit()
    verdict = calls.eligibility(session, lead, business, None)
    assert (verdict.allowed, verdict.reason) == (False, "This number is on the do-not-call list.")


@pytest.mark.parametrize("same_number", ["+1 317-846-2200", "317.846.2200", "13178462200"])
def test_a_listed_number_in_any_format_is_a_duplicate(db_session: Session, admin: User, same_number: str) -> None:
    admin_ops.add_dnc(db_session, admin, "(317) 846-2200")
    db_session.commit()

    with pytest.raises(UserError) as refused:
        admin_ops.add_dnc(db_session, admin, same_number)
    db_session.rollback()

    assert refused.value.field == "phone"
    assert "+1•••••••2200 is already on the do-not-call list" in refused.value.message
    assert count(db_session, DoNotCall) == 1
    assert [e.action for e in audit_events(db_session)] == ["dnc.add"]


@pytest.mark.parametrize("bad", ["", "   ", "12345", "(317) 846-22", "call me maybe"])
def test_an_invalid_number_is_refused(db_session: Session, admin: User, bad: str) -> None:
    with pytest.raises(UserError) as refused:
        admin_ops.add_dnc(db_session, admin, bad)
    db_session.rollback()
    assert refused.value.field == "phone"
    assert count(db_session, DoNotCall) == 0
    assert audit_events(db_session) == []


def test_remove_is_audited_and_unknown_ids_are_not_found(db_session: Session, admin: User) -> None:
    entry = admin_ops.add_dnc(db_session, admin, "3178462200", "asked")
    db_session.commit()
    entry_id = entry.id
    assert entry_id is not None

    admin_ops.remove_dnc(db_session, admin, entry_id)
    db_session.commit()

    assert count(db_session, DoNotCall) == 0
    removed = audit_events(db_session)[-1]
    assert (removed.action, removed.target_id, removed.after) == ("dnc.remove", str(entry_id), None)
    assert removed.before is not None
    assert (removed.before["phone"], removed.before["reason"], removed.before["source"]) == (
        "+1•••••••2200",
        "asked",
        "admin",
    )
    with pytest.raises(NotFound):
        admin_ops.remove_dnc(db_session, admin, entry_id)


def test_import_counts_added_and_duplicates_by_line(db_session: Session, admin: User) -> None:
    admin_ops.add_dnc(db_session, admin, "(317) 846-2200")
    db_session.commit()
    csv_text = (
        "\ufeffPhone,Reason\n"  # 1: header (with a byte-order mark), skipped
        "(317) 846-2200,already there\n"  # 2: duplicate of the listed number
        "317-846-2201,asked by phone\n"  # 3: added, with its reason
        "\n"  # 4: blank, skipped
        "+1 317 846 2202\n"  # 5: added, default reason
        '"317.846.2201","again"\n'  # 6: repeats line 3
        "+44 20 7946 0958,UK\n"  # 7: added (international)
    )

    result = admin_ops.import_dnc_csv(db_session, admin, csv_text, reason="bulk list")
    db_session.commit()

    assert result.applied
    assert (result.added, result.duplicates, result.invalid) == (3, 2, 0)
    assert (result.new_lines, result.duplicate_lines, result.invalid_lines) == ([3, 5, 7], [2, 6], [])
    assert result.summary() == "Added 3 numbers. 2 already listed (lines 2, 6)."
    reasons = {
        row.phone_hash: (row.reason, row.source)
        for row in db_session.exec(select(DoNotCall).where(DoNotCall.source == "import")).all()
    }
    assert reasons == {
        phone_hash("+13178462201"): ("asked by phone", "import"),
        phone_hash("+13178462202"): ("bulk list", "import"),
        phone_hash("+442079460958"): ("UK", "import"),
    }
    event = audit_events(db_session)[-1]
    assert event.action == "dnc.import" and event.actor_id == admin.id
    assert event.after is not None and (event.after["added"], event.after["duplicates"]) == (3, 2)
    assert len(event.after["ids"]) == 3


def test_import_with_an_invalid_line_writes_nothing(db_session: Session, admin: User) -> None:
    csv_text = "317-846-2201\n317-846-2202\nnot a number,oops\n555\n317-846-2203\n"

    result = admin_ops.import_dnc_csv(db_session, admin, csv_text)
    db_session.commit()

    assert not result.applied
    assert (result.added, result.duplicates, result.invalid) == (0, 0, 2)
    assert [line for line, _ in result.invalid_lines] == [3, 4]
    assert "not a number" in result.invalid_lines[0][1]
    assert result.summary().startswith("Nothing imported: 2 invalid lines — line 3: ")
    assert count(db_session, DoNotCall) == 0
    assert audit_events(db_session) == []

    fixed = admin_ops.import_dnc_csv(db_session, admin, "317-846-2201\n317-846-2202\n317-846-2203\n")
    db_session.commit()
    assert (fixed.applied, fixed.added) == (True, 3)
    assert count(db_session, DoNotCall) == 3


@pytest.mark.parametrize("csv_text", ["", "\n\n", "phone,reason\n"])
def test_import_of_an_empty_file_is_refused(db_session: Session, admin: User, csv_text: str) -> None:
    with pytest.raises(UserError, match="no phone numbers"):
        admin_ops.import_dnc_csv(db_session, admin, csv_text)


def test_list_and_find_numbers(db_session: Session, admin: User) -> None:
    admin_ops.import_dnc_csv(db_session, admin, "\n".join(f"317-846-{2200 + i}" for i in range(55)))
    db_session.commit()

    first = admin_ops.list_dnc(db_session, admin)
    last = admin_ops.list_dnc(db_session, admin, page=99)
    found = admin_ops.list_dnc(db_session, admin, phone="+1 (317) 846-2230")

    assert (first.total, first.pages, len(first.rows)) == (55, 2, admin_ops.PAGE_SIZE)
    assert (last.page, len(last.rows)) == (2, 5)
    assert {r["id"] for r in first.rows}.isdisjoint({r["id"] for r in last.rows})
    assert [(r["phone"], r["source"], r["added_by"]) for r in found.rows] == [
        ("+1•••••••2230", "import", "admin@example.com")
    ]
    with pytest.raises(UserError):
        admin_ops.list_dnc(db_session, admin, phone="nope")


# --- calls log and costs --------------------------------------------------------------------------


def test_costs_per_business_and_month_are_summed_in_sql(db_session: Session, admin: User) -> None:
    session = db_session
    plumbers, sparks = make_business(session, "Plumbers"), make_business(session, "Sparks")
    this_month, last_month = month_start(0), month_start(1)
    make_call(session, plumbers, this_month + timedelta(hours=1), carrier=100.0, realtime=40.0, summary=10.0)
    make_call(session, plumbers, this_month + timedelta(days=0, minutes=5), carrier=20.0, realtime=5.0, summary=0.5)
    make_call(session, sparks, this_month + timedelta(minutes=1), carrier=30.0, realtime=20.0)
    # 23:30 UTC on the last day of last month: the next day in Tokyo, but last month in UTC.
    make_call(session, plumbers, this_month - timedelta(minutes=30), carrier=200.0, realtime=100.0, summary=0.0)
    make_call(session, None, last_month + timedelta(days=3), carrier=7.0, outcome="no_answer")
    make_call(session, plumbers, month_start(13), carrier=999.0)  # older than the 12 months shown
    session.commit()
    if session.get_bind().dialect.name == "postgresql":
        # Months are UTC months whatever the database session's time zone (set in the query's transaction).
        session.exec(text("SET TIME ZONE 'Asia/Tokyo'"))

    costs = admin_ops.call_costs(session, admin)

    this, last = label(this_month), label(last_month)
    assert [
        (t.month, t.business_name, t.calls, t.carrier_cents, t.realtime_cents, t.summary_cents, t.total_cents)
        for t in costs.per_business
    ] == [
        (this, "Plumbers", 2, 120.0, 45.0, 10.5, 175.5),
        (this, "Sparks", 1, 30.0, 20.0, 0.0, 50.0),
        (last, "Plumbers", 1, 200.0, 100.0, 0.0, 300.0),
        (last, "—", 1, 7.0, 0.0, 0.0, 7.0),
    ]
    assert [(t.month, t.calls, t.total_cents) for t in costs.per_month] == [(this, 3, 225.5), (last, 2, 307.0)]
    assert costs.per_business[0].business_id == plumbers.id
    assert admin_ops.cost_row(costs.per_business[0]) == {
        "month": this,
        "business_id": str(plumbers.id),
        "business": "Plumbers",
        "calls": "2",
        "carrier": "$1.20",
        "realtime": "$0.45",
        "summary": "$0.11",  # 10.5 cents, half a cent rounded up
        "total": "$1.76",
    }
    assert admin_ops.call_businesses(session, admin) == [(plumbers.id, "Plumbers"), (sparks.id, "Sparks")]


def test_calls_log_filters_and_pages(db_session: Session, admin: User) -> None:
    session = db_session
    plumbers, sparks = make_business(session, "Plumbers"), make_business(session, "Sparks")
    this_month, last_month = month_start(0), month_start(1)
    for i in range(52):
        make_call(session, plumbers, this_month + timedelta(minutes=i), carrier=float(i))
    make_call(session, sparks, this_month + timedelta(hours=2), realtime=1234.0, outcome="voicemail")
    make_call(session, plumbers, last_month + timedelta(days=1), carrier=1.0, outcome="declined")
    session.commit()

    everything = admin_ops.calls_log(session, admin)
    second = admin_ops.calls_log(session, admin, page=2)
    sparks_only = admin_ops.calls_log(session, admin, business_id=sparks.id)
    plumbers_last_month = admin_ops.calls_log(session, admin, business_id=plumbers.id, month=label(last_month))

    assert (everything.total, everything.pages, len(everything.rows), len(second.rows)) == (54, 2, 50, 4)
    assert everything.rows[0]["business"] == "Sparks"  # newest first
    (row,) = sparks_only.rows
    assert (row["business"], row["outcome"], row["cost"], row["status"], row["duration"]) == (
        "Sparks",
        "voicemail",
        "$12.34",
        "completed",
        "1:35",
    )
    assert row["number"] == "+1•••••••2299"
    assert [(r["outcome"], r["cost"]) for r in plumbers_last_month.rows] == [("declined", "$0.01")]
    with pytest.raises(UserError) as bad_month:
        admin_ops.calls_log(session, admin, month="March")
    assert bad_month.value.field == "month"


# --- audit trail ----------------------------------------------------------------------------------


def test_audit_trail_filters(db_session: Session, admin: User) -> None:
    session = db_session
    other = make_user(session, "admin", "Second.Admin@Example.com")
    now = datetime.now(UTC)
    old = now - timedelta(days=10)
    session.add_all(
        [
            AuditEvent(
                actor_id=admin.id,
                action="dnc.add",
                target_type="do_not_call",
                target_id="1",
                after={"phone": "+1•••••••2200"},
                created_at=old,
            ),
            AuditEvent(
                actor_id=other.id,
                action="dnc.remove",
                target_type="do_not_call",
                target_id="1",
                before={"phone": "+1•••••••2200", "reason": "asked"},
                created_at=now,
            ),
            AuditEvent(actor_id=admin.id, action="dncx.other", target_type="x", created_at=now),
            AuditEvent(
                actor_id=other.id,
                action="notification.retry",
                target_type="notifications",
                target_id="7",
                before={"status": "failed"},
                after={"status": "pending"},
                created_at=now,
            ),
            AuditEvent(actor_id=None, action="rules.update", target_type="platform_rules", created_at=now),
        ]
    )
    session.commit()

    def actions(**filters: Any) -> list[str]:
        return [row["action"] for row in admin_ops.audit_trail(session, admin, **filters).rows]

    assert actions() == ["rules.update", "notification.retry", "dncx.other", "dnc.remove", "dnc.add"]
    assert actions(action="dnc") == ["dnc.remove", "dnc.add"]
    assert actions(action="dnc.") == ["dnc.remove", "dnc.add"]
    assert actions(action="dnc.add") == ["dnc.add"]
    assert actions(action="%") == []  # LIKE wildcards are matched literally
    assert actions(actor_email="second.admin") == ["notification.retry", "dnc.remove"]
    assert actions(actor_email="SECOND", action="dnc") == ["dnc.remove"]
    assert actions(target_type="notifications") == ["notification.retry"]
    assert actions(since=(now - timedelta(days=1)).date().isoformat()) == [
        "rules.update",
        "notification.retry",
        "dncx.other",
        "dnc.remove",
    ]
    assert actions(since=old - timedelta(seconds=1), action="dnc") == ["dnc.remove", "dnc.add"]

    rows = {row["action"]: row for row in admin_ops.audit_trail(session, admin).rows}
    retry = rows["notification.retry"]
    assert (retry["actor"], retry["target_type"], retry["target_id"]) == (
        "Second.Admin@Example.com",
        "notifications",
        "7",
    )
    assert retry["before"] == '{\n  "status": "failed"\n}'
    assert retry["after"] == '{\n  "status": "pending"\n}'
    assert rows["rules.update"]["actor"] == "system" and rows["rules.update"]["before"] == ""
    assert admin_ops.audit_actions(session, admin) == [
        "dnc.add",
        "dnc.remove",
        "dncx.other",
        "notification.retry",
        "rules.update",
    ]
    with pytest.raises(UserError) as bad_date:
        admin_ops.audit_trail(session, admin, since="yesterday")
    assert bad_date.value.field == "since"


def test_audit_trail_pages(db_session: Session, admin: User) -> None:
    start = datetime.now(UTC) - timedelta(hours=1)
    db_session.add_all(
        [
            AuditEvent(actor_id=admin.id, action="dnc.add", target_id=str(i), created_at=start + timedelta(seconds=i))
            for i in range(51)
        ]
    )
    db_session.commit()

    first = admin_ops.audit_trail(db_session, admin)
    second = admin_ops.audit_trail(db_session, admin, page=2)

    assert (first.total, first.pages, len(first.rows), len(second.rows)) == (51, 2, 50, 1)
    assert first.rows[0]["target_id"] == "50" and second.rows[0]["target_id"] == "0"


# --- notification outbox --------------------------------------------------------------------------


@pytest.fixture
def outbox_env(db_session: Session, own_redis: RedisProcess, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    """No provider configured (the local outbox sends), and a Redis of this test's own for RQ."""
    for name in PROVIDER_VARIABLES:
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("REDIS_URL", own_redis.url)
    clear_app_caches()
    yield db_session
    clear_app_caches()


def make_notification(session: Session, key: str, channel: str = "email", status: str = "pending") -> int:
    row = factories.notification(
        session,
        "office@smith.example" if channel == "email" else "+13178462200",
        channel=channel,
        subject="New lead" if channel == "email" else "",
        text=f"Lead {key}: a leaking water heater.",
        html='<p>Lead <b>ok</b></p><script>alert("x")</script><img src="https://tracker.example/p.gif">'
        if channel == "email"
        else "",
        dedupe_key=f"test:{key}",
    )
    session.commit()
    assert row.id is not None
    if status != "pending":
        session.exec(
            update(Notification)
            .where(col(Notification.id) == row.id)
            .values(status=status, attempts=5, last_error="sendgrid: HTTP 503: try later")
        )
        session.commit()
    return row.id


def test_outbox_lists_filters_and_shows_the_rendered_message(db_session: Session, admin: User) -> None:
    sent = make_notification(db_session, "a", status="sent")
    failed = make_notification(db_session, "b", status="failed")
    sms = make_notification(db_session, "c", channel="sms")

    everything = admin_ops.list_notifications(db_session, admin)
    failed_only = admin_ops.list_notifications(db_session, admin, status="failed")
    sms_only = admin_ops.list_notifications(db_session, admin, channel="sms")

    assert [int(r["id"]) for r in everything.rows] == [sms, failed, sent]
    (row,) = failed_only.rows
    assert (row["id"], row["status"], row["attempts"], row["retryable"]) == (str(failed), "failed", "5", "yes")
    assert row["last_error"] == "sendgrid: HTTP 503: try later"
    assert [(r["id"], r["subject"], r["retryable"]) for r in sms_only.rows] == [
        (str(sms), "Lead c: a leaking water heater.", "")
    ]
    assert admin_ops.list_notifications(db_session, admin, status="sent", channel="sms").total == 0
    with pytest.raises(UserError):
        admin_ops.list_notifications(db_session, admin, status="lost")
    with pytest.raises(UserError):
        admin_ops.list_notifications(db_session, admin, channel="fax")

    detail = admin_ops.notification_detail(db_session, admin, failed)
    assert (detail["subject"], detail["text"]) == ("New lead", "Lead b: a leaking water heater.")
    assert detail["html"].startswith("<p>Lead <b>ok</b></p>")
    document = detail["html_document"]
    assert "Content-Security-Policy" in document and "default-src 'none'" in document
    assert detail["html"] in document
    assert admin_ops.notification_detail(db_session, admin, sms)["html_document"] == ""
    with pytest.raises(NotFound):
        admin_ops.notification_detail(db_session, admin, 999_999)


def test_a_failed_notification_is_retried_end_to_end(outbox_env: Session, admin: User) -> None:
    session = outbox_env
    get_redis().ping()
    failed = make_notification(session, "retry", status="failed")
    (row,) = admin_ops.list_notifications(session, admin, status="failed").rows
    assert row["retryable"] == "yes"

    notify.retry_notification(session, admin, int(row["id"]))
    assert admin_ops.list_notifications(session, admin, status="pending").rows[0]["id"] == str(failed)
    worker_redis = redis.Redis.from_url(get_settings().redis_url)
    try:
        SimpleWorker([Queue(NOTIFICATIONS, connection=worker_redis)], connection=worker_redis).work(
            burst=True, with_scheduler=False, logging_level="WARNING"
        )
    finally:
        worker_redis.close()

    session.commit()
    (done,) = admin_ops.list_notifications(session, admin, status="sent").rows
    assert (done["id"], done["attempts"], done["provider"], done["last_error"]) == (str(failed), "6", "outbox", "")
    assert done["provider_id"].startswith("outbox-")
    (event,) = admin_ops.audit_trail(session, admin, action="notification").rows
    assert (event["action"], event["actor"], event["target_id"]) == ("notification.retry", admin.email, str(failed))
    assert '"status": "failed"' in event["before"] and '"status": "pending"' in event["after"]
    assert get_redis().connection_pool.connection_kwargs["socket_timeout"] == 5
