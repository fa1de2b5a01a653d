"""Without phone accounts, "AI call" runs end to end through the real worker: the place_call job dials the
simulated line and queues the simulated call, which runs the bridge's session code to an outcome."""

from __future__ import annotations

import functools

from rq import SimpleWorker
from sqlmodel import Session, select

from leadapp.core.broker import get_redis
from leadapp.core.models import Call, Match, TranscriptLine, User
from leadapp.core.seed import PLUMBER_EMAIL, seed_demo
from leadapp.core.services import calls, inbox
from leadapp.core.services.intake import Submission, submit
from leadapp.core.services.pipeline import process_lead
from leadapp.core.tasks import ALL_QUEUES, queue


def test_ai_call_on_a_demo_lead_runs_as_a_simulated_call(db_session: Session, monkeypatch):
    s = db_session
    seed_demo(s, "demo-password-123")
    s.commit()
    monkeypatch.setattr("leadapp.core.services.notify.send_batch", lambda ids: {})
    # Inside calling hours whatever the clock says, and a quick-talking demo callee.
    monkeypatch.setattr(calls, "calling_window", lambda zip_code, now=None: (True, calls.utcnow()))
    import voice_bridge.simulated as simulated

    monkeypatch.setattr(
        simulated, "run_simulated_call", functools.partial(simulated.run_simulated_call, ms_per_char=4.0)
    )

    accepted = submit(
        s,
        Submission(
            text="My water heater is leaking all over the garage floor, need someone today, budget around $500",
            zip="46032",
            phone="(317) 846-2200",
            email="casey@example.com",
            consent_ai_calls=True,
            client_ip="",
        ),
    )
    assert process_lead(accepted.lead_id) == "matched"
    owner = s.exec(select(User).where(User.email == PLUMBER_EMAIL)).one()
    match = s.exec(select(Match).where(Match.lead_id == accepted.lead_id)).one()
    inbox.respond(s, owner, match.id, accept=True)
    s.commit()
    call = calls.request_call(s, owner, match.id, objective="Confirm the leak and book a visit")
    s.commit()
    assert call.status == "requested"

    worker = SimpleWorker([queue(name) for name in ALL_QUEUES], connection=get_redis())
    worker.work(burst=True, with_scheduler=False)

    s.expire_all()
    done = s.get(Call, call.id)
    assert done.provider == "simulated" and done.provider_call_sid.startswith("SIM")
    assert (done.status, done.outcome) == ("completed", "goal_achieved")
    assert done.summary and done.ended_at is not None
    # Costs: realtime minutes (a started minute at least) and no summary cost without Claude; total adds up.
    assert done.cost_realtime_cents > 0 and done.cost_summary_cents == 0
    assert done.cost_total_cents == round(done.cost_carrier_cents + done.cost_realtime_cents, 2)
    lines = s.exec(select(TranscriptLine).where(TranscriptLine.call_id == call.id)).all()
    assert len(lines) >= 3 and any(line.speaker == "caller" for line in lines)
    assert "AI assistant" in sorted(lines, key=lambda line: line.seq)[0].text
