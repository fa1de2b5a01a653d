"""A business's figures over a period: leads per week, response, acceptance and conversion, calls and costs.

Everything is counted in SQL (GROUP BY and aggregates), the same on SQLite and PostgreSQL. The median
response time too: `percentile_cont(0.5) WITHIN GROUP` on PostgreSQL; SQLite has no such aggregate, so there
the durations are numbered in order by a window function and the middle one (or the mean of the middle two)
is averaged in the same query.

Definitions (the dashboard shows exactly these):
- The period is whole UTC days: `since` 00:00 UTC up to the end of `until` (both included), at most 366 days.
- A lead is a match of this business created in the period, whose request the consumer has not deleted.
  Every other lead figure is about that cohort: a lead counts as accepted, declined or converted in the
  week it arrived, even when the business answered later.
- Weeks are ISO weeks (Monday to Sunday) in UTC. The database computes each match's week start (see
  `iso_week_start`), the query groups by it, and the weeks with no lead are filled in with zeros, so the
  chart has one point per week from the week of `since` to the week of `until` (at most 54).
- Accepted = accepted or converted (converting requires accepting first). Decided = accepted + declined.
- Acceptance rate = accepted / decided: of the leads the business answered, the share it took. Leads it
  never answered (new, notified, viewed, expired) are not in it; the response rate (decided / leads) is.
- Conversion rate = converted / accepted: of the leads it took, the share that became a job.
- A rate is None when its denominator is 0 (nothing to divide; the page shows "—").
- Job value = the sum of the conversions recorded for the cohort's matches, in cents.
- Median response time = the median of (responded_at - created_at) over the cohort's answered matches,
  in minutes.
- Calls are the business's calls created in the period, counted by outcome (calls still running or
  cancelled have no outcome and are counted apart), with the sum of their recorded cost.
- Call quality per week (the week a call was created): the p95 turn latency over every turn of the week's
  measured calls, and their interruptions (`call_quality.summarize`). The one figure not aggregated in SQL: a
  percentile over turns needs each call's turn latencies, read with the week of each measured call (one row a
  call, a few numbers each) and combined here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Date, Float, func
from sqlmodel import Session, col, select

from leadapp.core.errors import NotAllowed, NotFound, UserError
from leadapp.core.models import Business, Call, CallMetrics, Conversion, Lead, Match, User
from leadapp.core.services import access, call_quality
from leadapp.core.sql_functions import dialect_function
from leadapp.core.vocab import CallOutcome, MatchStatus, Role

MAX_PERIOD_DAYS = 366
WEEK_CHOICES: tuple[int, ...] = (4, 12, 26, 52)
ACCEPTED_STATUSES = (MatchStatus.ACCEPTED.value, MatchStatus.CONVERTED.value)


iso_week_start = dialect_function(
    "iso_week_start",
    Date(),
    # SQLite stores our timestamps as UTC text ("YYYY-MM-DD HH:MM:SS.ffffff"): `date(x, 'weekday 0', '-6 days')`
    # moves to the coming Sunday (the same day when it is one) then back six days, to that week's Monday.
    # PostgreSQL stores `timestamptz`: it is read in UTC (whatever the session's TimeZone) and truncated to the
    # week, which PostgreSQL starts on Monday.
    sqlite=lambda at: f"date({at}, 'weekday 0', '-6 days')",
    postgresql=lambda at: f"CAST(date_trunc('week', ({at}) AT TIME ZONE 'UTC') AS DATE)",
    doc="The Monday (UTC) of the ISO week of a timestamp column, as a DATE.",
)

minutes_between = dialect_function(
    "minutes_between",
    Float(),
    # SQLite: the difference of their Julian day numbers times 1440 (our timestamps are UTC text, which
    # `julianday` reads). PostgreSQL: the epoch seconds of the interval, over 60.
    sqlite=lambda start, end: f"((julianday({end}) - julianday({start})) * 1440.0)",
    postgresql=lambda start, end: f"CAST(EXTRACT(EPOCH FROM ({end}) - ({start})) / 60.0 AS DOUBLE PRECISION)",
    doc="The minutes from one timestamp column to another, as a float (seconds and fractions kept).",
)


def week_start(day: date) -> date:
    """The Monday of `day`'s ISO week."""
    return day - timedelta(days=day.weekday())


def period_of_weeks(weeks: int, today: date) -> tuple[date, date]:
    """The last `weeks` ISO weeks up to `today` (the current week so far is the last one), as (since, until)."""
    if weeks not in WEEK_CHOICES:
        raise UserError(f"Choose a period of {', '.join(map(str, WEEK_CHOICES))} weeks.", field="period")
    return week_start(today) - timedelta(weeks=weeks - 1), today


@dataclass(frozen=True)
class _Week:
    week_start: date

    @property
    def label(self) -> str:
        """The ISO week, e.g. "2026-W05"."""
        year, week, _ = self.week_start.isocalendar()
        return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class WeekFigures(_Week):
    leads: int = 0
    accepted: int = 0
    declined: int = 0
    converted: int = 0


@dataclass(frozen=True)
class QualityWeek(_Week):
    calls: int = 0
    turn_latency_p95_ms: int | None = None
    interruptions: int = 0


@dataclass(frozen=True)
class BusinessStats:
    business_id: int
    business_name: str
    since: date
    until: date
    weeks: list[WeekFigures]
    leads: int
    accepted: int
    declined: int
    converted: int
    acceptance_rate: float | None
    conversion_rate: float | None
    response_rate: float | None
    median_response_minutes: float | None
    job_value_cents: int
    calls_total: int
    calls_by_outcome: dict[str, int] = field(default_factory=dict)
    calls_without_outcome: int = 0
    call_cost_cents: float = 0.0
    quality_weeks: list[QualityWeek] = field(default_factory=list)
    """One per week of the period, like `weeks` (a week with no measured call has calls = 0)."""

    @property
    def decided(self) -> int:
        return self.accepted + self.declined


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _as_date(value: Any) -> date:
    # Date() already parses SQLite's text on most paths; keep the fallback for drivers that hand back text.
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _managed_business(session: Session, user: User | None, business_id: int) -> Business:
    access.require_area(user, access.Area.BUSINESS)
    assert user is not None
    business = session.get(Business, business_id)
    if business is None and user.role == Role.ADMIN.value:
        raise NotFound("No such business.")
    # Someone else's business and a missing one answer the same to owners, so ids reveal nothing.
    if business is None or not access.can_manage_business(user, business):
        raise NotAllowed("You can only see the figures of your own business.")
    return business


def _validate_period(since: date, until: date) -> tuple[datetime, datetime]:
    """The period as [start, end) aware UTC datetimes; UserError when it is reversed or too long."""
    if isinstance(since, datetime) or isinstance(until, datetime):
        raise UserError("Give the period as dates, not times.", field="period")
    if since > until:
        raise UserError("The period must start on or before its last day.", field="period")
    if (until - since).days + 1 > MAX_PERIOD_DAYS:
        raise UserError(f"Choose a period of at most {MAX_PERIOD_DAYS} days.", field="period")
    return datetime.combine(since, time.min, UTC), datetime.combine(until + timedelta(days=1), time.min, UTC)


def _median_response_minutes(session: Session, cohort: tuple[Any, ...]) -> float | None:
    """The median of (responded_at - created_at), in minutes, over the cohort's answered matches; None if none."""
    minutes = minutes_between(col(Match.created_at), col(Match.responded_at))
    answered = (*cohort, col(Match.responded_at).is_not(None))
    if session.get_bind().dialect.name == "postgresql":
        median = session.exec(
            select(func.percentile_cont(0.5).within_group(minutes))
            .select_from(Match)
            .join(Lead, col(Lead.id) == col(Match.lead_id))
            .where(*answered)
        ).one()
    else:
        ranked = (
            select(
                minutes.label("minutes"),
                func.row_number().over(order_by=minutes).label("position"),
                func.count().over().label("answered"),
            )
            .select_from(Match)
            .join(Lead, col(Lead.id) == col(Match.lead_id))
            .where(*answered)
            .subquery()
        )
        # Positions p with n <= 2p <= n + 2 are the middle one of an odd n, or the middle two of an even n.
        median = session.exec(
            select(func.avg(ranked.c.minutes)).where(
                ranked.c.position * 2 >= ranked.c.answered, ranked.c.position * 2 <= ranked.c.answered + 2
            )
        ).one()
    return float(median) if median is not None else None


def business_stats(session: Session, user: User | None, business_id: int, since: date, until: date) -> BusinessStats:
    """The figures of one business for the days `since`..`until` (UTC, both included); see the module doc.

    Only the business's owner or an admin may read them: anonymous users get NotLoggedIn, everyone else
    NotAllowed (an admin asking for a missing business gets NotFound). A reversed period or one longer
    than 366 days is a UserError. Reads only; four aggregate queries and the median's.
    """
    business = _managed_business(session, user, business_id)
    start, end = _validate_period(since, until)
    cohort = (
        col(Match.business_id) == business_id,
        col(Match.created_at) >= start,
        col(Match.created_at) < end,
        col(Lead.deleted_at).is_(None),
    )

    week = iso_week_start(col(Match.created_at))
    per_week_status = session.exec(
        select(week, col(Match.status), func.count())
        .select_from(Match)
        .join(Lead, col(Lead.id) == col(Match.lead_id))
        .where(*cohort)
        .group_by(week, col(Match.status))
    ).all()
    counts: dict[date, dict[str, int]] = {}
    for week_value, status, count in per_week_status:
        counts.setdefault(_as_date(week_value), {})[status] = int(count)
    weeks: list[WeekFigures] = []
    monday = week_start(since)
    while monday <= until:
        by_status = counts.get(monday, {})
        weeks.append(
            WeekFigures(
                week_start=monday,
                leads=sum(by_status.values()),
                accepted=sum(by_status.get(s, 0) for s in ACCEPTED_STATUSES),
                declined=by_status.get(MatchStatus.DECLINED.value, 0),
                converted=by_status.get(MatchStatus.CONVERTED.value, 0),
            )
        )
        monday += timedelta(weeks=1)
    leads = sum(w.leads for w in weeks)
    accepted = sum(w.accepted for w in weeks)
    declined = sum(w.declined for w in weeks)
    converted = sum(w.converted for w in weeks)

    median_minutes = _median_response_minutes(session, cohort)

    job_value = session.exec(
        select(func.coalesce(func.sum(Conversion.job_value_cents), 0))
        .select_from(Conversion)
        .join(Match, col(Match.id) == col(Conversion.match_id))
        .join(Lead, col(Lead.id) == col(Match.lead_id))
        .where(*cohort, col(Conversion.business_id) == business_id)
    ).one()

    per_outcome = session.exec(
        select(
            col(Call.outcome),
            func.count(),
            func.coalesce(func.sum(col(Call.cost_total_cents)), 0),
        )
        .where(col(Call.business_id) == business_id, col(Call.created_at) >= start, col(Call.created_at) < end)
        .group_by(col(Call.outcome))
    ).all()
    calls_by_outcome = {outcome.value: 0 for outcome in CallOutcome}
    calls_total, calls_without_outcome, call_cost = 0, 0, 0.0
    for outcome, count, cost in per_outcome:
        calls_total += int(count)
        call_cost += float(cost)
        if outcome in calls_by_outcome:
            calls_by_outcome[outcome] = int(count)
        else:
            calls_without_outcome += int(count)

    return BusinessStats(
        quality_weeks=_quality_weeks(session, business_id, start, end, [w.week_start for w in weeks]),
        business_id=business_id,
        business_name=business.name,
        since=since,
        until=until,
        weeks=weeks,
        leads=leads,
        accepted=accepted,
        declined=declined,
        converted=converted,
        acceptance_rate=_ratio(accepted, accepted + declined),
        conversion_rate=_ratio(converted, accepted),
        response_rate=_ratio(accepted + declined, leads),
        median_response_minutes=median_minutes,
        job_value_cents=int(job_value),
        calls_total=calls_total,
        calls_by_outcome=calls_by_outcome,
        calls_without_outcome=calls_without_outcome,
        call_cost_cents=round(call_cost, 4),
    )


def _quality_weeks(
    session: Session, business_id: int, start: datetime, end: datetime, mondays: list[date]
) -> list[QualityWeek]:
    """The measured calls of the business created in [start, end), taken together per ISO week."""
    week = iso_week_start(col(Call.created_at))
    rows = session.exec(
        select(week, CallMetrics)
        .join(Call, col(Call.id) == col(CallMetrics.call_id))
        .where(col(Call.business_id) == business_id, col(Call.created_at) >= start, col(Call.created_at) < end)
    ).all()
    by_week: dict[date, list[CallMetrics]] = {}
    for week_value, metrics in rows:
        by_week.setdefault(_as_date(week_value), []).append(metrics)
    out = []
    for monday in mondays:
        summary = call_quality.summarize(by_week.get(monday, []))
        out.append(QualityWeek(monday, summary.calls, summary.turn_latency_p95_ms, summary.interruptions))
    return out
