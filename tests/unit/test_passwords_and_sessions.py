"""Accounts: Argon2id passwords, registration rules, hashed session tokens, disabling, admins, audit trail."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text
from sqlmodel import Session, func, select

from leadapp.core.db import session_scope
from leadapp.core.errors import NotAllowed, UserError
from leadapp.core.models import AuditEvent, AuthSession, User, utcnow
from leadapp.core.services import accounts
from leadapp.core.services.access import NotLoggedIn
from leadapp.core.settings import get_settings

PASSWORD = "correct horse battery"


def _user_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(User)).one()


def _make_admin(email: str = "root@example.com") -> int:
    with session_scope() as session:
        return accounts.ensure_admin(session, email, PASSWORD).id  # type: ignore[return-value]


def _stored(session: Session, user_id: int) -> User:
    """The user as the database holds it (it must exist)."""
    user = session.get(User, user_id)
    assert user is not None
    return user


def _register(email: str, role: str = "consumer") -> int:
    with session_scope() as session:
        return accounts.register(session, email, PASSWORD, role).id  # type: ignore[return-value]


def _login(email: str, password: str = PASSWORD) -> str:
    with session_scope() as session:
        return accounts.login(session, email, password, ip="127.0.0.1")[1]


def _user_for(token: str | None) -> User | None:
    with session_scope() as session:
        return accounts.user_for_token(session, token)


# --- hashing (no database) ----------------------------------------------------------------------


def test_production_hashes_use_argon2id_at_the_recommended_cost(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PASSWORD_HASH_MEMORY_KIB", "PASSWORD_HASH_TIME_COST"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    try:
        assert "$argon2id$v=19$m=65536,t=3,p=4$" in accounts.hash_password(PASSWORD)
    finally:
        get_settings.cache_clear()


def test_hash_is_argon2id_and_verifies() -> None:
    digest = accounts.hash_password(PASSWORD)
    assert digest.startswith("$argon2id$")
    assert PASSWORD not in digest
    assert accounts.verify_password(digest, PASSWORD) is True
    assert accounts.verify_password(digest, PASSWORD + "x") is False
    assert accounts.verify_password(digest, "") is False


def test_same_password_hashes_differently_each_time() -> None:
    assert accounts.hash_password(PASSWORD) != accounts.hash_password(PASSWORD)


def test_verify_against_garbage_hash_is_false_not_an_error() -> None:
    assert accounts.verify_password("not-a-hash", PASSWORD) is False
    assert accounts.verify_password("", PASSWORD) is False


def test_password_longer_than_72_bytes_is_not_truncated() -> None:
    long_password = "é" * 60 + "tail-A"  # 126 bytes in UTF-8, past bcrypt's 72-byte cut-off
    assert len(long_password.encode()) > 72
    digest = accounts.hash_password(long_password)
    assert accounts.verify_password(digest, long_password) is True
    assert accounts.verify_password(digest, long_password[:-1] + "B") is False


def test_token_digest_is_sha256_hex() -> None:
    assert accounts.token_digest("abc") == hashlib.sha256(b"abc").hexdigest()


# --- registration ---------------------------------------------------------------------------------


def test_register_creates_active_account_with_normalized_email(db_session: Session) -> None:
    user = accounts.register(db_session, "  Ann@Example.COM ", PASSWORD, "business_owner", full_name="  Ann  ")
    db_session.commit()
    stored = db_session.get(User, user.id)
    assert stored is not None
    assert stored.email == "ann@example.com"
    assert stored.role == "business_owner"
    assert stored.full_name == "Ann"
    assert stored.is_active is True
    assert stored.password_hash.startswith("$argon2id$")
    assert accounts.verify_password(stored.password_hash, PASSWORD)


def test_register_refuses_duplicate_email_case_insensitively(db_session: Session) -> None:
    accounts.register(db_session, "ann@example.com", PASSWORD, "consumer")
    db_session.commit()
    with pytest.raises(UserError) as caught:
        accounts.register(db_session, "ANN@Example.com", PASSWORD + "2", "business_owner")
    assert caught.value.field == "email"
    db_session.rollback()
    assert _user_count(db_session) == 1


@pytest.mark.parametrize(
    ("email", "password", "role", "field"),
    [
        ("not-an-email", PASSWORD, "consumer", "email"),
        ("ann@", PASSWORD, "consumer", "email"),
        ("", PASSWORD, "consumer", "email"),
        ("ann@example.com", "short-pw1", "consumer", "password"),  # 9 characters
        ("ann@example.com", "x" * (accounts.MAX_PASSWORD_LENGTH + 1), "consumer", "password"),
        ("ann@example.com", PASSWORD, "admin", "role"),  # self-service may not become admin
        ("ann@example.com", PASSWORD, "superuser", "role"),
        ("ann@example.com", PASSWORD, "", "role"),
    ],
)
def test_register_refuses_bad_input_and_stores_nothing(
    db_session: Session, email: str, password: str, role: str, field: str
) -> None:
    with pytest.raises(UserError) as caught:
        accounts.register(db_session, email, password, role)
    assert caught.value.field == field
    assert type(caught.value) is UserError
    db_session.rollback()
    assert _user_count(db_session) == 0


def test_password_of_exactly_minimum_length_is_accepted(db_session: Session) -> None:
    password = "p" * accounts.MIN_PASSWORD_LENGTH
    user = accounts.register(db_session, "min@example.com", password, "consumer")
    assert accounts.verify_password(user.password_hash, password)


# --- login and sessions ---------------------------------------------------------------------------


def test_login_returns_token_of_a_live_session(app_env: dict[str, str]) -> None:
    user_id = _register("ann@example.com")
    with session_scope() as session:
        user, token = accounts.login(session, " ANN@example.com", PASSWORD, ip="10.0.0.1", user_agent="pytest")
        assert user.id == user_id
        assert user.last_login_at is not None
    assert isinstance(token, str) and len(token) >= 32
    found = _user_for(token)
    assert found is not None and found.id == user_id


def test_login_refuses_wrong_password_and_unknown_email_with_the_same_message(app_env: dict[str, str]) -> None:
    _register("ann@example.com")
    messages = []
    for email, password in [("ann@example.com", "wrong password!"), ("nobody@example.com", PASSWORD)]:
        with session_scope() as session, pytest.raises(UserError) as caught:
            accounts.login(session, email, password)
        assert type(caught.value) is UserError
        messages.append((caught.value.field, caught.value.message))
    assert messages[0] == messages[1]


def test_database_stores_only_the_sha256_of_the_token(app_env: dict[str, str]) -> None:
    _register("ann@example.com")
    token = _login("ann@example.com")
    with session_scope() as session:
        rows = session.connection().execute(text("SELECT * FROM auth_sessions")).mappings().all()
    assert len(rows) == 1
    assert rows[0]["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    for row in rows:
        for column, value in row.items():
            assert token not in str(value), f"raw token found in auth_sessions.{column}"


def test_each_login_opens_a_distinct_session(app_env: dict[str, str]) -> None:
    _register("ann@example.com")
    first, second = _login("ann@example.com"), _login("ann@example.com")
    assert first != second
    assert _user_for(first) is not None and _user_for(second) is not None


@pytest.mark.parametrize("token", [None, "", "no-such-token"])
def test_user_for_token_is_none_for_missing_or_unknown_token(app_env: dict[str, str], token: str | None) -> None:
    _register("ann@example.com")
    _login("ann@example.com")
    assert _user_for(token) is None


def test_user_for_token_is_none_once_the_session_expired(app_env: dict[str, str]) -> None:
    _register("ann@example.com")
    token = _login("ann@example.com")
    assert _user_for(token) is not None
    with session_scope() as session:
        auth = session.exec(select(AuthSession).where(AuthSession.token_hash == accounts.token_digest(token))).one()
        auth.expires_at = utcnow() - timedelta(seconds=1)
        session.add(auth)
    assert _user_for(token) is None


def test_user_for_token_is_none_after_logout(app_env: dict[str, str]) -> None:
    _register("ann@example.com")
    token = _login("ann@example.com")
    other = _login("ann@example.com")
    with session_scope() as session:
        accounts.logout(session, token)
    assert _user_for(token) is None
    assert _user_for(other) is not None  # logging out one browser leaves the others alone
    with session_scope() as session:
        accounts.logout(session, token)  # twice: no-op
        accounts.logout(session, "no-such-token")
        accounts.logout(session, None)
    assert _user_for(token) is None


def test_revoke_all_sessions_counts_and_revokes_open_sessions(app_env: dict[str, str]) -> None:
    user_id = _register("ann@example.com")
    tokens = [_login("ann@example.com") for _ in range(3)]
    with session_scope() as session:
        accounts.logout(session, tokens[0])
    with session_scope() as session:
        assert accounts.revoke_all_sessions(session, user_id) == 2
    assert all(_user_for(token) is None for token in tokens)
    with session_scope() as session:
        assert accounts.revoke_all_sessions(session, user_id) == 0


def test_disabling_a_user_kills_an_existing_token_immediately(app_env: dict[str, str]) -> None:
    admin_id = _make_admin()
    user_id = _register("ann@example.com")
    token = _login("ann@example.com")
    assert _user_for(token) is not None
    with session_scope() as session:
        admin = _stored(session, admin_id)
        accounts.set_active(session, admin, user_id, False)
    assert _user_for(token) is None
    with session_scope() as session:
        user = session.get(User, user_id)
        assert user is not None and user.is_active is False and user.disabled_at is not None
        open_sessions = session.exec(
            select(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))  # type: ignore[union-attr]
        ).all()
        assert open_sessions == []
    # A disabled account cannot log in again, even with the right password.
    with session_scope() as session, pytest.raises(NotAllowed):
        accounts.login(session, "ann@example.com", PASSWORD)
    # Enabling it again does not revive the old session; a new login works.
    with session_scope() as session:
        admin = _stored(session, admin_id)
        accounts.set_active(session, admin, user_id, True)
    assert _user_for(token) is None
    assert _user_for(_login("ann@example.com")) is not None


def test_a_disabled_user_is_refused_even_if_a_session_was_left_open(app_env: dict[str, str]) -> None:
    """user_for_token checks the account itself, not only the session row."""
    user_id = _register("ann@example.com")
    token = _login("ann@example.com")
    with session_scope() as session:
        user = session.get(User, user_id)
        assert user is not None
        user.is_active = False  # e.g. disabled by a direct database change that left sessions open
        session.add(user)
    assert _user_for(token) is None


# --- set_active -----------------------------------------------------------------------------------


@pytest.mark.parametrize("actor_role", ["consumer", "business_owner"])
def test_set_active_refuses_a_non_admin_actor(app_env: dict[str, str], actor_role: str) -> None:
    actor_id = _register("actor@example.com", actor_role)
    target_id = _register("target@example.com")
    with session_scope() as session:
        actor = session.get(User, actor_id)
        assert actor is not None
        with pytest.raises(NotAllowed) as caught:
            accounts.set_active(session, actor, target_id, False)
        assert not isinstance(caught.value, NotLoggedIn)
    with session_scope() as session:
        target = session.get(User, target_id)
        assert target is not None and target.is_active is True
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "user.disable")).all() == []


def test_set_active_refuses_an_anonymous_or_disabled_admin_actor(app_env: dict[str, str]) -> None:
    admin_id = _make_admin()
    _make_admin("second@example.com")
    target_id = _register("target@example.com")
    with session_scope() as session:
        with pytest.raises(NotLoggedIn):
            accounts.set_active(session, None, target_id, False)  # type: ignore[arg-type]
        admin = _stored(session, admin_id)
        admin.is_active = False  # stale object of an admin who has been disabled meanwhile
        with pytest.raises(NotAllowed):
            accounts.set_active(session, admin, target_id, False)
        session.rollback()


def test_set_active_refuses_to_disable_the_last_active_admin(app_env: dict[str, str]) -> None:
    admin_id = _make_admin()
    with session_scope() as session:
        admin = _stored(session, admin_id)
        with pytest.raises(UserError):
            accounts.set_active(session, admin, admin_id, False)
    with session_scope() as session:
        assert _stored(session, admin_id).is_active is True

    # With a second admin, one may be disabled; then the other is the last one again.
    second_id = _make_admin("second@example.com")
    with session_scope() as session:
        admin = _stored(session, admin_id)
        accounts.set_active(session, admin, second_id, False)
    with session_scope() as session:
        admin = _stored(session, admin_id)
        with pytest.raises(UserError):
            accounts.set_active(session, admin, admin_id, False)


def test_set_active_on_unknown_user_is_a_user_error(app_env: dict[str, str]) -> None:
    admin_id = _make_admin()
    with session_scope() as session:
        admin = _stored(session, admin_id)
        with pytest.raises(UserError):
            accounts.set_active(session, admin, 999_999, False)


# --- ensure_admin ---------------------------------------------------------------------------------


def test_ensure_admin_creates_an_admin_who_can_log_in(app_env: dict[str, str]) -> None:
    admin_id = _make_admin("Boss@Example.com")
    with session_scope() as session:
        user, _token = accounts.login(session, "boss@example.com", PASSWORD)
        assert user.id == admin_id and user.role == "admin" and user.is_active
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "user.make_admin")).all()
        assert [(e.target_type, e.target_id, e.before) for e in events] == [("users", str(admin_id), None)]


def test_ensure_admin_promotes_and_reenables_an_existing_account(app_env: dict[str, str]) -> None:
    admin_id = _make_admin()
    user_id = _register("ann@example.com")
    with session_scope() as session:
        admin = _stored(session, admin_id)
        accounts.set_active(session, admin, user_id, False)
    new_password = "a brand new password"
    with session_scope() as session:
        promoted = accounts.ensure_admin(session, "ANN@example.com", new_password)
        assert promoted.id == user_id
    with session_scope() as session:
        user = session.get(User, user_id)
        assert user is not None
        assert (user.role, user.is_active, user.disabled_at) == ("admin", True, None)
        assert _user_count(session) == 2
        with pytest.raises(UserError):
            accounts.login(session, "ann@example.com", PASSWORD)
    with session_scope() as session:
        user, _token = accounts.login(session, "ann@example.com", new_password)
        assert user.role == "admin"
        event = session.exec(
            select(AuditEvent).where(AuditEvent.action == "user.make_admin", AuditEvent.target_id == str(user_id))
        ).one()
        assert event.before == {"role": "consumer", "is_active": False}
        assert event.after == {"role": "admin"}


def test_ensure_admin_refuses_a_weak_password(app_env: dict[str, str]) -> None:
    with session_scope() as session, pytest.raises(UserError) as caught:
        accounts.ensure_admin(session, "boss@example.com", "short")
    assert caught.value.field == "password"


# --- rehash ---------------------------------------------------------------------------------------


def test_login_rehashes_a_password_hashed_with_outdated_parameters(app_env: dict[str, str]) -> None:
    user_id = _register("ann@example.com")
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    assert accounts._hasher().check_needs_rehash(weak)
    with session_scope() as session:
        user = session.get(User, user_id)
        assert user is not None
        user.password_hash = weak
        session.add(user)
    _login("ann@example.com")
    with session_scope() as session:
        user = session.get(User, user_id)
        assert user is not None
        assert user.password_hash != weak
        assert user.password_hash.startswith("$argon2id$")
        assert not accounts._hasher().check_needs_rehash(user.password_hash)
        assert accounts.verify_password(user.password_hash, PASSWORD)


def test_login_keeps_a_current_hash(app_env: dict[str, str]) -> None:
    user_id = _register("ann@example.com")
    with session_scope() as session:
        before = session.get(User, user_id).password_hash  # type: ignore[union-attr]
    _login("ann@example.com")
    with session_scope() as session:
        assert session.get(User, user_id).password_hash == before  # type: ignore[union-attr]


# --- audit trail ----------------------------------------------------------------------------------


def test_register_and_disable_write_audit_events(app_env: dict[str, str]) -> None:
    admin_id = _make_admin()
    user_id = _register("ann@example.com", "business_owner")
    with session_scope() as session:
        admin = _stored(session, admin_id)
        accounts.set_active(session, admin, user_id, False)
    with session_scope() as session:
        register_event = session.exec(select(AuditEvent).where(AuditEvent.action == "user.register")).one()
        assert register_event.actor_id == user_id
        assert (register_event.target_type, register_event.target_id) == ("users", str(user_id))
        assert register_event.after == {"role": "business_owner"}
        assert register_event.created_at is not None

        disable_event = session.exec(select(AuditEvent).where(AuditEvent.action == "user.disable")).one()
        assert disable_event.actor_id == admin_id
        assert (disable_event.target_type, disable_event.target_id) == ("users", str(user_id))
        assert disable_event.before == {"is_active": True}
        assert disable_event.after == {"is_active": False}


def test_a_refused_registration_writes_no_audit_event(app_env: dict[str, str]) -> None:
    _register("ann@example.com")
    with session_scope() as session, pytest.raises(UserError):
        accounts.register(session, "ann@example.com", PASSWORD, "consumer")
    with session_scope() as session:
        assert len(session.exec(select(AuditEvent).where(AuditEvent.action == "user.register")).all()) == 1
