"""Secrets at rest, attacked: an admin reading the outbox tries to take over an account (or a consumer's request)
with the links it holds; someone with a copy of the database looks for consumers' phone numbers and emails in
the outbox and the guided interviews; abandoned interviews must not linger.

Each runs on PostgreSQL as the application role (row-level security on) and on SQLite.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from leadapp.core import rls
from leadapp.core.db import get_engine, session_scope
from leadapp.core.models import InterviewSession, Lead, Notification, User, utcnow
from leadapp.core.seed import seed_demo
from leadapp.core.services import access, accounts, admin_ops, admin_users, interview, notify, portal
from leadapp.core.services.intake import Submission, submit
from leadapp.core.services.pipeline import process_lead
from tests.conftest import clear_app_caches, deployment_env, use_env
from tests.fakes.smtp_server import FakeSmtp, fake_smtp

PASSWORD = "a long enough password"
smtp = fake_smtp  # the fakes' SMTP server, under the name these tests ask for


@pytest.fixture(params=["postgres", "sqlite"])
def env(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, private_redis_url: str, smtp: FakeSmtp
) -> Iterator[str]:
    """A deployment's settings on a walled PostgreSQL database or SQLite; email goes to a real SMTP server."""
    db = request.getfixturevalue("walled_db" if request.param == "postgres" else "sqlite_url")
    env = deployment_env(
        private_redis_url,
        APP_URL="https://leads.example.test",
        SMTP_HOST=smtp.host,
        SMTP_PORT=str(smtp.port),
        SMTP_USE_TLS="false",  # the local SMTP server speaks plain SMTP on loopback
    )
    use_env(monkeypatch, env)
    yield db if isinstance(db, str) else db.admin_url  # the URL a thief with a dump reads (past any wall)
    clear_app_caches()


def _admin_sees(session: Session, admin: User) -> str:
    """Everything the admin outbox shows: every row of the list and every row's detail."""
    access.enter(session, admin)
    rows = admin_ops.list_notifications(session, admin).rows
    details = [admin_ops.notification_detail(session, admin, int(r["id"])) for r in rows]
    return json.dumps([rows, details])


def test_an_admin_reading_the_outbox_cannot_get_a_working_reset_link(env: str, smtp: FakeSmtp):
    with rls.system_context("test: seed"), session_scope() as s:
        admin = accounts.ensure_admin(s, "admin@example.com", PASSWORD)
        victim = accounts.register(s, "victim@example.com", PASSWORD, "consumer")
        admin_id, victim_id = admin.id, victim.id
    with Session(get_engine(), expire_on_commit=False) as s:
        admin = s.get(User, admin_id)
        access.enter(s, admin)
        note = admin_users.send_password_reset(s, admin, victim_id)
    with rls.system_context("test: the worker sends it"):
        assert notify.send_notification(note.id) == "sent"
    with Session(get_engine(), expire_on_commit=False) as s:
        seen = _admin_sees(s, s.get(User, admin_id))
        assert "victim@example.com" in seen and "/reset-password/" in seen  # the admin does see the message
        for candidate in re.findall(r"/reset-password/([^\s\"'<>\\]+)", seen):
            assert admin_users.reset_token_problem(s, candidate), f"a working reset token in the outbox: {candidate}"
    # The victim, and only the victim, got the working link.
    (mail,) = smtp.messages
    body = mail.message.get_body(preferencelist=("plain",)).get_content()
    token = re.search(r"/reset-password/([A-Za-z0-9_-]+)", body).group(1)
    assert token not in seen
    with session_scope(rls.ANONYMOUS_CONTEXT) as s:
        assert admin_users.reset_token_problem(s, token) == ""
        admin_users.reset_password(s, token, "a brand new long password")
    with session_scope(rls.ANONYMOUS_CONTEXT) as s:
        user, _ = accounts.login(s, "victim@example.com", "a brand new long password")
        assert user.id == victim_id


def _consumer_lead(phone: str, email: str) -> int:
    """A request from the public form (anonymous), then the pipeline (the worker): business and consumer mail."""
    with rls.system_context("test: seed"), session_scope() as s:
        seed_demo(s, PASSWORD)
    with Session(get_engine(), expire_on_commit=False) as s:
        access.enter(s, None)
        accepted = submit(
            s,
            Submission(
                text="My water heater is leaking all over the garage floor, need a plumber today, budget $500",
                zip="46032",
                phone=phone,
                email=email,
                preferred_contact="sms",
                client_ip="",
            ),
        )
    with rls.system_context("test: the worker"):
        assert process_lead(accepted.lead_id) == "matched"
    return accepted.lead_id


def test_an_admin_reading_the_outbox_cannot_follow_or_withdraw_a_consumers_request(env: str, smtp: FakeSmtp):
    lead_id = _consumer_lead("(317) 846-2233", "consumer-q9@example.com")
    with Session(get_engine(), expire_on_commit=False) as s:
        admin = s.exec(select(User).where(User.role == "admin")).first()
        seen = _admin_sees(s, admin)
        assert "consumer-q9@example.com" in seen and "/portal/track/" in seen
        for candidate in re.findall(r"/portal/track/([^\s\"'<>\\]+)", seen):
            assert portal.lead_for_magic_token(s, candidate) is None, candidate
            with pytest.raises(Exception, match=r"invalid|expired"):
                portal.withdraw_request(s, portal.MagicGrant(candidate), lead_id)
    # The consumer's own email holds the working link.
    mails = [m for m in smtp.messages if "consumer-q9@example.com" in m.rcpt_tos]
    assert mails, [m.rcpt_tos for m in smtp.messages]
    body = mails[0].message.get_body(preferencelist=("plain",)).get_content()
    token = re.search(r"/portal/track/([A-Za-z0-9_.-]+)", body).group(1)
    with session_scope() as s:
        lead = portal.lead_for_magic_token(s, token)
        assert lead is not None and lead.id == lead_id


PHONE, EMAIL = "(317) 846-2233", "dump-q9@example.com"
PHONE_FORMS = ("+13178462233", "3178462233", "317) 846-2233", "846-2233")


def _dump(url: str) -> dict[str, str]:
    """What a thief with a copy of the database reads, per table: `pg_dump`, or SQLite's rows as stored."""
    tables = ("notifications", "interview_sessions")
    if url.startswith("sqlite"):
        with sqlite3.connect(url.split("///", 1)[1]) as conn:
            return {t: repr(conn.execute(f"SELECT * FROM {t}").fetchall()) for t in tables}
    plain = url.replace("+psycopg", "")
    return {
        t: subprocess.run(
            ["pg_dump", "--data-only", "--table", t, plain], check=True, capture_output=True, text=True, timeout=60
        ).stdout
        for t in tables
    }


def test_a_database_dump_holds_no_plaintext_phone_or_email(env: str):
    lead_id = _consumer_lead(PHONE, EMAIL)
    with Session(get_engine(), expire_on_commit=False) as s:
        access.enter(s, None)
        token, _ = interview.start(s, None)
        s.commit()
        interview.reply(s, token, None, "The upstairs toilet keeps running and the tank fills up constantly")
        interview.reply(s, token, None, f"You can reach me at {EMAIL} or {PHONE}")
        s.commit()
    with rls.system_context("test: look"), session_scope() as s:
        sent_to = {n.recipient for n in s.exec(select(Notification).where(Notification.lead_id == lead_id))}
        assert {EMAIL, "+13178462233"} <= sent_to  # the app reads them back
        answers = json.dumps([row.messages for row in s.exec(select(InterviewSession))])
        assert EMAIL in answers
    dump = _dump(env)
    assert "INSERT" in dump["notifications"] or "COPY" in dump["notifications"] or "[(" in dump["notifications"]
    for table, content in dump.items():
        assert EMAIL not in content, f"{table} holds the email in plaintext"
        for form in PHONE_FORMS:
            assert form not in content, f"{table} holds the phone number in plaintext ({form})"
        assert "/portal/track/" not in content and "reset-password" not in content


def test_abandoned_interviews_are_purged_by_the_hourly_job(env: str):
    from worker import jobs, schedule

    with Session(get_engine(), expire_on_commit=False) as s:
        access.enter(s, None)
        tokens = [interview.start(s, None)[0] for _ in range(3)]
        s.commit()
    ids = [int(t.split(".")[0]) for t in tokens]
    with rls.system_context("test: age two of them"), session_scope() as s:
        old = utcnow() - timedelta(hours=25)
        age = text("UPDATE interview_sessions SET updated_at = :t WHERE id IN (:a, :b)")
        s.execute(age, {"t": old, "a": ids[0], "b": ids[1]})
        s.execute(text("UPDATE interview_sessions SET status = 'submitted' WHERE id = :a"), {"a": ids[1]})
    with rls.system_context("job worker.jobs.purge_abandoned_interviews"):
        assert jobs.purge_abandoned_interviews() == 2
        assert jobs.purge_abandoned_interviews() == 0  # safe twice
    with rls.system_context("test: look"), session_scope() as s:
        assert [row.id for row in s.exec(select(InterviewSession))] == [ids[2]]
    with Session(get_engine(), expire_on_commit=False) as s:  # the fresh one still works for its browser
        access.enter(s, None)
        assert interview.load(s, tokens[2], None).messages
    registered: list[tuple[object, dict]] = []

    class Recorder:
        def register(self, func, queue, **options):
            registered.append((func, options))

    schedule.register(Recorder())  # type: ignore[arg-type]
    assert (jobs.purge_abandoned_interviews, {"interval": 3600, "ttl": 3600}) in registered


def test_lead_contact_columns_stay_readable_to_whom_they_belong(env: str):
    """The encrypted columns read back whole through the app (the positive side of the dump test)."""
    lead_id = _consumer_lead(PHONE, EMAIL)
    with rls.system_context("test: look"), session_scope() as s:
        lead = s.get(Lead, lead_id)
        notes = s.exec(select(Notification).where(Notification.lead_id == lead_id)).all()
        assert lead is not None and any(n.body_text and n.recipient for n in notes)
        assert all("gAAAA" not in n.body_text for n in notes)
