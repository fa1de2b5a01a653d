"""The whole pipeline with real parts: API → database → Redis → a real RQ worker → classify, match, notify.

Runs on SQLite and PostgreSQL; the worker is RQ's own SimpleWorker in burst mode on the private Redis.
"""

from __future__ import annotations

import pytest
from rq import SimpleWorker
from sqlalchemy import event
from sqlmodel import Session, select
from starlette.testclient import TestClient

from leadapp.core.broker import get_redis
from leadapp.core.db import get_engine, session_scope
from leadapp.core.models import Business, Lead, Match, Notification, User
from leadapp.core.seed import seed_demo
from leadapp.core.services import inbox
from leadapp.core.tasks import ALL_QUEUES, queue
from tests.conftest import clear_app_caches

WATER_HEATER = (
    "My water heater is leaking all over the garage floor, need someone today in Carmel 46032, budget around $500"
)


@pytest.fixture
def demo(app_env, monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "127.0.0.1")  # the test client is the proxy in front of its clients
    clear_app_caches()
    with session_scope() as session:
        seed_demo(session, "demo-password-123")
    from leadapp.api.app import api

    with TestClient(api, client=("127.0.0.1", 50000)) as client:
        yield client


def work_all() -> None:
    """Run every queued job to completion with a real RQ worker (burst: stops when the queues are empty)."""
    worker = SimpleWorker([queue(name) for name in ALL_QUEUES], connection=get_redis())
    worker.work(burst=True, with_scheduler=False)


def submit(client: TestClient, text: str = WATER_HEATER, ip: str = "198.51.100.1", **extra) -> int:
    body = {"text": text, "zip": "46032", "email": "casey@example.com", "phone": "(317) 846-2200", **extra}
    reply = client.post("/api/v1/leads", json=body, headers={"X-Forwarded-For": ip})
    assert reply.status_code == 201, reply.text
    return reply.json()["id"]


def test_a_water_heater_leak_reaches_the_carmel_plumber_and_the_consumer(demo):
    lead_id = submit(demo)
    work_all()
    with Session(get_engine()) as session:
        lead = session.get(Lead, lead_id)
        assert lead.status == "matched"
        assert lead.category == "plumbing" and lead.urgency in ("high", "emergency")
        assert lead.budget_max == 500 and lead.location_zip == "46032"
        assert lead.quality_score >= 5 and not lead.flagged
        matches = session.exec(select(Match, Business).join(Business).where(Match.lead_id == lead_id)).all()
        assert [b.name for _, b in matches] == ["Carmel Plumbing Co"]
        match, _ = matches[0]
        assert match.score >= 50 and match.distance_miles is not None and match.reasons
        notes = session.exec(select(Notification).where(Notification.lead_id == lead_id)).all()
        kinds = sorted((n.kind, n.channel, n.status, n.provider) for n in notes)
        assert ("business_new_lead", "email", "sent", "outbox") in kinds
        assert any(k[0] == "consumer_matched" and k[2] == "sent" for k in kinds)
        business_note = next(n for n in notes if n.kind == "business_new_lead")
        assert business_note.recipient == "plumber@leadapp.demo"
        assert "846-2200" not in business_note.body_text and "casey@example.com" not in business_note.body_text


def test_a_new_leads_run_commits_its_rows_with_their_claim_and_then_the_providers_answers(demo):
    lead_id = submit(demo)
    commits: list[object] = []

    def count(connection: object) -> None:
        commits.append(connection)

    event.listen(get_engine(), "commit", count)
    try:
        work_all()
    finally:
        event.remove(get_engine(), "commit", count)
    # The classification, matches and notifications commit with the notifications' claim, before any provider is
    # called; then what the providers answered.
    assert len(commits) == 2
    with Session(get_engine()) as session:
        notes = session.exec(select(Notification).where(Notification.lead_id == lead_id)).all()
        assert len(notes) >= 2 and all(n.status == "sent" and n.attempts == 1 for n in notes)


def test_running_the_job_twice_changes_nothing(demo):
    lead_id = submit(demo)
    work_all()
    queue("pipeline").enqueue("worker.jobs.process_lead", lead_id)
    work_all()
    with Session(get_engine()) as session:
        assert len(session.exec(select(Match).where(Match.lead_id == lead_id)).all()) == 1
        notes = session.exec(select(Notification).where(Notification.lead_id == lead_id)).all()
        assert len(notes) == len({n.dedupe_key for n in notes}) == 2
        assert all(n.attempts == 1 for n in notes)


def test_low_quality_and_spam_are_held_back_from_businesses(demo):
    low = submit(demo, text="need some work done at the house soon please call me back thanks", ip="198.51.100.2")
    spam = submit(demo, text="test test test crypto bitcoin casino offer click here now for the win", ip="198.51.100.3")
    work_all()
    with Session(get_engine()) as session:
        low_lead, spam_lead = session.get(Lead, low), session.get(Lead, spam)
        assert low_lead.status in ("low_quality", "flagged")
        assert spam_lead.status == "flagged" and spam_lead.is_spam and "crypto" in spam_lead.flag_reason
        for lead_id in (low, spam):
            assert session.exec(select(Match).where(Match.lead_id == lead_id)).all() == []
            kinds = {n.kind for n in session.exec(select(Notification).where(Notification.lead_id == lead_id))}
            assert "business_new_lead" not in kinds


def test_no_business_nearby_tells_the_consumer_honestly(demo):
    lead_id = submit(
        demo,
        text="Our roof lost a bunch of shingles in the storm and now it leaks into the attic, need a roofer soon",
        zip="59001",
        ip="198.51.100.4",
    )
    work_all()
    with Session(get_engine()) as session:
        assert session.get(Lead, lead_id).status == "no_match"
        notes = session.exec(select(Notification).where(Notification.lead_id == lead_id)).all()
        assert [n.kind for n in notes] == ["consumer_no_match"]


def test_a_lead_accepted_while_redis_is_down_is_processed_once_redis_is_back(app_env, own_redis, monkeypatch, tmp_path):
    monkeypatch.setenv("REDIS_URL", own_redis.url)
    clear_app_caches()
    with session_scope() as session:
        seed_demo(session, "demo-password-123")
    from leadapp.api.app import api

    own_redis.stop()
    with TestClient(api) as client:
        reply = client.post("/api/v1/leads", json={"text": WATER_HEATER, "zip": "46032", "email": "casey@example.com"})
    assert reply.status_code == 201, reply.text  # accepted and stored although Redis is down
    lead_id = reply.json()["id"]
    with Session(get_engine()) as session:
        lead = session.get(Lead, lead_id)
        assert lead.status == "received"
        # Pretend a minute went by, then let the sweeper find it.
        from datetime import timedelta

        lead.updated_at = lead.updated_at - timedelta(minutes=2)
        session.add(lead)
        session.commit()
    own_redis.start_again(tmp_path)
    clear_app_caches()
    from worker import jobs

    assert jobs.sweep_stuck_leads() == 1
    work_all()
    with Session(get_engine()) as session:
        assert session.get(Lead, lead_id).status == "matched"


SPANISH_LEAK = "Tengo una fuga de agua en el calentador del garaje y necesito un plomero con licencia lo antes posible."


def test_a_spanish_request_reaches_only_businesses_serving_spanish(demo):
    lead_id = submit(demo, SPANISH_LEAK)
    work_all()
    with Session(get_engine()) as session:
        lead = session.get(Lead, lead_id)
        assert (lead.language, lead.category, lead.status) == ("es", "plumbing", "matched")
        matches = session.exec(select(Match, Business).join(Business).where(Match.lead_id == lead_id)).all()
        assert [b.name for _, b in matches] == ["Carmel Plumbing Co"]  # the demo plumber serves English and Spanish
        plumber = matches[0][1]
        assert plumber.languages == ["en", "es"]
        owner = session.get(User, plumber.owner_id)
        detail = inbox.lead_detail(session, owner, matches[0][0].id)  # the owner sees it is a Spanish request
        assert detail["language_label"] == "Spanish (Español)"
        plumber.languages, plumber_id = ["en"], plumber.id
        session.add(plumber)
        session.commit()
    again = submit(demo, SPANISH_LEAK + " Es urgente.", ip="198.51.100.2", email="maria@example.com")
    english = submit(demo, ip="198.51.100.3", email="sam@example.com")
    work_all()
    with Session(get_engine()) as session:
        assert session.get(Lead, again).language == "es"
        assert session.exec(select(Match).where(Match.lead_id == again)).all() == []
        assert [m.business_id for m in session.exec(select(Match).where(Match.lead_id == english)).all()] == [
            plumber_id
        ]


def test_a_spanish_request_is_classified_like_its_english_twin_and_its_consumer_told_in_spanish(demo):
    spanish = "Se inundó el sótano, necesito un plomero hoy mismo, presupuesto entre 200 y 400 dólares por favor."
    english = "The basement flooded, I need a plumber today, budget between 200 and 400 dollars please."
    ids = submit(demo, spanish), submit(demo, english, ip="198.51.100.9", email="sam@example.com")
    work_all()
    with Session(get_engine()) as session:
        es, en = (session.get(Lead, lead_id) for lead_id in ids)
        assert (es.language, en.language) == ("es", "en")
        fields = ("category", "urgency", "budget_min", "budget_max", "status")
        assert [getattr(es, f) for f in fields] == [getattr(en, f) for f in fields]
        assert (es.urgency, es.budget_min, es.budget_max, es.status) == ("emergency", 200, 400, "matched")
        notes = session.exec(select(Notification).where(Notification.lead_id == ids[0])).all()
        told = next(n for n in notes if n.kind == "consumer_matched" and n.channel == "email")
        assert told.subject == "Su solicitud de plomería coincidió con 1 negocio de la zona"
        assert told.body_text.startswith("Hola:\n\nBuenas noticias: su solicitud de plomería coincide con 1 negocio")
        owner = next(n for n in notes if n.kind == "business_new_lead")
        assert "Su solicitud" not in owner.subject + owner.body_text  # the owner reads English
