"""Attack: claim a key before the platform uses it, or read another client's lead through a shared key
(issue 11, item 8).

Shown on the old code: after API posts with keys `interview-N+1…`, the next consumer's guided interview was
attached to the attacker's lead. Now a client's key is stored per client (hashed with its scope), internal
prefixes are refused, the same key with another body is a 422 `idempotency_key_reused`, and keys expire after
24 hours.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from leadapp.core import rls
from leadapp.core.db import get_engine, use_context
from leadapp.core.models import Lead, utcnow
from leadapp.core.services import intake
from leadapp.core.vocab import LeadSource

BODY = {
    "text": "Attacker text: my sink drips a little and I want somebody to look at it this week please",
    "zip": "46032",
    "email": "attacker@example.com",
}
CONSUMER_TEXT = "Consumer text: the furnace makes a loud banging noise every time it starts up in the morning"


@pytest.fixture
def client(app_env):
    from leadapp.api.app import api

    with TestClient(api, raise_server_exceptions=False) as test_client:
        yield test_client


def _submit(text: str, **key: str) -> intake.Accepted:
    with Session(get_engine(), expire_on_commit=False) as session:
        use_context(session, rls.ANONYMOUS_CONTEXT, now=False)
        return intake.submit(
            session, intake.Submission(text=text, zip="46032", email="x@example.com", source=LeadSource.API, **key)
        )


def _lead(lead_id: int) -> Lead:
    with Session(get_engine()) as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        return lead


def test_internal_prefixes_are_refused_and_the_interview_gets_its_own_lead(client: TestClient) -> None:
    for key in ("interview-1", "interview-2", "INBOUND-CALL-7", "client:abc"):
        reply = client.post("/api/v1/leads", json=BODY, headers={"Idempotency-Key": key})
        assert reply.status_code == 422, reply.text
        assert "reserved" in reply.json()["fields"]["idempotency_key"]
    accepted = client.post("/api/v1/leads", json=BODY, headers={"Idempotency-Key": "my-key-1"})
    assert accepted.status_code == 201
    # The interview's own key (what interview.py sends) is never a client's: a new lead with the consumer's text.
    interview = _submit(CONSUMER_TEXT, idempotency_key="interview-1")
    assert interview.created and interview.lead_id != accepted.json()["id"]
    assert _lead(interview.lead_id).raw_text == CONSUMER_TEXT


def test_keys_are_scoped_per_client(app_env) -> None:
    mine = _submit(CONSUMER_TEXT, client_key="order-1", client_scope="ip:198.51.100.1")
    theirs = _submit(BODY["text"], client_key="order-1", client_scope="ip:203.0.113.9")
    assert mine.created and theirs.created and mine.lead_id != theirs.lead_id
    again = _submit(CONSUMER_TEXT, client_key="order-1", client_scope="ip:198.51.100.1")
    assert (again.created, again.lead_id) == (False, mine.lead_id)
    stored = _lead(mine.lead_id).idempotency_key or ""
    assert stored.startswith("client:") and "order-1" not in stored


def test_the_same_key_with_another_body_is_refused(client: TestClient) -> None:
    first = client.post("/api/v1/leads", json=BODY, headers={"Idempotency-Key": "k-42"})
    assert first.status_code == 201
    same = client.post("/api/v1/leads", json=BODY, headers={"Idempotency-Key": "k-42"})
    assert (same.status_code, same.json()["id"]) == (200, first.json()["id"])
    other = client.post("/api/v1/leads", json={**BODY, "zip": "46033"}, headers={"Idempotency-Key": "k-42"})
    assert other.status_code == 422
    assert other.json()["error"] == "idempotency_key_reused"


def test_a_key_expires_after_24_hours(app_env) -> None:
    first = _submit(CONSUMER_TEXT, client_key="daily", client_scope="ip:198.51.100.1")
    with Session(get_engine()) as session:
        lead = session.get(Lead, first.lead_id)
        assert lead is not None
        lead.created_at = utcnow() - timedelta(hours=25)
        session.add(lead)
        session.commit()
    later = _submit(BODY["text"], client_key="daily", client_scope="ip:198.51.100.1")
    assert later.created and later.lead_id != first.lead_id
    with Session(get_engine()) as session:
        assert session.exec(select(Lead.idempotency_key).where(Lead.id == first.lead_id)).one() is None
