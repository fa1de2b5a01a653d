"""Row-level security on PostgreSQL: the second wall behind the access layer.

The access layer (`services/access.py`) decides who may do what, and the services filter their queries
accordingly. On PostgreSQL the database checks it again: every tenant table has row-level security
enabled and FORCED (the table owner is subject to it too), with policies reading the transaction's
context from five settings, set with `set_config(..., true)` (= `SET LOCAL`) when each transaction begins:

    app.role          "" (nobody), anonymous, consumer, business_owner, admin or system
    app.user_id       the logged-in user, "" for none
    app.business_ids  the businesses that user owns, comma-separated
    app.lead_ids      leads this transaction holds a verified link (token) for, or has just created
    app.interview     the hash of the guided-interview token this transaction presented

A transaction nobody gave a context to runs as "nobody" and sees no tenant row at all (fail closed).
Admins and the system (worker jobs, the voice bridge, the CLI: `system(reason)`, logged) see every row.

This module holds the context (`DbContext`) and how a transaction gets it, and the one list of walled
tables with their policy kind (`TENANT_TABLES`), which the migrations turn into SQL (`enable_sql`). Adding
a tenant table later is one line there, plus `rls.enable(op, "<table>")` in that table's migration; the
tests fail for a model table with a tenant column that is in neither `TENANT_TABLES` nor `EXEMPT_TABLES`.

SQLite has no row-level security: there the access layer's filters are the only wall (see README).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from leadapp.core.observability import get_logger

log = get_logger(__name__)

ANONYMOUS, CONSUMER, BUSINESS_OWNER, ADMIN, SYSTEM = "anonymous", "consumer", "business_owner", "admin", "system"
ROLES = ("", ANONYMOUS, CONSUMER, BUSINESS_OWNER, ADMIN, SYSTEM)


# --- the context a transaction runs under ---------------------------------------------------------


@dataclass(frozen=True)
class DbContext:
    """Who a transaction acts for, as the policies read it. The default is nobody: no tenant row is visible."""

    role: str = ""
    user_id: int | None = None
    business_ids: tuple[int, ...] = ()
    lead_ids: tuple[int, ...] = ()
    interview: str = ""  # SHA-256 of the interview owner token presented
    reason: str = field(default="", compare=False)  # why a system context is used (logged)

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown database role {self.role!r}")

    @property
    def is_staff(self) -> bool:
        return self.role in (ADMIN, SYSTEM)

    def with_leads(self, lead_ids: Iterable[int]) -> DbContext:
        """This context, also holding `lead_ids` (each verified by the caller: a signed link, a lead just made)."""
        merged = tuple(sorted({*self.lead_ids, *(int(i) for i in lead_ids)}))
        return self if merged == self.lead_ids else replace(self, lead_ids=merged)

    def settings(self) -> dict[str, str]:
        """The values of the five `app.*` settings."""
        return {
            "app.role": self.role,
            "app.user_id": "" if self.user_id is None else str(int(self.user_id)),
            "app.business_ids": ",".join(str(int(i)) for i in self.business_ids),
            "app.lead_ids": ",".join(str(int(i)) for i in self.lead_ids),
            "app.interview": self.interview,
        }

    def describe(self) -> str:
        who = self.role or "nobody"
        if self.role == SYSTEM:
            return f"system ({self.reason})" if self.reason else "system"
        return f"{who}#{self.user_id}" if self.user_id else who


NOBODY = DbContext()
ANONYMOUS_CONTEXT = DbContext(role=ANONYMOUS)


def system(reason: str) -> DbContext:
    """The context of work the platform does for itself (a job, a webhook, the CLI): sees every row. Say why."""
    if not reason:
        raise ValueError("a system context needs a reason (it is logged)")
    return DbContext(role=SYSTEM, reason=reason)


_ambient: ContextVar[DbContext | None] = ContextVar("leadapp_db_context", default=None)


def ambient() -> DbContext | None:
    """The context sessions opened without one get here (set by `system_context`); None: nobody."""
    return _ambient.get()


@contextlib.contextmanager
def system_context(reason: str) -> Iterator[DbContext]:
    """Run the block as the system (every session opened inside without its own context), logging why.

    The worker wraps each job in it and the voice bridge each request; pages and API routes never do.
    """
    context = system(reason)
    log.info("db_system_context", reason=reason)
    token = _ambient.set(context)
    try:
        yield context
    finally:
        _ambient.reset(token)


_SET = text(
    "SELECT set_config('app.role', :role, true), set_config('app.user_id', :user_id, true), "
    "set_config('app.business_ids', :business_ids, true), set_config('app.lead_ids', :lead_ids, true), "
    "set_config('app.interview', :interview, true)"
)
APPLIED = "leadapp_rls_context"


def apply(connection: Connection, context: DbContext) -> None:
    """Set `context` for the transaction in progress on `connection` (PostgreSQL; nothing to do on SQLite)."""
    if connection.dialect.name != "postgresql":
        return
    connection.execute(_SET, _parameters(context))
    connection.info[APPLIED] = context


def _parameters(context: DbContext) -> dict[str, str]:
    return {key.split(".", 1)[1]: value for key, value in context.settings().items()}


_SET_WITH_NEW_LEAD = text(
    "SELECT new.id, set_config('app.role', :role, true), set_config('app.user_id', :user_id, true), "
    "set_config('app.business_ids', :business_ids, true), "
    "set_config('app.lead_ids', concat_ws(',', NULLIF(:lead_ids, ''), new.id::text), true), "
    "set_config('app.interview', :interview, true) "
    "FROM (SELECT nextval(pg_get_serial_sequence('leads', 'id')) AS id) AS new"
)


def apply_with_new_lead(connection: Connection, context: DbContext) -> tuple[int, DbContext]:
    """Draw the id of a lead about to be inserted and set `context`, also holding that lead, for the transaction in
    progress on `connection`, in one statement (PostgreSQL only); returns the id and the context now set."""
    if connection.dialect.name != "postgresql":
        raise ValueError("apply_with_new_lead is for PostgreSQL")
    lead_id = int(connection.execute(_SET_WITH_NEW_LEAD, _parameters(context)).scalar_one())
    held = context.with_leads([lead_id])
    connection.info[APPLIED] = held
    return lead_id, held


def applied(connection: Connection) -> DbContext | None:
    """The context `apply` last set on this connection (valid while its transaction lasts)."""
    return connection.info.get(APPLIED)


# --- the walled tables and their policies ---------------------------------------------------------

# Each setting is read through a scalar subquery: planned as an InitPlan, evaluated once per statement instead
# of once per row (measured by `python -m bench.rls`).
ROLE, USER_ID, BUSINESS_IDS, LEAD_IDS, INTERVIEW_HASH = (
    "(SELECT app_role())",
    "(SELECT app_user_id())",
    "(SELECT app_business_ids())::integer[]",  # the cast: `= ANY (x)` takes an array, not a subquery's rows
    "(SELECT app_lead_ids())::integer[]",
    "(SELECT app_interview())",
)
STAFF = f"{ROLE} IN ('admin', 'system')"


def _business_side(column: str) -> str:
    return f"({ROLE} = 'business_owner' AND {column} = ANY ({BUSINESS_IDS}))"


def _lead_side(column: str) -> str:
    # A linked lead (magic link, just submitted), or the consumer's own lead. The consumer branch asks a
    # function (its body is planned apart, so leads' policy, which reads matches, does not recurse into here).
    return f"({column} = ANY ({LEAD_IDS}) OR ({ROLE} = 'consumer' AND app_consumer_owns_lead({column})))"


@dataclass(frozen=True)
class Policy:
    """A policy kind: which rows a context may read, and which it may insert, update or delete."""

    kind: str
    read: str
    write: str

    def sql(self, table: str) -> list[str]:
        if self.read == self.write:  # one policy: a second, equal one would be evaluated again on every read
            return [f"CREATE POLICY tenant ON {table} FOR ALL USING ({self.read}) WITH CHECK ({self.write})"]
        return [
            f"CREATE POLICY tenant_read ON {table} FOR SELECT USING ({self.read})",
            *(
                f"CREATE POLICY tenant_{verb.lower()} ON {table} FOR {verb} {clause}"
                for verb, clause in (
                    ("INSERT", f"WITH CHECK ({self.write})"),
                    ("UPDATE", f"USING ({self.write}) WITH CHECK ({self.write})"),
                    ("DELETE", f"USING ({self.write})"),
                )
            ),
        ]

    def names(self) -> list[str]:
        """The names of the policies `sql` creates."""
        return [statement.split()[2] for statement in self.sql("t")]


def _same(kind: str, expression: str) -> Policy:
    return Policy(kind, expression, expression)


LEAD = _same(
    "lead",
    f"{STAFF} OR id = ANY ({LEAD_IDS})"
    f" OR ({ROLE} = 'consumer' AND consumer_id = {USER_ID})"
    f" OR ({ROLE} = 'business_owner' AND (business_id = ANY ({BUSINESS_IDS})"
    # Not correlated: planned as one hashed set of the business's leads, not a probe per row.
    f" OR id IN (SELECT m.lead_id FROM matches m WHERE m.business_id = ANY ({BUSINESS_IDS}))))",
)
"""A lead: its consumer, a holder of its link, the businesses it was matched (or phoned) to."""


def by_lead_and_business(lead: str = "lead_id", business: str = "business_id") -> Policy:
    """A row of one lead and one business (a match, a call, a conversion): that business, and the lead's side."""
    return _same(
        f"by_lead_and_business({lead}, {business})", f"{STAFF} OR {_business_side(business)} OR {_lead_side(lead)}"
    )


def by_business(business: str = "business_id") -> Policy:
    """A row of one business only (settings, keys): its owner."""
    return _same(f"by_business({business})", f"{STAFF} OR {_business_side(business)}")


def by_lead(lead: str = "lead_id") -> Policy:
    """A row of one lead only, never shown to businesses (e.g. a phone verification): the lead's side."""
    return _same(f"by_lead({lead})", f"{STAFF} OR {_lead_side(lead)}")


def by_user(user: str = "user_id") -> Policy:
    """A row of one account (e.g. its settings): that user."""
    return _same(f"by_user({user})", f"{STAFF} OR ({user} IS NOT NULL AND {user} = {USER_ID})")


def by_call(call: str = "call_id") -> Policy:
    """A row of one call (transcript lines, recordings): whoever sees the call."""
    return _same(f"by_call({call})", f"{STAFF} OR EXISTS (SELECT 1 FROM calls c WHERE c.id = {call})")


NOTIFICATION = _same(
    "notification",
    f"{STAFF} OR {_business_side('business_id')} OR {_lead_side('lead_id')}"
    f" OR (user_id IS NOT NULL AND user_id = {USER_ID})",
)
"""An outgoing message: its business, its lead's side, the user it was addressed to."""

INTERVIEW = _same(
    "interview",
    f"{STAFF} OR (user_id IS NOT NULL AND user_id = {USER_ID})"
    f" OR ({INTERVIEW_HASH} <> '' AND owner_token_hash = {INTERVIEW_HASH})",
)
"""A guided interview: its account, or the browser holding its owner token."""

BUSINESS = Policy(
    "business",
    f"{STAFF} OR owner_id = {USER_ID} OR EXISTS (SELECT 1 FROM matches m WHERE m.business_id = businesses.id)",
    f"{STAFF} OR owner_id = {USER_ID}",
)
"""A business: its owner writes it; whoever sees one of its matches (the lead's consumer) may read it."""

REVIEW = Policy(
    "review",
    f"{STAFF} OR hidden_at IS NULL OR {_business_side('business_id')} OR {_lead_side('lead_id')}",
    f"{STAFF} OR {_business_side('business_id')} OR {_lead_side('lead_id')}",
)
"""A verified review: a visible one is public (every side reads it); a hidden one only its business, its lead's
side and staff. Written by its lead's side (the review), its business (the reply) and staff (the hide)."""

PLATFORM_ONLY = _same("platform_only", STAFF)
"""A row of the platform's own work that no tenant reads or writes (e.g. a webhook delivery to a partner): admins
and the system only. A page or route that must write one does it in a reviewed `access.as_system` step."""

# Every tenant table and its policy kind: one line each. The kinds: `LEAD`, `by_lead_and_business`, `by_lead`,
# `by_business`, `by_user`, `by_call`, `NOTIFICATION`, `INTERVIEW`, `BUSINESS`, `REVIEW`,
# `PLATFORM_ONLY`.
TENANT_TABLES: dict[str, Policy] = {
    "leads": LEAD,
    "matches": by_lead_and_business(),
    "conversions": by_lead_and_business(),
    "quotes": by_lead_and_business(),
    "thread_messages": by_lead_and_business(),
    "reviews": REVIEW,
    "calls": by_lead_and_business(),
    "transcript_lines": by_call(),
    "call_metrics": by_call(),
    "notifications": NOTIFICATION,
    "interview_sessions": INTERVIEW,
    "businesses": BUSINESS,
    "webhook_deliveries": PLATFORM_ONLY,
}

# Columns that tie a row to a consumer, a business or their data: a model table with one is walled or listed here.
TENANT_COLUMNS = frozenset({"consumer_id", "business_id", "owner_id", "user_id", "lead_id", "match_id", "call_id"})
EXEMPT_TABLES: dict[str, str] = {
    "auth_sessions": "read before anyone is known (the session cookie is looked up to learn who is asking); "
    "only token hashes, reached by the hash alone",
    "password_resets": "read before anyone is known (the reset link is looked up by its hash); "
    "only token hashes, reached by the hash alone",
    "email_verifications": "read before anyone is known (the verification link is looked up by its hash); "
    "only token hashes and the address being proven, reached by the hash alone",
    "prospects": "the platform's own prospecting list (admin pages only); `business_id` records which "
    "business a prospect became, no tenant reads it",
    "do_not_call": "the platform-wide do-not-call list, checked by every context that may ask for a call and "
    "written by consumers opting out: keyed hashes and masked numbers; `call_id`/`lead_id` only record where an "
    "entry came from",
}

# Functions the policies call. Each reads a setting; a missing setting reads as "" (nobody).
FUNCTIONS: dict[str, str] = {
    "app_role()": "RETURNS text LANGUAGE sql STABLE AS $$ SELECT coalesce(current_setting('app.role', true), '') $$",
    "app_user_id()": "RETURNS integer LANGUAGE sql STABLE AS "
    "$$ SELECT nullif(current_setting('app.user_id', true), '')::integer $$",
    "app_business_ids()": "RETURNS integer[] LANGUAGE sql STABLE AS $$ SELECT coalesce(string_to_array("
    "nullif(current_setting('app.business_ids', true), ''), ',')::integer[], '{}') $$",
    "app_lead_ids()": "RETURNS integer[] LANGUAGE sql STABLE AS $$ SELECT coalesce(string_to_array("
    "nullif(current_setting('app.lead_ids', true), ''), ',')::integer[], '{}') $$",
    "app_interview()": "RETURNS text LANGUAGE sql STABLE AS "
    "$$ SELECT coalesce(current_setting('app.interview', true), '') $$",
    # plpgsql, so it is never inlined: its query on leads is planned on its own, under leads' policy.
    "app_consumer_owns_lead(lead integer)": "RETURNS boolean LANGUAGE plpgsql STABLE AS $$ BEGIN "
    "RETURN EXISTS (SELECT 1 FROM leads WHERE id = lead AND consumer_id = app_user_id()); END $$",
}


def functions_sql() -> list[str]:
    return [f"CREATE OR REPLACE FUNCTION {signature} {body}" for signature, body in FUNCTIONS.items()]


def drop_functions_sql() -> list[str]:
    return [f"DROP FUNCTION IF EXISTS {signature}" for signature in reversed(list(FUNCTIONS))]


def enable_sql(table: str) -> list[str]:
    """Statements that wall `table` with its policy kind from `TENANT_TABLES` (idempotent)."""
    policy = TENANT_TABLES[table]
    return [
        *disable_sql(table)[: len(POLICY_NAMES)],
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        *policy.sql(table),
    ]


POLICY_NAMES = ("tenant", "tenant_read", "tenant_insert", "tenant_update", "tenant_delete")


def disable_sql(table: str) -> list[str]:
    return [
        *(f"DROP POLICY IF EXISTS {name} ON {table}" for name in POLICY_NAMES),
        f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
    ]


def _run_on_postgresql(op: Any, tables: tuple[str, ...], statements: Callable[[str], list[str]]) -> None:
    """In a migration: run `statements(table)` for each of `tables`, on PostgreSQL only (SQLite has no row-level
    security)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        for statement in statements(table):
            op.execute(statement)


def enable(op: Any, *tables: str) -> None:
    """In a migration: wall `tables` (PostgreSQL only; SQLite has no row-level security)."""
    _run_on_postgresql(op, tables, enable_sql)


def disable(op: Any, *tables: str) -> None:
    """In a migration's downgrade: take the wall off `tables` (PostgreSQL only)."""
    _run_on_postgresql(op, tables, disable_sql)
