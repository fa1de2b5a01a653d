"""POST /api/v1/leads through the real Starlette app, a real database (SQLite and PostgreSQL) and Redis."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rq import Queue
from sqlmodel import Session, func, select
from starlette.testclient import TestClient

from leadapp.core import crypto
from leadapp.core.broker import get_redis
from leadapp.core.db import get_engine
from leadapp.core.models import Lead

GOOD = {
    "text": "My water heater is leaking all over the garage floor, need someone today in Carmel, budget around $500",
    "zip": "46032",
    "phone": "(317) 846-2200",
    "email": "casey@example.com",
    "preferred_contact": "phone",
    "consent_ai_calls": True,
}


@pytest.fixture
def client(app_env, monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "127.0.0.1")  # the test client is the proxy in front of its clients
    from tests.conftest import clear_app_caches

    clear_app_caches()
    from leadapp.api.app import api

    with TestClient(api, raise_server_exceptions=False, client=("127.0.0.1", 50000)) as test_client:
        yield test_client


def lead_count() -> int:
    with Session(get_engine()) as session:
        return session.exec(select(func.count()).select_from(Lead)).one()


def post(client: TestClient, body, ip: str = "198.51.100.7", **headers):
    return client.post("/api/v1/leads", json=body, headers={"X-Forwarded-For": ip, **headers})


def test_accepted_lead_is_stored_encrypted_and_enqueued(client):
    reply = post(client, GOOD)
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["status"] == "received" and body["created"] is True
    with Session(get_engine()) as session:
        lead = session.get(Lead, body["id"])
        assert lead is not None
        assert lead.source == "api"
        assert "8462200" not in lead.contact_phone_enc
        assert crypto.decrypt_phone(lead.contact_phone_enc) == "+13178462200"
        assert lead.contact_phone_hash == crypto.phone_hash("+13178462200")
        assert lead.consent_ai_calls and lead.consent_at is not None and "AI assistant" in lead.consent_text
        assert lead.client_ip == "198.51.100.7"
    queued = Queue("pipeline", connection=get_redis()).job_ids
    assert f"lead-{body['id']}" in queued


def test_idempotency_key_returns_the_same_lead_without_a_duplicate(client):
    first = post(client, GOOD, **{"Idempotency-Key": "abc-123"})
    again = post(client, GOOD, **{"Idempotency-Key": "abc-123"})
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"] and again.json()["created"] is False
    other = post(client, GOOD, **{"Idempotency-Key": "abc-124"})
    assert other.json()["id"] != first.json()["id"]
    assert lead_count() == 2


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({**GOOD, "text": "help"}, 422, "validation_failed", "text"),
        ({**GOOD, "zip": "99999"}, 422, "validation_failed", "zip"),
        ({**GOOD, "phone": "317-555-1234"}, 422, "validation_failed", "phone"),
        ({**GOOD, "email": "x@", "phone": ""}, 422, "validation_failed", "email"),
        ({**GOOD, "consent_ai_calls": "yes"}, 422, "validation_failed", "consent_ai_calls"),
        ({**GOOD, "text": ["a", "list"]}, 400, "invalid_request", "text"),
        ([1, 2, 3], 400, "invalid_json", None),
    ],
)
def test_bad_input_gets_a_4xx_reason_and_writes_nothing(client, body, status, code, field):
    reply = post(client, body)
    assert reply.status_code == status, reply.text
    assert reply.json()["error"] == code
    assert reply.json()["message"]
    if field:
        assert field in reply.json()["fields"]
    assert lead_count() == 0


def test_malformed_json_is_a_400(client):
    reply = client.post("/api/v1/leads", content=b"{not json", headers={"Content-Type": "application/json"})
    assert reply.status_code == 400 and reply.json()["error"] == "invalid_json"


def test_rate_limit_is_five_an_hour_per_client_ip(client):
    for n in range(5):
        assert post(client, GOOD, ip="203.0.113.9").status_code == 201, n
    refused = post(client, GOOD, ip="203.0.113.9")
    assert refused.status_code == 429 and refused.json()["error"] == "rate_limited"
    assert post(client, GOOD, ip="203.0.113.10").status_code == 201
    assert lead_count() == 6


def test_invalid_submissions_do_not_use_up_the_rate_limit(client):
    for _ in range(8):
        assert post(client, {**GOOD, "zip": "1"}, ip="203.0.113.20").status_code == 422
    assert post(client, GOOD, ip="203.0.113.20").status_code == 201


def test_proxy_header_is_ignored_unless_trusted(app_env, monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "")
    from tests.conftest import clear_app_caches

    clear_app_caches()
    from leadapp.api.app import api

    with TestClient(api, client=("127.0.0.1", 50000)) as test_client:
        for n in range(5):
            assert post(test_client, GOOD, ip=f"192.0.2.{n}").status_code == 201
        # Spoofed header values don't help: all came from the same socket peer.
        assert post(test_client, GOOD, ip="192.0.2.99").status_code == 429


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.dictionaries(
            st.sampled_from(["text", "zip", "phone", "email", "name", "preferred_contact", "consent_ai_calls", "x"]),
            st.one_of(
                st.text(max_size=60), st.integers(), st.booleans(), st.none(), st.lists(st.integers(), max_size=2)
            ),
        ),
        st.lists(st.integers(), max_size=3),
        st.text(max_size=20),
        st.none(),
    )
)
def test_no_body_produces_a_500_or_a_stored_invalid_lead(client, body):
    reply = post(client, body, ip="100.64.0.1")
    assert reply.status_code in (201, 400, 422, 429), reply.text
    assert "error" in reply.json() or reply.status_code == 201
    with Session(get_engine()) as session:
        for lead in session.exec(select(Lead)).all():
            assert len(lead.raw_text.split()) >= 10 and len(lead.zip) == 5
