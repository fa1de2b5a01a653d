"""Fastest-first routing, with real parts (SQLite and PostgreSQL, the real pipeline and notifications) and a
controlled clock: under the rule `routing: waterfall` a lead goes first to the fastest-answering of the best
businesses, then to the next few every `wave_minutes` while nobody accepts, up to `max_matches`; an
acceptance ends the waves. `broadcast` (the default) offers every match at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from leadapp.core.db import session_scope
from leadapp.core.errors import FieldErrors
from leadapp.core.models import Business, Lead, Match, Notification, User
from leadapp.core.services import inbox, intake, pipeline, portal, rules
from tests import factories

FAUCET = "Please replace the dripping kitchen faucet and check the slow sink drain sometime next month, no rush"
# Median response minutes of seven equally good plumbers; the waves go fastest first.
SPEEDS = {"Slow": 500.0, "New": None, "Steady": 200.0, "Fastest": 5.0, "Quick": 45.0, "Fast": 10.0, "Never": 1000.0}


@pytest.fixture
def plumbers(app_env) -> dict[str, int]:
    with session_scope() as s:
        ids = {}
        for name, minutes in SPEEDS.items():
            business = factories.business(s, factories.owner(s), name=name, avg_response_minutes=minutes)
            ids[name] = business.id
        factories.admin(s, email="admin@example.com")
    return ids


def _route(mode: str, wave_size: int = 3, wave_minutes: int = 10, max_matches: int = 10) -> None:
    with session_scope() as s:
        admin = s.exec(select(User).where(User.email == "admin@example.com")).one()
        current = rules.current_rules(s).rules
        current["routing"] = {"mode": mode, "wave_size": wave_size, "wave_minutes": wave_minutes}
        current["matching"]["max_matches"] = max_matches
        rules.save_rules(s, admin, current, note=f"routing {mode}")


def _submit() -> int:
    with session_scope() as s:
        accepted = intake.submit(
            s, intake.Submission(text=FAUCET, zip="46032", email="casey@example.com", human_verified=True)
        )
    pipeline.process_lead(accepted.lead_id)
    return accepted.lead_id


def _offered(lead_id: int, names: dict[str, int]) -> list[str]:
    by_id = {v: k for k, v in names.items()}
    with session_scope() as s:
        rows = s.exec(select(Match.business_id).where(Match.lead_id == lead_id).order_by(col(Match.id))).all()
        return [by_id[b] for b in rows]


def _told(lead_id: int, names: dict[str, int]) -> set[str]:
    by_id = {v: k for k, v in names.items()}
    with session_scope() as s:
        rows = s.exec(
            select(Notification.business_id).where(
                Notification.lead_id == lead_id, col(Notification.business_id).is_not(None)
            )
        ).all()
        return {by_id[b] for b in rows}


def _lead(lead_id: int) -> Lead:
    with session_scope() as s:
        lead = s.get(Lead, lead_id)
        s.expunge(lead)
        return lead


def test_broadcast_offers_every_match_at_once(plumbers):
    lead_id = _submit()
    assert sorted(_offered(lead_id, plumbers)) == sorted(SPEEDS)
    lead = _lead(lead_id)
    assert lead.routing == "broadcast" and lead.next_wave_at is None


def test_waterfall_offers_the_fastest_first_then_widens_while_nobody_accepts(plumbers):
    _route("waterfall", wave_size=3, wave_minutes=10)
    lead_id = _submit()
    assert set(_offered(lead_id, plumbers)) == {"Fastest", "Fast", "Quick"}
    assert _told(lead_id, plumbers) == {"Fastest", "Fast", "Quick"}  # only they heard of it
    lead = _lead(lead_id)
    assert lead.routing == "waterfall" and lead.next_wave_at is not None
    due = lead.next_wave_at
    start = due - timedelta(minutes=10)

    # Five minutes on, nothing is due.
    assert pipeline.offer_next_waves(now=start + timedelta(minutes=5)) == 0
    assert len(_offered(lead_id, plumbers)) == 3

    # Ten minutes on, nobody accepted: the next three (an unmeasured business gets a fair chance).
    assert pipeline.offer_next_waves(now=due) == 1
    assert set(_offered(lead_id, plumbers)[3:]) == {"New", "Steady", "Slow"}
    assert _told(lead_id, plumbers) == {"Fastest", "Fast", "Quick", "New", "Steady", "Slow"}
    assert _lead(lead_id).next_wave_at == due + timedelta(minutes=10)
    # The same sweep again (a second scheduler, a retried job) offers nothing more.
    assert pipeline.offer_next_waves(now=due) == 0
    assert len(_offered(lead_id, plumbers)) == 6

    # A business of the second wave accepts: the waves end, the last plumber never hears of it.
    with session_scope() as s:
        steady = s.exec(select(Match).where(Match.lead_id == lead_id, Match.business_id == plumbers["Steady"])).one()
        owner = s.get(User, s.get(Business, plumbers["Steady"]).owner_id)
        inbox.respond(s, owner, steady.id, accept=True)
    assert pipeline.offer_next_waves(now=due + timedelta(minutes=10)) == 1
    assert "Never" not in _offered(lead_id, plumbers)
    assert _lead(lead_id).next_wave_at is None


def test_waterfall_stops_at_the_match_cap_and_never_asks_a_business_twice(plumbers):
    _route("waterfall", wave_size=3, wave_minutes=10, max_matches=5)
    lead_id = _submit()
    with session_scope() as s:
        fastest = s.exec(select(Match).where(Match.lead_id == lead_id, Match.business_id == plumbers["Fastest"])).one()
        owner = s.get(User, s.get(Business, plumbers["Fastest"]).owner_id)
        inbox.respond(s, owner, fastest.id, accept=False, message="Booked up")
    due = _lead(lead_id).next_wave_at
    assert pipeline.offer_next_waves(now=due) == 1
    offered = _offered(lead_id, plumbers)
    assert len(offered) == 5 and offered.count("Fastest") == 1  # two more, up to the cap of five
    assert _lead(lead_id).next_wave_at is None  # the cap is reached: no more waves


@pytest.mark.parametrize(
    ("routing", "field"),
    [
        ({"mode": "everyone", "wave_size": 3, "wave_minutes": 10}, "routing_mode"),
        ({"mode": "waterfall", "wave_size": 0, "wave_minutes": 10}, "wave_size"),
        ({"mode": "waterfall", "wave_size": 3, "wave_minutes": "soon"}, "wave_minutes"),
    ],
)
def test_a_routing_rule_out_of_range_is_refused_with_its_field(plumbers, routing, field):
    with session_scope() as s:
        admin = s.exec(select(User).where(User.email == "admin@example.com")).one()
        current = rules.current_rules(s).rules
        current["routing"] = routing
        with pytest.raises(FieldErrors) as refused:
            rules.save_rules(s, admin, current)
        assert field in refused.value.errors
        assert rules.current_rules(s).get("routing")["mode"] == "broadcast"  # nothing stored


def test_a_request_its_consumer_withdrew_is_offered_to_nobody_else(plumbers):
    _route("waterfall")
    with session_scope() as s:
        consumer = factories.consumer(s, email="casey@example.com")
        accepted = intake.submit(
            s,
            intake.Submission(
                text=FAUCET, zip="46032", email="casey@example.com", human_verified=True, consumer_id=consumer.id
            ),
        )
    pipeline.process_lead(accepted.lead_id)
    with session_scope() as s:
        # The consumer's portal says how far the request went, and that more businesses may come.
        [view] = portal.consumer_leads(s, s.get(User, consumer.id))
        assert view["reach_label"] == "Sent to 3 businesses · 0 have seen it · more businesses if none accepts soon"
        portal.withdraw_request(s, s.get(User, consumer.id), accepted.lead_id)
    assert pipeline.offer_next_waves(now=_lead(accepted.lead_id).next_wave_at) == 1
    assert len(_offered(accepted.lead_id, plumbers)) == 3
