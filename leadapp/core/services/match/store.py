"""Storing a lead's matches: its marketplace matches, the direct match of an inbound call, and the matches
added when the lead was completed."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from leadapp.core.db import insert_new, insert_new_rows
from leadapp.core.errors import NotFound
from leadapp.core.models import Business, Lead, Match, utcnow
from leadapp.core.services.match import routing
from leadapp.core.services.match.candidates import business_features, candidate_businesses, lead_features
from leadapp.core.services.match.features import BusinessFeatures, LeadFeatures, MatchResult
from leadapp.core.services.match.scoring import rank_matches, score_direct
from leadapp.core.services.rules import RulesSnapshot
from leadapp.core.vocab import MatchStatus


def _lead_matches(session: Session, lead: Lead) -> list[Match]:
    """The lead's marketplace matches, best first (never the match of the business an inbound lead called)."""
    query = select(Match).where(Match.lead_id == lead.id)
    if lead.business_id is not None:
        query = query.where(Match.business_id != lead.business_id)
    query = query.order_by(col(Match.score).desc(), col(Match.distance_miles).asc(), col(Match.business_id).asc())
    return list(session.exec(query).all())


def _best_first(match: Match) -> tuple[float, float, int]:
    """The order `_lead_matches` reads matches in (score high first, then distance, then business id)."""
    return (-match.score, match.distance_miles if match.distance_miles is not None else float("inf"), match.business_id)


def _insert_matches(session: Session, lead: Lead, results: list[MatchResult], now: datetime) -> list[Match]:
    """Store one "new" match per result, with its points per factor; a (lead, business) pair that already has a
    match keeps it as it is (ON CONFLICT DO NOTHING). Returns the matches inserted (not read back), best first."""
    rows = [
        Match(
            lead_id=lead.id,  # type: ignore[arg-type]
            business_id=result.business_id,
            score=result.score,
            distance_miles=result.distance_miles,
            reasons=list(result.reasons),
            points=[p.as_dict() for p in result.points],
            status=MatchStatus.NEW.value,
            created_at=now,
        )
        for result in results
    ]
    return sorted(insert_new_rows(session, rows, ["lead_id", "business_id"]), key=_best_first)


def create_matches(
    session: Session, lead: Lead, rules: RulesSnapshot, *, now: datetime | None = None, first: bool = False
) -> list[Match]:
    """Store the lead's ranked marketplace matches (status "new") and return them, best first. Does not commit.

    Idempotent: when the lead already has marketplace matches they are returned unchanged and nothing is
    recomputed; the insert itself skips any (lead, business) pair that already exists (ON CONFLICT DO
    NOTHING), so two concurrent runs cannot fail on the unique constraint or duplicate a row. The business
    an inbound lead called (``lead.business_id``) has its own match (`create_direct_match`), which is neither
    counted nor returned here nor offered a second one; a business owned by the consumer who sent the lead
    is never matched; inactive, paused and capped businesses are excluded by `candidate_businesses`.
    Each match stores its points per factor. The lead must have been flushed (it needs an id).
    Routing (the rule `routing`, see `routing`): broadcast stores every match; waterfall only the first wave,
    setting `lead.next_wave_at` when more businesses wait (`offer_next_wave` offers them).
    `first`: the caller has just classified the lead, so it has no marketplace match yet: they are not read first
    (should one exist after all, the insert skips its pair and the lead's matches are read as they are).
    """
    if lead.id is None:
        raise ValueError("create_matches needs a stored lead (flush it first)")
    existing = [] if first else _lead_matches(session, lead)
    if existing:
        return existing
    now = now or utcnow()
    features = lead_features(lead)
    candidates = _candidates(session, lead, features, now)
    ranked = rank_matches(features, candidates, rules)
    offered = routing.first_wave(lead, ranked, candidates, rules, now)
    if not offered:
        return []
    inserted = _insert_matches(session, lead, offered, now)
    # A concurrent run that stored some pair first: read the lead's matches as they are.
    return inserted if len(inserted) == len(offered) else _lead_matches(session, lead)


def _candidates(session: Session, lead: Lead, features: LeadFeatures, now: datetime) -> list[BusinessFeatures]:
    """Today's candidates for the lead, without the business an inbound lead called and the consumer's own."""
    excluded = {lead.business_id} if lead.business_id is not None else set()
    if lead.consumer_id is not None:
        excluded.update(session.exec(select(Business.id).where(Business.owner_id == lead.consumer_id)).all())
    return [b for b in candidate_businesses(session, features, now=now) if b.id not in excluded]


def _fresh(
    session: Session, lead: Lead, rules: RulesSnapshot, now: datetime
) -> tuple[list[MatchResult], list[BusinessFeatures]]:
    """Today's ranking for the lead without the businesses it was already offered (whatever their answer),
    and the candidates it was made from."""
    existing = set(session.exec(select(Match.business_id).where(Match.lead_id == lead.id)).all())
    features = lead_features(lead)
    candidates = _candidates(session, lead, features, now)
    ranked = rank_matches(features, candidates, rules)
    return [r for r in ranked if r.business_id not in existing], candidates


def _store_new(session: Session, lead: Lead, fresh: list[MatchResult], now: datetime) -> list[Match]:
    if not fresh:
        return []
    inserted = _insert_matches(session, lead, fresh, now)
    if len(inserted) == len(fresh):
        return inserted
    wanted = {r.business_id for r in fresh}
    return [m for m in _lead_matches(session, lead) if m.business_id in wanted]


def offer_next_wave(session: Session, lead: Lead, rules: RulesSnapshot, *, now: datetime | None = None) -> list[Match]:
    """Offer a waterfall lead to its next wave of businesses (see `routing`); returns the new matches, best
    first, and sets `lead.next_wave_at` again. Does not commit. Nothing is offered once a business accepted
    it, it left the marketplace, or `max_matches` businesses have seen it; a business already offered it is
    never offered it again (ON CONFLICT DO NOTHING on (lead, business))."""
    if lead.id is None:
        raise ValueError("offer_next_wave needs a stored lead")
    now = now or utcnow()
    fresh, candidates = _fresh(session, lead, rules, now)
    return _store_new(session, lead, routing.next_wave(session, lead, fresh, candidates, rules, now), now)


CALLED_YOU = "Called your number"
"""The first reason of a direct match: the lead is a phone call to the business's own number."""


def create_direct_match(session: Session, lead: Lead, rules: RulesSnapshot, *, now: datetime | None = None) -> Match:
    """The match of an inbound-call lead to the business it called (``lead.business_id``), stored once. Does not commit.

    The caller chose that business, so the match is made whatever the matcher would say (radius, category,
    pause and lead caps do not apply: it is the business's own call); its points are scored by the same
    bands (`score_direct`), with "Called your number" as the first reason. Idempotent like
    `create_matches` (ON CONFLICT DO NOTHING on (lead, business)): the existing match is returned unchanged.
    Raises ValueError for a lead without id or business, NotFound when that business no longer exists.
    """
    if lead.id is None or lead.business_id is None:
        raise ValueError("create_direct_match needs a stored lead with the business it called")
    business = session.get(Business, lead.business_id)
    if business is None:
        raise NotFound("The business this lead called no longer exists.")
    result = score_direct(lead_features(lead), business_features(business), rules)
    row = Match(
        lead_id=lead.id,
        business_id=business.id,  # type: ignore[arg-type]
        score=result.score,
        distance_miles=result.distance_miles,
        reasons=[CALLED_YOU, *result.reasons],
        points=[p.as_dict() for p in result.points],
        status=MatchStatus.NEW.value,
        created_at=now or utcnow(),
    )
    insert_new(session, Match, [row.model_dump(exclude={"id"})], ["lead_id", "business_id"])
    return session.exec(select(Match).where(Match.lead_id == lead.id, Match.business_id == business.id)).one()


def add_matches(session: Session, lead: Lead, rules: RulesSnapshot, *, now: datetime | None = None) -> list[Match]:
    """Match the lead again with what it says now (after its details were completed); returns only the new
    matches, best first. Does not commit.

    The ranking is `create_matches`' over today's candidates (same exclusions, same top 10); a business the
    lead is already matched to keeps its match as it is, whatever its status (ON CONFLICT DO NOTHING on
    (lead, business)), so nobody is matched or notified twice and a business that declined is not asked again.
    """
    if lead.id is None:
        raise ValueError("add_matches needs a stored lead (flush it first)")
    now = now or utcnow()
    fresh, _candidates_used = _fresh(session, lead, rules, now)
    return _store_new(session, lead, fresh, now)
