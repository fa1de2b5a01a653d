"""Attack: more password guesses than the throttle allows, and locking the admin out (issue 11, item 12).

1. Parallel sockets: the throttle was checked before the (slow, Argon2) password check and counted after it,
   so guesses sent at the same moment all passed the check. Twenty parallel guesses must get at most
   LOGIN_MAX_FAILURES password checks; the rest are refused before any check.
2. Lock-out: failures for the admin's email from one address locked the email for everyone. Now the admin,
   from their own address, still logs in; only the attacker's address is refused.
3. Spreading guesses over many addresses runs into the slower per-email rate.
"""

from __future__ import annotations

import threading

import pytest

from leadapp.core.db import session_scope
from leadapp.core.errors import TooManyAttempts, UserError
from leadapp.core.services import accounts
from leadapp.core.settings import get_settings

PASSWORD = "the admin's real password"
ADMIN = "admin-q12@example.com"


def _make_admin() -> None:
    with session_scope() as session:
        accounts.ensure_admin(session, ADMIN, PASSWORD)


def _guess(password: str, ip: str) -> str:
    """'ok', 'wrong' (a password check happened) or 'throttled' (refused before any check)."""
    try:
        with session_scope() as session:
            accounts.login(session, ADMIN, password, ip=ip)
    except TooManyAttempts:
        return "throttled"
    except UserError:
        return "wrong"
    return "ok"


def test_parallel_guesses_get_no_extra_password_checks(app_env: dict[str, str]) -> None:
    _make_admin()
    guesses = 20
    barrier = threading.Barrier(guesses)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attacker(n: int) -> None:
        barrier.wait(timeout=30)
        outcome = _guess(f"guess number {n}", "203.0.113.66")
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=attacker, args=(n,)) for n in range(guesses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(outcomes) == guesses
    assert outcomes.count("wrong") <= get_settings().login_max_failures, outcomes
    assert outcomes.count("throttled") >= guesses - get_settings().login_max_failures
    # Even the right password is no longer checked from that address.
    assert _guess(PASSWORD, "203.0.113.66") == "throttled"


def test_failures_from_one_address_do_not_lock_the_admin_out(app_env: dict[str, str]) -> None:
    _make_admin()
    for n in range(get_settings().login_max_failures + 3):
        assert _guess(f"wrong {n}", "198.51.100.9") in ("wrong", "throttled")
    assert _guess(PASSWORD, "198.51.100.9") == "throttled"
    assert _guess(PASSWORD, "192.0.2.1") == "ok"


def test_an_empty_address_is_a_bucket_of_its_own_not_a_skipped_limit(app_env: dict[str, str]) -> None:
    _make_admin()
    outcomes = [_guess(f"wrong {n}", "") for n in range(get_settings().login_max_failures + 2)]
    assert outcomes[-1] == "throttled", outcomes


def test_guesses_spread_over_many_addresses_meet_the_slower_per_email_rate(
    app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGIN_EMAIL_MAX_PER_HOUR", "8")
    get_settings.cache_clear()
    _make_admin()
    outcomes = [_guess(f"wrong {n}", f"10.1.{n}.1") for n in range(12)]  # 1 guess per address
    assert outcomes[:8] == ["wrong"] * 8
    assert outcomes[8:] == ["throttled"] * 4
