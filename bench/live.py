"""`python -m bench.live --events N [--tabs K] [--backends B]`: commit → row visible in K open dashboards.

Starts the product (as `make run` does) on a fresh database, opens K dashboard tabs of the demo plumber
in Chromium (separate browser contexts), then N times: commits a new matched lead for that business and
publishes the change through the real path (`leadapp.core.events`, Redis pub/sub → each web backend's
listener → the tabs). Each tab records when each new row appears. Prints last
`live events=N backends=B p50_ms=A p95_ms=C refreshes_per_tab=R` over every (event, tab) pair.

With `--backends B` > 1 the web app keeps page state in Redis and runs B backend worker processes, as a
scaled-out deployment does; every backend hears every event, and `refreshes_per_tab` (the backends'
shared refresh counter over events × tabs) shows each tab is refreshed once, not once per backend.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from bench.browser import ARGS, CHROMIUM, SEEN_ROWS_JS, login
from bench.stack import stack

PLUMBER = "plumber@leadapp.demo"


def _commit_lead(index: int) -> tuple[int, float]:
    from sqlmodel import select

    from leadapp.core import rls
    from leadapp.core.db import session_scope
    from leadapp.core.events import publish_after_commit
    from leadapp.core.models import Business, User
    from leadapp.core.vocab import MatchStatus
    from tests import factories

    with session_scope(rls.system("bench.live: commit a lead")) as session:
        owner = session.exec(select(User).where(User.email == PLUMBER)).one()
        business = session.exec(select(Business).where(Business.owner_id == owner.id)).one()
        lead = factories.lead(
            session,
            phone="",
            consent=False,
            raw_text=f"Live benchmark lead {index}: the kitchen faucet drips all day and night, please help",
            location_zip="46032",
            urgency="normal",
            contact_email="bench@example.com",
            quality_score=7,
        )
        match = factories.match(session, lead, business, MatchStatus.NEW.value, reasons=["benchmark"])
        publish_after_commit(session, "match", business_id=business.id, match_id=match.id, lead_id=lead.id)
        lead_id = lead.id
    return lead_id, time.time() * 1000  # committed (and published right after the commit)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.live")
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--tabs", type=int, default=4)
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between events")
    parser.add_argument("--backends", type=int, default=1, help="web backend worker processes")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with stack() as s:
        s.redis()
        s.database("sqlite")
        if args.backends > 1:
            s.env.update(REFLEX_STATE_IN_REDIS="true", GRANIAN_WORKERS=str(args.backends))
        url = s.app()
        os.environ.update(DATABASE_URL=s.env["DATABASE_URL"], REDIS_URL=s.env["REDIS_URL"])
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            pages = []
            for _ in range(args.tabs):
                page = browser.new_context().new_page()
                login(page, url, PLUMBER, s.env.get("DEMO_PASSWORD", "demo-password-123"))
                page.wait_for_selector("#inbox-count", timeout=60_000)
                page.evaluate(SEEN_ROWS_JS)
                pages.append(page)
            import redis

            from leadapp import live

            counter = redis.Redis.from_url(s.env["REDIS_URL"])
            refreshes_before = int(counter.get(live.refresh_counter_key()) or 0)
            from leadapp.core.events import channel

            # Backends listening to the event channel: each hears every event (the figure refreshes_per_tab
            # is about); fewer listeners than --backends would make the run say nothing.
            listeners = int(dict(counter.pubsub_numsub(channel())).get(channel().encode(), 0))
            committed: dict[str, float] = {}
            for i in range(args.events):
                lead_id, at = _commit_lead(i)
                committed[str(lead_id)] = at
                deadline = time.monotonic() + args.interval
                while time.monotonic() < deadline:
                    pages[0].wait_for_timeout(20)
            deadline = time.monotonic() + 10
            latencies: list[float] = []
            while time.monotonic() < deadline:
                seen = [page.evaluate("window.__seen") for page in pages]
                if all(all(k in tab for k in committed) for tab in seen):
                    break
                pages[0].wait_for_timeout(100)
            pages[0].wait_for_timeout(1000)  # late refreshes (a second backend's) would count now
            refreshes = int(counter.get(live.refresh_counter_key()) or 0) - refreshes_before
            missing = 0
            print("rows seen per tab: " + " ".join(str(sum(1 for k in committed if k in tab)) for tab in seen))
            for tab in seen:
                for lead_id, at in committed.items():
                    if lead_id in tab:
                        latencies.append(tab[lead_id] - at)
                    else:
                        missing += 1
            browser.close()
        if missing:
            print(s.log_tail("app", 4000))
    latencies.sort()
    p50 = statistics.median(latencies) if latencies else float("nan")
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))] if latencies else float("nan")
    if missing:
        print(f"missing={missing} (event, tab) pairs never showed the row")
    per_tab = refreshes / (args.events * args.tabs) if args.events and args.tabs else float("nan")
    print(
        f"live events={args.events} backends={args.backends} listeners={listeners} p50_ms={p50:.0f} p95_ms={p95:.0f} "
        f"refreshes_per_tab={per_tab:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
