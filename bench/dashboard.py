"""`python -m bench.dashboard --leads 10000 [--db sqlite|postgres]`: a busy business's dashboard.

Seeds the demo plumber with N matched leads, starts the product (as `make run` does), logs in as the
plumber in Chromium and measures: opening the dashboard → first lead rows visible (`first_rows_ms`), and
"Next page" → the next page's rows visible (`page_ms`, median of 5). Prints last
`dashboard leads=N first_rows_ms=A page_ms=B`.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from bench.browser import ARGS, CHROMIUM, login
from bench.stack import stack

PLUMBER = "plumber@leadapp.demo"


def seed(database_url: str, leads: int) -> None:
    """N matched leads for the demo plumber's business, a new one every 7 minutes back from now (built as the
    tests build them, added a thousand at a time)."""
    os.environ["DATABASE_URL"] = database_url
    from sqlmodel import select

    from leadapp.core import rls
    from leadapp.core.db import engine_for, session_scope
    from leadapp.core.models import Business, User
    from leadapp.core.settings import get_settings
    from tests import factories

    get_settings.cache_clear()
    rng = random.Random(7)
    now = datetime.now(UTC)
    with session_scope(rls.system("bench.dashboard: seed leads")) as session:
        owner = session.exec(select(User).where(User.email == PLUMBER)).one()
        business = session.exec(select(Business).where(Business.owner_id == owner.id)).one()
        batch = 1000
        for offset in range(0, leads, batch):
            rows = []
            for i in range(offset, min(leads, offset + batch)):
                created = now - timedelta(minutes=i * 7)
                lead = factories.new_lead(
                    phone="",
                    consent=False,
                    raw_text=f"Benchmark lead {i}: dripping faucet and a slow drain in the "
                    "upstairs bathroom, would like it fixed this week",
                    location_zip="46032",
                    urgency=rng.choice(["emergency", "high", "normal", "low"]),
                    quality_score=7.0,
                    source="api",
                    created_at=created,
                    updated_at=created,
                    contact_email=f"bench{i}@example.com",
                )
                offer = {
                    "score": round(rng.uniform(50, 95), 1),
                    "distance_miles": round(rng.uniform(0.5, 25), 1),
                    "reasons": ["benchmark"],
                    "status": rng.choice(["new", "viewed", "accepted", "declined"]),
                    "created_at": created,
                }
                rows.append((lead, offer))
            session.add_all([lead for lead, _ in rows])
            session.flush()  # the leads' ids, for their matches
            session.add_all([factories.new_match(lead, business, **offer) for lead, offer in rows])
            session.flush()
            session.expunge_all()  # a batch at a time in memory
    engine_for(database_url).dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard")
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with stack() as s:
        s.redis()
        s.database(args.db)
        seed(s.env["DATABASE_URL"], args.leads)
        url = s.app()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_context().new_page()
            login(page, url, PLUMBER, s.env.get("DEMO_PASSWORD", "demo-password-123"))
            page.wait_for_selector(".lead-row", timeout=60_000)  # warm: the first visit compiles nothing, but
            page.goto(f"{url}/")  # leave, then measure a fresh open of the dashboard
            page.wait_for_selector("#home-hero")
            started = time.perf_counter()
            page.goto(f"{url}/dashboard")
            page.wait_for_selector(".lead-row", timeout=60_000)
            first_rows_ms = (time.perf_counter() - started) * 1000
            page_times = []
            for _ in range(5):
                first = page.locator(".lead-row").first.get_attribute("data-lead")
                started = time.perf_counter()
                page.get_by_role("button", name="Next").click()
                page.wait_for_function(
                    "(prev) => { const r = document.querySelector('.lead-row');"
                    " return r && r.getAttribute('data-lead') !== prev; }",
                    arg=first,
                    timeout=30_000,
                )
                page_times.append((time.perf_counter() - started) * 1000)
            total = page.locator("#inbox-count").inner_text()
            browser.close()
    print(f"inbox: {total}")
    print(f"dashboard leads={args.leads} first_rows_ms={first_rows_ms:.0f} page_ms={statistics.median(page_times):.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
