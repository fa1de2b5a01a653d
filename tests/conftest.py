"""Fixtures shared by every test: a private Redis, migrated SQLite and PostgreSQL databases, the app environment.

Everything runs on loopback, every wait is bounded, and each fixture removes what it created
(the Redis process, the temporary SQLite file, the PostgreSQL database it created — nothing else).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from alembic.config import Config
from pytest_httpserver import HTTPServer
from sqlmodel import Session

from alembic import command

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the app is not installed as a package; tests import it from the checkout
    sys.path.insert(0, str(ROOT))
ALEMBIC_INI = ROOT / "alembic.ini"

from leadapp.launch import redis_server_argv  # noqa: E402  (importable once the checkout is on sys.path)
from tests.integration.programs import unused_port  # noqa: E402

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
PG_ADMIN_DSN = f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/postgres"
REDIS_START_TIMEOUT = 10.0


def clear_app_caches() -> None:
    """Forget every process-wide cache that depends on environment variables."""
    from leadapp.core import broker, ratelimit
    from leadapp.core.settings import get_settings

    get_settings.cache_clear()
    broker.redis_for.cache_clear()
    ratelimit.reset_caches()


def alembic_config(url: str | None = None) -> Config:
    """The project's Alembic config; with `url`, migrate that database whatever DATABASE_URL says."""
    config = Config(str(ALEMBIC_INI))
    if url:
        config.attributes["database_url"] = url
    return config


def dispose_engine(url: str) -> None:
    """Close the pooled connections of the app's cached engine for `url` (so the database can be removed)."""
    from leadapp.core.db import engine_for

    engine_for(url).dispose()


# --- Redis ----------------------------------------------------------------------------------------


def _start_redis(workdir: Path, port: int | None = None) -> tuple[subprocess.Popen[bytes], int]:
    """Start redis-server on `port` (or a free one) and wait for PING; fails the test if it never answers."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (needed for the private test Redis)")
    # A free port can be taken between probing and binding: with no fixed port, try another one.
    candidates = [port] if port else [unused_port() for _ in range(3)]
    last_error = ""
    for candidate in candidates:
        proc = subprocess.Popen(
            redis_server_argv(candidate, data_dir=workdir),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        client = redis.Redis(host="127.0.0.1", port=candidate, socket_connect_timeout=0.5, socket_timeout=0.5)
        deadline = time.monotonic() + REDIS_START_TIMEOUT
        try:
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    if client.ping():
                        return proc, candidate
                except redis.RedisError as exc:
                    last_error = repr(exc)
                time.sleep(0.05)
        finally:
            client.close()
        _stop(proc)
        if proc.stderr is not None:
            last_error = proc.stderr.read().decode(errors="replace") or last_error
            proc.stderr.close()
    pytest.fail(f"redis-server did not answer PING: {last_error}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def private_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a redis-server started for this test session only (no persistence, loopback only)."""
    proc, port = _start_redis(tmp_path_factory.mktemp("redis"))
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(proc)


class RedisProcess:
    """A redis-server this test owns: its URL, and a way to stop it mid-test (an outage)."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int) -> None:
        self.proc, self.port = proc, port
        self.url = f"redis://127.0.0.1:{port}/0"

    def stop(self) -> None:
        _stop(self.proc)

    def start_again(self, workdir: Path) -> None:
        """Bring Redis back on the same port after `stop()` (the end of an outage)."""
        self.proc, _ = _start_redis(workdir, self.port)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    """A redis-server for one test only, which the test may stop to simulate Redis going down."""
    server = RedisProcess(*_start_redis(tmp_path))
    try:
        yield server
    finally:
        server.stop()


# --- databases ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated to head per test session; each test gets a copy (migrating is the slow part)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    command.upgrade(alembic_config(f"sqlite:///{path}"), "head")
    dispose_engine(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _sqlite_template: Path) -> Iterator[str]:
    """A temporary SQLite file migrated to head; DATABASE_URL points at it for the test."""
    target = tmp_path / "leadapp-test.db"
    shutil.copyfile(_sqlite_template, target)
    with _database_url(f"sqlite:///{target}", monkeypatch) as url:
        yield url


@contextmanager
def _database_url(url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """DATABASE_URL is `url` inside; the app's caches are cleared on the way in and out, its engine disposed."""
    monkeypatch.setenv("DATABASE_URL", url)
    clear_app_caches()
    try:
        yield url
    finally:
        dispose_engine(url)
        clear_app_caches()


def _pg_admin_connection():
    import psycopg

    return psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=3)


def _pg_admin_or_skip():
    """An admin connection to PostgreSQL; skips the test when the server is unreachable (fails it instead with
    LEADAPP_REQUIRE_POSTGRES=1)."""
    import psycopg

    try:
        return _pg_admin_connection()
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT} as {PG_USER}: {exc}"
        if os.environ.get("LEADAPP_REQUIRE_POSTGRES") == "1":
            pytest.fail(message + " (LEADAPP_REQUIRE_POSTGRES=1)")
        pytest.skip(message + " (set LEADAPP_REQUIRE_POSTGRES=1 to make this a failure)")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A freshly created, empty PostgreSQL database (dropped afterwards); skips when PostgreSQL is unreachable.

    With LEADAPP_REQUIRE_POSTGRES=1 an unreachable server fails the test instead of skipping it.
    """
    admin = _pg_admin_or_skip()
    name = f"leadapp_test_{secrets.token_hex(6)}"
    url = f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url
    finally:
        try:
            dispose_engine(url)
        finally:  # FORCE ends any connection still open, so the database goes whatever the test left
            with _pg_admin_connection() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def _pg_template() -> Iterator[str]:
    """A PostgreSQL database migrated to head once per session, used as the template of each test's database."""
    admin = _pg_admin_or_skip()
    name = f"leadapp_template_{secrets.token_hex(6)}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    try:
        command.upgrade(alembic_config(url), "head")
        dispose_engine(url)
        yield name
    finally:
        dispose_engine(url)
        with _pg_admin_connection() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def migrated_pg_url(_pg_template: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh PostgreSQL database at head (a copy of the session's template); dropped afterwards."""
    name = f"leadapp_test_{secrets.token_hex(6)}"
    with _pg_admin_connection() as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{_pg_template}"')
    try:
        with _database_url(f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}", monkeypatch) as url:
            yield url
    finally:
        with _pg_admin_connection() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- PostgreSQL with row-level security in force -------------------------------------------------


@dataclass(frozen=True)
class WalledDatabase:
    """A PostgreSQL database as production runs it: migrated by an owner role, used by the application role
    (no table, no BYPASSRLS), so row-level security applies to the app. `admin_url` (a superuser) sees past it."""

    name: str
    admin_url: str
    owner_url: str
    app_url: str


@dataclass(frozen=True)
class WalledRoles:
    owner: str
    app: str
    template: str  # a database migrated to head, owned by `owner`


def _pg_url(name: str, user: str = PG_USER) -> str:
    return f"postgresql+psycopg://{user}@{PG_HOST}:{PG_PORT}/{name}"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def clone_walled(roles: WalledRoles, name: str, template: str | None = None) -> WalledDatabase:
    """A new database `name`, copied from `template` (default: the migrated one), owned by the owner role."""
    with _pg_admin_connection() as admin:
        admin.execute(
            f"CREATE DATABASE {_quote(name)} TEMPLATE {_quote(template or roles.template)} OWNER {_quote(roles.owner)}"
        )
        admin.execute(f"GRANT CONNECT ON DATABASE {_quote(name)} TO {_quote(roles.app)}")
    return WalledDatabase(name, _pg_url(name), _pg_url(name, roles.owner), _pg_url(name, roles.app))


def drop_walled(db: WalledDatabase) -> None:
    """Close the app's pooled connections to `db` and drop it."""
    for url in (db.admin_url, db.owner_url, db.app_url):
        dispose_engine(url)
    with _pg_admin_connection() as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {_quote(db.name)} WITH (FORCE)")


@pytest.fixture(scope="session")
def walled_roles() -> Iterator[WalledRoles]:
    """Two roles for this test session (`lt<hex>_owner`, `lt<hex>_app`, made by `db_roles.provision`) and a
    database migrated to head by the owner, the template of every walled database; all removed at the end."""
    import psycopg

    from leadapp.core import db_roles

    admin = _pg_admin_or_skip()
    tag = f"lt{secrets.token_hex(5)}"
    owner, app, template = f"{tag}_owner", f"{tag}_app", f"{tag}_template"
    with admin:
        admin.execute(f'CREATE DATABASE "{template}"')
    try:
        urls = db_roles.provision(_pg_url(template), names=(owner, app))
        command.upgrade(alembic_config(urls.owner_url), "head")
        db_roles.grant_app(urls.owner_url, app)
        for url in (urls.owner_url, _pg_url(template)):
            dispose_engine(url)
        yield WalledRoles(owner, app, template)
    finally:
        with _pg_admin_connection() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
            for role in (app, owner):
                try:
                    admin.execute(f'DROP ROLE IF EXISTS "{role}"')
                except psycopg.Error as exc:  # a database of a failed test still uses it: say so, leave it
                    print(f"role {role} not dropped: {exc}")


@pytest.fixture
def walled_db(walled_roles: WalledRoles, monkeypatch: pytest.MonkeyPatch) -> Iterator[WalledDatabase]:
    """A fresh walled database at head; DATABASE_URL is its application role, DATABASE_OWNER_URL its owner."""
    db = clone_walled(walled_roles, f"{walled_roles.owner[:-6]}_{secrets.token_hex(4)}")
    monkeypatch.setenv("DATABASE_URL", db.app_url)
    monkeypatch.setenv("DATABASE_OWNER_URL", db.owner_url)
    clear_app_caches()
    try:
        yield db
    finally:
        clear_app_caches()
        drop_walled(db)


@pytest.fixture(params=["sqlite", "postgres"])
def any_db_url(request: pytest.FixtureRequest) -> str:
    """A migrated database, once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "migrated_pg_url")


# --- the application's environment ----------------------------------------------------------------


def deployment_env(redis_url: str, **more: str) -> dict[str, str]:
    """The environment of a test deployment on `redis_url`: a random key prefix and secret key, no error
    reporting, a cheaper Argon2id (production keeps the defaults; test_passwords checks those), and `more`."""
    return {
        "REDIS_URL": redis_url,
        "REDIS_PREFIX": f"test-{secrets.token_hex(4)}",
        "SECRET_KEY": secrets.token_hex(16),
        "ENVIRONMENT": "test",
        "SENTRY_DSN": "",
        "PASSWORD_HASH_MEMORY_KIB": "1024",
        "PASSWORD_HASH_TIME_COST": "1",
        **more,
    }


def use_env(mp: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    """Set these environment variables for the test and forget every cache that read the old ones."""
    for key, value in values.items():
        mp.setenv(key, value)
    clear_app_caches()


@pytest.fixture
def app_env(
    monkeypatch: pytest.MonkeyPatch, any_db_url: str, private_redis_url: str, tmp_path: Path
) -> Iterator[dict[str, str]]:
    """Environment variables of a test deployment: its own database, a clean Redis database (number 1 of the
    session's private Redis, emptied before and after: RQ's job keys carry no prefix, and a job an earlier test
    left under the same id, e.g. `invitation-1-followup-1`, was taken for this test's), a random key prefix,
    its own folder for the simulated calls' recordings. Fixtures that share Redis across tests use number 0."""
    redis_url = private_redis_url.rsplit("/", 1)[0] + "/1"
    _flush(redis_url)
    values = deployment_env(redis_url, RECORDINGS_DIR=str(tmp_path / "recordings"), DATABASE_URL=any_db_url)
    use_env(monkeypatch, values)
    try:
        yield values
    finally:
        _flush(redis_url)
        clear_app_caches()


SITEVERIFY = "/turnstile/v0/siteverify"


@pytest.fixture
def turnstile(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, app_env: dict[str, str]) -> HTTPServer:
    """Cloudflare Turnstile configured (site and secret key) against a fake siteverify at `SITEVERIFY` on the
    returned `httpserver`, which the test tells what to answer."""
    use_env(
        monkeypatch,
        {
            "TURNSTILE_SITE_KEY": "site-key",
            "TURNSTILE_SECRET_KEY": "secret-key",
            "TURNSTILE_VERIFY_URL": httpserver.url_for(SITEVERIFY),
        },
    )
    return httpserver


def _flush(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)
    try:
        client.flushdb()
    finally:
        client.close()


@pytest.fixture
def db_session(app_env: dict[str, str]) -> Iterator[Session]:
    """A session on the test database (the app's own engine); the test commits what it wants to keep."""
    from leadapp.core.db import get_engine

    with Session(get_engine(), expire_on_commit=False) as session:
        yield session
