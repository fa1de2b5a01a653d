"""Health of the moving parts: database, Redis, workers (heartbeat) and the voice bridge; and the outside
providers, each configured or its local stand-in, with the last error an adapter recorded.

Each check really talks to the thing it names and never raises: any failure becomes
`Check(ok=False)` with a short reason, so the admin health page always renders.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import httpx
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from leadapp.core import migration_history
from leadapp.core.broker import get_redis, key
from leadapp.core.db import get_engine
from leadapp.core.providers import status as provider_status
from leadapp.core.settings import ROOT, get_settings

BRIDGE_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class Check:
    """The outcome of one health check: `detail` is a short human-readable reason either way."""

    name: str
    ok: bool
    detail: str


def heartbeat_key() -> str:
    """The Redis key holding the latest worker heartbeat."""
    return key("worker", "heartbeat")


def record_worker_heartbeat(now: datetime | None = None) -> datetime:
    """Record that a worker is alive at `now` (default: the current time) and return that time in UTC.

    Writes JSON `{"at": <ISO 8601 UTC>, "hostname": ..., "pid": ...}` to `heartbeat_key()`, replacing
    any earlier beat, with a TTL of three stale periods so a long-dead worker leaves no key behind.
    A naive `now` is taken to be UTC. Raises if Redis is unreachable (the caller is a job or start-up,
    where failing loudly is right).
    """
    at = (now or datetime.now(UTC)).replace(microsecond=0)
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    payload = {"at": at.isoformat(), "hostname": socket.gethostname(), "pid": os.getpid()}
    ttl = 3 * get_settings().worker_heartbeat_stale_seconds
    get_redis().set(heartbeat_key(), json.dumps(payload), ex=max(ttl, 1))
    return at


def _reason(exc: BaseException) -> str:
    """A one-line, bounded description of an error for a check's detail."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    reason = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return reason if len(reason) <= 200 else reason[:197] + "..."


@lru_cache(maxsize=1)
def migration_scripts() -> ScriptDirectory:
    """The Alembic history shipped with this code (cached once read).

    `script_location` in `alembic.ini` is resolved against the ini file's folder (the project root),
    not the current directory, so this works from any working directory.
    """
    config = Config(str(ROOT / "alembic.ini"))
    location = config.get_main_option("script_location") or "alembic"
    # "package:folder" locations are resolved by Alembic itself; plain paths are relative to the ini file.
    if ":" not in location and not Path(location).is_absolute():
        config.set_main_option("script_location", str(ROOT / location))
    return ScriptDirectory.from_config(config)


def check_database() -> Check:
    """Run `SELECT 1` and compare the database's Alembic revision with this code's head.

    ok only when the database answers and is migrated exactly to head; detail names the dialect and
    revision, e.g. "sqlite, migrated to 0001".
    """
    name = "database"
    try:
        scripts = migration_scripts()
        heads = tuple(sorted(scripts.get_heads()))
    except Exception as exc:  # a broken migration folder must not break the health page
        return Check(name, False, f"cannot read migrations: {_reason(exc)}")
    try:
        engine = get_engine()
        dialect = engine.dialect.name
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = tuple(sorted(MigrationContext.configure(connection).get_current_heads()))
    except Exception as exc:
        return Check(name, False, f"unreachable: {_reason(exc)}")
    head_text = ", ".join(heads) or "none"
    if not current:
        return Check(name, False, f"{dialect}, not migrated (head is {head_text}); run `alembic upgrade head`")
    current_text = ", ".join(current)
    if current == heads:
        return Check(name, True, f"{dialect}, migrated to {current_text}")
    if migration_history.predating_baseline(current):
        return Check(name, False, f"{dialect}, at {current_text}, from before the baseline {head_text}; re-create it")
    if any(_revision_unknown(scripts, revision) for revision in current):
        return Check(name, False, f"{dialect}, at {current_text}, unknown to this code (head is {head_text})")
    return Check(name, False, f"{dialect}, at {current_text}, behind head {head_text}; run `alembic upgrade head`")


def _revision_unknown(scripts: ScriptDirectory, revision: str) -> bool:
    """Whether `revision` is missing from this code's migration history (the database is ahead of us)."""
    try:
        return scripts.get_revision(revision) is None
    except Exception:
        return True


def check_redis() -> Check:
    """PING the Redis at REDIS_URL; ok on PONG, detail names the server version."""
    name = "redis"
    try:
        client = get_redis()
        if not client.ping():
            return Check(name, False, "PING not answered")
        version = client.info("server").get("redis_version", "unknown version")
    except Exception as exc:
        return Check(name, False, f"unreachable: {_reason(exc)}")
    return Check(name, True, f"PONG from redis {version}")


def check_worker(now: datetime | None = None) -> Check:
    """Read the worker heartbeat; ok only if it is younger than WORKER_HEARTBEAT_STALE_SECONDS.

    Detail is "last beat 12 s ago (host, pid 123)" or "no heartbeat".
    """
    name = "worker"
    stale_after = get_settings().worker_heartbeat_stale_seconds
    try:
        raw = get_redis().get(heartbeat_key())
    except Exception as exc:
        return Check(name, False, f"cannot read heartbeat: {_reason(exc)}")
    if raw is None:
        return Check(name, False, "no heartbeat")
    try:
        beat = json.loads(raw)
        at = datetime.fromisoformat(beat["at"])
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at
    except (ValueError, KeyError, TypeError) as exc:
        return Check(name, False, f"unreadable heartbeat: {_reason(exc)}")
    # A clock slightly ahead on the worker's machine must not show a negative age.
    age = max(0, int(((now or datetime.now(UTC)) - at).total_seconds()))
    source = f"{beat.get('hostname', '?')}, pid {beat.get('pid', '?')}"
    if age >= stale_after:
        return Check(name, False, f"last beat {age} s ago ({source}); stale after {stale_after} s")
    return Check(name, True, f"last beat {age} s ago ({source})")


def check_voice_bridge() -> Check:
    """GET `{VOICE_BRIDGE_URL}/health` (2 s timeout); ok on HTTP 200 with JSON `status` "ok"."""
    name = "voice_bridge"
    url = get_settings().voice_bridge_url.rstrip("/") + "/health"
    try:
        response = httpx.get(url, timeout=BRIDGE_TIMEOUT_SECONDS)
    except Exception as exc:
        return Check(name, False, f"unreachable at {url}: {_reason(exc)}")
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return Check(name, False, f"HTTP {response.status_code}, not a JSON health answer")
    status = body.get("status")
    if response.status_code != 200 or status != "ok":
        database = "" if body.get("database", True) else ", database unavailable"
        return Check(name, False, f"HTTP {response.status_code}, status {status!r}{database}")
    return Check(name, True, f"ok, version {body.get('version', '?')}")


def run_all_checks() -> list[Check]:
    """Every check, in a stable order (database, redis, worker, voice_bridge); never raises."""
    return [check_database(), check_redis(), check_worker(), check_voice_bridge()]


def provider_rows() -> list[dict[str, str]]:
    """Each provider for the health page: name, label, `configured` ("yes" / ""), what is in use, and its last
    recorded error with the time ("" when none). Never raises (an unreadable Redis shows no last error)."""
    rows = []
    for status in provider_status.provider_statuses():
        last = status.last_error
        rows.append(
            {
                "name": status.name,
                "label": status.label,
                "configured": "yes" if status.configured else "",
                "mode": status.mode,
                "last_error": last.error if last else "",
                "last_error_at": last.at.strftime("%Y-%m-%d %H:%M UTC") if last else "",
            }
        )
    return rows
