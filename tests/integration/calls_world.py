"""The world of the outbound-call tests (`test_calls_twilio*.py`): the fake Twilio as the app's telephony
provider, the real voice bridge under uvicorn for its signed callbacks, a call simulator, a consumer's accepted
lead with its business (and a rival one), and the helpers that read calls and jobs back. `integration/conftest.py`
offers its fixtures to every module of the folder by name.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import redis
import uvicorn
from rq.registry import ScheduledJobRegistry
from sqlmodel import Session, select

from leadapp.core.models import Business, Call, Lead, Match, User, utcnow
from leadapp.core.services import accounts, calls
from leadapp.core.settings import get_settings
from leadapp.core.tasks import CALLS, queue
from leadapp.core.vocab import LeadStatus, MatchStatus
from tests import factories
from tests.fakes.twilio_api import twilio_settings
from tests.fakes.twilio_voice import CallSimulator, FakeTwilioVoice
from voice_bridge import WS_PROTOCOL

PUBLIC_BASE = "https://voice.leads.example.test"
PASSWORD = "a long enough password"
PHONE = "+13178462200"
ZIP = "46032"  # Carmel, Indiana: America/Indiana/Indianapolis
INDIANA = ZoneInfo("America/Indiana/Indianapolis")
# Noon in Indiana today (EST or EDT): inside calling hours whenever the tests run.
DAYTIME = datetime.now(UTC).replace(hour=17, minute=0, second=0, microsecond=0)


# --- fixtures -------------------------------------------------------------------------------------


def _delete_rq_keys(client: redis.Redis) -> None:
    stale = list(client.scan_iter(match="rq:*", count=500))
    if stale:
        client.delete(*stale)


@pytest.fixture
def twilio(
    app_env: dict[str, str], request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeTwilioVoice]:
    """The fake Twilio as the app's telephony provider; the bridge's public URL is PUBLIC_BASE; no RQ leftovers."""
    fake: FakeTwilioVoice = request.getfixturevalue("fake_twilio_voice")
    for name, value in {**twilio_settings(fake, PUBLIC_BASE), "APP_URL": "https://leads.example.test"}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    client = redis.Redis.from_url(app_env["REDIS_URL"])
    _delete_rq_keys(client)
    try:
        yield fake
    finally:
        _delete_rq_keys(client)
        client.close()


@pytest.fixture
def bridge_url(twilio: FakeTwilioVoice) -> Iterator[str]:
    """The real voice bridge app served by uvicorn on a free loopback port (a thread of this process)."""
    from voice_bridge.app import app

    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", ws=WS_PROTOCOL)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the bridge did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture
def simulator(twilio: FakeTwilioVoice, bridge_url: str) -> Iterator[CallSimulator]:
    sim = CallSimulator(twilio, bridge_url, PUBLIC_BASE)
    try:
        yield sim
    finally:
        sim.close()


@dataclass
class World:
    consumer: User
    owner: User
    other_owner: User
    admin: User
    business: Business
    other_business: Business
    lead: Lead
    match: Match


def make_lead(s: Session, consumer: User | None, *, phone: str = PHONE, consent: bool = True, **fields: Any) -> Lead:
    """A request the business has accepted (the calls' starting point), from the shared factory."""
    return factories.lead(
        s, consumer, phone=phone, consent=consent, **{"zip": ZIP, "status": LeadStatus.ACCEPTED.value, **fields}
    )


def accept(s: Session, lead: Lead, business: Business) -> Match:
    match = Match(lead_id=lead.id, business_id=business.id, score=80.0, status=MatchStatus.ACCEPTED.value)
    s.add(match)
    s.flush()
    return match


@pytest.fixture
def world(db_session: Session, twilio: FakeTwilioVoice) -> World:
    s = db_session
    consumer = accounts.register(s, "casey@example.com", PASSWORD, "consumer")
    owner = accounts.register(s, "plumber@example.com", PASSWORD, "business_owner")
    other_owner = accounts.register(s, "drains@example.com", PASSWORD, "business_owner")
    admin = accounts.ensure_admin(s, "admin@example.com", PASSWORD)
    business = Business(verified_at=utcnow(), owner_id=owner.id, name="Carmel Plumbing", zip=ZIP, plan="pro")
    other_business = Business(
        verified_at=utcnow(), owner_id=other_owner.id, name="Quick Drains", zip="46033", plan="pro"
    )
    s.add_all([business, other_business])
    s.flush()
    lead = make_lead(s, consumer)
    match = accept(s, lead, business)
    s.commit()
    return World(consumer, owner, other_owner, admin, business, other_business, lead, match)


def fresh(s: Session, call_id: int) -> Call:
    s.expire_all()
    call = s.get(Call, call_id)
    assert call is not None
    return call


def all_calls(s: Session) -> list[Call]:
    s.expire_all()
    return list(s.exec(select(Call).order_by(Call.id)).all())


def requested_in_the_day(s: Session, w: World) -> Call:
    """A call the business asks for in calling hours (at DAYTIME), not yet placed."""
    call = calls.request_call(s, w.owner, w.match.id, now=DAYTIME)
    s.commit()
    return call


def requested_and_dialled(s: Session, w: World, simulator: CallSimulator) -> tuple[Call, Any]:
    """A call asked for in the day, placed by its job: (the call row, the simulated Twilio call)."""
    call = calls.request_call(s, w.owner, w.match.id, "Qualify the water heater job", now=DAYTIME)
    s.commit()
    assert calls.place_call(call.id, now=DAYTIME) == "dialled"
    return fresh(s, call.id), simulator.call()


def answered(s: Session, w: World, simulator: CallSimulator, **recorded: Any) -> tuple[Call, Any]:
    """A call requested, dialled and answered by a person, with what the bridge records on it during the
    conversation (`recorded`: outcome, summary, error, qualification …)."""
    call, sim = requested_and_dialled(s, w, simulator)
    assert_204(sim.answer("human"))
    row = fresh(s, call.id)
    for name, value in recorded.items():
        setattr(row, name, value)
    s.add(row)
    s.commit()
    return call, sim


def night_tomorrow() -> datetime:
    """3:30 UTC tomorrow: 22:30/23:30 the evening before in Indiana, outside calling hours."""
    return (datetime.now(UTC) + timedelta(days=1)).replace(hour=3, minute=30, second=0, microsecond=0)


def requested_at_night(s: Session, w: World) -> tuple[Call, datetime]:
    """A call the business asks for at `night_tomorrow()`: (the call row, that moment)."""
    night = night_tomorrow()
    call = calls.request_call(s, w.owner, w.match.id, now=night)
    s.commit()
    return call, night


def assert_204(responses: list[httpx.Response]) -> None:
    assert [r.status_code for r in responses] == [204] * len(responses), [r.text for r in responses]


def after_callbacks(s: Session, call_id: int, responses: list[httpx.Response]) -> Call:
    """The call once Twilio's callbacks (`responses`) came in, each answered 204."""
    assert_204(responses)
    return fresh(s, call_id)


def ended_as(s: Session, call_id: int, responses: list[httpx.Response], status: str, outcome: str) -> Call:
    """The call after the callbacks `responses` (see `after_callbacks`), checked to be (status, outcome)."""
    done = after_callbacks(s, call_id, responses)
    assert (done.status, done.outcome) == (status, outcome)
    return done


def the_retry(s: Session, call_id: int) -> Call:
    """The one retry of the call `call_id`, checked to be its second attempt, scheduled."""
    _, retry = all_calls(s)
    assert (retry.attempt, retry.retry_of_id, retry.status) == (2, call_id, "scheduled")
    return retry


def scheduled_jobs() -> dict[str, datetime]:
    registry = ScheduledJobRegistry(queue=queue(CALLS))
    return {job_id: registry.get_scheduled_time(job_id) for job_id in registry.get_job_ids()}


def nine_am_after(moment: datetime) -> datetime:
    return calls.calling_window(ZIP, moment)[1]
