"""The matcher against a real database (SQLite and PostgreSQL): candidates, caps, idempotent matches, response rates."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest
from sqlalchemy import event, func
from sqlmodel import Session, select

from leadapp.core.db import engine_for
from leadapp.core.models import Business, Lead, Match, User, utcnow
from leadapp.core.services.match import (
    candidate_businesses,
    create_matches,
    lead_features,
    refresh_response_rate,
    zip_centroid,
)
from leadapp.core.services.rules import DEFAULT_RULES, RulesSnapshot
from leadapp.core.vocab import MatchStatus, Role
from tests.integration.programs import waiting_on_a_lock

RULES = RulesSnapshot(0, copy.deepcopy(DEFAULT_RULES))
NOW = datetime.now(UTC)
MONTH_START = NOW.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
_serial = count(1)


def owner(session: Session) -> User:
    user = User(email=f"owner{next(_serial)}@example.com", password_hash="x", role=Role.BUSINESS_OWNER.value)
    session.add(user)
    session.flush()
    return user


def business(
    session: Session, name: str, zip_code: str, categories: list[str], *, located: bool = True, **fields: Any
) -> Business:
    """A well-rated business at its ZIP's centroid (or with no coordinates when `located` is False)."""
    lat, lon = zip_centroid(zip_code) or (None, None)
    values: dict[str, Any] = {
        "radius_miles": 25.0,
        "rating": 4.7,
        "review_count": 40,
        "licensed": True,
        "insured": True,
        "emergency_service": True,
    }
    values.update(fields)
    row = Business(
        verified_at=utcnow(),
        owner_id=owner(session).id,
        name=name,
        zip=zip_code,
        categories=categories,
        latitude=lat if located else None,
        longitude=lon if located else None,
        **values,
    )
    session.add(row)
    session.flush()
    return row


def lead(session: Session, zip_code: str = "46032", category: str = "plumbing", **fields: Any) -> Lead:
    row = Lead(
        raw_text="Kitchen sink is leaking under the cabinet and the shutoff valve is stuck, please help soon",
        zip=zip_code,
        category=category,
        urgency="normal",
        budget_max=400,
        key_requirements=["licensed"],
        **fields,
    )
    session.add(row)
    session.flush()
    return row


def match(session: Session, business_row: Business, created_at: datetime, **fields: Any) -> Match:
    """A match of `business_row` to a fresh filler lead, created at `created_at`."""
    row = Match(lead_id=lead(session).id, business_id=business_row.id, score=80.0, created_at=created_at, **fields)
    session.add(row)
    session.flush()
    return row


@pytest.fixture
def session(db_session: Session) -> Iterator[Session]:
    yield db_session
    db_session.rollback()


def matched_ids(matches: list[Match]) -> set[int]:
    return {m.business_id for m in matches}


# --- who gets the lead ----------------------------------------------------------------------------


def test_a_carmel_plumbing_lead_goes_to_nearby_plumbers_only(session: Session) -> None:
    carmel = business(session, "Carmel Plumbing", "46032", ["plumbing"])
    indy = business(session, "Downtown Plumbing", "46204", ["plumbing"], radius_miles=30)
    westfield = business(session, "Westfield Pipes (no coordinates)", "46074", ["plumbing"], located=False)
    handyman = business(session, "Carmel Handyman", "46032", ["handyman"])  # related category
    short_reach = business(session, "Downtown Drains", "46204", ["plumbing"], radius_miles=5)  # lead is ~14 mi away
    business(session, "Carmel Electric", "46032", ["electrical"])  # unrelated category
    business(session, "Manhattan Electric", "10001", ["electrical"], radius_miles=50)
    nyc_plumber = business(session, "Manhattan Plumbing", "10001", ["plumbing"], radius_miles=50)
    business(session, "Nowhere Plumbing", "00000", ["plumbing"], located=False)  # unknown ZIP: no location
    the_lead = lead(session)

    candidates = {b.id: b for b in candidate_businesses(session, lead_features(the_lead))}
    assert nyc_plumber.id not in candidates  # the SQL box already leaves New York out
    assert candidates[westfield.id].location == zip_centroid("46074")  # ZIP centroid stands in for coordinates

    matches = create_matches(session, the_lead, RULES)
    assert matched_ids(matches) == {carmel.id, indy.id, westfield.id, handyman.id}
    assert short_reach.id not in candidates  # the box is sized by each business's own radius
    by_business = {m.business_id: m for m in matches}
    top = by_business[carmel.id]
    assert top.status == MatchStatus.NEW.value and top.lead_id == the_lead.id
    assert top.distance_miles == 0.0 and top.reasons[:2] == [
        "0.0 mi away (within your 25 mi radius)",
        "Exact category: plumbing",
    ]
    assert by_business[handyman.id].score == top.score - 8  # related category: 12 of 20
    assert by_business[indy.id].distance_miles == pytest.approx(13.8, abs=0.1)
    scores = [m.score for m in matches]
    assert scores == sorted(scores, reverse=True) and matches[0].business_id == carmel.id


def test_a_radius_wider_than_any_fixed_box_is_honoured(session: Session) -> None:
    national = business(session, "Coast to Coast Plumbing", "10001", ["plumbing"], radius_miles=700)
    business(session, "Tri-State Plumbing", "10001", ["plumbing"], radius_miles=600)
    the_lead = lead(session)  # Carmel, ~640 mi from Midtown Manhattan
    assert national.id in {b.id for b in candidate_businesses(session, lead_features(the_lead))}
    matches = create_matches(session, the_lead, RULES)
    assert matched_ids(matches) == {national.id}  # the 600-mile one is just out of reach (exact check)
    assert matches[0].distance_miles == pytest.approx(639.8, abs=0.1)


def test_candidates_come_from_a_single_query(session: Session) -> None:
    for i in range(30):
        business(session, f"Plumber {i}", "46032", ["plumbing"])
    match(session, business(session, "Busy", "46032", ["plumbing"]), NOW)
    features = lead_features(lead(session))
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        found = candidate_businesses(session, features)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(found) == 31
    # One statement: the caps and open-lead limits are counted inside it, not per business in Python.
    assert len(statements) == 1 and "count(" in statements[0].lower()


def test_paused_inactive_and_own_businesses_are_never_matched(session: Session) -> None:
    fine = business(session, "Open for business", "46032", ["plumbing"])
    paused = business(session, "On holiday", "46032", ["plumbing"], paused=True)
    inactive = business(session, "Closed down", "46032", ["plumbing"], is_active=False)
    called = business(session, "Took the call", "46032", ["plumbing"])
    own = business(session, "Consumer's own company", "46032", ["plumbing"])
    the_lead = lead(session, business_id=called.id, consumer_id=own.owner_id)

    ids = {b.id for b in candidate_businesses(session, lead_features(the_lead))}
    assert paused.id not in ids and inactive.id not in ids
    assert matched_ids(create_matches(session, the_lead, RULES)) == {fine.id}


def test_monthly_cap_counts_this_months_matches_only(session: Session) -> None:
    capped = business(session, "Capped", "46032", ["plumbing"], monthly_lead_cap=2)
    for created in (MONTH_START, NOW):
        match(session, capped, created)
    last_month = business(session, "Busy last month", "46032", ["plumbing"], monthly_lead_cap=2)
    for days in (1, 20):
        match(session, last_month, MONTH_START - timedelta(days=days))
    room_left = business(session, "One to go", "46032", ["plumbing"], monthly_lead_cap=2)
    match(session, room_left, NOW)
    no_leads = business(session, "Cap of zero", "46032", ["plumbing"], monthly_lead_cap=0)

    ids = {b.id for b in candidate_businesses(session, lead_features(lead(session)), now=NOW)}
    assert capped.id not in ids and no_leads.id not in ids
    assert {last_month.id, room_left.id} <= ids


def test_max_open_leads_counts_open_matches_only(session: Session) -> None:
    full = business(session, "Hands full", "46032", ["plumbing"], max_open_leads=2)
    match(session, full, NOW - timedelta(days=70), status=MatchStatus.ACCEPTED.value)  # open, however old
    match(session, full, NOW, status=MatchStatus.VIEWED.value)
    free = business(session, "Finished work", "46032", ["plumbing"], max_open_leads=2)
    for status in (MatchStatus.DECLINED, MatchStatus.CONVERTED, MatchStatus.EXPIRED):
        match(session, free, NOW - timedelta(days=70), status=status.value)
    match(session, free, NOW, status=MatchStatus.NOTIFIED.value)
    unlimited = business(session, "No limit", "46032", ["plumbing"], max_open_leads=None)
    for _ in range(3):
        match(session, unlimited, NOW)

    ids = {b.id for b in candidate_businesses(session, lead_features(lead(session)), now=NOW)}
    assert full.id not in ids
    assert {free.id, unlimited.id} <= ids


# --- idempotency ----------------------------------------------------------------------------------


def test_create_matches_twice_creates_no_duplicates(session: Session) -> None:
    for i in range(3):
        business(session, f"Plumber {i}", "46032", ["plumbing"])
    the_lead = lead(session)
    first = create_matches(session, the_lead, RULES)
    session.commit()
    business(session, "Opened after the first run", "46032", ["plumbing"])
    second = create_matches(session, the_lead, RULES)
    again_in_same_transaction = create_matches(session, the_lead, RULES)
    assert len(first) == 3
    assert [m.id for m in second] == [m.id for m in first] == [m.id for m in again_in_same_transaction]
    stored = session.exec(select(func.count()).select_from(Match).where(Match.lead_id == the_lead.id)).one()
    assert stored == 3


def test_concurrent_runs_for_one_lead_do_not_collide(migrated_pg_url: str) -> None:
    """Two workers matching the same lead at once: the second waits on the first's rows, then inserts nothing.

    PostgreSQL only: on SQLite the database-wide write lock serializes the runs instead.
    """
    engine = engine_for(migrated_pg_url)
    with Session(engine, expire_on_commit=False) as setup:
        for i in range(3):
            business(setup, f"Plumber {i}", "46032", ["plumbing"])
        lead_id = lead(setup).id
        setup.commit()

    outcome: dict[str, Any] = {}

    def second_worker() -> None:
        try:
            with Session(engine, expire_on_commit=False) as other:
                outcome["ids"] = [m.id for m in create_matches(other, other.get(Lead, lead_id), RULES)]
                other.commit()
        except Exception as exc:  # reported to the test thread below
            outcome["error"] = exc

    with Session(engine, expire_on_commit=False) as first:
        first_ids = [m.id for m in create_matches(first, first.get(Lead, lead_id), RULES)]
        worker = threading.Thread(target=second_worker, daemon=True)
        worker.start()
        deadline = time.monotonic() + 10
        while not waiting_on_a_lock(engine):  # the second run is blocked on our uncommitted rows
            assert worker.is_alive(), outcome
            assert time.monotonic() < deadline, "the second run never waited on the first"
            time.sleep(0.05)
        first.commit()
    worker.join(timeout=10)
    assert not worker.is_alive() and "error" not in outcome, outcome
    assert outcome["ids"] == first_ids and len(first_ids) == 3
    with Session(engine) as check:
        assert check.exec(select(func.count()).select_from(Match).where(Match.lead_id == lead_id)).one() == 3


def test_create_matches_keeps_only_the_top_ten(session: Session) -> None:
    for i in range(12):
        business(session, f"Plumber {i}", "46032", ["plumbing"], rating=4.7 if i < 10 else 3.0)
    matches = create_matches(session, lead(session), RULES)
    assert len(matches) == 10 and {m.score for m in matches} == {matches[0].score}


def test_a_lead_without_location_gets_no_matches(session: Session) -> None:
    business(session, "Carmel Plumbing", "46032", ["plumbing"])
    assert create_matches(session, lead(session, zip_code="00000"), RULES) == []


# --- response rate --------------------------------------------------------------------------------


def test_refresh_response_rate(session: Session) -> None:
    answered = business(session, "Answers", "46032", ["plumbing"])
    day = timedelta(days=1)
    match(session, answered, NOW - 3 * day, responded_at=NOW - 3 * day + timedelta(minutes=30))
    match(session, answered, NOW - 2 * day, responded_at=NOW - 2 * day + timedelta(minutes=90))
    match(session, answered, NOW - 2 * day)  # a day went by unanswered: counts against
    match(session, answered, NOW - timedelta(hours=2), responded_at=NOW - timedelta(hours=2) + timedelta(minutes=10))
    match(session, answered, NOW - timedelta(hours=1))  # still within its first day: not counted yet

    assert refresh_response_rate(session, answered.id, now=NOW) == 0.75
    session.refresh(answered)
    assert answered.response_rate == 0.75
    assert answered.avg_response_minutes == pytest.approx(30.0)  # median of 30, 90 and 10 minutes

    newcomer = business(session, "Newcomer", "46032", ["plumbing"], response_rate=0.0)
    assert refresh_response_rate(session, newcomer.id, now=NOW) == 0.0
    assert newcomer.response_rate is None and newcomer.avg_response_minutes is None  # no history yet

    silent = business(session, "Silent", "46032", ["plumbing"])
    match(session, silent, NOW - 2 * day)
    assert refresh_response_rate(session, silent.id, now=NOW) == 0.0

    features = {b.id: b for b in candidate_businesses(session, lead_features(lead(session)), now=NOW)}
    assert features[answered.id].response_rate == 0.75
    assert features[answered.id].avg_response_minutes == pytest.approx(30.0)
    assert features[newcomer.id].response_rate is None  # no history: scored as a new business
    assert features[silent.id].response_rate == 0.0  # history, no answers: scored as unresponsive
