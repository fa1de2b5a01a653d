"""Without phone accounts, "AI call" runs end to end through the real worker: the place_call job dials the
simulated line and queues the simulated call, which runs the bridge's session code to an outcome."""

from __future__ import annotations

import functools

import pytest
from rq import SimpleWorker
from sqlmodel import Session, select

from leadapp.core.broker import get_redis
from leadapp.core.models import (
    AuditEvent,
    Business,
    Call,
    CallMetrics,
    Lead,
    Match,
    Notification,
    TranscriptLine,
    User,
    utcnow,
)
from leadapp.core.seed import CONSUMER_EMAIL, PLUMBER_EMAIL, seed_demo
from leadapp.core.services import calls, inbox, pipeline, portal
from leadapp.core.services.intake import submit
from leadapp.core.services.pipeline import process_lead
from leadapp.core.tasks import ALL_QUEUES, queue
from tests import factories


def test_ai_call_on_a_demo_lead_runs_as_a_simulated_call(db_session: Session, monkeypatch):
    s = db_session
    seed_demo(s, "demo-password-123")
    s.commit()
    monkeypatch.setattr("leadapp.core.services.notify.send_batch", lambda ids: {})
    # Inside calling hours whatever the clock says, and a quick-talking demo callee.
    for home in (calls.request, calls.placement, calls.outcome):  # where `calling_window` is looked up
        monkeypatch.setattr(home, "calling_window", lambda zip_code, now=None: (True, utcnow()))
    import voice_bridge.simulated as simulated

    monkeypatch.setattr(
        simulated, "run_simulated_call", functools.partial(simulated.run_simulated_call, ms_per_char=4.0)
    )

    accepted = submit(
        s,
        factories.consented_submission(
            "My water heater is leaking all over the garage floor, need someone today, budget around $500",
            "46032",
            "(317) 846-2200",
            "casey@example.com",
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
    # Costs: the realtime usage the simulated peer reported, priced, and no summary cost without Claude.
    assert done.cost_realtime_cents > 0 and done.cost_summary_cents == 0
    # The simulated call is measured like any other: its turns, talk times and usage.
    metrics = s.get(CallMetrics, call.id)
    assert metrics is not None and metrics.ai_cost_from_usage and metrics.turns >= 3
    assert metrics.turn_latency_p95_ms is not None and metrics.caller_talk_ms > 0 and metrics.assistant_talk_ms > 0
    assert done.cost_total_cents == pytest.approx(done.cost_carrier_cents + done.cost_realtime_cents, abs=1e-4)
    lines = s.exec(select(TranscriptLine).where(TranscriptLine.call_id == call.id)).all()
    assert len(lines) >= 3 and any(line.speaker == "caller" for line in lines)
    assert "AI assistant" in sorted(lines, key=lambda line: line.seq)[0].text

    # The simulated caller answered from the request itself, so the summary agrees with it...
    lead = s.get(Lead, accepted.lead_id)
    assert (lead.urgency, lead.budget_max) == ("high", 500)
    said = " ".join(line.text for line in lines if line.speaker == "caller")
    assert "water heater is leaking all over the garage floor" in said and "12 Main Street" not in said
    assert done.qualification["budget"] == "about $500" and done.qualification["zip"] == "46032"
    assert done.qualification["timing"] == "today or tomorrow" and done.qualification["urgency"] == "high"
    assert "Budget: about $500" in done.summary and "ZIP: 46032" in done.summary
    # ...and it is labelled a simulation wherever it shows: the lead detail, the summary messages, the calls log.
    (view,) = inbox.calls_for_match(s, owner, match.id)
    assert view["simulated"] == "yes" and view["outcome_label"] == "Qualified"
    summaries = s.exec(select(Notification).where(Notification.kind == "call_summary")).all()
    assert summaries
    for note in summaries:
        assert note.body_text.startswith("Simulated") or note.body_text.startswith("(Simulated)"), note.body_text
        assert note.channel == "sms" or note.subject.startswith(("Simulated AI call", "(Simulated)"))


def test_a_callback_before_any_acceptance_is_a_leadapp_concierge_call_that_completes_the_request(
    db_session: Session, monkeypatch
):
    """The consumer asks for a callback while no business has accepted: LeadApp's own call (no business), which
    goes over the request, writes the confirmed details onto it and matches it again; it ends as a success."""
    s = db_session
    seed_demo(s, "demo-password-123")
    s.commit()
    sent: list[list[int]] = []
    monkeypatch.setattr("leadapp.core.services.notify.send_batch", lambda ids: sent.append(list(ids)) or {})
    for home in (calls.request, calls.placement, calls.outcome):  # where `calling_window` is looked up
        monkeypatch.setattr(home, "calling_window", lambda zip_code, now=None: (True, utcnow()))
    import voice_bridge.simulated as simulated

    monkeypatch.setattr(
        simulated, "run_simulated_call", functools.partial(simulated.run_simulated_call, ms_per_char=4.0)
    )
    # On the phone the consumer says the job is in Carmel (46032), not where the form said (Bloomington).
    concierge_script = simulated.concierge_script
    monkeypatch.setattr(simulated, "concierge_script", lambda first, service, _zip: concierge_script(first, service))

    consumer = s.exec(select(User).where(User.email == CONSUMER_EMAIL)).one()
    accepted = submit(
        s,
        factories.consented_submission(
            "The drain under the kitchen sink is leaking into the cabinet, need a plumber to fix the pipe soon",
            "47401",
            "(317) 846-2233",
            "casey@example.com",
            consumer_id=consumer.id,
        ),
    )
    assert process_lead(accepted.lead_id) == "no_match"  # no plumber serves Bloomington

    # Before the consumer confirms, the portal says whose call it will be.
    (view,) = [v for v in portal.consumer_leads(s, consumer) if v["lead"]["id"] == str(accepted.lead_id)]
    assert view["callback_kind"] == "concierge" and "LeadApp concierge call" in view["callback_explanation"]
    call = portal.request_callback(s, consumer, accepted.lead_id)
    s.commit()
    assert (call.business_id, call.call_type, call.status) == (None, "consumer_callback", "requested")

    worker = SimpleWorker([queue(name) for name in ALL_QUEUES], connection=get_redis())
    worker.work(burst=True, with_scheduler=False)

    s.expire_all()
    done = s.get(Call, call.id)
    assert (done.status, done.outcome, done.error) == ("completed", "goal_achieved", "")  # a success, not "failed"
    assert done.business_id is None and done.provider_call_sid.startswith("SIM")
    assert [c.id for c in s.exec(select(Call).where(Call.lead_id == accepted.lead_id)).all()] == [call.id]  # no retry
    lines = sorted(s.exec(select(TranscriptLine).where(TranscriptLine.call_id == call.id)).all(), key=lambda x: x.seq)
    assert "AI assistant from LeadApp" in lines[0].text and "recorded" in lines[0].text
    assert "Carmel Plumbing" not in " ".join(line.text for line in lines)  # it speaks for LeadApp only

    lead = s.get(Lead, accepted.lead_id)
    assert (lead.location_zip, lead.urgency, lead.budget_min, lead.budget_max) == ("46032", "high", 300, 300)
    assert lead.qualification["need"] == "leaking pipe under the kitchen sink"
    assert lead.qualification["timing"] == "this week"
    update = s.exec(select(AuditEvent).where(AuditEvent.action == "lead.concierge_update")).one()
    assert update.before["location_zip"] == "47401" and update.after["location_zip"] == "46032"

    # Matched again with the confirmed details: now Carmel Plumbing gets it, and is told.
    assert lead.status == "matched"
    (match,) = s.exec(select(Match).where(Match.lead_id == lead.id)).all()
    plumber = s.exec(select(User).where(User.email == PLUMBER_EMAIL)).one()
    assert s.get(Business, match.business_id).owner_id == plumber.id
    told = s.exec(
        select(Notification).where(Notification.lead_id == lead.id, Notification.kind == "business_new_lead")
    ).all()
    assert told and all(n.business_id == match.business_id for n in told)
    summaries = s.exec(
        select(Notification).where(Notification.lead_id == lead.id, Notification.kind == "call_summary")
    ).all()
    assert summaries and all(n.business_id is None for n in summaries)  # the consumer hears how it went
    assert all(calls.CONCIERGE_DONE in n.body_text for n in summaries if n.channel == "email")

    # The re-match is safe twice: nothing new.
    before = len(s.exec(select(Notification)).all())
    assert pipeline.rematch_lead(lead.id, details_confirmed=True) == "matched"
    s.expire_all()
    assert len(s.exec(select(Match).where(Match.lead_id == lead.id)).all()) == 1
    assert len(s.exec(select(Notification)).all()) == before
    assert (
        "LeadApp concierge call (simulated) finished: your request was completed"
        in portal.consumer_leads(s, consumer)[0]["call_status"]
    )
