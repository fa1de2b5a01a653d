"""`python -m bench.faults [--leads 1000] [--rate 10]`: nothing lost when a part dies.

A real stack on a private PostgreSQL cluster (so it can be restarted without touching anyone else's):
two API backends (the app the web backends mount), two worker programs (one with the cron scheduler and
its sweepers), a private Redis, and the SendGrid and Twilio fakes the real SDKs talk to. Leads arrive
through `POST /api/v1/leads` at `--rate` per second, from a client that does what an integrator does: it
alternates between the backends and, when a request fails, sends it again with the same Idempotency-Key
until it is accepted. Phase by phase, and then all together, it injects:

- redis: Redis stopped for 20 s, then started again;
- worker_kill: a worker program killed with SIGKILL in the middle of a job every 10 s, started again;
- postgres: PostgreSQL restarted once (every open connection drops);
- providers: the email and SMS fakes answering 30 % 5xx and 10 % timeouts;
- web: one API backend killed with SIGKILL and started again.

After each phase it waits for the system to settle (the sweepers run every minute) and prints
`faults phase=P leads=N lost=L duplicate_sends=D stuck=S recovered_s=R p95_ms=M`, and last the same for
the whole run as `faults leads=N lost=… duplicate_sends=… stuck=… recovered_s=… p95_ms=…`.

lost: accepted leads with no business notification sent; duplicate_sends: a message the fakes took twice
(same recipient, same text); stuck: leads or notifications still in a non-final state after the settle
time; recovered_s: the end of the fault → every accepted lead of the phase notified and nothing stuck;
p95_ms: accepted → first business notification handed to its provider.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from pytest_httpserver import HTTPServer
from sqlalchemy import create_engine, text

from bench.pipeline import REQUESTS, at_rate, percentile
from bench.stack import Stack, free_port, stack, wait_for
from leadapp.launch import redis_server_argv
from tests.fakes.sendgrid_api import MAIL_SEND_PATH, FakeSendGrid
from tests.fakes.twilio_api import MESSAGES_PATH, FakeTwilio

PHASES = ("redis", "worker_kill", "postgres", "providers", "web", "all")
PROVIDER_TIMEOUT_SECONDS = 1.0
SETTLE_SECONDS = 240.0
RETRY_FOR_SECONDS = 120.0
FINAL_LEAD = ("matched", "no_match", "low_quality", "flagged", "rejected", "accepted", "converted", "withdrawn")


class PrivatePostgres:
    """A PostgreSQL cluster of this run only (initdb in the run's folder), so it can be restarted."""

    def __init__(self, workdir: Path) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
        if not bins:
            raise SystemExit("PostgreSQL's server programs are not installed (Debian package postgresql)")
        self.bin = bins[-1]
        self.data = workdir / "pg"
        self.sockets = workdir / "pg-sockets"
        self.port = free_port()
        self.log = workdir / "postgres.log"
        for folder in (self.data, self.sockets):
            folder.mkdir(parents=True, exist_ok=True)
        self.log.touch()
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root: its own account owns the cluster
            shutil.chown(workdir, "postgres")
            for path in (self.data, self.sockets, self.log):
                shutil.chown(path, "postgres")
        self._run("initdb", "-D", str(self.data), "--auth=trust", "-U", "postgres", "--no-sync")

    def _run(self, program: str, *args: str) -> None:
        argv = [str(self.bin / program), *args]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.sockets} -c max_connections=300 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start")

    def restart(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "restart")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create(self, database: str) -> str:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        return self.url(database)


class Providers:
    """The SendGrid and Twilio fakes on loopback, as the bench's programs see them."""

    def __init__(self) -> None:
        self.servers: list[HTTPServer] = []
        sendgrid_server, twilio_server = self._server(), self._server()
        self.sendgrid, self.twilio = FakeSendGrid(sendgrid_server), FakeTwilio(twilio_server)
        sendgrid_server.expect_request(MAIL_SEND_PATH, method="POST").respond_with_handler(self.sendgrid.handle)
        twilio_server.expect_request(MESSAGES_PATH, method="POST").respond_with_handler(self.twilio.handle)

    def _server(self) -> HTTPServer:
        server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
        server.start()
        self.servers.append(server)
        return server

    def env(self) -> dict[str, str]:
        return {
            "SENDGRID_API_KEY": self.sendgrid.api_key,
            "SENDGRID_HOST": self.sendgrid.url,
            "TWILIO_ACCOUNT_SID": self.twilio.account_sid,
            "TWILIO_AUTH_TOKEN": self.twilio.auth_token,
            "TWILIO_FROM_NUMBER": self.twilio.from_number,
            "TWILIO_API_BASE": self.twilio.url,
            "PROVIDER_TIMEOUT_SECONDS": str(PROVIDER_TIMEOUT_SECONDS),
        }

    def flaky(self, on: bool) -> None:
        for fake in (self.sendgrid, self.twilio):
            fake.flakiness.error_rate = 0.3 if on else 0.0
            fake.flakiness.timeout_rate = 0.1 if on else 0.0
            fake.flakiness.hold_seconds = PROVIDER_TIMEOUT_SECONDS + 0.5

    def duplicate_sends(self) -> int:
        """Messages taken more than once: the same recipient and the same text."""
        sent: Counter[tuple[str, str]] = Counter()
        for message in list(self.sendgrid.messages):
            for person in message.get("personalizations", []):
                for to in person.get("to", []):
                    body = "".join(str(c.get("value", "")) for c in message.get("content", []))
                    sent[("email:" + str(to.get("email")), str(message.get("subject", "")) + body)] += 1
        for message in list(self.twilio.messages):
            sent[("sms:" + str(message["to"]), str(message["body"]))] += 1
        return sum(count - 1 for count in sent.values() if count > 1)

    def stop(self) -> None:
        for server in self.servers:
            with contextlib.suppress(Exception):
                server.clear()
                server.stop()


@dataclass
class Phase:
    name: str
    accepted: dict[int, float] = field(default_factory=dict)  # lead id → when the client got its answer
    fault_ended: float = 0.0
    refused: int = 0  # gave up after RETRY_FOR_SECONDS (never accepted: not a loss, but reported)


class Chaos:
    """The stack under test and the faults injected into it."""

    def __init__(self, s: Stack, pg: PrivatePostgres, providers: Providers, redis_port: int) -> None:
        self.s, self.pg, self.providers, self.redis_port = s, pg, providers, redis_port
        self.api_ports = (free_port(), free_port())
        self.workers: list[subprocess.Popen[bytes]] = []

    # -- the programs ---------------------------------------------------------------------------------
    def start_redis(self) -> None:
        self.s.start("redis", redis_server_argv(self.redis_port))
        import redis as redis_lib

        wait_for(redis_lib.Redis(port=self.redis_port, socket_connect_timeout=1).ping, 15, "redis")

    def stop_redis(self) -> None:
        for name, proc in self.s._procs:
            if name == "redis" and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=10)

    def start_api(self, index: int) -> None:
        self.s.api(f"api{index + 1}", self.api_ports[index])

    def kill_api(self, index: int) -> None:
        self._kill(f"api{index + 1}")

    def start_workers(self) -> None:
        self.workers = [self.s.worker(3, "worker1", cron=True), self.s.worker(3, "worker2")]

    def wait_for_workers(self) -> None:
        """Until every RQ worker of both programs and the cron scheduler are registered in Redis."""
        import redis as redis_lib
        from rq import Worker
        from rq.cron import CronScheduler

        connection = redis_lib.Redis(port=self.redis_port, socket_connect_timeout=1)
        wait_for(lambda: len(Worker.all(connection=connection)) >= 6 and CronScheduler.all(connection), 120, "workers")

    def _kill(self, name: str) -> None:
        for proc_name, proc in self.s._procs:
            if proc_name == name and proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)

    def kill_a_busy_worker(self, which: int) -> None:
        """SIGKILL a worker program while a job runs (waiting up to 2 s for one), then start it again."""
        import redis as redis_lib
        from rq import Queue
        from rq.registry import StartedJobRegistry

        from leadapp.core.tasks import ALL_QUEUES

        with contextlib.suppress(Exception):
            connection = redis_lib.Redis(port=self.redis_port, socket_connect_timeout=1)
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline:
                busy = sum(StartedJobRegistry(queue=Queue(name, connection=connection)).count for name in ALL_QUEUES)
                if busy:
                    break
                time.sleep(0.05)
        name = f"worker{which + 1}"
        self._kill(name)
        self.s.worker(3, name, cron=which == 0)

    # -- the faults -----------------------------------------------------------------------------------
    def inject(self, name: str, seconds: float, stop: threading.Event) -> float:
        """Run the fault `name` (or all of them) for its phase; returns when it ended (monotonic)."""
        faults = PHASES[:-1] if name == "all" else (name,)
        threads = [threading.Thread(target=self._fault, args=(f, seconds, stop), daemon=True) for f in faults]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.monotonic()

    def _fault(self, name: str, seconds: float, stop: threading.Event) -> None:
        if name == "redis":
            self.stop_redis()
            stop.wait(20)
            self.start_redis()
        elif name == "worker_kill":
            which = 0
            started = time.monotonic()
            while time.monotonic() - started < max(seconds, 10):
                stop.wait(min(10, max(0.0, seconds - (time.monotonic() - started))) or 1)
                self.kill_a_busy_worker(which)
                which = 1 - which
        elif name == "postgres":
            stop.wait(min(5, seconds / 3))
            self.pg.restart()
        elif name == "providers":
            self.providers.flaky(True)
            stop.wait(seconds)
            self.providers.flaky(False)
        elif name == "web":
            stop.wait(min(3, seconds / 4))
            self.kill_api(1)
            stop.wait(5)
            self.start_api(1)


async def _submit(chaos: Chaos, phase: Phase, leads: int, rate: float, offset: int) -> None:
    urls = [f"http://127.0.0.1:{port}" for port in chaos.api_ports]
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=20)
    async with httpx.AsyncClient(timeout=10, limits=limits) as client:

        async def one(i: int) -> None:
            n = offset + i
            text_, zip_code = REQUESTS[n % len(REQUESTS)]
            body = {"text": f"{text_} (request {n})", "zip": zip_code, "email": f"faults{n}@example.com"}
            headers = {
                "Idempotency-Key": f"faults-{uuid.uuid4().hex}",
                "X-Forwarded-For": f"198.18.{n // 250 % 250}.{n % 250 + 1}",
            }
            deadline = time.monotonic() + RETRY_FOR_SECONDS
            attempt = 0
            while time.monotonic() < deadline:
                url = urls[(n + attempt) % len(urls)]  # a retry goes to the other backend first
                attempt += 1
                try:
                    reply = await client.post(f"{url}/api/v1/leads", json=body, headers=headers)
                except httpx.HTTPError:
                    reply = None
                if reply is not None and reply.status_code in (200, 201):
                    phase.accepted[int(reply.json()["id"])] = time.time()
                    return
                if reply is not None and 400 <= reply.status_code < 500 and reply.status_code != 429:
                    raise RuntimeError(f"refused: {reply.status_code} {reply.text[:200]}")
                await asyncio.sleep(min(5.0, 0.2 * 2 ** min(attempt, 5)) * (0.5 + random.random()))
            phase.refused += 1

        await at_rate(leads, rate, one)


def _state(database_url: str, lead_ids: list[int]) -> tuple[dict[int, float], int]:
    """First business notification sent per lead, and how many of these leads' rows are not final yet."""
    if not lead_ids:
        return {}, 0
    engine = create_engine(database_url, pool_pre_ping=True)
    try:
        with engine.connect() as conn:
            ids = {"ids": lead_ids}
            sent = conn.execute(
                text(
                    "SELECT lead_id, min(sent_at) FROM notifications WHERE kind = 'business_new_lead' "
                    "AND status = 'sent' AND lead_id = ANY(:ids) GROUP BY lead_id"
                ),
                ids,
            ).all()
            stuck_leads = conn.execute(
                text("SELECT count(*) FROM leads WHERE id = ANY(:ids) AND status <> ALL(:final)"),
                {**ids, "final": list(FINAL_LEAD)},
            ).scalar_one()
            stuck_notes = conn.execute(
                text(
                    "SELECT count(*) FROM notifications WHERE lead_id = ANY(:ids) AND status IN ('pending', 'sending')"
                ),
                ids,
            ).scalar_one()
    finally:
        engine.dispose()
    return {int(lead): at.timestamp() for lead, at in sent}, int(stuck_leads) + int(stuck_notes)


def _what_is_stuck(database_url: str, lead_ids: list[int]) -> str:
    """Which of these leads and notifications are not final, by status (printed when a phase did not settle)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            leads = conn.execute(
                text("SELECT status, count(*) FROM leads WHERE id = ANY(:ids) AND status <> ALL(:final) GROUP BY 1"),
                {"ids": lead_ids, "final": list(FINAL_LEAD)},
            ).all()
            notes = conn.execute(
                text(
                    "SELECT kind, status, attempts, count(*) FROM notifications "
                    "WHERE lead_id = ANY(:ids) AND status IN ('pending', 'sending', 'failed') GROUP BY 1, 2, 3"
                ),
                {"ids": lead_ids},
            ).all()
    finally:
        engine.dispose()
    return f"  stuck leads: {[tuple(r) for r in leads]}\n  notifications: {[tuple(r) for r in notes]}"


def _settle(database_url: str, phase: Phase) -> tuple[dict[int, float], int, float]:
    """Wait until every accepted lead is notified and nothing is stuck (or SETTLE_SECONDS pass)."""
    ids = sorted(phase.accepted)
    deadline = time.monotonic() + SETTLE_SECONDS
    sent, stuck = {}, 0
    while True:
        with contextlib.suppress(Exception):  # the database may still be coming back
            sent, stuck = _state(database_url, ids)
            if len(sent) >= len(ids) and stuck == 0:
                break
        if time.monotonic() >= deadline:
            break
        time.sleep(1)
    return sent, stuck, time.monotonic() - phase.fault_ended


def _line(prefix: str, leads: int, lost: int, dupes: int, stuck: int, recovered: float, p95: float) -> str:
    return (
        f"{prefix}leads={leads} lost={lost} duplicate_sends={dupes} stuck={stuck} "
        f"recovered_s={recovered:.0f} p95_ms={p95:.0f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=1000, help="leads over the whole run (shared by the phases)")
    parser.add_argument("--rate", type=float, default=10.0, help="arrivals per second")
    parser.add_argument("--phases", default=",".join(PHASES), help="a comma-separated subset of " + ",".join(PHASES))
    args = parser.parse_args(argv)
    phases = [p for p in args.phases.split(",") if p]
    unknown = set(phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
    per_phase = max(1, args.leads // len(phases))

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the fakes' access log
    providers = Providers()
    with stack() as s:
        pg = PrivatePostgres(s.workdir)
        try:
            pg.start()
            s.env.update(providers.env())
            s.env.update(INTAKE_PER_IP_PER_HOUR="1000000", SEED_DEMO="true")
            chaos = Chaos(s, pg, providers, free_port())
            chaos.start_redis()
            s.env["REDIS_URL"] = f"redis://127.0.0.1:{chaos.redis_port}/0"
            database_url = s.use_database(pg.create("leadapp"))
            engine = create_engine(database_url)
            with engine.begin() as conn:  # the benchmark's leads must not run into the demo's monthly caps
                conn.execute(text("UPDATE businesses SET monthly_lead_cap = 100000000"))
            engine.dispose()
            chaos.start_api(0)
            chaos.start_api(1)
            chaos.start_workers()
            chaos.wait_for_workers()  # the first fault must meet a running system, not one still starting

            totals: list[tuple[Phase, dict[int, float], int, float]] = []
            offset = 0
            for name in phases:
                phase = Phase(name)
                seconds = per_phase / args.rate
                stop = threading.Event()
                injector = threading.Thread(
                    target=lambda n=name, p=phase, sec=seconds, st=stop: setattr(
                        p, "fault_ended", chaos.inject(n, sec, st)
                    ),
                    daemon=True,
                )
                injector.start()
                asyncio.run(_submit(chaos, phase, per_phase, args.rate, offset))
                offset += per_phase
                injector.join()
                sent, stuck, recovered = _settle(database_url, phase)
                totals.append((phase, sent, stuck, recovered))
                lost = sum(1 for lead in phase.accepted if lead not in sent)
                latencies = [(sent[i] - phase.accepted[i]) * 1000 for i in phase.accepted if i in sent]
                if stuck or lost:
                    print(_what_is_stuck(database_url, sorted(phase.accepted)), flush=True)
                    for program in ("worker1", "worker2"):  # what the workers and their schedulers said
                        print(f"--- {program} log (its end) ---\n{s.log_tail(program, 4000)}", flush=True)
                print(
                    _line(
                        f"faults phase={name} ",
                        len(phase.accepted),
                        lost,
                        providers.duplicate_sends(),
                        stuck,
                        recovered,
                        percentile(latencies, 0.95),
                    )
                    + (f" refused={phase.refused}" if phase.refused else ""),
                    flush=True,
                )
            accepted = sum(len(p.accepted) for p, *_ in totals)
            lost = sum(sum(1 for lead in p.accepted if lead not in sent) for p, sent, *_ in totals)
            latencies = [(sent[i] - p.accepted[i]) * 1000 for p, sent, *_ in totals for i in p.accepted if i in sent]
            print(
                _line(
                    "faults ",
                    accepted,
                    lost,
                    providers.duplicate_sends(),
                    sum(stuck for *_, stuck, _ in totals),
                    max((r for *_, r in totals), default=0.0),
                    percentile(latencies, 0.95),
                )
            )
            return 0
        except BaseException:
            for name in ("api1", "api2", "worker1", "worker2"):
                print(f"--- {name} log ---\n{s.log_tail(name)}")
            raise
        finally:
            pg.stop()
            providers.stop()


if __name__ == "__main__":
    raise SystemExit(main())
