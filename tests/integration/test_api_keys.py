"""Partners' API keys (issue 10, item 8): created by admins (shown once, stored hashed), `Authorization: Bearer`
on POST /api/v1/leads with Turnstile configured and no token, a per-key rate limit, 401 JSON with the reason for
an invalid or revoked key, and only admins manage keys."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from leadapp.core.errors import NotAllowed
from leadapp.core.models import ApiKey, AuditEvent, Lead
from leadapp.core.services import accounts, api_keys
from leadapp.core.services.access import NotLoggedIn

PASSWORD = "a long enough password"
BODY = {
    "text": "My water heater is leaking all over the garage floor, need someone today please, Carmel",
    "zip": "46032",
    "email": "casey@example.com",
}


@pytest.fixture
def client(turnstile):
    # Turnstile is configured: a call without a key and without a token is refused (and siteverify never asked).
    from leadapp.api.app import api

    with TestClient(api, raise_server_exceptions=False) as test_client:
        yield test_client


def _key(db_session: Session, name: str = "Acme", per_minute: str = "60") -> tuple[ApiKey, str]:
    admin = accounts.ensure_admin(db_session, "admin@example.com", PASSWORD)
    key, token = api_keys.create_key(db_session, admin, name, per_minute)
    db_session.commit()
    return key, token


def test_a_key_is_stored_hashed_and_listed_without_its_token(db_session: Session) -> None:
    _key_row, token = _key(db_session)
    assert token.startswith(api_keys.TOKEN_PREFIX) and len(token) > 40
    stored = db_session.exec(select(ApiKey)).one()
    assert stored.token_hash == accounts.token_digest(token) and token not in stored.token_hash
    admin = db_session.exec(select(accounts.User).where(accounts.User.role == "admin")).one()
    [row] = api_keys.list_keys(db_session, admin)
    assert (row["name"], row["status"]) == ("Acme", "active") and token not in str(row)
    assert [e.action for e in db_session.exec(select(AuditEvent)).all()][-1] == "api_key.create"


def test_only_admins_manage_keys(db_session: Session) -> None:
    owner = accounts.register(db_session, "owner@example.com", PASSWORD, "business_owner")
    with pytest.raises(NotAllowed):
        api_keys.create_key(db_session, owner, "Mine")
    with pytest.raises(NotLoggedIn):
        api_keys.list_keys(db_session, None)
    key, _ = _key(db_session)
    with pytest.raises(NotAllowed):
        api_keys.revoke_key(db_session, owner, key.id)  # type: ignore[arg-type]


def test_a_partner_with_a_key_needs_no_turnstile_token(client: TestClient, db_session: Session) -> None:
    _key_row, token = _key(db_session)
    refused = client.post("/api/v1/leads", json=BODY)
    assert refused.status_code == 400 and "anti-robot" in refused.json()["message"]
    accepted = client.post("/api/v1/leads", json=BODY, headers={"Authorization": f"Bearer {token}"})
    assert accepted.status_code == 201, accepted.text
    db_session.expire_all()
    assert db_session.get(Lead, accepted.json()["id"]) is not None


def test_invalid_and_revoked_keys_are_401_with_a_reason(client: TestClient, db_session: Session) -> None:
    key, token = _key(db_session)
    for header, reason in (
        ("Bearer lak_made-up", "not valid"),
        (token, "Bearer"),
        ("Basic abc", "Bearer"),
    ):
        reply = client.post("/api/v1/leads", json=BODY, headers={"Authorization": header})
        assert reply.status_code == 401, reply.text
        assert reply.json()["error"] == "invalid_api_key" and reason in reply.json()["message"]
    admin = db_session.exec(select(accounts.User).where(accounts.User.role == "admin")).one()
    api_keys.revoke_key(db_session, admin, key.id)  # type: ignore[arg-type]
    db_session.commit()
    reply = client.post("/api/v1/leads", json=BODY, headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 401 and "revoked" in reply.json()["message"]


def test_each_key_has_its_own_rate_limit(client: TestClient, db_session: Session) -> None:
    _slow, slow = _key(db_session, "Slow partner", per_minute="2")
    _other, other = _key(db_session, "Other partner", per_minute="2")
    statuses = [
        client.post("/api/v1/leads", json=BODY, headers={"Authorization": f"Bearer {slow}"}).status_code
        for _ in range(3)
    ]
    assert statuses == [201, 201, 429]
    assert client.post("/api/v1/leads", json=BODY, headers={"Authorization": f"Bearer {other}"}).status_code == 201


def test_a_key_s_idempotency_keys_are_its_own(client: TestClient, db_session: Session) -> None:
    _a, token_a = _key(db_session, "A")
    _b, token_b = _key(db_session, "B")
    first, second = (
        client.post("/api/v1/leads", json=BODY, headers={"Authorization": f"Bearer {t}", "Idempotency-Key": "1"})
        for t in (token_a, token_b)
    )
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
