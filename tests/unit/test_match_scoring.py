"""The matcher's scoring, band by band, on plain feature values (no database).

The reference business below earns every factor in full, so with the default weights it scores
exactly 100; each test changes one thing and checks the exact points the module docstring's band
table says that change costs, computed from the weights in the rules (so editing a weight moves the
expected numbers with it).
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadapp.core.services.match import (
    BusinessFeatures,
    LeadFeatures,
    MatchResult,
    haversine_miles,
    rank_matches,
    score_match,
    zip_centroid,
)
from leadapp.core.services.rules import DEFAULT_RULES, RulesSnapshot
from leadapp.core.vocab import Category

CARMEL = zip_centroid("46032")
INDIANAPOLIS = zip_centroid("46204")
NEW_YORK = zip_centroid("10001")
assert CARMEL and INDIANAPOLIS and NEW_YORK

RULES = RulesSnapshot(0, copy.deepcopy(DEFAULT_RULES))
W = DEFAULT_RULES["matching"]["weights"]
NO_BOOST_MONTH = 3  # the default rules boost nothing in March


def rules_with(**matching: Any) -> RulesSnapshot:
    rules = copy.deepcopy(DEFAULT_RULES)
    weights = matching.pop("weights", None)
    if weights:
        rules["matching"]["weights"].update(weights)
    rules["matching"].update(matching)
    return RulesSnapshot(1, rules)


def lead(**changes: Any) -> LeadFeatures:
    base = LeadFeatures(
        category="plumbing",
        urgency="normal",
        budget_min=None,
        budget_max=400,  # plumbing: typical job $400 -> a "standard" budget
        location=CARMEL,
        key_requirements=("licensed", "insured"),
        month=NO_BOOST_MONTH,
    )
    return dataclasses.replace(base, **changes)


def business(**changes: Any) -> BusinessFeatures:
    base = BusinessFeatures(
        id=1,
        name="Carmel Plumbing",
        categories=("plumbing",),
        location=CARMEL,
        radius_miles=30.0,
        rating=4.8,
        review_count=120,
        response_rate=0.9,
        price_tier="standard",
        emergency_service=True,
        licensed=True,
        insured=True,
        tags=("same-day", "water heaters"),
        avg_response_minutes=25.0,
        verified_review_count=120,
        verified_stars_total=580,  # the verified rating: (5 × 4.0 + 580) / (5 + 120) = 4.8
    )
    if "rating" in changes and "verified_stars_total" not in changes:
        # "A business rated r" means by its 120 verified reviews: the typed rating alone counts for nothing.
        changes["verified_stars_total"] = round(125 * changes["rating"] - 20)
    return dataclasses.replace(base, **changes)


def score(lead_features: LeadFeatures | None = None, business_features: BusinessFeatures | None = None, rules=RULES):
    result = score_match(lead_features or lead(), business_features or business(), rules)
    assert result is not None, "expected a match"
    return result.score


def test_the_reference_business_earns_every_point() -> None:
    assert sum(v for k, v in W.items() if k != "related_category") == 100
    assert score() == 100.0


# --- distance -------------------------------------------------------------------------------------

CARMEL_TO_INDY = haversine_miles(CARMEL, INDIANAPOLIS)


@pytest.mark.parametrize(
    ("radius", "share"),
    [
        (CARMEL_TO_INDY * 20, 1.0),  # 5 % of the radius
        (CARMEL_TO_INDY * 10, 1.0),  # exactly 10 %: still full
        (CARMEL_TO_INDY / 0.55, 0.65),  # half way along the slope
        (CARMEL_TO_INDY, 0.3),  # right at the edge
    ],
)
def test_distance_band(radius: float, share: float) -> None:
    near = business(location=INDIANAPOLIS, radius_miles=radius)
    assert score(business_features=near) == round(100 - W["distance"] * (1 - share), 1)


def test_distance_points_fall_monotonically_towards_the_edge() -> None:
    scores = [
        score(business_features=business(location=INDIANAPOLIS, radius_miles=CARMEL_TO_INDY * f))
        for f in (8, 4, 2, 1.3, 1)
    ]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[-1]


def test_outside_the_radius_or_without_location_is_no_match() -> None:
    assert score_match(lead(), business(location=INDIANAPOLIS, radius_miles=CARMEL_TO_INDY * 0.99), RULES) is None
    assert score_match(lead(), business(location=NEW_YORK, radius_miles=100), RULES) is None
    assert score_match(lead(location=None), business(), RULES) is None
    assert score_match(lead(), business(location=None), RULES) is None


# --- category -------------------------------------------------------------------------------------


def test_related_category_gets_the_related_weight() -> None:
    related = business(categories=("handyman",))  # RELATED_CATEGORIES[plumbing] includes handyman
    assert score(business_features=related) == 100 - W["category"] + W["related_category"]
    result = score_match(lead(), related, RULES)
    assert result is not None and any("Related category: handyman" in reason for reason in result.reasons)


def test_exact_category_wins_over_related_when_both_are_listed() -> None:
    assert score(business_features=business(categories=("handyman", "plumbing"))) == 100.0


def test_unrelated_category_or_uncategorized_lead_is_no_match() -> None:
    assert score_match(lead(), business(categories=("cleaning",)), RULES) is None
    assert score_match(lead(), business(categories=()), RULES) is None
    assert score_match(lead(category=None), business(), RULES) is None
    assert score_match(lead(category="not-a-category"), business(), RULES) is None


# --- rating ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reviews", "stars", "share"),
    [
        (10, 50, 1.0),  # (5 × 4 + 50) / 15 = 4.67
        (15, 70, 1.0),  # (20 + 70) / 20 = 4.5, the band's edge
        (15, 69, 0.8),  # 4.45
        (0, 0, 0.8),  # no verified review: the prior, 4.0
        (5, 15, 0.5),  # (20 + 15) / 10 = 3.5
        (5, 14, 0.2),  # 3.4
        (100, 100, 0.2),  # 100 one-star reviews: 1.14
    ],
)
def test_rating_band_reads_the_bayesian_average_of_verified_reviews(reviews: int, stars: int, share: float) -> None:
    rated = business(verified_review_count=reviews, verified_stars_total=stars)
    assert score(business_features=rated) == round(100 - W["rating"] * (1 - share), 1)


@pytest.mark.parametrize(("rating", "typed_reviews"), [(5.0, 999), (0.0, 0), (1.0, 50)])
def test_a_typed_rating_counts_for_nothing(rating: float, typed_reviews: int) -> None:
    unreviewed = business(rating=rating, review_count=typed_reviews, verified_review_count=0, verified_stars_total=0)
    assert score(business_features=unreviewed) == round(100 - W["rating"] * (1 - 0.8), 1)


def test_the_prior_comes_from_the_rules() -> None:
    strict = copy.deepcopy(RULES.rules)
    strict["reviews"] = {"prior_rating": 3.0, "prior_weight": 5}
    unreviewed = business(verified_review_count=0, verified_stars_total=0)
    assert score(business_features=unreviewed, rules=RulesSnapshot(1, strict)) == round(100 - W["rating"] * 0.8, 1)


def test_many_verified_five_stars_outrank_a_typed_five() -> None:
    verified = business(id=2, rating=0.0, review_count=0, verified_review_count=30, verified_stars_total=150)
    typed = business(id=3, rating=5.0, review_count=500, verified_review_count=0, verified_stars_total=0)
    ranked = rank_matches(lead(), [typed, verified], RULES)
    assert [r.business_id for r in ranked] == [2, 3]
    assert ranked[0].score > ranked[1].score


# --- response rate --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "share"),
    [(1.0, 1.0), (0.71, 1.0), (0.70, 0.5), (0.5, 0.5), (0.49, 0.25), (0.0, 0.25), (None, 0.5)],
)
def test_response_rate_band(rate: float | None, share: float) -> None:
    assert score(business_features=business(response_rate=rate)) == round(100 - W["response_rate"] * (1 - share), 1)


# --- price vs budget ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("budget_max", "tier", "share"),
    [
        (400, "standard", 1.0),
        (400, "budget", 0.5),
        (400, "premium", 0.5),
        (150, "budget", 1.0),  # < $200 is a budget plumbing job
        (150, "premium", 0.0),
        (800, "premium", 1.0),  # >= $800 is a premium plumbing job
        (None, "premium", 0.7),
        (0, "budget", 0.7),
    ],
)
def test_price_band(budget_max: int | None, tier: str, share: float) -> None:
    result = score(lead(budget_max=budget_max), business(price_tier=tier))
    assert result == round(100 - W["price"] * (1 - share), 1)


def test_budget_min_is_used_when_there_is_no_maximum() -> None:
    assert score(lead(budget_max=None, budget_min=900), business(price_tier="premium")) == 100.0


def test_budget_tiers_depend_on_the_category() -> None:
    # $500 is a standard plumbing job but a budget roofing job.
    roofer = business(categories=("roofing",), price_tier="budget")
    assert score(lead(category="roofing", budget_max=500), roofer) == 100.0
    assert score(lead(budget_max=500), business(price_tier="budget")) == 100 - W["price"] * 0.5


# --- urgency --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("urgency", "emergency_service", "minutes", "share"),
    [
        ("emergency", True, None, 1.0),
        ("emergency", False, 45.0, 1.0),
        ("high", False, 60.0, 1.0),
        ("high", False, 61.0, 0.0),
        ("emergency", False, None, 0.0),
        ("normal", False, None, 1.0),
        ("low", False, 500.0, 1.0),
        (None, False, None, 1.0),
    ],
)
def test_urgency_band(urgency: str | None, emergency_service: bool, minutes: float | None, share: float) -> None:
    slow = business(emergency_service=emergency_service, avg_response_minutes=minutes)
    assert score(lead(urgency=urgency), slow) == round(100 - W["urgency"] * (1 - share), 1)


# --- requirements ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requirements", "changes", "share"),
    [
        (("licensed", "insured"), {}, 1.0),
        (("licensed", "insured"), {"insured": False}, 0.5),
        (("licensed", "insured"), {"insured": False, "licensed": False}, 0.0),
        (("licensed and insured",), {"insured": False}, 0.0),
        (("Same day",), {}, 1.0),  # matches the "same-day" tag
        (("bonded", "licensed", "water heater"), {}, 2 / 3),
        ((), {"licensed": False, "insured": False, "tags": ()}, 1.0),
    ],
)
def test_requirements_band(requirements: tuple[str, ...], changes: dict[str, Any], share: float) -> None:
    result = score(lead(key_requirements=requirements), business(**changes))
    assert result == round(100 - W["requirements"] * (1 - share), 1)


# --- weights come from the rules ------------------------------------------------------------------


def test_edited_weights_change_the_points() -> None:
    moved = {"distance": 20, "rating": 25}  # still 100 in total
    rules = rules_with(weights=moved)
    fair = business(rating=4.1)
    assert score(business_features=fair, rules=rules) == 100 - 25 * 0.2
    assert score(business_features=fair) == 100 - W["rating"] * 0.2
    edge = business(location=INDIANAPOLIS, radius_miles=CARMEL_TO_INDY)
    assert score(business_features=edge, rules=rules) == round(100 - 20 * 0.7, 1)
    related = business(categories=("handyman",))
    assert score(business_features=related, rules=rules_with(weights={"related_category": 5})) == 85.0


def test_weights_that_do_not_add_up_to_100_still_give_a_score_out_of_100() -> None:
    doubled = rules_with(weights={name: 2 * value for name, value in W.items()})
    for features in (business(), business(rating=3.0), business(response_rate=None, price_tier="premium")):
        assert score(business_features=features, rules=doubled) == score(business_features=features)
    no_rating = rules_with(weights={"rating": 0})
    # Without the rating weight the rest (85 points) is scaled to 100; the rating no longer matters.
    assert score(business_features=business(rating=1.0), rules=no_rating) == 100.0
    assert score(business_features=business(response_rate=None), rules=no_rating) == round(
        100 * (85 - W["response_rate"] * 0.5) / 85, 1
    )


# --- seasonal boost -------------------------------------------------------------------------------


def test_seasonal_boost_is_added_and_capped_at_100() -> None:
    hvac_lead = lead(category="hvac", month=7, budget_max=1000)  # rules: July, hvac +3
    hvac = business(categories=("hvac",), rating=3.0)  # 100 - 12 = 88 before the boost
    result = score_match(hvac_lead, hvac, RULES)
    assert result is not None and result.score == 100 - W["rating"] * 0.8 + 3
    assert "Seasonal demand: hvac +3" in result.reasons
    assert score(hvac_lead, business(categories=("hvac",))) == 100.0  # 100 + 3 is capped
    assert score(dataclasses.replace(hvac_lead, month=3), hvac) == 100 - W["rating"] * 0.8


def test_seasonal_boost_accepts_integer_month_keys() -> None:
    rules = copy.deepcopy(DEFAULT_RULES)
    rules["seasonal_boosts"] = {3: {"plumbing": 4}}
    assert score(business_features=business(rating=3.0), rules=RulesSnapshot(2, rules)) == 100 - W["rating"] * 0.8 + 4


# --- reasons --------------------------------------------------------------------------------------


def test_reasons_mention_distance_and_category_first() -> None:
    result = score_match(lead(urgency="emergency"), business(location=INDIANAPOLIS), RULES)
    assert result is not None
    assert result.reasons[0] == f"{CARMEL_TO_INDY:.1f} mi away (within your 30 mi radius)"
    assert result.reasons[1] == "Exact category: plumbing"
    assert "Verified rating 4.8 (120 reviews)" in result.reasons
    assert "Responds to 90% of leads" in result.reasons
    assert "Price tier fits a $400 budget" in result.reasons
    assert "Offers emergency service" in result.reasons
    assert "Licensed and insured as requested" in result.reasons
    assert result.distance_miles == round(CARMEL_TO_INDY, 1)


# --- ranking --------------------------------------------------------------------------------------


def weak(business_id: int) -> BusinessFeatures:
    """A related, low-rated, unresponsive, wrongly priced business at the edge of its radius: < 50 points."""
    return business(
        id=business_id,
        categories=("handyman",),
        location=INDIANAPOLIS,
        radius_miles=CARMEL_TO_INDY,
        rating=3.0,
        response_rate=0.1,
        price_tier="premium",
        emergency_service=False,
        avg_response_minutes=None,
        licensed=False,
        insured=False,
    )


def test_min_score_cut_off() -> None:
    low = score_match(lead(budget_max=150, urgency="emergency"), weak(2), RULES)
    expected = 30 * 0.3 + W["related_category"] + W["rating"] * 0.2 + W["response_rate"] * 0.25
    assert low is not None and low.score == round(expected, 1) and low.score < 50
    ranked = rank_matches(lead(budget_max=150, urgency="emergency"), [business(id=1), weak(2)], RULES)
    assert [r.business_id for r in ranked] == [1]
    lenient = rank_matches(
        lead(budget_max=150, urgency="emergency"), [business(id=1), weak(2)], rules_with(min_score=20)
    )
    assert [r.business_id for r in lenient] == [1, 2]
    exact = rank_matches(lead(budget_max=150, urgency="emergency"), [weak(2)], rules_with(min_score=low.score))
    assert [r.business_id for r in exact] == [2]  # the cut-off is inclusive


def test_keeps_the_top_ten() -> None:
    # Fifteen qualifying businesses: ten rated 4.6 (100 points) and five rated 3.0 (88 points).
    businesses = [business(id=i + 1, rating=3.0 if i % 3 == 0 else 4.6) for i in range(15)]
    ranked = rank_matches(lead(), businesses, RULES)
    assert len(ranked) == 10
    assert {r.score for r in ranked} == {100.0}
    assert {b.id for b in businesses} - {r.business_id for r in ranked} == {1, 4, 7, 10, 13}
    assert score(business_features=businesses[0]) == 100 - W["rating"] * 0.8 >= 50  # qualified, just not top ten
    assert [r.business_id for r in rank_matches(lead(), businesses, rules_with(max_matches=3))] == [2, 3, 5]


def test_ties_break_on_distance_then_id() -> None:
    far_but_full = business(id=1, location=INDIANAPOLIS, radius_miles=CARMEL_TO_INDY * 10)  # within 10 %: full
    here_b, here_a = business(id=7), business(id=3)
    ranked = rank_matches(lead(), [far_but_full, here_b, here_a], RULES)
    assert [r.score for r in ranked] == [100.0, 100.0, 100.0]
    assert [r.business_id for r in ranked] == [3, 7, 1]


# --- geography ------------------------------------------------------------------------------------


def test_haversine_known_distances() -> None:
    # zipcodes' centroids and its Earth radius (3 956 mi): Carmel–downtown Indianapolis ≈ 13.8 mi,
    # Carmel–Midtown Manhattan ≈ 640 mi.
    assert 13 <= haversine_miles(CARMEL, INDIANAPOLIS) <= 17
    assert 630 <= haversine_miles(CARMEL, NEW_YORK) <= 660
    assert haversine_miles(CARMEL, NEW_YORK) == pytest.approx(haversine_miles(NEW_YORK, CARMEL))
    assert haversine_miles(CARMEL, CARMEL) == 0.0


def test_zip_centroid_handles_bad_input() -> None:
    assert zip_centroid("46032-1234") == CARMEL
    assert zip_centroid(" 46032 ") == CARMEL
    for bad in ("", "abc", "4603", "00000", "99999"):
        assert zip_centroid(bad) is None


# --- properties -----------------------------------------------------------------------------------

finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6)
points = st.tuples(st.floats(min_value=-89.9, max_value=89.9), st.floats(min_value=-180, max_value=180))
categories = st.sampled_from([c.value for c in Category]) | st.text(max_size=12)
words = st.text(max_size=20)


@st.composite
def any_rules(draw: st.DrawFn) -> RulesSnapshot:
    rules = copy.deepcopy(DEFAULT_RULES)
    rules["matching"]["weights"] = {name: draw(st.integers(-50, 200)) for name in W}
    rules["seasonal_boosts"] = {str(draw(st.integers(1, 12))): {draw(categories): draw(finite)}}
    return RulesSnapshot(9, rules)


@settings(max_examples=300, deadline=None)
@given(
    lead_features=st.builds(
        LeadFeatures,
        category=st.none() | categories,
        urgency=st.none() | st.sampled_from(["emergency", "high", "normal", "low"]) | words,
        budget_min=st.none() | st.integers(-(10**9), 10**9),
        budget_max=st.none() | st.integers(-(10**9), 10**9),
        location=st.none() | points,
        key_requirements=st.lists(words, max_size=5).map(tuple),
        month=st.integers(1, 12),
    ),
    business_features=st.builds(
        BusinessFeatures,
        id=st.integers(1, 10**6),
        name=words,
        categories=st.lists(categories, max_size=4).map(tuple),
        location=st.none() | points,
        radius_miles=st.floats(min_value=0, max_value=20000),
        rating=finite,
        review_count=st.integers(-5, 10**6),
        response_rate=st.none() | finite,
        price_tier=st.sampled_from(["budget", "standard", "premium"]) | words,
        emergency_service=st.booleans(),
        licensed=st.booleans(),
        insured=st.booleans(),
        tags=st.lists(words, max_size=4).map(tuple),
        avg_response_minutes=st.none() | finite,
        verified_review_count=st.integers(-5, 10**6),
        verified_stars_total=st.integers(-5, 5 * 10**6),
    ),
    rules=st.just(RULES) | any_rules(),
)
def test_score_is_always_within_0_and_100(
    lead_features: LeadFeatures, business_features: BusinessFeatures, rules: RulesSnapshot
) -> None:
    result = score_match(lead_features, business_features, rules)
    if result is None:
        return
    assert isinstance(result, MatchResult)
    assert 0.0 <= result.score <= 100.0
    assert result.score == round(result.score, 1)
    assert result.distance_miles <= business_features.radius_miles + 0.05
    assert result.reasons[0].endswith("radius)")
