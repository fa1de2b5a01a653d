"""Row-level security, the second wall, attacked from below the application.

The access matrix (`tests/integration/test_access_handlers.py`, `test_access_matrix.py`) shows every handler and
service refusing the other side's data on PostgreSQL with row-level security on, and again with the application's
row checks switched off. Here: the wall covers every tenant table (and fails the build when a new one is left
out), a transaction nobody entered sees nothing, a tenant's own SQL cannot read or write another's rows, the
application's role cannot take the wall down, and the programs that act for the platform (worker jobs, bridge
requests, the CLI) do so under an explicit system context, which every other door may use only in the narrow,
reviewed steps listed in `SYSTEM_STEPS`.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from rq import Queue
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, SQLModel, select

from leadapp.core import db_roles, rls
from leadapp.core.broker import get_redis
from leadapp.core.db import get_engine, session_scope
from leadapp.core.models import Business, Call, Lead, Match, Notification, TranscriptLine, User, utcnow
from leadapp.core.services import access, accounts
from leadapp.core.services.intake import Submission, submit
from leadapp.core.settings import ROOT
from leadapp.core.tasks import ALL_QUEUES
from tests.conftest import WalledDatabase, clear_app_caches, dispose_engine

pytestmark = pytest.mark.postgres

# Every place outside tests where code runs as the system, and why. A new one fails
# `test_every_system_context_is_listed` until it is reviewed and added here.
SYSTEM_STEPS: dict[tuple[str, str], str] = {
    ("worker/pool.py", "job "): "every RQ job: the worker acts for the platform (logged with the job's name)",
    ("voice_bridge/app.py", "voice bridge "): "every bridge request: Twilio's signed webhooks and media streams "
    "(a recording link enters its viewer's own context instead)",
    ("alembic/env.py", "migrations"): "migrations run as the owner, on whom row-level security is forced too",
    ("leadapp/cli.py", "cli: seed the demo data"): "an operator's command",
    ("leadapp/cli.py", "cli: create an admin"): "an operator's command",
    ("leadapp/core/services/intake.py", "intake: the lead an Idempotency-Key made"): "returns only the id and "
    "status of the lead the caller's own key made (an anonymous caller cannot otherwise see it)",
    ("leadapp/core/services/calls/rules.py", "calls: the daily cap of calls to one number"): "a count of "
    "calls to one number (keyed hash) over every tenant: the cap protects the person called, whoever asked",
    ("leadapp/core/services/inbound.py", "phone line: the numbers other businesses use"): "which of some phone "
    "numbers are taken (they are unique across businesses), nothing else of the other businesses",
    ("leadapp/core/services/account_links.py", "accounts: a self-serve reset link emailed"): "a visitor who is "
    "nobody yet asks for a reset link: the email to the account's own address is queued (its id is read back, "
    "the visitor is shown the same answer whether or not the account exists)",
    ("leadapp/core/services/contact.py", "contact form: queue the admins' emails"): "a visitor's message queued "
    "to each admin (rows addressed to them); only their ids are read back",
    ("leadapp/core/services/daily_caps.py", "daily caps: count the AI calls of the last 24 hours"): "a count of "
    "every tenant's AI calls (all, or one business's): the daily caps hold whoever asked",
    ("leadapp/core/services/daily_caps.py", "daily caps: count the text messages of the last 24 hours"): "a count "
    "of every tenant's text messages (all, or one business's): the daily caps hold whoever asked",
    ("leadapp/core/services/interview.py", "interview phone code: queue the visitor's text message"): "the code's "
    "text to the number the visitor's own interview holds (its ownership checked first); nothing is read back",
    ("leadapp/core/services/webhooks/service.py", "webhooks: record a partner's lead event"): "the business or "
    "consumer whose action changed a lead's status adds the one delivery row for the partner whose key made the "
    "lead (a platform-only table); only the new row's id, and whether one existed, are read back",
    ("leadapp/core/services/reviews/service.py", "reviews: a business's verified rating from its visible reviews"): (
        "the consumer who just reviewed (or the admin who hid a review) stores the count and sum of stars of one "
        "business's visible reviews on that business, which the consumer may not write; nothing is read back"
    ),
    ("leadapp/core/services/pros.py", "pros: a business's public page and its visible reviews"): "anyone may "
    "open a listed (verified, active) business's page: the step returns only its public profile fields (never an "
    "address, phone, email or owner), its visible reviews (hidden ones are filtered in the query) and each "
    "reviewer's first name and last initial",
    ("leadapp/core/services/messages/inbound.py", "messages: a verified email reply"): "SendGrid's Inbound Parse "
    "post, verified by the secret in its path; the thread and side come only from the signed reply address, and "
    "only whether the reply was stored (and its id) is answered",
    ("leadapp/core/services/messages/inbound.py", "messages: a signed text reply"): "Twilio's signed text (the "
    "bridge already runs as the system): the sender's open threads are looked up by the number's keyed hash; "
    "nothing is answered but whether the reply landed",
    ("leadapp/core/services/webhooks/service.py", "api: the status of a lead the presenting key created"): "the "
    "API's caller is anonymous; the key is its credential and the WHERE clause returns only a lead that key "
    "created (anything else is the same 404)",
}
_SYSTEM_CALL = re.compile(r"\b(?:as_system|system_context|rls\.system)\(\s*(?:session,\s*)?f?\"([^\"{]*)")


# --- coverage ---------------------------------------------------------------------------------------


def test_every_table_with_a_tenant_column_is_walled_or_exempt():
    """Adding a table with a consumer, business, lead, call or user column fails here until it is given a policy
    kind in `rls.TENANT_TABLES` (one line) or an exemption with its reason in `rls.EXEMPT_TABLES`."""
    import leadapp.core.models  # noqa: F401  (registers every table)

    tables = SQLModel.metadata.tables
    tenant = {name for name, table in tables.items() if {c.name for c in table.columns} & rls.TENANT_COLUMNS}
    unwalled = tenant - set(rls.TENANT_TABLES) - set(rls.EXEMPT_TABLES)
    assert not unwalled, f"tables with a tenant column but no row-level security policy: {sorted(unwalled)}"
    assert not set(rls.TENANT_TABLES) & set(rls.EXEMPT_TABLES)
    assert set(rls.TENANT_TABLES) <= set(tables), "a policy for a table that does not exist"
    assert all(len(reason) > 40 for reason in rls.EXEMPT_TABLES.values()), "say why a table is exempt"


def test_every_system_context_is_listed():
    found: set[tuple[str, str]] = set()
    for folder in ("leadapp", "worker", "voice_bridge", "alembic"):
        for path in (ROOT / folder).rglob("*.py"):
            relative = str(path.relative_to(ROOT))
            if relative in ("leadapp/core/rls.py", "leadapp/core/services/access.py"):
                continue  # where the system context is defined
            for reason in _SYSTEM_CALL.findall(path.read_text()):
                found.add((relative, reason))
    assert found == set(SYSTEM_STEPS), (
        f"unlisted: {sorted(found - set(SYSTEM_STEPS))}; gone: {sorted(set(SYSTEM_STEPS) - found)}"
    )


# --- the migrated database ----------------------------------------------------------------------------


def _admin(db: WalledDatabase):
    return psycopg.connect(db.admin_url.replace("+psycopg", ""), autocommit=True)


def test_every_tenant_table_has_row_level_security_enabled_forced_and_its_policies(walled_db: WalledDatabase):
    with _admin(walled_db) as conn:
        flags = dict(
            (name, (enabled, forced))
            for name, enabled, forced in conn.execute(
                "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'"
            )
        )
        policies = {(t, p) for t, p in conn.execute("SELECT tablename, policyname FROM pg_policies")}
    for table in rls.TENANT_TABLES:
        assert flags[table] == (True, True), table
        assert {p for t, p in policies if t == table} == set(rls.TENANT_TABLES[table].names()), table
    assert {t for t, (enabled, _) in flags.items() if enabled} == set(rls.TENANT_TABLES)


def test_the_application_role_owns_nothing_and_cannot_take_the_wall_down(walled_db: WalledDatabase):
    assert db_roles.app_role_problems(walled_db.app_url) == []
    engine = create_engine(walled_db.app_url)
    try:
        for attack in (
            "ALTER TABLE leads DISABLE ROW LEVEL SECURITY",
            "ALTER TABLE leads NO FORCE ROW LEVEL SECURITY",
            "DROP POLICY tenant ON leads",
            "ALTER ROLE CURRENT_USER BYPASSRLS",
        ):
            refused = r"must be owner|must be superuser|permission denied"
            with engine.connect() as conn, pytest.raises(DBAPIError, match=refused):
                conn.execute(text(attack))
        # Switching row security off makes a walled query fail rather than show every row.
        with engine.connect() as conn:
            conn.execute(text("SET row_security = off"))
            with pytest.raises(DBAPIError, match="row-level security"):
                conn.execute(text("SELECT count(*) FROM leads")).scalar()
    finally:
        engine.dispose()
    # The superuser, by contrast, is not walled: which is why the programs never connect as one.
    assert db_roles.app_role_problems(walled_db.admin_url) != []


# --- a seeded world, looked at from below -------------------------------------------------------------


@pytest.fixture
def seeded(walled_db: WalledDatabase, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """Two consumers, two businesses, a lead of each consumer matched to one business, a call with a transcript
    line and a notification per side; seeded as the system (the worker's way)."""
    monkeypatch.setenv("SECRET_KEY", secrets.token_hex(16))
    monkeypatch.setenv("PASSWORD_HASH_MEMORY_KIB", "1024")
    monkeypatch.setenv("PASSWORD_HASH_TIME_COST", "1")
    clear_app_caches()
    ids: dict[str, int] = {}
    with rls.system_context("test: seed"), session_scope() as s:
        for side, zip_code in (("a", "46032"), ("b", "10001")):
            consumer = accounts.register(s, f"consumer-{side}@example.com", "a long enough password", "consumer")
            owner = accounts.register(s, f"owner-{side}@example.com", "a long enough password", "business_owner")
            business = Business(
                verified_at=utcnow(),
                owner_id=owner.id,
                name=f"Biz {side}",
                zip=zip_code,
                notify_email=f"n-{side}@x.test",
            )
            s.add(business)
            s.flush()
            lead = Lead(consumer_id=consumer.id, raw_text=f"text {side}", zip=zip_code, contact_email=f"{side}@x.test")
            s.add(lead)
            s.flush()
            match = Match(lead_id=lead.id, business_id=business.id, score=80)
            call = Call(lead_id=lead.id, business_id=business.id, summary=f"call {side}")
            s.add_all([match, call])
            s.flush()
            s.add(TranscriptLine(call_id=call.id, seq=1, speaker="agent", text=f"hello {side}"))
            s.add(
                Notification(
                    kind="business_new_lead",
                    channel="email",
                    recipient=f"n-{side}@x.test",
                    dedupe_key=f"k-{side}",
                    lead_id=lead.id,
                    business_id=business.id,
                )
            )
            s.flush()
            ids.update(
                {
                    f"consumer_{side}": consumer.id,
                    f"owner_{side}": owner.id,
                    f"business_{side}": business.id,
                    f"lead_{side}": lead.id,
                    f"match_{side}": match.id,
                    f"call_{side}": call.id,
                }
            )
    yield ids


WALLED = (Lead, Match, Call, TranscriptLine, Notification, Business)


def _visible(s: Session) -> dict[str, int]:
    return {model.__tablename__: len(s.exec(select(model)).all()) for model in WALLED}  # type: ignore[attr-defined]


def test_a_transaction_nobody_entered_sees_no_tenant_row(seeded: dict[str, int]):
    with Session(get_engine()) as s:
        assert set(_visible(s).values()) == {0}
        access.enter(s, None)  # an anonymous visitor: no better
        assert set(_visible(s).values()) == {0}
    with rls.system_context("test: look"), Session(get_engine()) as s:
        assert set(_visible(s).values()) == {2}


def test_each_tenant_sees_only_its_side(seeded: dict[str, int]):
    with Session(get_engine()) as s:
        access.enter(s, s.get(User, seeded["consumer_a"]))
        assert {lead.id for lead in s.exec(select(Lead))} == {seeded["lead_a"]}
        assert {m.id for m in s.exec(select(Match))} == {seeded["match_a"]}
        assert {b.id for b in s.exec(select(Business))} == {seeded["business_a"]}  # the one it was matched to
        access.enter(s, s.get(User, seeded["owner_b"]))
        assert {lead.id for lead in s.exec(select(Lead))} == {seeded["lead_b"]}
        assert {c.id for c in s.exec(select(Call))} == {seeded["call_b"]}
        assert [t.text for t in s.exec(select(TranscriptLine))] == ["hello b"]
        assert [n.recipient for n in s.exec(select(Notification))] == ["n-b@x.test"]
        access.allow_leads(s, [seeded["lead_a"]])  # a link to lead a (verified by the caller) reaches lead a too
        assert {lead.id for lead in s.exec(select(Lead))} == {seeded["lead_a"], seeded["lead_b"]}


def test_a_tenant_cannot_write_another_tenants_rows_even_with_its_own_sql(seeded: dict[str, int]):
    with Session(get_engine()) as s:
        access.enter(s, s.get(User, seeded["owner_b"]))
        # Updates and deletes of the other side's rows touch nothing.
        steal = text("UPDATE leads SET raw_text = 'mine' WHERE id = :i")
        assert s.execute(steal, {"i": seeded["lead_a"]}).rowcount == 0
        assert s.execute(text("DELETE FROM matches WHERE id = :i"), {"i": seeded["match_a"]}).rowcount == 0
        assert (
            s.execute(text("UPDATE businesses SET name = 'x' WHERE id = :i"), {"i": seeded["business_a"]}).rowcount == 0
        )
        # Moving its own row to the other side is refused by the policy's check.
        with pytest.raises(DBAPIError, match="row-level security"):
            s.execute(
                text("UPDATE matches SET business_id = :other WHERE id = :i"),
                {"other": seeded["business_a"], "i": seeded["match_b"]},
            )
        s.rollback()
        access.enter(s, s.get(User, seeded["consumer_b"]))
        # A consumer cannot file a request into another consumer's portal.
        with pytest.raises(DBAPIError, match="row-level security"):
            s.add(Lead(consumer_id=seeded["consumer_a"], raw_text="not mine", zip="46032"))
            s.flush()
        s.rollback()
    with rls.system_context("test: look"), Session(get_engine()) as s:
        assert s.get(Lead, seeded["lead_a"]).raw_text == "text a"
        assert s.get(Match, seeded["match_a"]) is not None


def test_an_anonymous_visitor_reaches_only_the_request_it_submits(
    seeded: dict[str, int], private_redis_url: str, monkeypatch: pytest.MonkeyPatch
):
    """Through intake, as the public form and API do: the new lead is the visitor's to follow, nothing else; the
    same Idempotency-Key again (a new request, no link held) answers with the lead's id and still shows nothing."""
    monkeypatch.setenv("REDIS_URL", private_redis_url)
    monkeypatch.setenv("REDIS_PREFIX", f"test-{secrets.token_hex(4)}")
    clear_app_caches()
    sub = Submission(
        text="The kitchen sink drain is completely blocked and water backs up into the other sink",
        zip="46032",
        email="visitor@example.com",
        idempotency_key="visitor-key-1",
        client_ip="",
    )
    with Session(get_engine(), expire_on_commit=False) as s:
        access.enter(s, None)
        accepted = submit(s, sub)
        assert accepted.created
        assert {lead.id for lead in s.exec(select(Lead))} == {accepted.lead_id}
    with Session(get_engine(), expire_on_commit=False) as s:
        access.enter(s, None)
        again = submit(s, sub)
        assert (again.lead_id, again.created) == (accepted.lead_id, False)
        assert s.exec(select(Lead)).all() == []


# --- the programs that act for the platform ----------------------------------------------------------


def test_a_worker_job_runs_as_the_system_and_the_same_code_outside_it_sees_nothing(
    seeded: dict[str, int], private_redis_url: str, monkeypatch: pytest.MonkeyPatch
):
    from leadapp.core.services import pipeline
    from worker.pool import LeadWorker

    monkeypatch.setenv("REDIS_URL", private_redis_url)
    monkeypatch.setenv("REDIS_PREFIX", f"test-{secrets.token_hex(4)}")
    clear_app_caches()
    lead_id = seeded["lead_a"]
    with rls.system_context("test: put the lead back"), session_scope() as s:
        s.execute(text("DELETE FROM matches WHERE lead_id = :i"), {"i": lead_id})
        s.execute(text("UPDATE leads SET status = 'received' WHERE id = :i"), {"i": lead_id})
    # Outside a worker, nobody entered: the job's code cannot even find its lead.
    assert pipeline.process_lead(lead_id) == "missing"
    name = f"pipeline-{secrets.token_hex(3)}"
    q = Queue(name, connection=get_redis())
    job = q.enqueue("worker.jobs.process_lead", lead_id)
    try:
        LeadWorker([q], connection=get_redis()).work(burst=True, with_scheduler=False)
        job.refresh()
        assert job.get_status() == "finished", job.latest_result()
        assert job.return_value() in ("matched", "no_match", "flagged", "low_quality")
    finally:
        q.delete(delete_jobs=True)
    with rls.system_context("test: look"), session_scope() as s:
        assert s.get(Lead, lead_id).status != "received"
    assert ALL_QUEUES  # the real queues are left alone


async def test_the_bridge_serves_every_request_as_the_system():
    from voice_bridge.app import SystemContext

    seen: list[rls.DbContext | None] = []

    async def app(scope, receive, send):
        seen.append(rls.ambient())

    wrapped = SystemContext(app)
    await wrapped({"type": "http", "path": "/recordings/secret-token-value"}, None, None)
    await wrapped({"type": "websocket", "path": "/media"}, None, None)
    await wrapped({"type": "lifespan"}, None, None)
    assert [c.role if c else None for c in seen] == ["system", "system", None]
    assert seen[0].reason == "voice bridge http /recordings"  # the token stays out of the logs
    assert rls.ambient() is None


# --- the launcher makes the two roles ------------------------------------------------------------------


def test_the_launcher_runs_migrations_as_the_owner_and_the_programs_as_a_walled_role(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    from sqlalchemy.engine import make_url

    from leadapp import cli, launch

    monkeypatch.setenv("DATABASE_URL", pg_url)
    monkeypatch.delenv("DATABASE_OWNER_URL", raising=False)
    monkeypatch.setenv("SECRET_KEY", secrets.token_hex(16))
    clear_app_caches()
    env: dict[str, str] = {}
    assert launch._database_roles(env) == 0
    assert launch._database_roles({}) == 0  # every `make run` does it again: idempotent
    owner, app = db_roles.role_names(make_url(pg_url).database)
    try:
        assert make_url(env["DATABASE_URL"]).username == app
        assert make_url(env["DATABASE_OWNER_URL"]).username == owner
        monkeypatch.setenv("DATABASE_URL", env["DATABASE_URL"])
        monkeypatch.setenv("DATABASE_OWNER_URL", env["DATABASE_OWNER_URL"])
        clear_app_caches()
        cli.migrate()  # as the owner, then the grants
        assert db_roles.app_role_problems(env["DATABASE_URL"]) == []
        with rls.system_context("test: the app role works"), session_scope() as s:
            user = accounts.register(s, "x@example.com", "a long enough password", "business_owner")
            access.enter(s, user)
            s.add(Business(verified_at=utcnow(), owner_id=user.id, name="Mine", zip="46032"))
        with Session(get_engine()) as s:
            assert s.exec(select(Business)).all() == []  # nobody entered
            with pytest.raises(DBAPIError, match="permission denied"):
                s.execute(text("DELETE FROM alembic_version"))
        # Given the walled role, the launcher checks it and starts.
        assert launch._database_roles({}) == 0
    finally:
        for url in (env.get("DATABASE_URL", ""), env.get("DATABASE_OWNER_URL", "")):
            if url:
                dispose_engine(url)
        clear_app_caches()
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            database = make_url(pg_url).database
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            for role in (app, owner):
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_the_daily_cap_per_number_counts_every_tenants_calls(seeded: dict[str, int]):
    """The one count a business's context takes over other tenants' rows (a listed system step): three calls to a
    number by business a today stop business b from asking for a fourth, though b cannot see a's calls."""
    from leadapp.core import crypto
    from leadapp.core.services import calls

    number = crypto.phone_hash("+13178462277")
    with rls.system_context("test: three calls by business a"), session_scope() as s:
        for _ in range(3):
            s.add(Call(lead_id=seeded["lead_a"], business_id=seeded["business_a"], to_number_hash=number))
    with Session(get_engine()) as s:
        access.enter(s, s.get(User, seeded["owner_b"]))
        assert [c.business_id for c in s.exec(select(Call))] == [seeded["business_b"]]
        assert calls.attempts_today(s, number) == 3
        assert calls.attempts_today_by_number(s, [number]) == {number: 3}
        assert [c.business_id for c in s.exec(select(Call))] == [seeded["business_b"]]  # back to its own context


def test_every_policy_kind_compiles_on_postgresql(walled_db: WalledDatabase):
    """The kinds no table uses yet (for the next tenant table) are valid SQL too: tried on a scratch table."""
    kinds = [rls.by_lead(), rls.by_business(), rls.by_user(), rls.by_call(), *rls.TENANT_TABLES.values()]
    with _admin(walled_db) as conn:
        conn.execute(
            "CREATE TABLE scratch (id serial PRIMARY KEY, lead_id int, business_id int, user_id int, call_id int, "
            "consumer_id int, owner_id int, owner_token_hash text, hidden_at timestamptz)"
        )
        for kind in kinds:
            for statement in kind.sql("scratch"):
                conn.execute(statement.replace("leads.id", "scratch.id").replace("businesses.id", "scratch.id"))
            for name in kind.names():
                conn.execute(f"DROP POLICY {name} ON scratch")


def test_a_second_business_gets_a_free_local_number_though_it_cannot_see_the_first(
    seeded: dict[str, int], monkeypatch: pytest.MonkeyPatch
):
    """Line numbers are unique across businesses: the one business b is given is not the one a already has,
    though b's context sees nothing of business a (the listed system step looks the numbers up)."""
    from leadapp.core.services import inbound

    for side in ("a", "b"):
        with Session(get_engine(), expire_on_commit=False) as s:
            owner = s.get(User, seeded[f"owner_{side}"])
            access.enter(s, owner)
            # Each owner sees only its own business (and those its leads were matched to: none here but its own).
            assert [b.id for b in s.exec(select(Business))] == [seeded[f"business_{side}"]]
            inbound.connect_local_number(s, owner, seeded[f"business_{side}"])
            s.commit()
    with rls.system_context("test: look"), session_scope() as s:
        numbers = [s.get(Business, seeded[f"business_{side}"]).inbound_number for side in ("a", "b")]
    assert all(numbers) and numbers[0] != numbers[1], numbers
