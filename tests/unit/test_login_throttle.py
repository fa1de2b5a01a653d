"""Login throttling through `limits`: per (email, IP), per email, per IP; stored in Redis, memory when Redis is down."""

from __future__ import annotations

import socket

import pytest
import redis

from leadapp.core import ratelimit
from leadapp.core.db import session_scope
from leadapp.core.errors import TooManyAttempts, UserError
from leadapp.core.services import accounts
from leadapp.core.settings import get_settings

PASSWORD = "correct horse battery"


def _register(email: str) -> None:
    with session_scope() as session:
        accounts.register(session, email, PASSWORD, "consumer")


def _attempt(email: str, password: str = PASSWORD, ip: str = "") -> str:
    with session_scope() as session:
        return accounts.login(session, email, password, ip=ip)[1]


def _fail(email: str, ip: str = "", times: int = 1) -> None:
    for attempt in range(times):
        with pytest.raises(UserError) as caught:
            _attempt(email, "wrong password!!", ip)
        assert type(caught.value) is UserError, f"throttled too early, at failure {attempt + 1}"


def _limit() -> int:
    return get_settings().login_max_failures


def _throttle_keys(redis_url: str, prefix: str) -> list[str]:
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5, decode_responses=True)
    try:
        return sorted(client.scan_iter(match=f"*{prefix}*"))
    finally:
        client.close()


def test_limit_is_the_documented_default(app_env: dict[str, str]) -> None:
    assert (get_settings().login_max_failures, get_settings().login_window_minutes) == (5, 15)


def test_sixth_attempt_after_five_failures_is_refused_even_with_the_right_password(app_env: dict[str, str]) -> None:
    _register("ann@example.com")
    _fail("ann@example.com", ip="10.0.0.1", times=_limit())
    with pytest.raises(TooManyAttempts) as caught:
        _attempt("ann@example.com", PASSWORD, ip="10.0.0.1")
    assert caught.value.status_code == 429
    assert caught.value.field == "email"
    # Whatever the letter case.
    with pytest.raises(TooManyAttempts):
        _attempt("ANN@example.com", PASSWORD, ip="10.0.0.1")
    # The owner of the account, from their own address, still gets in.
    assert _attempt("ann@example.com", PASSWORD, ip="10.9.9.9")


def test_throttle_applies_to_unknown_emails_too(app_env: dict[str, str]) -> None:
    _fail("ghost@example.com", times=_limit())
    with pytest.raises(TooManyAttempts):
        _attempt("ghost@example.com")


def test_other_emails_are_not_throttled_by_one_email_s_failures(app_env: dict[str, str]) -> None:
    _register("ann@example.com")
    _register("bob@example.com")
    _fail("ann@example.com", times=_limit())
    assert _attempt("bob@example.com")


def test_a_different_email_from_the_same_ip_is_throttled_after_the_ip_limit(app_env: dict[str, str]) -> None:
    _register("victim@example.com")
    for n in range(get_settings().login_ip_max_attempts):  # one failure per email: no email counter fills up
        _fail(f"guess{n}@example.com", ip="203.0.113.7")
    with pytest.raises(TooManyAttempts):
        _attempt("victim@example.com", PASSWORD, ip="203.0.113.7")
    # The same account from another address still works.
    assert _attempt("victim@example.com", PASSWORD, ip="198.51.100.1")


def test_a_successful_login_clears_the_per_email_counter(app_env: dict[str, str]) -> None:
    _register("ann@example.com")
    _fail("ann@example.com", times=_limit() - 1)
    assert _attempt("ann@example.com")
    # Without the reset these would add up to more than the limit.
    _fail("ann@example.com", times=_limit() - 1)
    assert _attempt("ann@example.com")


def test_throttle_state_lives_in_the_private_redis_under_the_prefix(
    app_env: dict[str, str], private_redis_url: str
) -> None:
    prefix = app_env["REDIS_PREFIX"]
    assert _throttle_keys(app_env["REDIS_URL"], prefix) == []
    _fail("ann@example.com", ip="192.0.2.10")
    keys = _throttle_keys(app_env["REDIS_URL"], prefix)
    assert any("ann@example.com" in key for key in keys), keys
    assert any("192.0.2.10" in key for key in keys), keys


def test_throttle_keys_start_with_the_configured_prefix(app_env: dict[str, str], private_redis_url: str) -> None:
    """REDIS_PREFIX is documented as the 'Prefix of every Redis key and channel' (settings.py)."""
    prefix = app_env["REDIS_PREFIX"]
    _fail("ann@example.com", ip="192.0.2.10")
    keys = _throttle_keys(app_env["REDIS_URL"], prefix)
    assert keys
    assert all(key.startswith(f"{prefix}:") for key in keys), keys


def test_counters_survive_a_new_process_view_of_the_storage(app_env: dict[str, str]) -> None:
    """Failures are shared through Redis, not kept in one process's memory (several web workers)."""
    _register("ann@example.com")
    _fail("ann@example.com", times=_limit())
    ratelimit.reset_caches()  # as if another worker process handled the next attempt
    with pytest.raises(TooManyAttempts):
        _attempt("ann@example.com")


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the socket is: nothing listens there


def test_login_works_when_redis_is_unreachable(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    _register("ann@example.com")
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{_closed_port()}/0")
    get_settings.cache_clear()
    ratelimit.reset_caches()
    assert _attempt("ann@example.com", ip="10.0.0.1")
    # The in-memory fallback still throttles.
    _fail("ann@example.com", ip="10.0.0.1", times=_limit())
    with pytest.raises(TooManyAttempts):
        _attempt("ann@example.com", ip="10.0.0.1")


def test_login_works_when_redis_goes_down_after_the_first_login(
    app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, own_redis
) -> None:
    """'Redis down must not stop logins' (leadapp.core.ratelimit) — also when it fails after start-up."""
    monkeypatch.setenv("REDIS_URL", own_redis.url)
    get_settings.cache_clear()
    ratelimit.reset_caches()
    _register("ann@example.com")
    assert _attempt("ann@example.com", ip="10.0.0.1")
    own_redis.stop()
    assert _attempt("ann@example.com", ip="10.0.0.1")


def test_throttle_returns_to_redis_once_redis_is_back(
    app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, own_redis, tmp_path
) -> None:
    """A process that started during a Redis outage must not keep its throttle in private memory for ever
    (SPEC: rate limits live in Redis; nothing keeps state in process memory that another instance needs)."""
    monkeypatch.setenv("REDIS_URL", own_redis.url)
    get_settings.cache_clear()
    ratelimit.reset_caches()
    _register("ann@example.com")
    own_redis.stop()
    assert _attempt("ann@example.com", ip="10.0.0.1")  # works during the outage (memory fallback)
    own_redis.start_again(tmp_path)
    _fail("ann@example.com", ip="10.0.0.1")
    assert _throttle_keys(own_redis.url, app_env["REDIS_PREFIX"]), "failures after the outage never reached Redis"
