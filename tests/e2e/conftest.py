"""The browser suite's app: a running deployment (BASE_URL) or the whole stack started here.

`make e2e BASE_URL=https://staging.example` runs the same tests against any deployment, with logins
from E2E_ADMIN_EMAIL / E2E_ADMIN_PASSWORD (default: the demo admin). Without BASE_URL, the stack is
started exactly as `make run` starts it (`python -m leadapp.launch`): a private Redis, a fresh database
(SQLite, or PostgreSQL with E2E_DATABASE=postgres), the worker, the voice bridge and the production web
build, all on free loopback ports; it is stopped at the end. With REFLEX_STATE_IN_REDIS=true the web app
runs scaled out: page state in Redis and several backend workers; with E2E_SCALE=N as `make run SCALE=N`
runs it: N web backends and N voice bridges behind the reverse proxy (Caddy).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect

from leadapp.core.seed import ADMIN_EMAIL, CONSUMER_EMAIL
from leadapp.launch import redis_server_argv
from tests.e2e.chromium import ARGS, CHROMIUM
from tests.integration.programs import start_program, unused_port, wait_for_http

START_TIMEOUT = 300.0
pytestmark = pytest.mark.e2e

# A page that needs a websocket round trip (hydrate, session check, first query) can take several seconds on
# a loaded 2-core CI machine running the whole scaled-out stack. Assertions that state a product target
# (a live row within 2 s) pass their own, tighter timeout.
expect.set_options(timeout=15_000)


@dataclass(frozen=True)
class Deployment:
    url: str
    admin_email: str
    admin_password: str
    consumer_email: str
    consumer_password: str
    local: bool
    database_url: str = ""
    redis_url: str = ""
    launcher_pid: int = 0  # the local stack's `leadapp.launch` (whose children are the programs)
    log_path: Path | None = None  # everything the local stack's programs printed


def _postgres_database() -> tuple[str, object]:
    """A new database, reached as a superuser: the launcher then makes `<db>_owner` (migrations) and `<db>_app`
    (the programs, walled by row-level security), as `make run` does. Both roles are dropped with the database."""
    import psycopg

    from leadapp.core.db_roles import role_names

    admin_url = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"leadapp_e2e_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            for role in role_names(name):
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')

    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}", drop


@pytest.fixture(scope="session")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    base_url = os.environ.get("BASE_URL", "").rstrip("/")
    password = os.environ.get("DEMO_PASSWORD", "demo-password-123")
    if base_url:
        yield Deployment(
            url=base_url,
            admin_email=os.environ.get("E2E_ADMIN_EMAIL", ADMIN_EMAIL),
            admin_password=os.environ.get("E2E_ADMIN_PASSWORD", password),
            consumer_email=os.environ.get("E2E_CONSUMER_EMAIL", CONSUMER_EMAIL),
            consumer_password=os.environ.get("E2E_CONSUMER_PASSWORD", password),
            local=False,
        )
        return
    with local_deployment(tmp_path_factory.mktemp("e2e")) as started:
        yield started


@contextlib.contextmanager
def local_deployment(workdir: Path, **overrides: str) -> Iterator[Deployment]:
    """The whole stack started as `make run` starts it, in `workdir`, with these settings `overrides` (tests that
    attack a deployment configured their way, e.g. behind a trusted proxy); stopped and removed on exit."""
    password = os.environ.get("DEMO_PASSWORD", "demo-password-123")
    drop_db = None
    if os.environ.get("E2E_DATABASE", "sqlite") == "postgres":
        database_url, drop_db = _postgres_database()
    else:
        database_url = f"sqlite:///{workdir / 'e2e.db'}"
    redis_port, bridge_port, web_port = unused_port(), unused_port(), unused_port()
    redis_proc = subprocess.Popen(
        redis_server_argv(redis_port),
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        VOICE_BRIDGE_PORT=str(bridge_port),
        VOICE_BRIDGE_URL=f"http://127.0.0.1:{bridge_port}",
        APP_URL=f"http://localhost:{web_port}",
        DEMO_PASSWORD=password,
        SEED_DEMO="true",
        WORKER_HEARTBEAT_SECONDS="5",
        # Calls may be placed at any hour here, so the simulated AI call runs whatever the time of the run.
        CALLING_HOURS_START="0",
        CALLING_HOURS_END="24",
        # Every browser here submits from 127.0.0.1; the 5-an-hour limit itself is tested in the API tests.
        INTAKE_PER_IP_PER_HOUR="1000",
        # ...and logs in from it: the per-IP log-in limit (30 per 15 minutes, successes included, against password
        # spraying) is tested in tests/security; here it would refuse every journey after the thirtieth log-in.
        LOGIN_IP_MAX_ATTEMPTS="1000",
        RECORDINGS_DIR=str(workdir / "recordings"),  # the simulated calls' recordings stay with the run
    )
    env.update(overrides)
    log_path = Path(workdir) / "app.log"
    # Three workers: a simulated AI call keeps one busy for its whole (real-time) conversation.
    launch = ["-m", "leadapp.launch", "--web-port", str(web_port), "--workers", "3"]
    if int(os.environ.get("E2E_SCALE", "1")) > 1:
        launch += ["--scale", os.environ["E2E_SCALE"]]
    app = start_program(launch, log_path, env, new_session=True)
    try:
        wait_for_http(f"http://127.0.0.1:{web_port}/", app, log_path, START_TIMEOUT)
        # a backend answers (behind a proxy)
        wait_for_http(f"http://127.0.0.1:{web_port}/ping", app, log_path, START_TIMEOUT)
        wait_for_http(f"http://127.0.0.1:{bridge_port}/health", app, log_path, 30)
        yield Deployment(
            url=f"http://localhost:{web_port}",
            admin_email=ADMIN_EMAIL,
            admin_password=password,
            consumer_email=CONSUMER_EMAIL,
            consumer_password=password,
            local=True,
            database_url=database_url,
            redis_url=env["REDIS_URL"],
            launcher_pid=app.pid,
            log_path=log_path,
        )
    except BaseException:
        print(log_path.read_text(errors="replace")[-5000:])
        raise
    finally:
        if app.poll() is None:
            os.killpg(app.pid, signal.SIGINT)
            try:
                app.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(app.pid, signal.SIGKILL)
                app.wait()
        redis_proc.terminate()
        redis_proc.wait(timeout=10)
        if drop_db is not None:
            drop_db()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian's Chromium, never a downloaded one, with the flags this closed network needs."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ARGS,
    }


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """A failing browser test on the local stack shows what the stack's programs printed just then."""
    outcome = yield
    report = outcome.get_result()
    deployment = getattr(item, "funcargs", {}).get("deployment")
    if report.failed and call.when == "call" and getattr(deployment, "log_path", None):
        tail = deployment.log_path.read_text(errors="replace")[-6000:]
        report.sections.append(("the local stack's log (its end)", tail))
