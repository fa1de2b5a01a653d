"""The Business Matcher: which businesses get a lead, with a score out of 100 and the reasons behind it.

The pure half (``zip_centroid`` … ``rank_matches``) works on plain frozen dataclasses and needs no
database; the database half (``lead_features`` … ``refresh_all_response_rates``) turns rows into those
dataclasses, finds the candidates in one query and stores the matches with each factor's points.

A lead from a phone call to a business's own number (``lead.business_id``) is that business's lead: it
gets one *direct* match (`create_direct_match`, scored by the same bands but never disqualified) and no
marketplace matches until the business releases it; then `create_matches` runs as for any lead.

Scoring bands
=============

A business is **not a match at all** (``score_match`` returns None) when the lead or the business has
no known location, the lead is farther than the business's own ``radius_miles``, the lead has no
category, or the business offers neither the lead's category nor a related one
(``vocab.RELATED_CATEGORIES``).

Otherwise each factor earns a share of its weight (``rules["matching"]["weights"]``; defaults shown):

=============  ======  ==================================================================  =========
Factor         Weight  Band                                                                Share
=============  ======  ==================================================================  =========
distance       30      d ≤ 10 % of the business's radius                                   100 %
                       10 % of radius < d ≤ radius: linear, 100 % → 30 % at the edge        100–30 %
category       20      the business lists the lead's category                              100 %
               12      only a related category (the ``related_category`` weight is used     100 % of 12
                       instead of the category weight)
rating         15      ≥ 4.5                                                               100 %
                       4.0 ≤ rating < 4.5                                                  80 %
                       3.5 ≤ rating < 4.0                                                  50 %
                       < 3.5                                                               20 %
                       no reviews (``review_count`` 0), whatever ``rating`` says           40 %
response rate  15      > 70 % of matches answered                                          100 %
                       50 % ≤ rate ≤ 70 %                                                  50 %
                       < 50 %                                                              25 %
                       no history yet (no match older than 24 h, none answered)            50 %
price          10      business price tier = the lead's budget tier                        100 %
                       adjacent tier (budget↔standard, standard↔premium)                   50 %
                       two tiers apart (budget↔premium)                                    0 %
                       no budget given (or an unknown price tier)                          70 %
urgency        5       emergency/high lead, business offers emergency service or its       100 %
                       median response time is ≤ 60 min
                       emergency/high lead, neither                                        0 %
                       normal/low/unknown urgency                                          100 %
requirements   5       share of the lead's ``key_requirements`` the business satisfies     0–100 %
                       (licensed, insured, or one of its tags); none requested             100 %
=============  ======  ==================================================================  =========

``score = 100 × Σ(weight × share) / (distance + max(category, related_category) + rating +
response_rate + price + urgency + requirements)`` — with the default weights the denominator is
exactly 100, so the score is simply the sum of the points; if an admin edits the weights so that they
no longer add up to 100 the score stays out of 100 (negative weights count as 0). Then the seasonal
boost ``rules["seasonal_boosts"][month][lead category]`` is added as plain points; the total is
clamped to 0–100 and rounded to one decimal (Python ``round``). ``rank_matches`` keeps scores
≥ ``min_score`` (50), best first (ties: nearer first, then lower business id), at most
``max_matches`` (10).

Budget tier of a lead (price factor): the lead's ``budget_max`` (else ``budget_min``; ≤ 0 means none)
against the category's typical job size T in dollars: *budget* below T/2, *premium* from 2·T,
*standard* in between. T: plumbing 400, electrical 400, hvac 1 000, roofing 8 000, appliance repair
250, handyman 300, painting 2 500, carpentry 1 500, flooring 4 000, landscaping 1 000, cleaning 200,
pest control 250, locksmith 150, garage door 600, windows & doors 3 000, general contractor 20 000,
moving 1 500, pool & spa 1 500, other/unknown 500. So a $500 plumbing budget is *standard*, a $500
roofing budget is *budget*.

A requirement mentioning "licens…" needs ``licensed``, one mentioning "insur…" needs ``insured``
(both if it mentions both); any other requirement is satisfied by a tag that equals it or contains it
(or is contained in it), compared case-insensitively with ``-``/``_`` read as spaces.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

import zipcodes
from sqlalchemy import and_, case, false, func, or_
from sqlmodel import Session, col, select

from leadapp.core.db import insert_new, session_scope
from leadapp.core.errors import NotFound
from leadapp.core.models import Business, Lead, Match, utcnow
from leadapp.core.services.rules import DEFAULT_RULES, RulesSnapshot
from leadapp.core.vocab import RELATED_CATEGORIES, Category, MatchStatus, PriceTier, Urgency

# --- features -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadFeatures:
    """What the matcher needs to know about a lead."""

    category: str | None
    urgency: str | None
    budget_min: int | None
    budget_max: int | None
    location: tuple[float, float] | None  # (latitude, longitude)
    key_requirements: tuple[str, ...]
    month: int  # 1-12, selects the seasonal boost


@dataclass(frozen=True)
class BusinessFeatures:
    """What the matcher needs to know about a business.

    ``response_rate`` is the stored share of matches answered (0–1), or None for a business with no
    response history yet (scored as the "new business" band).
    """

    id: int
    name: str
    categories: tuple[str, ...]
    location: tuple[float, float] | None  # (latitude, longitude)
    radius_miles: float
    rating: float
    review_count: int
    response_rate: float | None
    price_tier: str
    emergency_service: bool
    licensed: bool
    insured: bool
    tags: tuple[str, ...]
    avg_response_minutes: float | None


@dataclass(frozen=True)
class FactorPoints:
    """One factor's part of a match score, on the 0–100 scale of the score.

    ``max`` is what the factor could have earned (its weight scaled so the weights add up to 100); None for
    the lines that are not factors: the seasonal boost and the cut that keeps a boosted score at 100.
    """

    factor: str
    points: float
    max: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"factor": self.factor, "points": self.points, "max": self.max}


@dataclass(frozen=True)
class MatchResult:
    """A business that qualifies for a lead: its score (0–100, one decimal), distance, reasons and points.

    ``points`` are unrounded and add up to ``score`` before its rounding to one decimal.
    """

    business_id: int
    score: float
    distance_miles: float | None
    reasons: tuple[str, ...]
    points: tuple[FactorPoints, ...] = ()


# --- geography ------------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def zip_centroid(zip_code: str) -> tuple[float, float] | None:
    """(latitude, longitude) of a US ZIP code's centroid from the `zipcodes` package.

    Accepts "12345" and "12345-6789" (surrounding spaces ignored); returns None for anything
    malformed, unknown or without coordinates — never raises.
    """
    if not isinstance(zip_code, str) or not zip_code.strip():
        return None
    try:
        found = zipcodes.matching(zip_code.strip())
    except (TypeError, ValueError):
        return None
    for entry in found:
        try:
            return float(entry["lat"]), float(entry["long"])
        except (KeyError, TypeError, ValueError):
            continue
    return None


def haversine_miles(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in miles between two (latitude, longitude) points.

    Uses `zipcodes.haversine` (Earth radius 3 956 mi), the same package that gives the centroids.
    """
    return zipcodes.haversine(a[1], a[0], b[1], b[0])


# --- scoring (pure) -------------------------------------------------------------------------------

_TYPICAL_JOB_DOLLARS: dict[str, int] = {
    Category.PLUMBING: 400,
    Category.ELECTRICAL: 400,
    Category.HVAC: 1_000,
    Category.ROOFING: 8_000,
    Category.APPLIANCE_REPAIR: 250,
    Category.HANDYMAN: 300,
    Category.PAINTING: 2_500,
    Category.CARPENTRY: 1_500,
    Category.FLOORING: 4_000,
    Category.LANDSCAPING: 1_000,
    Category.CLEANING: 200,
    Category.PEST_CONTROL: 250,
    Category.LOCKSMITH: 150,
    Category.GARAGE_DOOR: 600,
    Category.WINDOWS_DOORS: 3_000,
    Category.GENERAL_CONTRACTOR: 20_000,
    Category.MOVING: 1_500,
    Category.POOL_SPA: 1_500,
    Category.OTHER: 500,
}
_DEFAULT_TYPICAL_JOB_DOLLARS = 500
_TIER_ORDER: dict[str, int] = {PriceTier.BUDGET: 0, PriceTier.STANDARD: 1, PriceTier.PREMIUM: 2}
_URGENT = frozenset({Urgency.EMERGENCY.value, Urgency.HIGH.value})
_FAST_RESPONSE_MINUTES = 60.0


def _category_words(category: str) -> str:
    return category.replace("_", " ")


def _number(value: Any, default: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if math.isfinite(number) else default


def _weights(rules: RulesSnapshot) -> dict[str, float]:
    matching = rules.get("matching") or {}
    raw = {**DEFAULT_RULES["matching"]["weights"], **(matching.get("weights") or {})}
    return {name: max(0.0, _number(value, 0.0)) for name, value in raw.items()}


def _matching_setting(rules: RulesSnapshot, name: str) -> Any:
    matching = rules.get("matching") or {}
    return matching.get(name, DEFAULT_RULES["matching"][name])


def seasonal_boost(rules: RulesSnapshot, month: int, category: str | None) -> float:
    """Points the rules add in `month` for leads of `category` (0 when none; month keys may be "7" or 7)."""
    if category is None:
        return 0.0
    boosts = rules.get("seasonal_boosts") or {}
    for_month = boosts.get(str(month), boosts.get(month)) if isinstance(boosts, Mapping) else None
    if not isinstance(for_month, Mapping):
        return 0.0
    return _number(for_month.get(category, 0), 0.0)


def budget_tier(category: str | None, budget_min: int | None, budget_max: int | None) -> PriceTier | None:
    """The lead's budget tier (see the module docstring), or None when no positive budget is given."""
    amount = budget_max if budget_max is not None and budget_max > 0 else budget_min
    if amount is None or amount <= 0:
        return None
    typical = _TYPICAL_JOB_DOLLARS.get(category or "", _DEFAULT_TYPICAL_JOB_DOLLARS)
    if amount < typical / 2:
        return PriceTier.BUDGET
    if amount >= typical * 2:
        return PriceTier.PREMIUM
    return PriceTier.STANDARD


def _distance_share(distance: float, radius: float) -> float:
    full_within = 0.1 * radius
    if distance <= full_within:
        return 1.0
    return 1.0 - 0.7 * (distance - full_within) / (radius - full_within)


def _rating_share(rating: float, review_count: int) -> tuple[float, str]:
    if review_count <= 0:
        return 0.4, "No reviews yet"
    label = f"Rated {rating:.1f} ({review_count} review{'s' if review_count != 1 else ''})"
    if rating >= 4.5:
        return 1.0, label
    if rating >= 4.0:
        return 0.8, label
    if rating >= 3.5:
        return 0.5, label
    return 0.2, label


def _response_share(response_rate: float | None) -> tuple[float, str]:
    if response_rate is None:
        return 0.5, "New to LeadApp: no response history yet"
    label = f"Responds to {round(response_rate * 100)}% of leads"
    if response_rate > 0.7:
        return 1.0, label
    if response_rate >= 0.5:
        return 0.5, label
    return 0.25, label


def _price_share(lead: LeadFeatures, business: BusinessFeatures) -> tuple[float, str]:
    tier = budget_tier(lead.category, lead.budget_min, lead.budget_max)
    business_tier = _TIER_ORDER.get(business.price_tier)
    if tier is None or business_tier is None:
        return 0.7, "No budget given" if tier is None else "Price tier not set"
    amount = lead.budget_max if lead.budget_max is not None and lead.budget_max > 0 else lead.budget_min
    gap = abs(_TIER_ORDER[tier] - business_tier)
    if gap == 0:
        return 1.0, f"Price tier fits a ${amount:,} budget"
    if gap == 1:
        return 0.5, f"Price tier ({business.price_tier}) is close to a ${amount:,} budget"
    return 0.0, f"Price tier ({business.price_tier}) is far from a ${amount:,} budget"


def _urgency_share(lead: LeadFeatures, business: BusinessFeatures) -> tuple[float, str | None]:
    if lead.urgency not in _URGENT:
        return 1.0, None
    if business.emergency_service:
        return 1.0, "Offers emergency service"
    minutes = business.avg_response_minutes
    if minutes is not None and minutes <= _FAST_RESPONSE_MINUTES:
        return 1.0, f"Usually responds within {max(1, round(minutes))} min"
    return 0.0, f"Urgent request ({lead.urgency}); no emergency service"


def _normalized(text: str) -> str:
    return " ".join(text.lower().replace("-", " ").replace("_", " ").split())


def _requirement_met(requirement: str, business: BusinessFeatures) -> bool:
    wanted = _normalized(requirement)
    needs_license, needs_insurance = "licens" in wanted, "insur" in wanted
    if needs_license or needs_insurance:
        return (business.licensed or not needs_license) and (business.insured or not needs_insurance)
    tags = [_normalized(tag) for tag in business.tags if isinstance(tag, str)]
    return any(tag and (tag == wanted or tag in wanted or wanted in tag) for tag in tags)


def _joined(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _requirements_share(lead: LeadFeatures, business: BusinessFeatures) -> tuple[float, list[str]]:
    requested = [req.strip() for req in lead.key_requirements if isinstance(req, str) and req.strip()]
    if not requested:
        return 1.0, []
    met = [req for req in requested if _requirement_met(req, business)]
    missing = [req for req in requested if req not in met]
    reasons = []
    if met:
        text = _joined(met)
        reasons.append(f"{text[0].upper()}{text[1:]} as requested")
    if missing:
        reasons.append(f"Not listed: {_joined(missing)}")
    return len(met) / len(requested), reasons


FACTORS: tuple[str, ...] = ("distance", "category", "rating", "response_rate", "price", "urgency", "requirements")
SEASONAL, CAPPED = "seasonal", "capped"
FACTOR_LABELS: dict[str, str] = {
    "distance": "Distance",
    "category": "Category",
    "rating": "Rating",
    "response_rate": "Response rate",
    "price": "Price range",
    "urgency": "Urgency fit",
    "requirements": "Requirements",
    SEASONAL: "Seasonal demand",
    CAPPED: "Capped at 100",
}


def score_match(lead: LeadFeatures, business: BusinessFeatures, rules: RulesSnapshot) -> MatchResult | None:
    """Score `business` for `lead` by the bands in the module docstring.

    Returns None when the business cannot take the lead (outside its radius, a location unknown, no
    shared or related category, or a lead without category); otherwise a score in [0, 100] rounded to
    one decimal, the distance in miles (rounded to 0.1), the reasons shown to the owner (distance
    and category first) and each factor's points.
    """
    return _score(lead, business, rules, strict=True)


def score_direct(lead: LeadFeatures, business: BusinessFeatures, rules: RulesSnapshot) -> MatchResult:
    """Score the business a lead phoned directly: the same bands, but nothing disqualifies.

    The caller chose the business, so a lead outside its radius, of another category or without a known
    location is still its lead; those factors simply earn nothing (distance None when unknown).
    """
    result = _score(lead, business, rules, strict=False)
    assert result is not None
    return result


def _score(lead: LeadFeatures, business: BusinessFeatures, rules: RulesSnapshot, *, strict: bool) -> MatchResult | None:
    radius = _number(business.radius_miles, 0.0)
    distance: float | None = None
    if lead.location is not None and business.location is not None:
        distance = haversine_miles(lead.location, business.location)
    if strict and (distance is None or not lead.category or not distance <= radius):  # `not <=` rejects NaN
        return None
    weights = _weights(rules)
    category = lead.category
    related = RELATED_CATEGORIES.get(category, frozenset()) if category else frozenset()  # type: ignore[call-overload]
    shared = sorted(c for c in business.categories if c in related)
    if category and category in business.categories:
        category_points = weights["category"]
        category_reason = f"Exact category: {_category_words(category)}"
    elif shared:
        # StrEnum keys hash and compare like their values, so a plain string finds them.
        category_points = weights["related_category"]
        category_reason = f"Related category: {_category_words(shared[0])} (lead is {_category_words(category or '')})"
    elif strict:
        return None
    else:
        category_points = 0.0
        category_reason = (
            f"Not one of your categories: {_category_words(category)}" if category else "Category not recognised"
        )
    if distance is not None and distance <= radius:
        distance_share = _distance_share(distance, radius)
        distance_reason = f"{distance:.1f} mi away (within your {radius:g} mi radius)"
    elif distance is not None:
        distance_share, distance_reason = 0.0, f"{distance:.1f} mi away (outside your {radius:g} mi radius)"
    else:
        distance_share, distance_reason = 0.0, "Distance unknown"

    rating_share, rating_reason = _rating_share(_number(business.rating, 0.0), business.review_count)
    response_share, response_reason = _response_share(business.response_rate)
    price_share, price_reason = _price_share(lead, business)
    urgency_share, urgency_reason = _urgency_share(lead, business)
    requirements_share, requirement_reasons = _requirements_share(lead, business)

    earned_by = {
        "distance": weights["distance"] * distance_share,
        "category": category_points,
        "rating": weights["rating"] * rating_share,
        "response_rate": weights["response_rate"] * response_share,
        "price": weights["price"] * price_share,
        "urgency": weights["urgency"] * urgency_share,
        "requirements": weights["requirements"] * requirements_share,
    }
    possible_by = {name: weights[name] for name in FACTORS if name != "category"}
    possible_by["category"] = max(weights["category"], weights["related_category"])
    earned, possible = sum(earned_by.values()), sum(possible_by.values())
    boost = seasonal_boost(rules, lead.month, category)
    raw = (100.0 * earned / possible if possible > 0 else 0.0) + boost
    score = round(min(100.0, max(0.0, raw)), 1)

    scale = 100.0 / possible if possible > 0 else 0.0
    points = [FactorPoints(name, earned_by[name] * scale, possible_by[name] * scale) for name in FACTORS]
    if boost:
        points.append(FactorPoints(SEASONAL, boost, None))
    if raw != min(100.0, max(0.0, raw)):
        points.append(FactorPoints(CAPPED, min(100.0, max(0.0, raw)) - raw, None))

    reasons = [distance_reason, category_reason, rating_reason, response_reason, price_reason]
    if urgency_reason:
        reasons.append(urgency_reason)
    reasons.extend(requirement_reasons)
    if boost and category:
        reasons.append(f"Seasonal demand: {_category_words(category)} {boost:+g}")
    return MatchResult(
        business.id, score, round(distance, 1) if distance is not None else None, tuple(reasons), tuple(points)
    )


def points_shown(points: list[dict[str, Any]] | None, score: float) -> list[dict[str, str]]:
    """A stored match's points as the owner sees them: one line per factor, in tenths that add up to `score`.

    Each line is {"factor", "label", "points", "max"} (max "" for the seasonal boost and the cap). The
    stored points are exact; rounding each to one decimal on its own could miss the score by a few tenths,
    so the tenths are apportioned by largest remainder. Returns [] for a match stored without points.
    """
    rows = [p for p in points or [] if isinstance(p, Mapping) and isinstance(p.get("points"), int | float)]
    if not rows:
        return []
    exact = [float(p["points"]) * 10 for p in rows]
    tenths = [math.floor(x) for x in exact]
    short = round(score * 10) - sum(tenths)
    by_remainder = sorted(range(len(rows)), key=lambda i: (-(exact[i] - tenths[i]), i))
    for i in by_remainder[: max(0, min(short, len(rows)))]:
        tenths[i] += 1
    shown = []
    for row, value in zip(rows, tenths, strict=True):
        factor = str(row.get("factor", ""))
        top = row.get("max")
        shown.append(
            {
                "factor": factor,
                "label": FACTOR_LABELS.get(factor, factor.replace("_", " ").capitalize()),
                "points": f"{value / 10:+.1f}" if top is None else f"{value / 10:.1f}",
                "max": f"{float(top):.1f}" if isinstance(top, int | float) else "",
            }
        )
    return shown


def rank_matches(lead: LeadFeatures, businesses: Iterable[BusinessFeatures], rules: RulesSnapshot) -> list[MatchResult]:
    """The businesses that qualify for `lead`, best first.

    Keeps scores ≥ ``rules["matching"]["min_score"]``, orders by score (high first), then distance
    (near first), then business id, and returns at most ``rules["matching"]["max_matches"]``.
    """
    min_score = _number(_matching_setting(rules, "min_score"), 50.0)
    max_matches = max(0, int(_number(_matching_setting(rules, "max_matches"), 10.0)))
    results = [result for business in businesses if (result := score_match(lead, business, rules)) is not None]
    kept = [result for result in results if result.score >= min_score]
    kept.sort(key=lambda result: (-result.score, result.distance_miles, result.business_id))
    return kept[:max_matches]


# --- database side --------------------------------------------------------------------------------

OPEN_MATCH_STATUSES: tuple[str, ...] = (
    MatchStatus.NEW.value,
    MatchStatus.NOTIFIED.value,
    MatchStatus.VIEWED.value,
    MatchStatus.ACCEPTED.value,
)
# A match counts for the response rate once it has been answered or has had a day to be.
RESPONSE_WINDOW = timedelta(hours=24)
# Businesses without stored coordinates are looked for by ZIP within this distance of the lead.
UNLOCATED_SEARCH_MILES = 100.0
# The SQL box around each business's circle is this much larger than the circle (an exact check follows).
_BOX_MARGIN = 1.1
_MILES_PER_DEGREE = 68.7  # the shortest a degree of latitude gets, so the box errs on the large side


def lead_features(lead: Lead, today: date | None = None) -> LeadFeatures:
    """The matcher's view of a stored lead.

    Location: the centroid of the classifier's ``location_zip`` when it is a known ZIP, else of the
    lead's own ``zip``, else None. Month (for the seasonal boost): ``today`` when given, else the month
    the lead was created (UTC) — so matching the same lead again later scores it the same way.
    """
    location = zip_centroid(lead.location_zip or "") or zip_centroid(lead.zip or "")
    if today is not None:
        month = today.month
    elif lead.created_at is not None:
        created = lead.created_at if lead.created_at.tzinfo else lead.created_at.replace(tzinfo=UTC)
        month = created.astimezone(UTC).month
    else:
        month = utcnow().month
    return LeadFeatures(
        category=lead.category,
        urgency=lead.urgency,
        budget_min=lead.budget_min,
        budget_max=lead.budget_max,
        location=location,
        key_requirements=tuple(req for req in lead.key_requirements or [] if isinstance(req, str)),
        month=month,
    )


@lru_cache(maxsize=4096)
def _zip_prefixes_near(location: tuple[float, float], miles: float) -> tuple[str, ...]:
    """The 3-digit prefixes of every ZIP whose centroid lies within `miles` of `location`."""
    nearby = zipcodes.filter_by_coordinates(location[0], location[1], miles)
    return tuple(sorted({entry["zip_code"][:3] for entry in nearby if entry.get("zip_code")}))


def _month_start(now: datetime) -> datetime:
    moment = now if now.tzinfo else now.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def candidate_businesses(
    session: Session, lead_features: LeadFeatures, *, now: datetime | None = None
) -> list[BusinessFeatures]:
    """Businesses that may take the lead, in one SQL query; `score_match` does the exact radius check.

    Guarantees every business returned is verified by an admin (``verified_at``: a business is verified only
    once its owner's email address is, see `business_verification`), active, not paused, below its
    ``monthly_lead_cap`` (matches created since the first of the current month, UTC) and, when
    ``max_open_leads`` is set, has fewer open matches (new/notified/viewed/accepted) than that. Location
    pre-filter: a business with stored latitude/longitude is kept when the lead lies in a box around its own
    service circle (the radius plus 10 %, so large radii are honoured); a business without stored coordinates is
    kept when its ZIP shares a 3-digit prefix with a ZIP within ``UNLOCATED_SEARCH_MILES`` of the lead, and gets
    its ZIP's centroid as location (None for an unknown ZIP, which `score_match` then rejects). No category
    filtering here. Returns [] when the lead has no location.
    """
    if lead_features.location is None:
        return []
    lat, lon = lead_features.location
    now = now or utcnow()
    month_start = _month_start(now)

    # Correlated counts (index range scans on matches by business): evaluated only for the businesses that
    # pass the cheaper conditions, so the cost follows the nearby businesses' volume, not the whole table's.
    matches_this_month = (
        select(func.count())
        .where(col(Match.business_id) == col(Business.id), col(Match.created_at) >= month_start)
        .scalar_subquery()
    )
    open_now = (
        select(func.count())
        .where(col(Match.business_id) == col(Business.id), col(Match.status).in_(OPEN_MATCH_STATUSES))
        .scalar_subquery()
    )
    latitude, longitude, radius = col(Business.latitude), col(Business.longitude), col(Business.radius_miles)
    lat_span = radius * (_BOX_MARGIN / _MILES_PER_DEGREE)
    in_box = [latitude.is_not(None), longitude.is_not(None), latitude.between(lat - lat_span, lat + lat_span)]
    cos_lat = math.cos(math.radians(lat))
    # Near the poles or the antimeridian a longitude box is not worth the trouble: latitude alone bounds it.
    if cos_lat > 0.05 and abs(lon) < 170:
        lon_span = radius * (_BOX_MARGIN / (_MILES_PER_DEGREE * cos_lat))
        in_box.append(longitude.between(lon - lon_span, lon + lon_span))
    prefixes = _zip_prefixes_near((lat, lon), UNLOCATED_SEARCH_MILES)
    unlocated_nearby = (
        and_(or_(latitude.is_(None), longitude.is_(None)), func.substr(col(Business.zip), 1, 3).in_(prefixes))
        if prefixes
        else false()
    )

    query = (
        select(
            Business.id,
            Business.name,
            Business.categories,
            Business.latitude,
            Business.longitude,
            Business.zip,
            Business.radius_miles,
            Business.rating,
            Business.review_count,
            Business.response_rate,
            Business.price_tier,
            Business.emergency_service,
            Business.licensed,
            Business.insured,
            Business.tags,
            Business.avg_response_minutes,
        )
        .where(
            col(Business.verified_at).is_not(None),
            col(Business.is_active).is_(True),
            col(Business.paused).is_(False),
            matches_this_month < col(Business.monthly_lead_cap),
            or_(col(Business.max_open_leads).is_(None), open_now < col(Business.max_open_leads)),
            or_(and_(*in_box), unlocated_nearby),
        )
        .order_by(col(Business.id))
    )
    return [business_features(row) for row in session.exec(query)]


def business_features(row: Any) -> BusinessFeatures:
    """The matcher's view of a business row (a `Business` or a row of its columns); no coordinates → ZIP centroid."""
    if row.latitude is not None and row.longitude is not None:
        location: tuple[float, float] | None = (row.latitude, row.longitude)
    else:
        location = zip_centroid(row.zip)
    return BusinessFeatures(
        id=row.id,
        name=row.name,
        categories=tuple(str(c) for c in row.categories or []),
        location=location,
        radius_miles=row.radius_miles,
        rating=row.rating,
        review_count=row.review_count,
        response_rate=row.response_rate,
        price_tier=row.price_tier,
        emergency_service=row.emergency_service,
        licensed=row.licensed,
        insured=row.insured,
        tags=tuple(str(t) for t in row.tags or []),
        avg_response_minutes=row.avg_response_minutes,
    )


def _lead_matches(session: Session, lead: Lead) -> list[Match]:
    """The lead's marketplace matches, best first (never the match of the business an inbound lead called)."""
    query = select(Match).where(Match.lead_id == lead.id)
    if lead.business_id is not None:
        query = query.where(Match.business_id != lead.business_id)
    query = query.order_by(col(Match.score).desc(), col(Match.distance_miles).asc(), col(Match.business_id).asc())
    return list(session.exec(query).all())


def create_matches(session: Session, lead: Lead, rules: RulesSnapshot, *, now: datetime | None = None) -> list[Match]:
    """Store the lead's ranked marketplace matches (status "new") and return them, best first. Does not commit.

    Idempotent: when the lead already has marketplace matches they are returned unchanged and nothing is
    recomputed; the insert itself skips any (lead, business) pair that already exists (ON CONFLICT DO
    NOTHING), so two concurrent runs cannot fail on the unique constraint or duplicate a row. The business
    an inbound lead called (``lead.business_id``) has its own match (`create_direct_match`), which is neither
    counted nor returned here nor offered a second one; a business owned by the consumer who sent the lead
    is never matched; inactive, paused and capped businesses are excluded by `candidate_businesses`.
    Each match stores its points per factor. The lead must have been flushed (it needs an id).
    """
    if lead.id is None:
        raise ValueError("create_matches needs a stored lead (flush it first)")
    existing = _lead_matches(session, lead)
    if existing:
        return existing
    now = now or utcnow()
    features = lead_features(lead)
    excluded = {lead.business_id} if lead.business_id is not None else set()
    if lead.consumer_id is not None:
        excluded.update(session.exec(select(Business.id).where(Business.owner_id == lead.consumer_id)).all())
    candidates = [
        business for business in candidate_businesses(session, features, now=now) if business.id not in excluded
    ]
    ranked = rank_matches(features, candidates, rules)
    if not ranked:
        return []
    rows = [
        Match(
            lead_id=lead.id,
            business_id=result.business_id,
            score=result.score,
            distance_miles=result.distance_miles,
            reasons=list(result.reasons),
            points=[p.as_dict() for p in result.points],
            status=MatchStatus.NEW.value,
            created_at=now,
        ).model_dump(exclude={"id"})
        for result in ranked
    ]
    insert_new(session, Match, rows, ["lead_id", "business_id"])
    return _lead_matches(session, lead)


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
    features = lead_features(lead)
    excluded = {lead.business_id} if lead.business_id is not None else set()
    if lead.consumer_id is not None:
        excluded.update(session.exec(select(Business.id).where(Business.owner_id == lead.consumer_id)).all())
    existing = set(session.exec(select(Match.business_id).where(Match.lead_id == lead.id)).all())
    candidates = [b for b in candidate_businesses(session, features, now=now) if b.id not in excluded]
    fresh = [r for r in rank_matches(features, candidates, rules) if r.business_id not in existing]
    if not fresh:
        return []
    rows = [
        Match(
            lead_id=lead.id,
            business_id=result.business_id,
            score=result.score,
            distance_miles=result.distance_miles,
            reasons=list(result.reasons),
            points=[p.as_dict() for p in result.points],
            status=MatchStatus.NEW.value,
            created_at=now,
        ).model_dump(exclude={"id"})
        for result in fresh
    ]
    insert_new(session, Match, rows, ["lead_id", "business_id"])
    wanted = [r.business_id for r in fresh]
    return [m for m in _lead_matches(session, lead) if m.business_id in wanted and m.business_id not in existing]


def refresh_response_rate(session: Session, business_id: int, *, now: datetime | None = None) -> float:
    """Recompute and store the business's ``response_rate`` and ``avg_response_minutes``; returns the rate.

    The rate is answered matches (``responded_at`` set) over the matches that are answered or older
    than 24 h (a newer unanswered match is not held against the business yet); stored as None (no
    history yet, scored in the new-business band) and returned as 0.0 when there is none of either.
    ``avg_response_minutes`` is the *median* of created→responded minutes over answered matches (a
    median, so one forgotten weekend does not dominate), None when nothing was answered.
    Flushes, does not commit. Raises NotFound for an unknown business.
    """
    business = session.get(Business, business_id)
    if business is None:
        raise NotFound("No such business.")
    now = now or utcnow()
    responded = col(Match.responded_at).is_not(None)
    counted = or_(responded, col(Match.created_at) < now - RESPONSE_WINDOW)
    total, answered = session.exec(
        select(func.count(), func.coalesce(func.sum(case((responded, 1), else_=0)), 0)).where(
            Match.business_id == business_id, counted
        )
    ).one()
    rate = answered / total if total else None
    pairs = session.exec(
        select(Match.created_at, Match.responded_at).where(Match.business_id == business_id, responded)
    )
    minutes = [max(0.0, (answered_at - created).total_seconds() / 60) for created, answered_at in pairs]
    business.response_rate = rate
    business.avg_response_minutes = statistics.median(minutes) if minutes else None
    business.updated_at = now
    session.add(business)
    session.flush()
    return rate or 0.0


RESPONSE_RATE_BATCH = 200


def refresh_all_response_rates(*, now: datetime | None = None) -> int:
    """Recompute every business's response rate and median response time (`refresh_response_rate`); returns how many.

    The nightly job: a match left unanswered for 24 hours starts counting against its business without
    anyone acting, so the stored rates would otherwise only move when the business responds. Businesses are
    refreshed a batch per transaction (ids in order), so a long run holds no lock for long and a failure
    loses one batch at most. Safe to run twice or concurrently: each run writes the same figures.
    """
    now = now or utcnow()
    refreshed, after = 0, 0
    while True:
        with session_scope() as session:
            query = select(Business.id).where(col(Business.id) > after).order_by(col(Business.id))
            ids = session.exec(query.limit(RESPONSE_RATE_BATCH)).all()
            for business_id in ids:
                refresh_response_rate(session, int(business_id), now=now)  # type: ignore[arg-type]
        refreshed += len(ids)
        if len(ids) < RESPONSE_RATE_BATCH:
            return refreshed
        after = int(ids[-1])  # type: ignore[arg-type]
