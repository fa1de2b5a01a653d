"""The two PostgreSQL roles behind row-level security: the owner, who migrates, and the application role.

The programs (web, worker, voice bridge) connect as the application role: it owns no table, is no superuser
and has no BYPASSRLS, so the policies of `leadapp.core.rls` apply to everything it does. Migrations connect as
the owner (DATABASE_OWNER_URL), who owns the schema; row-level security is forced on it too.

Where `make run` manages PostgreSQL itself (DATABASE_URL is a superuser, DATABASE_OWNER_URL is unset and
DATABASE_MANAGE_ROLES is on), `provision` creates both roles for the database, named `<db>_owner` and
`<db>_app`, with passwords derived from SECRET_KEY (nothing to store), hands the database and everything in it
to the owner, and returns the URLs the launcher gives the programs.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Connection, make_url

from leadapp.core.settings import get_settings, psycopg_url

MAX_NAME = 63  # PostgreSQL's identifier length


@dataclass(frozen=True)
class RoleUrls:
    owner_url: str
    app_url: str


def is_postgres(url: str) -> bool:
    return psycopg_url(url).startswith("postgresql")


def role_names(database: str) -> tuple[str, str]:
    """(owner, application) role names for `database`."""
    base = database[: MAX_NAME - len("_owner")]
    return f"{base}_owner", f"{base}_app"


def role_password(role: str) -> str:
    """The password of a provisioned role: derived from SECRET_KEY, so it never needs to be stored."""
    return hmac.new(get_settings().secret_key.encode(), f"database-role:{role}".encode(), hashlib.sha256).hexdigest()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _with_user(url: URL, user: str) -> str:
    return url.set(username=user, password=role_password(user)).render_as_string(hide_password=False)


def is_privileged(url: str) -> bool:
    """True when `url` connects as a superuser (who could create the roles, and whom row-level security skips)."""
    engine = create_engine(psycopg_url(url), pool_pre_ping=False)
    try:
        with engine.connect() as conn:
            return bool(conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar())
    finally:
        engine.dispose()


def provision(admin_url: str, names: tuple[str, str] | None = None) -> RoleUrls:
    """Create (or update) `<db>_owner` and `<db>_app` (or the two `names`) for the database of `admin_url` (a
    superuser), make the owner own the database and every object in its public schema, and return both roles'
    URLs. Idempotent."""
    url = make_url(psycopg_url(admin_url))
    database = url.database or "postgres"
    owner, app = names or role_names(database)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for role in (owner, app):
                exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).scalar()
                verb = "ALTER" if exists else "CREATE"
                conn.execute(
                    text(
                        f"{verb} ROLE {_quote(role)} WITH LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE "
                        f"PASSWORD '{role_password(role)}'"
                    )
                )
            conn.execute(text(f"ALTER DATABASE {_quote(database)} OWNER TO {_quote(owner)}"))
            conn.execute(text(f"ALTER SCHEMA public OWNER TO {_quote(owner)}"))
            _hand_over(conn, owner)
            conn.execute(text(f"GRANT CONNECT ON DATABASE {_quote(database)} TO {_quote(app)}"))
    finally:
        engine.dispose()
    return RoleUrls(_with_user(url, owner), _with_user(url, app))


def _hand_over(conn: Connection, owner: str) -> None:
    """Give the owner every table, sequence, view and function of the public schema that another role owns
    (a database migrated before the roles existed)."""
    kinds = {"r": "TABLE", "p": "TABLE", "S": "SEQUENCE", "v": "VIEW", "m": "MATERIALIZED VIEW"}
    rows = conn.execute(
        text(
            "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'S', 'v', 'm') "
            "AND pg_get_userbyid(c.relowner) <> :owner "
            # a sequence owned by a column follows its table
            "AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'a'))"
        ),
        {"owner": owner},
    ).all()
    for name, kind in rows:
        conn.execute(text(f"ALTER {kinds[kind]} public.{_quote(name)} OWNER TO {_quote(owner)}"))
    functions = conn.execute(
        text(
            "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> :owner"
        ),
        {"owner": owner},
    ).scalars()
    for signature in list(functions):
        conn.execute(text(f"ALTER FUNCTION {signature} OWNER TO {_quote(owner)}"))


def grant_app(owner_url: str, app_role: str) -> None:
    """As the owner: let `app_role` read and write every table (and use every sequence) of the public schema,
    now and for tables made later, but only read `alembic_version`. Idempotent; run after each migration."""
    engine = create_engine(psycopg_url(owner_url), isolation_level="AUTOCOMMIT")
    app = _quote(app_role)
    try:
        with engine.connect() as conn:
            for statement in (
                f"GRANT USAGE ON SCHEMA public TO {app}",
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app}",
                f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app}",
                f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}",
                f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {app}",
            ):
                conn.execute(text(statement))
            if conn.execute(text("SELECT to_regclass('public.alembic_version')")).scalar():
                conn.execute(text(f"REVOKE INSERT, UPDATE, DELETE ON public.alembic_version FROM {app}"))
    finally:
        engine.dispose()


def app_role_problems(url: str) -> list[str]:
    """Why the role of `url` (the programs' DATABASE_URL) would not be walled by row-level security: a
    superuser, BYPASSRLS, or owning tables. Empty on SQLite, and for a role that is fine."""
    if not is_postgres(url):
        return []
    engine = create_engine(psycopg_url(url))
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            ).one()
            owned = conn.execute(
                text(
                    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relowner = "
                    "(SELECT oid FROM pg_roles WHERE rolname = current_user)"
                )
            ).scalar()
    finally:
        engine.dispose()
    problems = []
    if row.rolsuper:
        problems.append(f"the role {row.current_user} is a superuser: row-level security does not apply to it")
    elif row.rolbypassrls:
        problems.append(f"the role {row.current_user} has BYPASSRLS: row-level security does not apply to it")
    if owned:
        problems.append(f"the role {row.current_user} owns {owned} tables: it could turn row-level security off")
    return problems
