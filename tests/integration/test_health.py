"""The health checks against the real things: SQLite migrated by Alembic, a private Redis, an RQ
worker running the heartbeat job, and the voice bridge served by uvicorn."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import redis
from fastapi.testclient import TestClient
from rq import SimpleWorker
from sqlalchemy import text

from leadapp.core.db import get_engine
from leadapp.core.services import health
from leadapp.core.settings import get_settings
from voice_bridge import __version__
from voice_bridge.app import app
from worker import jobs
from worker.queues import MAINTENANCE, get_queue


def _head() -> str:
    return ", ".join(sorted(health.migration_scripts().get_heads()))


# --- database ---------------------------------------------------------------------------------------


def test_database_check_passes_on_a_migrated_database(sqlite_url: str) -> None:
    check = health.check_database()

    assert check == health.Check("database", True, f"sqlite, migrated to {_head()}")


def test_database_check_fails_on_an_empty_unmigrated_database(empty_database_url: str) -> None:
    check = health.check_database()

    assert not check.ok
    assert "not migrated" in check.detail


def test_database_check_fails_when_the_database_is_at_a_revision_this_code_does_not_know(sqlite_url: str) -> None:
    with get_engine().begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'ffffffffffff'"))

    check = health.check_database()

    assert not check.ok
    assert "ffffffffffff" in check.detail and "unknown" in check.detail


def test_database_check_tells_to_recreate_a_database_from_before_the_baseline(sqlite_url: str) -> None:
    with get_engine().begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'inbox'"))

    check = health.check_database()

    assert not check.ok
    assert "inbox" in check.detail and "before the baseline" in check.detail and "re-create" in check.detail


def test_database_check_fails_when_the_database_cannot_be_opened(tmp_path: Path, use_env: Callable) -> None:
    use_env(DATABASE_URL=f"sqlite:///{tmp_path}")  # a directory, not a database file

    check = health.check_database()

    assert not check.ok
    assert check.detail.startswith("unreachable")


# --- redis ------------------------------------------------------------------------------------------


def test_redis_check_passes_against_a_running_redis(redis_env: redis.Redis) -> None:
    check = health.check_redis()

    assert check.ok, check.detail
    assert check.detail.startswith("PONG from redis ")


def test_redis_check_fails_against_a_closed_port(closed_port: int, use_env: Callable) -> None:
    use_env(REDIS_URL=f"redis://127.0.0.1:{closed_port}/0")

    check = health.check_redis()

    assert not check.ok
    assert check.detail.startswith("unreachable")


# --- worker heartbeat -------------------------------------------------------------------------------


def test_worker_check_fails_without_a_heartbeat(redis_env: redis.Redis) -> None:
    assert health.check_worker() == health.Check("worker", False, "no heartbeat")


def test_worker_check_passes_after_a_worker_ran_the_heartbeat_job(redis_env: redis.Redis) -> None:
    job = get_queue(MAINTENANCE).enqueue(jobs.heartbeat)
    SimpleWorker([get_queue(MAINTENANCE)], connection=get_queue(MAINTENANCE).connection).work(burst=True)

    assert job.get_status(refresh=True) == "finished"
    check = health.check_worker()
    assert check.ok, check.detail
    assert check.detail.startswith("last beat ")


def test_heartbeat_is_json_with_time_host_and_pid_and_expires(redis_env: redis.Redis) -> None:
    at = health.record_worker_heartbeat()

    raw = redis_env.get(health.heartbeat_key())
    assert raw is not None
    beat = json.loads(raw)
    assert datetime.fromisoformat(beat["at"]) == at
    assert beat["hostname"] and isinstance(beat["pid"], int)
    stale = get_settings().worker_heartbeat_stale_seconds
    assert 0 < redis_env.ttl(health.heartbeat_key()) <= 3 * stale


def test_worker_check_fails_when_the_heartbeat_is_stale(redis_env: redis.Redis) -> None:
    stale = get_settings().worker_heartbeat_stale_seconds
    health.record_worker_heartbeat(now=datetime.now(UTC) - timedelta(seconds=stale + 5))

    check = health.check_worker()

    assert not check.ok
    assert "stale" in check.detail


def test_worker_check_fails_when_redis_is_down(closed_port: int, use_env: Callable) -> None:
    use_env(REDIS_URL=f"redis://127.0.0.1:{closed_port}/0")

    check = health.check_worker()

    assert not check.ok
    assert check.detail.startswith("cannot read heartbeat")


# --- voice bridge -----------------------------------------------------------------------------------


def test_voice_bridge_check_passes_against_the_running_bridge(voice_bridge_url: str, use_env: Callable) -> None:
    use_env(VOICE_BRIDGE_URL=voice_bridge_url)

    check = health.check_voice_bridge()

    assert check.ok, check.detail


def test_voice_bridge_health_reports_service_version_and_database(voice_bridge_url: str) -> None:
    response = httpx.get(f"{voice_bridge_url}/health", timeout=5)

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "service": "voice_bridge",
        "version": __version__,
        "database": True,
        "calls": 0,  # media streams in progress (what a graceful stop waits for)
    }


def test_voice_bridge_is_degraded_without_a_usable_database(empty_database_url: str) -> None:
    with TestClient(app) as client:
        response = client.get("/health")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded" and body["database"] is False
    assert set(body) == {"status", "service", "version", "database", "calls"}  # the reason is logged, not published


def test_voice_bridge_check_fails_against_a_closed_port(closed_port: int, use_env: Callable) -> None:
    use_env(VOICE_BRIDGE_URL=f"http://127.0.0.1:{closed_port}")

    check = health.check_voice_bridge()

    assert not check.ok
    assert check.detail.startswith("unreachable")


# --- all together -----------------------------------------------------------------------------------


def test_run_all_checks_reports_every_failure_without_raising(
    tmp_path: Path, closed_port: int, use_env: Callable
) -> None:
    use_env(
        DATABASE_URL=f"sqlite:///{tmp_path}",
        REDIS_URL=f"redis://127.0.0.1:{closed_port}/0",
        VOICE_BRIDGE_URL=f"http://127.0.0.1:{closed_port}",
    )

    checks = health.run_all_checks()

    assert [c.name for c in checks] == ["database", "redis", "worker", "voice_bridge"]
    assert not any(c.ok for c in checks)
    assert all(c.detail for c in checks)
