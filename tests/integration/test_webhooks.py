"""Partner webhooks (issue 15, item 5), as a partner and an attacker meet them: a key's webhook receives its own
leads' status changes signed per Standard Webhooks (checked here with the spec's algorithm, written out again),
a receiver that fails gets the same webhook-id again until it answers 2xx (a real RQ worker with its scheduler),
an admin re-sends with the same id, a key reads only its own lead's status, and a URL into the platform's own
network is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlmodel import Session, select
from starlette.testclient import TestClient
from werkzeug import Request, Response

from leadapp.core.broker import get_redis
from leadapp.core.errors import NotAllowed, UserError
from leadapp.core.models import ApiKey, AuditEvent, Lead, Match, WebhookDelivery, utcnow
from leadapp.core.services import api_keys, inbox, pipeline, portal, webhooks
from leadapp.core.services.webhooks import service as webhook_service
from leadapp.core.tasks import NOTIFICATIONS
from tests import factories
from tests.conftest import clear_app_caches
from tests.rq_burst import run_worker_until
from worker.queues import get_queue

WAIT_SECONDS = 30.0
TEXT = "My water heater is leaking all over the garage floor in Carmel, need a plumber today please"


# --- the receiver's side, written from the spec ---------------------------------------------------


def verify(secret: str, headers: dict[str, str], body: bytes, tolerance: int = 300) -> dict[str, Any]:
    """Standard Webhooks verification as a partner writes it: HMAC-SHA256 over "{id}.{timestamp}.{body}" with the
    base64 secret after "whsec_", compared with each "v1,<base64>" of the header, the timestamp within 5 minutes."""
    webhook_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    assert abs(time.time() - int(timestamp)) < tolerance, "a stale or future timestamp"
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest())
    offered = [s.split(",", 1)[1] for s in headers["webhook-signature"].split() if s.startswith("v1,")]
    assert any(hmac.compare_digest(expected.decode(), s) for s in offered), "the signature does not verify"
    return json.loads(body)


class Receiver:
    """A partner's endpoint on 127.0.0.1: answers each POST with the next status of `answers` (then 200) and keeps
    what it got."""

    def __init__(self, server: HTTPServer) -> None:
        self.server, self.answers, self.got = server, [], []
        server.expect_request("/hooks/leadapp", method="POST").respond_with_handler(self._handle)

    def _handle(self, request: Request) -> Response:
        self.got.append(({k.lower(): v for k, v in request.headers.items()}, request.get_data()))
        return Response("ok", status=self.answers.pop(0) if self.answers else 200)

    @property
    def url(self) -> str:
        return self.server.url_for("/hooks/leadapp").replace("localhost", "127.0.0.1")


@pytest.fixture
def receiver(httpserver: HTTPServer) -> Receiver:
    return Receiver(httpserver)


@pytest.fixture
def loopback_env(app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    monkeypatch.setenv("WEBHOOKS_ALLOW_LOOPBACK", "true")
    clear_app_caches()
    yield app_env
    clear_app_caches()


@pytest.fixture
def session(loopback_env: dict[str, str]) -> Iterator[Session]:
    from leadapp.core.db import get_engine

    with Session(get_engine(), expire_on_commit=False) as s:
        yield s


@pytest.fixture
def client(loopback_env: dict[str, str]) -> Iterator[TestClient]:
    from leadapp.api.app import api

    with TestClient(api, raise_server_exceptions=False) as test_client:
        yield test_client


def partner(session: Session, url: str, name: str = "Acme") -> tuple[ApiKey, str, str]:
    """A key with a webhook: (the key, its bearer token, its signing secret)."""
    admin = factories.admin(session)
    key, token = api_keys.create_key(session, admin, name)
    key, secret = webhooks.register_webhook(session, admin, key.id, url)  # type: ignore[arg-type]
    session.commit()
    return key, token, secret


def submit(client: TestClient, token: str, text: str = TEXT) -> int:
    answer = client.post(
        "/api/v1/leads",
        json={"text": text, "zip": "46032", "email": "casey@example.com"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def delivery(session: Session, lead_id: int, event: str) -> WebhookDelivery | None:
    session.commit()
    return session.exec(
        select(WebhookDelivery)
        .where(WebhookDelivery.lead_id == lead_id, WebhookDelivery.event == event)
        .execution_options(populate_existing=True)
    ).first()


def delivered(session: Session, lead_id: int, event: str) -> Callable[[], bool]:
    def check() -> bool:
        row = delivery(session, lead_id, event)
        return row is not None and row.status == "delivered"

    return check


# --- delivery, signature, the lead's life ---------------------------------------------------------


def test_a_partners_lead_is_followed_by_signed_webhooks_from_match_to_conversion(
    session: Session, client: TestClient, receiver: Receiver
) -> None:
    owner = factories.owner(session)
    factories.business(session, owner)
    session.commit()
    _key, token, secret = partner(session, receiver.url)
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    lead_id = submit(client, token)

    assert pipeline.process_lead(lead_id) == "matched"
    run_worker_until(delivered(session, lead_id, "lead.matched"), "lead.matched delivered")

    match = session.exec(select(Match).where(Match.lead_id == lead_id)).one()
    inbox.respond(session, owner, match.id, accept=True)  # type: ignore[arg-type]
    session.commit()
    run_worker_until(delivered(session, lead_id, "lead.accepted"), "lead.accepted delivered")
    inbox.mark_converted(session, owner, match.id, "450")  # type: ignore[arg-type]
    session.commit()
    run_worker_until(delivered(session, lead_id, "lead.converted"), "lead.converted delivered")

    events = [verify(secret, headers, body) for headers, body in receiver.got]
    assert [(e["type"], e["data"]) for e in events] == [
        ("lead.matched", {"lead_id": lead_id, "status": "matched"}),
        ("lead.accepted", {"lead_id": lead_id, "status": "accepted"}),
        ("lead.converted", {"lead_id": lead_id, "status": "converted"}),
    ]
    assert len({headers["webhook-id"] for headers, _ in receiver.got}) == 3
    # Nothing of the consumer's contact or the business's private figures goes out.
    assert all(b"casey" not in body and b"450" not in body for _, body in receiver.got)

    # Running the pipeline again (the sweeper) records no second lead.matched.
    pipeline.process_lead(lead_id)
    session.commit()
    assert len(session.exec(select(WebhookDelivery).where(WebhookDelivery.lead_id == lead_id)).all()) == 3


def test_a_withdrawal_is_delivered_and_a_forged_signature_would_not_verify(
    session: Session, receiver: Receiver
) -> None:
    key, _token, secret = partner(session, receiver.url)
    lead_id = withdrawn_lead(session, key)
    run_worker_until(delivered(session, lead_id, "lead.withdrawn"), "lead.withdrawn delivered")
    [(headers, body)] = receiver.got
    assert verify(secret, headers, body)["type"] == "lead.withdrawn"
    with pytest.raises(AssertionError, match="does not verify"):
        verify(secret, headers, body.replace(b"withdrawn", b"converted"))
    with pytest.raises(AssertionError, match="does not verify"):
        verify("whsec_" + base64.b64encode(b"x" * 32).decode(), headers, body)


def test_a_failing_receiver_gets_the_same_webhook_id_again_until_it_answers(
    session: Session, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhook_service, "RETRY_INTERVALS", [1, 1, 1])  # RQ's scheduled retries, just shorter
    receiver.answers = [500]
    key, _token, secret = partner(session, receiver.url)
    consumer = factories.consumer(session)
    lead = factories.lead(session, consumer, api_key_id=key.id)
    session.commit()
    portal.withdraw_request(session, consumer, lead.id)  # type: ignore[arg-type]
    session.commit()

    run_worker_until(delivered(session, lead.id, "lead.withdrawn"), "delivery after a 500")  # type: ignore[arg-type]
    assert len(receiver.got) == 2
    ids = {headers["webhook-id"] for headers, _ in receiver.got}
    assert len(ids) == 1, "a retry must carry the same webhook-id (the partner deduplicates on it)"
    for headers, body in receiver.got:
        verify(secret, headers, body)
    row = delivery(session, lead.id, "lead.withdrawn")  # type: ignore[arg-type]
    assert row is not None and (row.attempts, row.last_status_code, row.last_error) == (2, 200, "")

    # The admin's re-send: same id again; non-admins may not.
    admin = factories.admin(session)
    session.commit()
    with pytest.raises(NotAllowed):
        webhooks.resend(session, consumer, row.id)  # type: ignore[arg-type]
    webhooks.resend(session, admin, row.id)  # type: ignore[arg-type]
    run_worker_until(lambda: len(receiver.got) == 3, "the re-send")
    assert receiver.got[2][0]["webhook-id"] in ids
    assert delivered(session, lead.id, "lead.withdrawn")()  # type: ignore[arg-type]
    assert "webhook.resend" in [e.action for e in session.exec(select(AuditEvent)).all()]
    listed = webhooks.list_deliveries(session, admin)
    assert [(r["event"], r["status"], r["attempts"]) for r in listed] == [("lead.withdrawn", "delivered", "3")]


def test_a_receiver_that_never_answers_2xx_ends_failed_with_its_error(
    session: Session, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhook_service, "RETRY_INTERVALS", [0, 0])
    receiver.answers = [503, 503, 503]
    key, _token, _secret = partner(session, receiver.url)
    lead_id = withdrawn_lead(session, key)

    def failed() -> bool:
        row = delivery(session, lead_id, "lead.withdrawn")
        return row is not None and row.status == "failed"

    run_worker_until(failed, "the delivery to fail")
    row = delivery(session, lead_id, "lead.withdrawn")
    assert row is not None and row.attempts == 3 and row.last_error.startswith("HTTP 503")
    assert len(receiver.got) == 3


def test_a_lead_made_without_a_key_or_by_a_key_without_webhook_sends_nothing(
    session: Session, receiver: Receiver
) -> None:
    admin = factories.admin(session)
    key, _ = api_keys.create_key(session, admin, "No hook")
    consumer = factories.consumer(session)
    leads = [factories.lead(session, consumer), factories.lead(session, consumer, api_key_id=key.id)]
    session.commit()
    for lead in leads:
        portal.withdraw_request(session, consumer, lead.id)  # type: ignore[arg-type]
        session.commit()
    assert session.exec(select(WebhookDelivery)).all() == []


# --- a key reads its own lead only ----------------------------------------------------------------


def test_a_key_reads_its_own_leads_status_and_no_other(
    session: Session, client: TestClient, receiver: Receiver
) -> None:
    _mine, token, _ = partner(session, receiver.url, "Mine")
    _theirs, other_token, _ = partner(session, receiver.url, "Theirs")
    lead_id = submit(client, token)
    consumer = factories.consumer(session)
    keyless = factories.lead(session, consumer)
    session.commit()

    own = client.get(f"/api/v1/leads/{lead_id}", headers={"Authorization": f"Bearer {token}"})
    assert own.status_code == 200 and own.json()["id"] == lead_id and own.json()["status"] == "received"

    refusals = [
        client.get(f"/api/v1/leads/{lead_id}", headers={"Authorization": f"Bearer {other_token}"}),
        client.get(f"/api/v1/leads/{lead_id}"),
        client.get(f"/api/v1/leads/{keyless.id}", headers={"Authorization": f"Bearer {token}"}),
        client.get(f"/api/v1/leads/{lead_id + 1000}", headers={"Authorization": f"Bearer {token}"}),
    ]
    # Another key's lead, no key, a lead made without a key and an id that does not exist: one answer.
    assert {(r.status_code, r.text) for r in refusals} == {
        (404, json.dumps({"error": "not_found", "message": webhooks.NOT_YOURS}, separators=(",", ":")))
    }

    bad = client.get(f"/api/v1/leads/{lead_id}", headers={"Authorization": "Bearer lak_guessed"})
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_api_key"
    for hostile in ("0", "-1", "99999999999999999999", "1%20OR%201=1"):
        answer = client.get(f"/api/v1/leads/{hostile}", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 422 and answer.json()["error"] == "validation_failed", hostile

    session.exec(select(Lead).where(Lead.id == lead_id)).one()  # still there, untouched by the reads


# --- where a webhook may go -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://partner.example/hook", "must start with https://"),
        ("javascript:alert(1)", "must start with https://"),
        ("https://user:pw@8.8.8.8/hook", "user name or password"),
        ("https://169.254.169.254/latest/meta-data", "private or local address (169.254.169.254)"),
        ("https://10.0.0.7/hook", "private or local address (10.0.0.7)"),
        ("https://192.168.1.1/hook", "private or local address"),
        ("https://100.64.0.1/hook", "private or local address"),
        ("https://[::ffff:10.0.0.1]/hook", "private or local address (10.0.0.1)"),
        ("https://[fe80::1]/hook", "private or local address"),
        ("https://0.0.0.0/hook", "private or local address"),
        ("http://8.8.8.8/hook", "must use https://"),
        ("https://8.8.8.8:99999/hook", "no valid host name"),
        ("https://host.invalid/hook", "could not be found"),
        ("https://8.8.8.8/" + "a" * 2000, "at most 2000 characters"),
    ],
)
def test_a_webhook_url_into_a_private_network_or_not_https_is_refused(session: Session, url: str, says: str) -> None:
    admin = factories.admin(session)
    key, _ = api_keys.create_key(session, admin, "Acme")
    session.commit()
    with pytest.raises(UserError) as refused:
        webhooks.register_webhook(session, admin, key.id, url)  # type: ignore[arg-type]
    assert says in refused.value.message and refused.value.field == "webhook_url"


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/hook", "https://localhost/hook", "http://[::1]:9/hook"])
def test_loopback_is_refused_unless_the_setting_allows_it(app_env: dict[str, str], url: str) -> None:
    with pytest.raises(UserError, match="private or local address"):
        webhooks.check_url(url)


def test_only_admins_register_and_a_revoked_key_gets_no_webhook(session: Session, receiver: Receiver) -> None:
    owner = factories.owner(session)
    key, _token, _ = partner(session, receiver.url)
    with pytest.raises(NotAllowed):
        webhooks.register_webhook(session, owner, key.id, receiver.url)  # type: ignore[arg-type]
    admin = factories.admin(session)
    api_keys.revoke_key(session, admin, key.id)  # type: ignore[arg-type]
    session.commit()
    with pytest.raises(UserError, match="revoked"):
        webhooks.register_webhook(session, admin, key.id, receiver.url)  # type: ignore[arg-type]
    stored = session.get(ApiKey, key.id)
    assert stored is not None and stored.webhook_secret.startswith("whsec_")


def test_an_empty_url_removes_the_webhook_and_its_secret(session: Session, receiver: Receiver) -> None:
    key, _token, _ = partner(session, receiver.url)
    admin = factories.admin(session)
    _, secret = webhooks.register_webhook(session, admin, key.id, "  ")  # type: ignore[arg-type]
    session.commit()
    stored = session.get(ApiKey, key.id)
    assert secret == "" and stored is not None and (stored.webhook_url, stored.webhook_secret) == ("", "")


def test_a_partner_registers_its_own_webhook_with_its_key(
    session: Session, client: TestClient, receiver: Receiver
) -> None:
    admin = factories.admin(session)
    key, token = api_keys.create_key(session, admin, "Self-serve")
    session.commit()
    bearer = {"Authorization": f"Bearer {token}"}

    refusals = {
        "no key": client.put("/api/v1/webhook", json={"url": receiver.url}),
        "metadata": client.put("/api/v1/webhook", json={"url": "https://169.254.169.254/latest"}, headers=bearer),
        "http": client.put("/api/v1/webhook", json={"url": "http://8.8.8.8/hook"}, headers=bearer),
        "no url": client.put("/api/v1/webhook", json={"uri": receiver.url}, headers=bearer),
        "not json": client.put("/api/v1/webhook", content=b"{url", headers=bearer),
    }
    assert {name: r.status_code for name, r in refusals.items()} == {
        "no key": 401,
        "metadata": 422,
        "http": 422,
        "no url": 400,
        "not json": 400,
    }
    assert "private or local address" in refusals["metadata"].json()["fields"]["url"]
    session.expire_all()
    assert session.get(ApiKey, key.id).webhook_url == ""  # type: ignore[union-attr]

    registered = client.put("/api/v1/webhook", json={"url": receiver.url}, headers=bearer)
    assert registered.status_code == 200, registered.text
    secret = registered.json()["secret"]
    assert registered.json()["url"] == receiver.url and secret.startswith("whsec_")
    session.expire_all()  # this test's session read the key before the API changed it

    lead_id = withdrawn_lead(session, key)
    run_worker_until(delivered(session, lead_id, "lead.withdrawn"), "lead.withdrawn delivered")
    [(headers, body)] = receiver.got
    assert verify(secret, headers, body)["data"] == {"lead_id": lead_id, "status": "withdrawn"}

    removed = client.put("/api/v1/webhook", json={"url": ""}, headers=bearer)
    assert removed.json() == {"url": "", "secret": ""}


def test_a_delivery_goes_to_the_address_checked_even_if_the_name_then_resolves_inwards(
    session: Session, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the partner's name resolves to an allowed address for the registration and for the attempt's
    check, then to a private one; the connection still goes to the address checked, the name in the Host header."""
    real, asked = socket.getaddrinfo, []

    def partner_dns(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "partner.test":
            return real(host, port, *args, **kwargs)
        asked.append(host)
        address = "127.0.0.1" if len(asked) <= 2 else "10.255.255.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port)))]

    monkeypatch.setattr(socket, "getaddrinfo", partner_dns)
    url = f"http://partner.test:{receiver.server.port}/hooks/leadapp"
    key, _token, secret = partner(session, url)
    lead_id = withdrawn_lead(session, key)
    run_worker_until(delivered(session, lead_id, "lead.withdrawn"), "the pinned delivery")
    [(headers, body)] = receiver.got
    assert headers["host"] == f"partner.test:{receiver.server.port}" and verify(secret, headers, body)
    assert len(asked) == 2, "resolved once to register and once to check the attempt, never to connect"


# --- nothing lost, nothing twice --------------------------------------------------------------------


def withdrawn_lead(session: Session, key: ApiKey) -> int:
    consumer = factories.consumer(session)
    lead = factories.lead(session, consumer, api_key_id=key.id)
    session.commit()
    portal.withdraw_request(session, consumer, lead.id)  # type: ignore[arg-type]
    session.commit()
    return int(lead.id)  # type: ignore[arg-type]


def test_a_delivery_whose_job_was_lost_is_swept_and_a_delivered_one_is_never_sent_again(
    session: Session, receiver: Receiver
) -> None:
    key, _token, _ = partner(session, receiver.url)
    lead_id = withdrawn_lead(session, key)
    get_redis().flushdb()  # the job is lost (Redis restarted empty): the row is still pending
    row = delivery(session, lead_id, "lead.withdrawn")
    assert row is not None and row.status == "pending"
    assert webhooks.sweep_deliveries() == 0  # too young: its job may still be on its way
    row.created_at = utcnow() - timedelta(minutes=2)
    session.add(row)
    session.commit()
    assert webhooks.sweep_deliveries() == 1
    assert webhooks.sweep_deliveries() == 1  # its job is queued: enqueued once, not twice
    assert get_queue(NOTIFICATIONS).count == 1
    run_worker_until(delivered(session, lead_id, "lead.withdrawn"), "the swept delivery")
    assert webhooks.sweep_deliveries() == 0

    webhooks.enqueue_delivery(row.id)  # type: ignore[arg-type]  # a duplicate job: sends nothing
    run_worker_until(lambda: get_queue(NOTIFICATIONS).count == 0, "the duplicate job")
    assert len(receiver.got) == 1
    assert delivery(session, lead_id, "lead.withdrawn").attempts == 1  # type: ignore[union-attr]


def test_a_revoked_keys_pending_delivery_fails_without_a_post(session: Session, receiver: Receiver) -> None:
    key, _token, _ = partner(session, receiver.url)
    get_redis().flushdb()
    lead_id = withdrawn_lead(session, key)
    get_redis().flushdb()
    api_keys.revoke_key(session, factories.admin(session), key.id)  # type: ignore[arg-type]
    session.commit()
    webhooks.enqueue_delivery(delivery(session, lead_id, "lead.withdrawn").id)  # type: ignore[union-attr,arg-type]

    def failed() -> bool:
        row = delivery(session, lead_id, "lead.withdrawn")
        return row is not None and row.status == "failed"

    run_worker_until(failed, "the revoked key's delivery to fail")
    assert delivery(session, lead_id, "lead.withdrawn").last_error == "the API key was revoked"  # type: ignore[union-attr]
    assert receiver.got == []


def test_the_webhook_sweeper_is_scheduled(loopback_env: dict[str, str]) -> None:
    from rq.cron import CronScheduler

    from worker import schedule

    scheduler = schedule.register(CronScheduler(connection=get_redis()))
    assert "worker.jobs.sweep_webhook_deliveries" in [job.func_name for job in scheduler.get_jobs()]


def test_an_abandoned_attempt_is_taken_back_but_a_live_one_is_not(session: Session, receiver: Receiver) -> None:
    key, _token, _ = partner(session, receiver.url)
    lead_id = withdrawn_lead(session, key)
    get_redis().flushdb()
    row = delivery(session, lead_id, "lead.withdrawn")
    assert row is not None
    row.status, row.claimed_at, row.attempts = "sending", utcnow(), 1  # a worker is on it right now
    session.add(row)
    session.commit()
    assert webhooks.sweep_deliveries() == 0
    webhooks.enqueue_delivery(row.id)  # type: ignore[arg-type]
    run_worker_until(lambda: get_queue(NOTIFICATIONS).count == 0, "a job for a live claim")
    assert receiver.got == [] and delivery(session, lead_id, "lead.withdrawn").status == "sending"  # type: ignore[union-attr]

    row.claimed_at = utcnow() - timedelta(minutes=10)  # that worker died mid-attempt
    session.add(row)
    session.commit()
    assert webhooks.sweep_deliveries() == 1
    run_worker_until(delivered(session, lead_id, "lead.withdrawn"), "the abandoned delivery")
    assert len(receiver.got) == 1 and delivery(session, lead_id, "lead.withdrawn").attempts == 2  # type: ignore[union-attr]


def test_a_delivery_being_sent_is_not_resent_and_nothing_is_recorded(session: Session) -> None:
    """The admin's resend while an attempt runs: refused with a reason, the row, the audit trail and the queue
    as they were (the guarded UPDATE changed no row, so the shared re-queue step stops before auditing)."""
    admin = factories.admin(session)
    key, _token = api_keys.create_key(session, admin, "Acme")
    row = WebhookDelivery(
        webhook_id="msg_sending", api_key_id=key.id, event="lead.withdrawn", dedupe_key="t:sending", status="sending"
    )
    session.add(row)
    session.commit()
    queued = get_queue(NOTIFICATIONS).count

    with pytest.raises(UserError, match="being sent right now"):
        webhooks.resend(session, admin, row.id)  # type: ignore[arg-type]

    session.expire_all()
    assert session.get(WebhookDelivery, row.id).status == "sending"  # type: ignore[union-attr]
    assert "webhook.resend" not in [e.action for e in session.exec(select(AuditEvent)).all()]
    assert get_queue(NOTIFICATIONS).count == queued
