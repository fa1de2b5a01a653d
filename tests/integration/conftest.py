"""Fixtures for tests that run the real programs: the worker and the voice bridge as subprocesses; and, imported
from `bridge_harness` and `calls_world`, the in-process bridge's and the outbound calls' fixtures.

They build on the session-wide private Redis (`private_redis_url`) and the migrated temporary SQLite
database (`sqlite_url`) from `tests/conftest.py`. Everything listens on 127.0.0.1 and every wait is
bounded.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

# The voice bridge's and the outbound calls' fixtures, for the modules here that ask for them by name (a module's
# own fixture of the same name wins: `twilio` in test_sms_webhook.py is another fake).
from tests.integration.bridge_harness import (  # noqa: F401
    bridge,
    database,
    fake_openai,
    live_events,
    seeded,
    simulated_call,
)
from tests.integration.calls_world import bridge_url, simulator, twilio, world  # noqa: F401
from tests.integration.programs import clear_settings_caches, start_voice_bridge, stop_program, unused_port


def _delete_rq_keys(client: redis.Redis) -> None:
    # RQ's keys are not under REDIS_PREFIX (queue and worker names are global in a Redis database), so a
    # test that runs workers starts and ends with none of them in the private Redis.
    stale = list(client.scan_iter(match="rq:*", count=500))
    if stale:
        client.delete(*stale)


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening on it."""
    return unused_port()


@pytest.fixture
def use_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """`use_env(REDIS_URL=..., ...)` sets environment variables for the test and makes settings see them."""

    def apply(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        clear_settings_caches()

    try:
        yield apply
    finally:
        monkeypatch.undo()
        clear_settings_caches()


@pytest.fixture
def redis_env(private_redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[redis.Redis]:
    """REDIS_URL points at the private Redis under a random key prefix; yields a client to inspect it.

    Removes the prefix's keys and every RQ key before and after the test.
    """
    prefix = f"test-{secrets.token_hex(4)}"
    monkeypatch.setenv("REDIS_URL", private_redis_url)
    monkeypatch.setenv("REDIS_PREFIX", prefix)
    clear_settings_caches()
    client = redis.Redis.from_url(private_redis_url, socket_connect_timeout=2, socket_timeout=5)
    _delete_rq_keys(client)
    try:
        yield client
    finally:
        _delete_rq_keys(client)
        mine = list(client.scan_iter(match=f"{prefix}:*", count=500))
        if mine:
            client.delete(*mine)
        client.close()
        clear_settings_caches()


@pytest.fixture
def empty_database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """DATABASE_URL points at a new, empty (never migrated) SQLite file."""
    from leadapp.core.db import engine_for

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    clear_settings_caches()
    try:
        yield url
    finally:
        engine_for(url).dispose()
        clear_settings_caches()


@pytest.fixture
def voice_bridge_url(sqlite_url: str, redis_env: redis.Redis, tmp_path: Path) -> Iterator[str]:
    """Base URL of the real voice bridge (`python -m voice_bridge`) on a free loopback port.

    The bridge uses the test's migrated database; it is stopped (SIGTERM) after the test.
    """
    proc, url = start_voice_bridge(tmp_path / "voice_bridge.log")
    try:
        yield url
    finally:
        stop_program(proc)
