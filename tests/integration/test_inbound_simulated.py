"""Without phone accounts, "simulate an inbound call" runs end to end through the real worker: the job rings the
business's local line, the bridge's session answers as its receptionist (against the local realtime peer and a
scripted caller), and the call's lead is matched to that business alone and notified to it."""

from __future__ import annotations

import functools

import pytest
from rq import SimpleWorker
from sqlmodel import Session, select

from leadapp.core.broker import get_redis
from leadapp.core.errors import UserError
from leadapp.core.models import Business, Call, Lead, Match, Notification, TranscriptLine, User, utcnow
from leadapp.core.seed import PLUMBER_EMAIL, seed_demo
from leadapp.core.services import inbound, inbox
from leadapp.core.tasks import ALL_QUEUES, queue


def test_a_simulated_call_to_the_local_line_becomes_the_business_own_lead(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = db_session
    seed_demo(s, "demo-password-123")
    competitor_owner = User(email="rival@example.com", password_hash="x", role="business_owner")
    s.add(competitor_owner)
    s.flush()
    rival = Business(
        verified_at=utcnow(),
        owner_id=competitor_owner.id,
        name="Rival Rooter",
        zip="46032",
        latitude=39.9712,
        longitude=-86.1245,
        categories=["plumbing"],
        rating=4.9,
        review_count=300,
    )
    s.add(rival)
    s.commit()
    import voice_bridge.simulated as simulated

    monkeypatch.setattr(
        simulated,
        "run_simulated_inbound_call",
        functools.partial(simulated.run_simulated_inbound_call, ms_per_char=4.0),
    )
    owner = s.exec(select(User).where(User.email == PLUMBER_EMAIL)).one()
    plumber = s.exec(select(Business).where(Business.owner_id == owner.id)).one()

    with pytest.raises(UserError, match="Connect the local number first"):
        inbound.start_simulated_call(s, owner, plumber.id)
    s.rollback()
    line = inbound.connect_local_number(s, owner, plumber.id)
    s.commit()
    call_id = inbound.start_simulated_call(s, owner, plumber.id)
    s.commit()
    with pytest.raises(UserError, match="already running"):  # one at a time
        inbound.start_simulated_call(s, owner, plumber.id)
    s.rollback()

    worker = SimpleWorker([queue(name) for name in ALL_QUEUES], connection=get_redis())
    worker.work(burst=True, with_scheduler=False)

    s.expire_all()
    call = s.get(Call, call_id)
    assert (call.direction, call.provider, call.status, call.outcome) == (
        "inbound",
        "simulated",
        "completed",
        "goal_achieved",
    )
    assert call.from_number == line.number and call.lead_id is not None
    assert call.recording_ref.startswith("local:") and call.recording_seconds  # recorded, as its greeting says
    lead = s.get(Lead, call.lead_id)
    assert (lead.business_id, lead.source, lead.status, lead.category) == (plumber.id, "phone", "matched", "plumbing")
    assert lead.zip == plumber.zip and "Alex Morgan" in lead.raw_text
    matches = s.exec(select(Match).where(Match.lead_id == lead.id)).all()
    assert [m.business_id for m in matches] == [plumber.id]  # the rival, better rated and as near, gets nothing
    notified = s.exec(select(Notification).where(Notification.lead_id == lead.id)).all()
    assert {n.business_id for n in notified} == {plumber.id} and all(n.kind == "business_new_lead" for n in notified)
    rows, total = inbox.inbox(s, owner, plumber.id, inbox.InboxFilters())
    assert total == 1 and rows[0]["called_you"] == "yes"


def test_a_simulated_caller_to_a_spanish_only_business_speaks_spanish_and_the_call_switches(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = db_session
    seed_demo(s, "demo-password-123")
    owner = s.exec(select(User).where(User.email == PLUMBER_EMAIL)).one()
    plumber = s.exec(select(Business).where(Business.owner_id == owner.id)).one()
    plumber.languages = ["es"]  # serves Spanish only: the simulated caller speaks Spanish
    s.commit()
    import voice_bridge.simulated as simulated

    monkeypatch.setattr(
        simulated,
        "run_simulated_inbound_call",
        functools.partial(simulated.run_simulated_inbound_call, ms_per_char=4.0),
    )
    inbound.connect_local_number(s, owner, plumber.id)
    s.commit()
    call_id = inbound.start_simulated_call(s, owner, plumber.id)
    s.commit()
    SimpleWorker([queue(name) for name in ALL_QUEUES], connection=get_redis()).work(burst=True, with_scheduler=False)

    s.expire_all()
    call = s.get(Call, call_id)
    assert (call.status, call.outcome) == ("completed", "goal_achieved")
    lines = sorted(s.exec(select(TranscriptLine).where(TranscriptLine.call_id == call_id)).all(), key=lambda x: x.seq)
    assert lines[1].speaker == "caller" and lines[1].text.startswith("Hola, buenas tardes.")
    assert "The caller spoke Spanish: the assistant switched to Spanish." in [line.text for line in lines]
    assert call.summary.startswith("Resultado: Calificada.")
    lead = s.get(Lead, call.lead_id)
    assert (lead.language, lead.business_id) == ("es", plumber.id)
    assert [m.business_id for m in s.exec(select(Match).where(Match.lead_id == lead.id)).all()] == [plumber.id]
