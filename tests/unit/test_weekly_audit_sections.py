"""The weekly audit's sections on routing and AI calls, on data with known answers (SQLite and PostgreSQL):
response times per routing mode (broadcast, waterfall), and the week's call quality and reported costs."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from leadapp.core.models import Call, CallMetrics
from leadapp.core.services import weekly_audit
from leadapp.core.services.weekly_audit import compute_figures
from leadapp.core.vocab import MatchStatus
from tests import factories
from tests.unit.test_weekly_audit import INSIDE, NOW, START


def test_response_times_are_reported_per_routing_mode(db_session: Session):
    owner = factories.owner(db_session)
    fast, slow = factories.business(db_session, owner), factories.business(db_session, owner)
    minutes = lambda n: INSIDE + timedelta(minutes=n)  # noqa: E731
    waterfall = factories.lead(db_session, routing="waterfall", matched_at=INSIDE, created_at=INSIDE)
    broadcast = factories.lead(db_session, routing="broadcast", matched_at=INSIDE, created_at=INSIDE)
    for lead, business, status, answered in (
        (waterfall, fast, MatchStatus.ACCEPTED.value, 4),
        (waterfall, slow, MatchStatus.DECLINED.value, 20),
        (broadcast, fast, MatchStatus.NOTIFIED.value, None),
        (broadcast, slow, MatchStatus.ACCEPTED.value, 60),
    ):
        factories.match(
            db_session,
            lead,
            business,
            status,
            created_at=INSIDE,
            responded_at=None if answered is None else minutes(answered),
        )
    db_session.commit()
    routing = compute_figures(db_session, START, NOW)["routing"]
    assert routing == {
        "broadcast": {
            "matches": 2,
            "answered": 1,
            "median_answer_minutes": 60.0,
            "accepted_leads": 1,
            "median_minutes_to_acceptance": 60.0,
        },
        "waterfall": {
            "matches": 2,
            "answered": 2,
            "median_answer_minutes": 12.0,
            "accepted_leads": 1,
            "median_minutes_to_acceptance": 4.0,
        },
    }
    report = weekly_audit.render_markdown(compute_figures(db_session, START, NOW), [], [], "", "template")
    assert "## Response times by routing" in report and "| waterfall | 2 | 2 | 12 | 1 | 4 |" in report


def test_the_weeks_ai_call_quality_and_reported_costs_are_in_the_report(db_session: Session):
    s = db_session
    owner = factories.owner(s)
    quick, slow = factories.business(s, owner, "Quick Pipes"), factories.business(s, owner, "Slow Drains")
    placed = [
        # (business, created, turns, interruptions, AI priced from usage, carrier cents and whether Twilio's price)
        (quick, INSIDE, [200, 250], 0, True, 1.4, True),
        (slow, INSIDE, [900, 1500, 700], 2, True, 2.8, False),
        (slow, INSIDE + timedelta(days=1), [800], 1, False, 1.4, False),
        (quick, START - timedelta(hours=1), [9000], 5, True, 9.0, True),  # the week before: not counted
    ]
    for business, created, turns, interruptions, from_usage, carrier, reported in placed:
        call = Call(
            business_id=business.id,
            status="completed",
            outcome="goal_achieved",
            created_at=created,
            cost_realtime_cents=10.0,
            cost_carrier_cents=carrier,
            cost_carrier_reported=reported,
        )
        s.add(call)
        s.flush()
        s.add(
            CallMetrics(
                call_id=call.id,
                turns=len(turns),
                turn_latencies_ms=turns,
                interruptions=interruptions,
                assistant_talk_ms=3000,
                caller_talk_ms=1000,
                ai_cost_from_usage=from_usage,
            )
        )
    s.add(Call(business_id=quick.id, status="failed", created_at=INSIDE))  # never connected: not measured
    s.commit()

    calls = compute_figures(s, START, NOW)["call_quality"]
    assert (calls["calls"], calls["measured"], calls["turns"]) == (4, 3, 6)
    assert (calls["turn_latency_p50_ms"], calls["turn_latency_p95_ms"]) == (700, 1500)  # of 200 250 700 800 900 1500
    assert (calls["interruptions"], calls["interruptions_per_call"]) == (3, 1.0)
    assert calls["talk_ratio"] == 0.75
    assert (calls["ai_cost_cents"], calls["ai_cost_from_usage"]) == (30.0, 2)
    assert (calls["carrier_cost_cents"], calls["carrier_reported"]) == (5.6, 1)
    assert [(b["name"], b["calls"], b["turn_latency_p95_ms"]) for b in calls["slowest_businesses"]] == [
        ("Slow Drains", 2, 1500),
        ("Quick Pipes", 1, 250),
    ]
    md = weekly_audit.render_markdown(compute_figures(s, START, NOW), [], [], "", "template")
    assert "## AI call quality" in md
    assert "| Turn latency p95 | 1500 ms |" in md and "| Interruptions | 3 (1.0 a call) |" in md
    assert "| Slow Drains | 2 | 1500 ms | 3 |" in md
    narrative = weekly_audit.template_narrative(compute_figures(s, START, NOW), [], [])
    assert "AI calls measured this week: 3; turn latency 700 ms median and 1500 ms p95; 3 interruptions" in narrative
