"""Scoring a business for a lead (pure: no database).

Scoring bands
=============

A business is **not a match at all** (``score_match`` returns None) when the lead or the business has
no known location, the lead is farther than the business's own ``radius_miles``, the lead has no
category, the business offers neither the lead's category nor a related one
(``vocab.RELATED_CATEGORIES``), or the business does not serve the lead's language (``languages``: a
Spanish lead goes only to businesses serving Spanish, an English one to those serving English).

Otherwise each factor earns a share of its weight (``rules["matching"]["weights"]``; defaults shown):

=============  ======  ==================================================================  =========
Factor         Weight  Band                                                                Share
=============  ======  ==================================================================  =========
distance       30      d ≤ 10 % of the business's radius                                   100 %
                       10 % of radius < d ≤ radius: linear, 100 % → 30 % at the edge        100–30 %
category       20      the business lists the lead's category                              100 %
               12      only a related category (the ``related_category`` weight is used     100 % of 12
                       instead of the category weight)
rating         15      verified rating ≥ 4.5                                               100 %
                       4.0 ≤ rating < 4.5                                                  80 %
                       3.5 ≤ rating < 4.0                                                  50 %
                       < 3.5                                                               20 %
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

The rating is the Bayesian average of the business's visible verified reviews (``reviews.rating``):
(prior_weight × prior_rating + Σ stars) / (prior_weight + count), the prior from ``rules["reviews"]``
(4.0 weighted as 5 reviews by default), so a business with none is rated at the prior. The typed
``Business.rating`` (and ``review_count``) never count: only reviews of converted jobs do.

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
from collections.abc import Iterable, Mapping
from typing import Any

from leadapp.core.services.match.features import BusinessFeatures, FactorPoints, LeadFeatures, MatchResult
from leadapp.core.services.match.geography import haversine_miles
from leadapp.core.services.reviews.rating import verified_rating
from leadapp.core.services.rules import DEFAULT_RULES, RulesSnapshot
from leadapp.core.vocab import RELATED_CATEGORIES, Category, PriceTier, Urgency

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


def _rating_share(business: BusinessFeatures, rules: RulesSnapshot) -> tuple[float, str]:
    count = max(0, business.verified_review_count)
    rating = verified_rating(count, business.verified_stars_total, rules)
    if count == 0:
        label = f"No verified reviews yet (rated {rating:.1f} until there are)"
    else:
        label = f"Verified rating {rating:.1f} ({count} review{'s' if count != 1 else ''})"
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
    shared or related category, a lead without category, or a language the business does not serve);
    otherwise a score in [0, 100] rounded to one decimal, the distance in miles (rounded to 0.1), the reasons
    shown to the owner (distance and category first) and each factor's points.
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
    if strict and lead.language not in business.languages:
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

    rating_share, rating_reason = _rating_share(business, rules)
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
