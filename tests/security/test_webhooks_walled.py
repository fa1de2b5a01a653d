"""Partner webhooks behind row-level security (PostgreSQL as production runs it, the app's own role): a consumer's
withdrawal records the delivery for the partner whose key made the lead, yet no tenant can read or write a
delivery row itself; a key reads its own lead's status through the API, and another key gets the same 404."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from sqlalchemy.exc import DBAPIError
from sqlmodel import select
from starlette.testclient import TestClient

from leadapp.core import rls
from leadapp.core.db import session_scope
from leadapp.core.models import ApiKey, Lead, User, WebhookDelivery
from leadapp.core.services import access, accounts, api_keys, portal, webhooks
from leadapp.core.services.webhooks import signing
from tests.conftest import WalledDatabase, deployment_env, use_env

pytestmark = pytest.mark.postgres
PASSWORD = "a long enough password"


@pytest.fixture
def world(walled_db: WalledDatabase, private_redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    redis_url = private_redis_url.rsplit("/", 1)[0] + "/1"
    redis.Redis.from_url(redis_url).flushdb()
    use_env(monkeypatch, deployment_env(redis_url))
    with rls.system_context("test: seed"), session_scope() as s:
        admin = accounts.ensure_admin(s, "admin@example.com", PASSWORD)
        consumer = accounts.register(s, "ann@example.com", PASSWORD, "consumer")
        mine, token = api_keys.create_key(s, admin, "Mine")
        _theirs, other_token = api_keys.create_key(s, admin, "Theirs")
        # Set directly: registering resolves and checks the address, which is not what this test is about.
        mine.webhook_url, mine.webhook_secret = "https://partner.example/hooks", signing.new_secret()
        lead = Lead(raw_text="my sink leaks under the cabinet", zip="46032", consumer_id=consumer.id)
        lead.api_key_id, lead.status = mine.id, "matched"
        s.add_all([mine, lead])
        s.flush()
        ids = {"consumer": consumer.id, "lead": lead.id, "key": mine.id, "token": token, "other_token": other_token}
    yield ids
    redis.Redis.from_url(redis_url).flushdb()


def test_a_consumers_withdrawal_records_the_delivery_but_no_tenant_touches_deliveries(world: dict) -> None:
    with rls.system_context("test: load the consumer"), session_scope() as s:
        consumer = s.get(User, world["consumer"])
        assert consumer is not None
        s.expunge(consumer)
    with session_scope() as s:
        access.enter(s, consumer)
        portal.withdraw_request(s, consumer, world["lead"])
    with session_scope() as s:
        access.enter(s, consumer)
        assert s.exec(select(WebhookDelivery)).all() == [], "a consumer reads no delivery row"
    with rls.system_context("test: look"), session_scope() as s:
        [row] = s.exec(select(WebhookDelivery)).all()
        assert (row.lead_id, row.event, row.status) == (world["lead"], "lead.withdrawn", "pending")
    with pytest.raises(DBAPIError, match="row-level security"), session_scope() as s:
        access.enter(s, consumer)
        s.add(
            WebhookDelivery(
                webhook_id="msg_forged",
                api_key_id=world["key"],
                lead_id=world["lead"],
                event="lead.converted",
                dedupe_key="forged",
                payload={},
            )
        )
        s.flush()


def test_the_api_answers_a_keys_own_lead_behind_the_wall_and_404_to_another_key(world: dict) -> None:
    from leadapp.api.app import api

    with TestClient(api) as client:
        own = client.get(f"/api/v1/leads/{world['lead']}", headers={"Authorization": f"Bearer {world['token']}"})
        other = client.get(
            f"/api/v1/leads/{world['lead']}", headers={"Authorization": f"Bearer {world['other_token']}"}
        )
    assert own.status_code == 200 and own.json()["status"] == "matched"
    assert other.status_code == 404 and other.json()["message"] == webhooks.NOT_YOURS
    with rls.system_context("test: look"), session_scope() as s:
        assert s.get(ApiKey, world["key"]) is not None
