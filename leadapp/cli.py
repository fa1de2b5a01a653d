"""Operator commands: `python -m leadapp.cli migrate | seed | admin --email E --password P`."""

from __future__ import annotations

import argparse
import sys

from alembic.config import Config
from sqlalchemy.engine import make_url

from alembic import command
from leadapp.core import db_roles, migration_history, rls
from leadapp.core.db import session_scope
from leadapp.core.errors import UserError
from leadapp.core.settings import ROOT, get_settings


def migrate() -> int:
    """Upgrade the database to the newest migration, as the tables' owner (DATABASE_OWNER_URL, else
    DATABASE_URL); with a separate owner, then let DATABASE_URL's role use the tables (and nothing more).
    A database from before the baseline revision is left alone, with advice to re-create it (exit 2)."""
    settings = get_settings()
    retired = migration_history.predating_baseline(migration_history.current_revisions(settings.migration_url))
    if retired:
        print(f"error: {migration_history.recreate_advice(settings.migration_url, retired)}", file=sys.stderr)
        return 2
    command.upgrade(Config(str(ROOT / "alembic.ini")), "head")
    if settings.database_owner_url and db_roles.is_postgres(settings.database_url):
        owner, app = make_url(settings.database_owner_url).username, make_url(settings.database_url).username
        if app and app != owner:
            db_roles.grant_app(settings.database_owner_url, app)
    return 0


def seed(force: bool, if_enabled: bool) -> None:
    """Create the demo data on first start (or again with --force); print the demo logins."""
    # Lazy: the demo data pulls in every service (and the AI SDKs); `migrate` and `admin` need none of it.
    from leadapp.core.seed import demo_logins, is_seeded, seed_demo

    settings = get_settings()
    if if_enabled and not settings.seed_demo:
        print("SEED_DEMO is off: no demo data.")
        return
    with session_scope(rls.system("cli: seed the demo data")) as session:
        if is_seeded(session) and not force:
            print("Demo data already present. Re-create missing demo rows with --force.")
            logins = demo_logins(settings.demo_password)
        else:
            logins = seed_demo(session, settings.demo_password)
    print(f"Demo logins (password for all: {settings.demo_password}):")
    width = max(len(login.role) for login in logins)
    for login in logins:
        print(f"  {login.role:<{width}}  {login.email}")


def admin(email: str, password: str) -> int:
    from leadapp.core.services.accounts import ensure_admin  # lazy: only this command needs the services

    try:
        with session_scope(rls.system("cli: create an admin")) as session:
            user = ensure_admin(session, email, password)
            print(f"Admin ready: {user.email}")
    except UserError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m leadapp.cli")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("migrate", help="alembic upgrade head on DATABASE_URL")
    seed_parser = sub.add_parser("seed", help="create the demo accounts and businesses (idempotent)")
    seed_parser.add_argument("--force", action="store_true", help="re-create missing demo rows")
    seed_parser.add_argument("--if-enabled", action="store_true", help="do nothing when SEED_DEMO=false")
    admin_parser = sub.add_parser("admin", help="create (or promote) an admin account")
    admin_parser.add_argument("--email", required=True)
    admin_parser.add_argument("--password", required=True)
    args = parser.parse_args(argv)
    if args.cmd == "migrate":
        return migrate()
    if args.cmd == "seed":
        seed(args.force, args.if_enabled)
    elif args.cmd == "admin":
        return admin(args.email, args.password)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
