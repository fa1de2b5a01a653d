"""A business's figures (`services.stats`) on SQLite and PostgreSQL: exact counts per ISO week, rates, median
response time, job value, calls by outcome and cost, the period filter, and who may read them."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session

from leadapp.core.errors import NotAllowed, NotFound, UserError
from leadapp.core.models import Business, Call, CallMetrics, Match
from leadapp.core.services import stats
from leadapp.core.services.access import NotLoggedIn
from leadapp.core.vocab import CallOutcome, CallStatus, MatchStatus, Role
from tests import factories

# The main period: ISO weeks 2026-W02 to 2026-W05 (Monday 5 January to Sunday 1 February 2026).
SINCE, UNTIL = date(2026, 1, 5), date(2026, 2, 1)
C, A, D = MatchStatus.CONVERTED, MatchStatus.ACCEPTED, MatchStatus.DECLINED


def at(day: str, clock: str = "12:00:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}+00:00")


def _match(
    session: Session,
    business: Business,
    created: datetime,
    status: MatchStatus = MatchStatus.NEW,
    *,
    response_minutes: float | None = None,
    job_value_cents: int | None = None,
    deleted: bool = False,
) -> Match:
    """A match of `business` to a fresh lead, answered `response_minutes` after it arrived, maybe converted."""
    lead = factories.lead(
        session,
        phone="",
        consent=False,
        raw_text="Water heater leaking in the garage, need someone this week to look at it please",
        urgency="normal",
        deleted_at=created + timedelta(days=2) if deleted else None,
    )
    responded = created + timedelta(minutes=response_minutes) if response_minutes is not None else None
    match = factories.match(session, lead, business, status.value, created_at=created, responded_at=responded)
    if job_value_cents is not None:
        factories.conversion(session, match, job_value_cents, (responded or created) + timedelta(days=3))
    return match


def _call(
    session: Session, business: Business, created: datetime, outcome: CallOutcome | None, cost_cents: float
) -> Call:
    call = Call(
        business_id=business.id,
        status=CallStatus.COMPLETED.value if outcome else CallStatus.IN_PROGRESS.value,
        outcome=outcome.value if outcome else None,
        cost_total_cents=cost_cents,
        created_at=created,
    )
    session.add(call)
    session.flush()
    return call


World = factories.Rivals


@pytest.fixture
def world(db_session: Session) -> World:
    """One business with leads in W02, W03 and W05 of 2026 (none in W04), plus data that must not count."""
    s = db_session
    owner, other_owner = factories.user(s, Role.BUSINESS_OWNER.value), factories.user(s, Role.BUSINESS_OWNER.value)
    business, other = (
        factories.business(s, owner, "Carmel Plumbing"),
        factories.business(s, other_owner, "Elsewhere Pipes"),
    )
    # W02: the first instant of the week, its last second, and one lead nobody answered.
    _match(s, business, at("2026-01-05", "00:00:00"), C, response_minutes=30, job_value_cents=45_000)
    _match(s, business, at("2026-01-11", "23:59:59"), D, response_minutes=10)
    _match(s, business, at("2026-01-07"), MatchStatus.NEW)
    # W03
    _match(s, business, at("2026-01-13", "09:00:00"), A, response_minutes=90)
    _match(s, business, at("2026-01-14", "09:00:00"), C, response_minutes=20, job_value_cents=120_050)
    # W04: nothing. W05: the last one arrives late on the period's last day and is answered after it.
    _match(s, business, at("2026-01-27", "08:00:00"), D, response_minutes=60)
    _match(s, business, at("2026-01-30", "08:00:00"), MatchStatus.EXPIRED)
    _match(s, business, at("2026-02-01", "23:30:00"), D, response_minutes=45)
    # Never counted in the main period: earlier, later, a deleted request, another business.
    _match(s, business, at("2025-12-20"), C, response_minutes=5, job_value_cents=99_900)
    _match(s, business, at("2026-01-04", "23:59:59"), MatchStatus.NEW)  # W01 (starts Monday 2025-12-29)
    _match(s, business, at("2026-02-02", "00:00:00"), A, response_minutes=1)
    _match(s, business, at("2026-01-15"), C, response_minutes=3, job_value_cents=50_000, deleted=True)
    _match(s, other, at("2026-01-13"), C, response_minutes=7, job_value_cents=70_000)
    # Calls
    _call(s, business, at("2026-01-06"), CallOutcome.GOAL_ACHIEVED, 12.5)
    _call(s, business, at("2026-01-13"), CallOutcome.GOAL_ACHIEVED, 30.25)
    _call(s, business, at("2026-01-20"), CallOutcome.NO_ANSWER, 1.0)
    _call(s, business, at("2026-01-28"), CallOutcome.VOICEMAIL, 2.5)
    _call(s, business, at("2026-02-01", "22:00:00"), None, 0.0)  # still running: no outcome yet
    _call(s, business, at("2025-12-20"), CallOutcome.ERROR, 100.0)
    _call(s, other, at("2026-01-13"), CallOutcome.DECLINED, 40.0)
    if s.get_bind().dialect.name == "postgresql":
        # Far from UTC: a week computed in the session's time zone would move the 23:59:59 lead into W03.
        s.execute(text("SET TIME ZONE 'Pacific/Kiritimati'"))
    return World(
        owner, other_owner, factories.user(s, Role.CONSUMER.value), factories.user(s, Role.ADMIN.value), business, other
    )


def _weeks(figures: stats.BusinessStats) -> list[tuple[str, str, int, int, int, int]]:
    return [(w.week_start.isoformat(), w.label, w.leads, w.accepted, w.declined, w.converted) for w in figures.weeks]


def test_the_figures_of_four_weeks_are_exact(db_session: Session, world: World) -> None:
    figures = stats.business_stats(db_session, world.owner, world.business.id, SINCE, UNTIL)

    assert figures.business_name == "Carmel Plumbing"
    assert _weeks(figures) == [
        ("2026-01-05", "2026-W02", 3, 1, 1, 1),
        ("2026-01-12", "2026-W03", 2, 2, 0, 1),
        ("2026-01-19", "2026-W04", 0, 0, 0, 0),
        ("2026-01-26", "2026-W05", 3, 0, 2, 0),
    ]
    assert (figures.leads, figures.accepted, figures.declined, figures.converted) == (8, 3, 3, 2)
    assert figures.acceptance_rate == pytest.approx(3 / 6)
    assert figures.conversion_rate == pytest.approx(2 / 3)
    assert figures.response_rate == pytest.approx(6 / 8)
    # Responses of 10, 20, 30, 45, 60 and 90 minutes.
    assert figures.median_response_minutes == pytest.approx(37.5)
    assert figures.job_value_cents == 165_050
    assert figures.calls_by_outcome == {
        "goal_achieved": 2,
        "no_answer": 1,
        "voicemail": 1,
        "declined": 0,
        "error": 0,
        "ai_failure": 0,
        "transferred": 0,
        "callback_booked": 0,
    }
    assert figures.calls_without_outcome == 1
    assert figures.calls_total == 5
    assert figures.call_cost_cents == pytest.approx(46.25)


def test_the_period_leaves_older_data_out(db_session: Session, world: World) -> None:
    figures = stats.business_stats(db_session, world.owner, world.business.id, date(2026, 1, 19), UNTIL)

    assert _weeks(figures) == [("2026-01-19", "2026-W04", 0, 0, 0, 0), ("2026-01-26", "2026-W05", 3, 0, 2, 0)]
    assert (figures.leads, figures.accepted, figures.declined, figures.converted) == (3, 0, 2, 0)
    assert figures.acceptance_rate == 0.0
    assert figures.conversion_rate is None  # nothing accepted: no rate, not 0 %
    assert figures.median_response_minutes == pytest.approx(52.5)
    assert figures.job_value_cents == 0
    assert figures.calls_by_outcome["goal_achieved"] == 0
    assert (figures.calls_total, figures.calls_without_outcome) == (3, 1)
    assert figures.call_cost_cents == pytest.approx(3.5)


def test_weeks_cross_the_new_year_as_iso_weeks(db_session: Session, world: World) -> None:
    figures = stats.business_stats(db_session, world.owner, world.business.id, date(2025, 12, 17), date(2026, 1, 4))

    # The first week starts on the Monday before `since`; 2025-12-29 begins ISO week 1 of 2026.
    assert _weeks(figures) == [
        ("2025-12-15", "2025-W51", 1, 1, 0, 1),
        ("2025-12-22", "2025-W52", 0, 0, 0, 0),
        ("2025-12-29", "2026-W01", 1, 0, 0, 0),
    ]
    assert figures.job_value_cents == 99_900
    assert figures.median_response_minutes == pytest.approx(5.0)
    assert (figures.calls_total, figures.calls_by_outcome["error"], figures.call_cost_cents) == (1, 1, 100.0)


def test_a_business_without_activity_has_zeros_and_no_rates(db_session: Session, world: World) -> None:
    figures = stats.business_stats(db_session, world.owner, world.business.id, date(2025, 6, 2), date(2025, 6, 15))

    assert [w.leads for w in figures.weeks] == [0, 0]
    assert (figures.leads, figures.job_value_cents, figures.calls_total, figures.call_cost_cents) == (0, 0, 0, 0.0)
    assert figures.acceptance_rate is figures.conversion_rate is figures.response_rate is None
    assert figures.median_response_minutes is None


def test_an_admin_may_read_any_business(db_session: Session, world: World) -> None:
    mine = stats.business_stats(db_session, world.owner, world.business.id, SINCE, UNTIL)
    admins = stats.business_stats(db_session, world.admin, world.business.id, SINCE, UNTIL)
    assert admins == mine
    other = stats.business_stats(db_session, world.admin, world.other_business.id, SINCE, UNTIL)
    assert (other.leads, other.converted, other.job_value_cents, other.calls_total) == (1, 1, 70_000, 1)
    with pytest.raises(NotFound):
        stats.business_stats(db_session, world.admin, 10**9, SINCE, UNTIL)


def test_nobody_else_may_read_them(db_session: Session, world: World) -> None:
    business_id = world.business.id
    with pytest.raises(NotAllowed) as other_owner:
        stats.business_stats(db_session, world.other_owner, business_id, SINCE, UNTIL)
    assert type(other_owner.value) is NotAllowed
    with pytest.raises(NotAllowed) as consumer:
        stats.business_stats(db_session, world.consumer, business_id, SINCE, UNTIL)
    assert type(consumer.value) is NotAllowed
    with pytest.raises(NotLoggedIn):
        stats.business_stats(db_session, None, business_id, SINCE, UNTIL)
    world.owner.is_active = False  # a disabled account is as good as logged out
    with pytest.raises(NotLoggedIn):
        stats.business_stats(db_session, world.owner, business_id, SINCE, UNTIL)
    # A missing business answers an owner exactly like someone else's.
    with pytest.raises(NotAllowed) as missing:
        stats.business_stats(db_session, world.other_owner, 10**9, SINCE, UNTIL)
    assert type(missing.value) is NotAllowed
    assert missing.value.message == other_owner.value.message


@pytest.mark.parametrize(
    ("since", "until", "message"),
    [
        (date(2026, 2, 1), date(2026, 1, 31), "start on or before"),
        (date(2025, 1, 31), date(2026, 2, 1), "at most 366 days"),  # 367 days
        (at("2026-01-05"), at("2026-01-10"), "as dates"),
    ],
)
def test_an_invalid_period_is_refused(
    db_session: Session, world: World, since: date, until: date, message: str
) -> None:
    with pytest.raises(UserError) as caught:
        stats.business_stats(db_session, world.owner, world.business.id, since, until)
    assert type(caught.value) is UserError
    assert message in caught.value.message
    assert caught.value.field == "period"


def test_the_longest_period_is_366_days_in_at_most_54_weeks(db_session: Session, world: World) -> None:
    figures = stats.business_stats(db_session, world.owner, world.business.id, date(2025, 2, 2), date(2026, 2, 2))
    assert len(figures.weeks) == 54  # a Sunday, 52 whole weeks, then a Monday
    assert figures.leads == 11  # everything of this business except the deleted request


@pytest.mark.parametrize("weeks", stats.WEEK_CHOICES)
def test_the_period_chooser_gives_whole_iso_weeks(weeks: int) -> None:
    today = date(2026, 2, 4)  # a Wednesday
    since, until = stats.period_of_weeks(weeks, today)
    assert since.weekday() == 0 and until == today
    assert (stats.week_start(until) - since).days == 7 * (weeks - 1)
    assert (until - since).days + 1 <= stats.MAX_PERIOD_DAYS


def test_the_period_chooser_refuses_other_lengths() -> None:
    with pytest.raises(UserError):
        stats.period_of_weeks(5, date(2026, 2, 4))


def test_the_median_response_time_of_an_odd_and_an_even_count(db_session: Session, world: World) -> None:
    # W02 and the first W03 lead: 30, 10 and 90 minutes, an odd count.
    odd = stats.business_stats(db_session, world.owner, world.business.id, SINCE, date(2026, 1, 13))
    assert odd.median_response_minutes == pytest.approx(30.0)

    # A business of its own, answered out of order and to the second: the database must sort them.
    owner = factories.user(db_session, Role.BUSINESS_OWNER.value)
    business = factories.business(db_session, owner, "Median Drains")
    day = date(2026, 3, 2)
    for hour, minutes in enumerate([100.0, 1.0, 7.5, 3.0, 3.0]):
        _match(db_session, business, at(day.isoformat(), f"{hour + 8:02d}:00:00"), A, response_minutes=minutes)
    _match(db_session, business, at(day.isoformat(), "20:00:00"), MatchStatus.NEW)  # not answered: not counted
    five = stats.business_stats(db_session, owner, business.id, day, day)
    assert five.median_response_minutes == pytest.approx(3.0)  # 1, 3, [3], 7.5, 100

    _match(db_session, business, at(day.isoformat(), "21:00:00"), D, response_minutes=50.25)
    six = stats.business_stats(db_session, owner, business.id, day, day)
    assert six.median_response_minutes == pytest.approx((3.0 + 7.5) / 2)  # 1, 3, [3, 7.5], 50.25, 100

    _match(db_session, business, at(day.isoformat(), "22:00:00"), D, response_minutes=0.5)
    seven = stats.business_stats(db_session, owner, business.id, day, day)
    assert seven.median_response_minutes == pytest.approx(3.0)  # 0.5, 1, 3, [3], 7.5, 50.25, 100


def test_call_quality_per_week_takes_the_p95_over_the_weeks_turns_and_sums_interruptions(
    db_session: Session, world: World
) -> None:
    s = db_session
    measured = [
        # (when, turn latencies, interruptions); W02 has two calls, W03 one, W04 none measured, W05 one.
        (at("2026-01-06"), [200, 240, 260], 1),
        (at("2026-01-08"), [300, 1900], 2),
        (at("2026-01-13", "09:30:00"), [220], 0),
        (at("2026-01-28", "10:00:00"), [400, 410], 3),
        (at("2025-12-20"), [5000], 9),  # before the period
    ]
    for created, turns, interruptions in measured:
        call = _call(s, world.business, created, CallOutcome.GOAL_ACHIEVED, 1.0)
        s.add(CallMetrics(call_id=call.id, turns=len(turns), turn_latencies_ms=turns, interruptions=interruptions))
    other = _call(s, world.other_business, at("2026-01-13"), CallOutcome.DECLINED, 1.0)
    s.add(CallMetrics(call_id=other.id, turns=1, turn_latencies_ms=[9000], interruptions=7))
    s.flush()

    figures = stats.business_stats(s, world.owner, world.business.id, SINCE, UNTIL)
    assert [(w.label, w.calls, w.turn_latency_p95_ms, w.interruptions) for w in figures.quality_weeks] == [
        ("2026-W02", 2, 1900, 3),  # the p95 of 200, 240, 260, 300, 1900: the slowest of five turns
        ("2026-W03", 1, 220, 0),
        ("2026-W04", 0, None, 0),
        ("2026-W05", 1, 410, 3),
    ]
