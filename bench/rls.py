"""`python -m bench.rls --leads 10000`: what row-level security costs a busy business's inbox.

Makes a PostgreSQL database the way `make run` does (an owner migrates it, the programs connect as a walled
application role), seeds two businesses with N matched leads each, then runs the dashboard's inbox query
(first page and total, `inbox.inbox`) for one of them, 60 times each way, the two ways alternating:

- as the superuser, where row-level security does not apply (the access layer's filters only);
- as the application role, after `access.enter` (the filters, then the policies);

and times `access.enter` itself (a business owner's context: role, user, the businesses they own). Prints
`rls leads=N inbox_p50_ms_without=A inbox_p50_ms_with=B overhead_pct=C enter_p50_ms=D`.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import time
from datetime import UTC, datetime, timedelta

import psycopg
from sqlalchemy import create_engine, insert

ADMIN_POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ROUNDS = 60


def _seed(url: str, leads: int) -> tuple[int, int]:
    """Two owners and businesses, `leads` matched leads each; returns (owner id, business id) of the first."""
    from leadapp.core.models import Business, Lead, Match, User

    engine = create_engine(url)
    rng = random.Random(7)
    now = datetime.now(UTC)
    first: tuple[int, int] | None = None
    with engine.begin() as conn:
        for side in ("x", "y"):
            owner = conn.execute(
                insert(User).returning(User.id),
                {
                    "email": f"owner-{side}@bench.test",
                    "password_hash": "-",
                    "role": "business_owner",
                    "created_at": now,
                    "updated_at": now,
                },
            ).scalar_one()
            business = conn.execute(
                insert(Business).returning(Business.id),
                {
                    "owner_id": owner,
                    "name": f"Bench {side}",
                    "zip": "46032",
                    "categories": ["plumbing"],
                    "tags": [],
                    "notify_channels": ["email"],
                    "hours": {},
                    "created_at": now,
                    "updated_at": now,
                },
            ).scalar_one()
            first = first or (owner, business)
            for offset in range(0, leads, 1000):
                count = min(1000, leads - offset)
                ids = conn.execute(
                    insert(Lead).returning(Lead.id),
                    [
                        {
                            "raw_text": f"Bench lead {side}{offset + i}: a dripping faucet and a slow drain upstairs",
                            "zip": "46032",
                            "category": "plumbing",
                            "status": "matched",
                            "key_requirements": [],
                            "created_at": now - timedelta(minutes=offset + i),
                            "updated_at": now,
                        }
                        for i in range(count)
                    ],
                ).scalars()
                conn.execute(
                    insert(Match),
                    [
                        {
                            "lead_id": lead_id,
                            "business_id": business,
                            "score": round(rng.uniform(50, 95), 1),
                            "reasons": [],
                            "status": rng.choice(["new", "viewed", "accepted"]),
                            "created_at": now - timedelta(minutes=i),
                        }
                        for i, lead_id in enumerate(ids)
                    ],
                )
    engine.dispose()
    assert first is not None
    return first


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def _rounds(admin_url: str, app_url: str, owner_id: int, business_id: int) -> dict[str, list[float]]:
    """The inbox's first page and total, timed `ROUNDS` times each way, the two ways alternating (so that the
    machine's other load falls on both alike)."""
    from sqlmodel import Session

    from leadapp.core.db import engine_for
    from leadapp.core.models import User
    from leadapp.core.services import access, inbox

    times: dict[str, list[float]] = {"without": [], "with": [], "enter": []}
    for round_number in range(ROUNDS + 3):
        for walled, url in ((False, admin_url), (True, app_url)):
            with Session(engine_for(url)) as session:
                owner = session.get(User, owner_id)
                entered = _timed(lambda: access.enter(session, owner)) if walled else 0.0  # noqa: B023
                took = _timed(lambda: inbox.inbox(session, owner, business_id, inbox.InboxFilters()))  # noqa: B023
                rows, total = inbox.inbox(session, owner, business_id, inbox.InboxFilters())
                assert rows and total > 0
            if round_number >= 3:  # the first rounds warm the pools and caches
                times["with" if walled else "without"].append(took)
                if walled:
                    times["enter"].append(entered)
    for url in (admin_url, app_url):
        engine_for(url).dispose()
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rls")
    parser.add_argument("--leads", type=int, default=10_000)
    args = parser.parse_args(argv)
    from alembic.config import Config

    from alembic import command
    from leadapp.core import db_roles
    from leadapp.core.settings import ROOT

    name = f"leadapp_bench_rls_{secrets.token_hex(3)}"
    base = ADMIN_POSTGRES_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    admin_url = f"{base}/{name}"
    with psycopg.connect(ADMIN_POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        roles = db_roles.provision(admin_url)
        config = Config(str(ROOT / "alembic.ini"))
        config.attributes["database_url"] = roles.owner_url
        command.upgrade(config, "head")
        db_roles.grant_app(roles.owner_url, db_roles.role_names(name)[1])
        owner_id, business_id = _seed(admin_url, args.leads)
        times = _rounds(admin_url, roles.app_url, owner_id, business_id)
    finally:
        from leadapp.core.db import engine_for

        engine_for.cache_clear()
        with psycopg.connect(ADMIN_POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            for role in db_roles.role_names(name):
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')
    a, b = statistics.median(times["without"]), statistics.median(times["with"])
    print(
        f"rls leads={args.leads} inbox_p50_ms_without={a:.1f} inbox_p50_ms_with={b:.1f} "
        f"overhead_pct={(b - a) / a * 100:.0f} enter_p50_ms={statistics.median(times['enter']):.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
