"""`python -m bench.pipeline [--leads N --rate R] [--find-max] [--db sqlite|postgres] [--workers K]`

Starts a private Redis, a fresh database with the demo businesses, the public API (the same Starlette
app the web server mounts) and the worker; submits leads through `POST /api/v1/leads` in an open loop
at a fixed arrival rate (each from its own client IP through the trusted-proxy header); waits for every
lead's first business notification; stops everything. Per lead it measures submission accepted (the
API's 201 reached the client) → first business notification handed to its provider (`sent_at`).

Last line: `pipeline leads=N rate=R lost=L p50_ms=A p95_ms=B`, or with --find-max, per worker count K
(`--workers 1,2,4`), `pipeline_max workers=K rate=R p95_ms=B cpu_ms_per_lead=C` (the highest rate whose
p95 stays ≤ 1000 ms with nothing lost, and the CPU all the programs spent per submitted lead).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from sqlalchemy import create_engine, text

from bench.stack import Stack, stack

REQUESTS = [
    ("My water heater is leaking all over the garage floor, need someone today in Carmel, budget around $500", "46032"),
    ("Kitchen sink drain is clogged and the garbage disposal hums but won't spin, need a plumber this week", "46032"),
    ("Two outlets in the living room stopped working and the breaker keeps tripping, need an electrician", "10001"),
    ("Our central AC is blowing warm air and the outside unit makes a loud buzzing noise, need help soon", "10001"),
]
WAIT_AFTER_LAST_SECONDS = 30.0
WARM_UP_LEADS = 20  # each worker process's first jobs load code and fill caches: not what a steady stream costs
P95_LIMIT_MS = 1000.0


@dataclass
class Run:
    leads: int
    rate: float
    lost: int
    p50_ms: float
    p95_ms: float


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def at_rate(count: int, rate: float, one: Callable[[int], Awaitable[None]]) -> None:
    """`one(0)` … `one(count - 1)` started at a fixed arrival rate (an open loop: a slow one does not hold back
    the next), then awaited together."""
    start = time.perf_counter()
    tasks = []
    for i in range(count):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)


async def _submit_all(api_url: str, leads: int, rate: float, offset: int) -> tuple[dict[int, float], int]:
    accepted: dict[int, float] = {}
    failures = 0
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    async with httpx.AsyncClient(base_url=api_url, timeout=30, limits=limits) as client:

        async def one(i: int) -> None:
            nonlocal failures
            text_, zip_code = REQUESTS[i % len(REQUESTS)]
            n = offset + i
            ip = f"198.18.{(n // 250) % 250}.{n % 250 + 1}"
            body = {"text": text_, "zip": zip_code, "email": f"bench{n}@example.com"}
            try:
                reply = await client.post("/api/v1/leads", json=body, headers={"X-Forwarded-For": ip})
            except httpx.HTTPError:
                failures += 1
                return
            if reply.status_code == 201:
                accepted[reply.json()["id"]] = time.time()
            else:
                failures += 1

        await at_rate(leads, rate, one)
    return accepted, failures


def _first_sends(database_url: str, lead_ids: list[int]) -> dict[int, float]:
    engine = create_engine(database_url.replace("+psycopg", "+psycopg") if database_url else database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT lead_id, min(sent_at) FROM notifications WHERE kind = 'business_new_lead' "
                    "AND status = 'sent' AND lead_id >= :lo AND lead_id <= :hi GROUP BY lead_id"
                ),
                {"lo": min(lead_ids), "hi": max(lead_ids)},
            ).all()
    finally:
        engine.dispose()
    out: dict[int, float] = {}
    for lead_id, sent_at in rows:
        if isinstance(sent_at, str):  # SQLite returns text
            from datetime import datetime

            sent_at = datetime.fromisoformat(sent_at)
        if sent_at.tzinfo is None:
            from datetime import UTC

            sent_at = sent_at.replace(tzinfo=UTC)
        out[int(lead_id)] = sent_at.timestamp()
    return out


def run_once(s: Stack, api_url: str, leads: int, rate: float, offset: int) -> Run:
    accepted, failures = asyncio.run(_submit_all(api_url, leads, rate, offset))
    ids = sorted(accepted)
    sent: dict[int, float] = {}
    deadline = time.monotonic() + WAIT_AFTER_LAST_SECONDS
    while ids and time.monotonic() < deadline:
        sent = _first_sends(s.env["DATABASE_URL"], ids)
        if len(sent) >= len(ids):
            break
        time.sleep(0.25)
    latencies = [(sent[i] - accepted[i]) * 1000 for i in ids if i in sent]
    lost = failures + sum(1 for i in ids if i not in sent)
    return Run(leads, rate, lost, percentile(latencies, 0.5), percentile(latencies, 0.95))


def _prepare(s: Stack, db: str, workers: int) -> str:
    s.redis()
    s.database(db)
    engine = create_engine(s.env["DATABASE_URL"])
    with engine.begin() as conn:  # the benchmark's leads must not run into the demo's monthly caps
        conn.execute(text("UPDATE businesses SET monthly_lead_cap = 100000000"))
        assert conn.execute(text("SELECT count(*) FROM businesses")).scalar_one() >= 2
    engine.dispose()
    api_url = s.api()
    s.worker(workers)
    time.sleep(2)  # let the worker processes connect
    return api_url


def _find_max(s: Stack, api_url: str, step_seconds: float, offset: int) -> tuple[Run | None, int]:
    """Step the arrival rate up by 10/s until p95 > 1 s or a loss; the best run and the leads submitted
    (numbered from `offset`)."""
    best: Run | None = None
    first = offset
    rate = 10.0
    while rate <= 400:
        leads = max(50, int(rate * step_seconds))
        run = run_once(s, api_url, leads, rate, offset)
        offset += leads
        print(
            f"step rate={rate:g} leads={leads} lost={run.lost} p50_ms={run.p50_ms:.0f} p95_ms={run.p95_ms:.0f}",
            flush=True,
        )
        if run.lost or not run.p95_ms <= P95_LIMIT_MS:
            break
        best = run
        rate += 10
    return best, offset - first


def _cpu_ms_per_lead(before: dict[str, float], after: dict[str, float], leads: int) -> dict[str, float]:
    return {k: (after[k] - before.get(k, 0)) * 1000 / max(1, leads) for k in after}


def _one_stack(args: argparse.Namespace, workers: int) -> int:
    with stack() as s:
        try:
            api_url = _prepare(s, args.db, workers)
            warm = run_once(s, api_url, WARM_UP_LEADS, 5.0, 0)
            print(f"warm-up leads={warm.leads} lost={warm.lost} p95_ms={warm.p95_ms:.0f} (not counted)", flush=True)
            before = s.cpu_seconds()
            if not args.find_max:
                run = run_once(s, api_url, args.leads, args.rate, WARM_UP_LEADS)
                per_lead = _cpu_ms_per_lead(before, s.cpu_seconds(), args.leads)
                print("cpu_ms_per_lead " + " ".join(f"{k}={v:.1f}" for k, v in per_lead.items()))
                if run.lost:
                    print(f"--- worker log ---\n{s.log_tail('worker')}", file=sys.stderr)
                print(
                    f"pipeline leads={run.leads} rate={run.rate:g} lost={run.lost} "
                    f"p50_ms={run.p50_ms:.0f} p95_ms={run.p95_ms:.0f}"
                )
                return 0
            best, submitted = _find_max(s, api_url, args.step_seconds, WARM_UP_LEADS)
            per_lead = _cpu_ms_per_lead(before, s.cpu_seconds(), submitted)
            cpu = sum(per_lead.values())
            parts = " ".join(f"{k}={v:.1f}" for k, v in per_lead.items())
            print(f"cpu_ms_per_lead {parts}")
            if best is None:
                print(f"pipeline_max workers={workers} rate=0 p95_ms=nan cpu_ms_per_lead={cpu:.1f}")
            else:
                print(
                    f"pipeline_max workers={workers} rate={best.rate:g} p95_ms={best.p95_ms:.0f} "
                    f"cpu_ms_per_lead={cpu:.1f}"
                )
            return 0
        except BaseException:
            for name in ("api", "worker"):
                print(f"--- {name} log ---\n{s.log_tail(name)}", file=sys.stderr)
            raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline", description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=600)
    parser.add_argument("--rate", type=float, default=10.0, help="arrivals per second")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--workers", default="2", help="worker processes; a list (1,2,4) runs once per count on a fresh stack"
    )
    parser.add_argument("--find-max", action="store_true", help="step the rate up until p95 > 1000 ms or a loss")
    parser.add_argument("--step-seconds", type=float, default=10.0, help="--find-max: seconds of load per step")
    args = parser.parse_args(argv)
    counts = [int(k) for k in str(args.workers).split(",") if k.strip()]
    for workers in counts:
        code = _one_stack(args, workers)
        if code:
            return code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
