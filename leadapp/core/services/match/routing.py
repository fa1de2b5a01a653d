"""Fastest-first routing (the platform rule `routing`): how a lead's matches are offered.

broadcast: every match at once (up to `max_matches`). waterfall: the best `wave_size` first, ranked by score
plus a bonus for businesses that answer fast (their median response time); while nobody accepts, the next
`wave_size` every `wave_minutes` (`offer_next_wave`, run by the worker's sweep), up to `max_matches`. A
business that declined or let its match expire is never offered the lead again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from leadapp.core.models import Lead, Match
from leadapp.core.services.match.features import BusinessFeatures, MatchResult
from leadapp.core.services.rules import DEFAULT_RULES, RulesSnapshot
from leadapp.core.vocab import LeadStatus, MatchStatus

BROADCAST, WATERFALL = "broadcast", "waterfall"
# Points added to a match's score when ordering the waves, by the business's median response time.
SPEED_BONUS: tuple[tuple[float, int], ...] = ((15, 10), (60, 6), (240, 3))
UNMEASURED_BONUS = 3  # a business with no answered lead yet gets a fair chance, not the fast ones' bonus
TAKEN = (MatchStatus.ACCEPTED.value, MatchStatus.CONVERTED.value)


def settings(rules: RulesSnapshot) -> dict[str, Any]:
    """The routing rule in force: mode, wave size and minutes between waves (defaults filled in)."""
    given = rules.get("routing")
    return {**DEFAULT_RULES["routing"], **(given if isinstance(given, dict) else {})}


def speed_bonus(avg_response_minutes: float | None) -> int:
    if avg_response_minutes is None:
        return UNMEASURED_BONUS
    return next((points for limit, points in SPEED_BONUS if avg_response_minutes <= limit), 0)


def waterfall_order(results: Sequence[MatchResult], businesses: Sequence[BusinessFeatures]) -> list[MatchResult]:
    """`results` in the order the waves offer them: score plus the speed bonus, high first (then score,
    distance and business id, as `rank_matches`)."""
    minutes = {b.id: b.avg_response_minutes for b in businesses}
    return sorted(
        results,
        key=lambda r: (-(r.score + speed_bonus(minutes.get(r.business_id))), -r.score, r.distance_miles, r.business_id),
    )


def first_wave(
    lead: Lead, ranked: list[MatchResult], businesses: Sequence[BusinessFeatures], rules: RulesSnapshot, now: datetime
) -> list[MatchResult]:
    """The matches to store now for a lead matched for the first time, and its routing fields set accordingly
    (`lead.routing`; `lead.next_wave_at` when more businesses wait for a later wave)."""
    rule = settings(rules)
    lead.routing = rule["mode"] if rule["mode"] in (BROADCAST, WATERFALL) else BROADCAST
    if lead.routing == BROADCAST:
        lead.next_wave_at = None
        return ranked
    ordered = waterfall_order(ranked, businesses)
    wave = ordered[: int(rule["wave_size"])]
    lead.next_wave_at = now + timedelta(minutes=int(rule["wave_minutes"])) if len(ordered) > len(wave) else None
    return wave


def next_wave(
    session: Session,
    lead: Lead,
    fresh: list[MatchResult],
    businesses: Sequence[BusinessFeatures],
    rules: RulesSnapshot,
    now: datetime,
) -> list[MatchResult]:
    """The next wave of a waterfall lead among the `fresh` results (businesses never offered it), and its
    `next_wave_at` set again (None once a business took it, it left the marketplace, or the cap is reached)."""
    rule = settings(rules)
    lead.next_wave_at = None
    if lead.status != LeadStatus.MATCHED.value or lead.deleted_at is not None or lead.withdrawn_at is not None:
        return []
    taken = session.exec(select(func.count()).where(Match.lead_id == lead.id, col(Match.status).in_(TAKEN))).one()
    if taken:
        return []
    offered = session.exec(select(func.count()).where(Match.lead_id == lead.id)).one()
    cap = int(rules.get("matching").get("max_matches", DEFAULT_RULES["matching"]["max_matches"]))
    room = max(0, cap - int(offered))
    ordered = waterfall_order(fresh, businesses)
    wave = ordered[: min(int(rule["wave_size"]), room)]
    if wave and len(ordered) > len(wave) and int(offered) + len(wave) < cap:
        lead.next_wave_at = now + timedelta(minutes=int(rule["wave_minutes"]))
    return wave
