"""Each factor's points of a match score (kept with the match, shown in the lead detail) add up to the score.

The points are the score's parts on its own 0–100 scale: each factor's weight (scaled so the weights add up to
100) times the share its band gives, plus the seasonal boost and, when a boost pushes past 100, the cut back to
100. What the owner sees is each part in tenths, apportioned so the tenths add up to the stored score exactly.
"""

from __future__ import annotations

import copy
import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadapp.core.services.match import (
    CAPPED,
    FACTORS,
    SEASONAL,
    points_shown,
    score_direct,
    score_match,
    zip_centroid,
)
from leadapp.core.services.rules import DEFAULT_RULES, RulesSnapshot
from leadapp.core.vocab import Category, PriceTier, Urgency
from tests.unit.test_match_scoring import CARMEL, NEW_YORK, business, lead, rules_with

RULES = RulesSnapshot(0, copy.deepcopy(DEFAULT_RULES))
W = DEFAULT_RULES["matching"]["weights"]


def parts(result) -> dict[str, tuple[float, float | None]]:
    return {p.factor: (p.points, p.max) for p in result.points}


def tenths(shown: list[dict[str, str]]) -> int:
    return sum(round(float(row["points"]) * 10) for row in shown)


def test_the_reference_business_earns_each_factor_in_full() -> None:
    result = score_match(lead(), business(), RULES)
    assert result is not None and result.score == 100.0
    assert parts(result) == {name: (pytest.approx(W[name]), pytest.approx(W[name])) for name in FACTORS}


def test_a_weaker_business_loses_points_where_the_bands_say() -> None:
    weaker = business(rating=4.1, review_count=12, response_rate=0.6, price_tier="premium", tags=())
    result = score_match(lead(key_requirements=("licensed", "same-day")), weaker, RULES)
    assert result is not None
    got = parts(result)
    assert got["rating"] == (pytest.approx(W["rating"] * 0.8), W["rating"])
    assert got["response_rate"] == (pytest.approx(W["response_rate"] * 0.5), W["response_rate"])
    assert got["price"] == (pytest.approx(W["price"] * 0.5), W["price"])  # adjacent tier
    assert got["requirements"] == (pytest.approx(W["requirements"] * 0.5), W["requirements"])
    assert sum(p for p, _ in got.values()) == pytest.approx(result.score, abs=0.05)
    assert tenths(points_shown([p.as_dict() for p in result.points], result.score)) == round(result.score * 10)


def test_edited_weights_are_scaled_so_the_maxima_still_add_up_to_100() -> None:
    rules = rules_with(weights={"distance": 60})  # 130 in all
    result = score_match(lead(), business(rating=3.0), rules)
    assert result is not None
    got = parts(result)
    assert sum(top for _, top in got.values()) == pytest.approx(100.0)
    assert got["distance"][1] == pytest.approx(60 * 100 / 130)
    assert sum(p for p, _ in got.values()) == pytest.approx(result.score, abs=0.05)


def test_a_seasonal_boost_is_its_own_line_and_a_score_past_100_is_cut_back() -> None:
    rules = copy.deepcopy(DEFAULT_RULES)
    rules["seasonal_boosts"] = {"3": {"plumbing": 4}}
    boosted = RulesSnapshot(2, rules)
    full = score_match(lead(), business(), boosted)
    assert full is not None and full.score == 100.0
    assert parts(full)[SEASONAL] == (4.0, None) and parts(full)[CAPPED] == (pytest.approx(-4.0), None)
    partial = score_match(lead(), business(rating=3.0), boosted)
    assert partial is not None and CAPPED not in parts(partial)
    assert partial.score == pytest.approx(100 - W["rating"] * 0.8 + 4)
    shown = points_shown([p.as_dict() for p in partial.points], partial.score)
    assert [row["label"] for row in shown][-1] == "Seasonal demand" and shown[-1]["points"] == "+4.0"
    assert shown[-1]["max"] == "" and tenths(shown) == round(partial.score * 10)


def test_a_direct_match_is_scored_by_the_same_bands_but_never_refused() -> None:
    far = business(location=NEW_YORK, categories=("electrical",))
    assert score_match(lead(), far, RULES) is None
    result = score_direct(lead(), far, RULES)
    got = parts(result)
    assert got["distance"][0] == 0 and got["category"][0] == 0
    assert result.reasons[0].endswith("outside your 30 mi radius)")
    assert result.reasons[1] == "Not one of your categories: plumbing"
    assert result.score == pytest.approx(100 - W["distance"] - W["category"])
    unknown = score_direct(lead(location=None, category=None), business(), RULES)
    assert unknown.distance_miles is None and unknown.reasons[:2] == ("Distance unknown", "Category not recognised")
    assert sum(p for p, _ in parts(unknown).values()) == pytest.approx(unknown.score, abs=0.05)


def test_tenths_are_apportioned_by_largest_remainder() -> None:
    stored = [{"factor": name, "points": 7.25, "max": 10.0} for name in ("a", "b", "c", "d")]
    # Rounded one by one they would show 7.2 four times (28.8, not 29.0); apportioned, they add up.
    shown = points_shown(stored, 29.0)
    assert [row["points"] for row in shown] == ["7.3", "7.3", "7.2", "7.2"] and tenths(shown) == 290
    shown = points_shown([{"factor": "a", "points": 1 / 3, "max": 1}] * 3, 1.0)
    assert [row["points"] for row in shown] == ["0.4", "0.3", "0.3"] and tenths(shown) == 10
    assert points_shown(None, 80.0) == [] and points_shown([{"factor": "x", "points": "nan?"}], 5) == []


finite = st.floats(min_value=0, max_value=10_000, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(
    radius=st.floats(min_value=1, max_value=200),
    rating=st.floats(min_value=0, max_value=5),
    reviews=st.integers(0, 500),
    response=st.one_of(st.none(), st.floats(min_value=0, max_value=1)),
    tier=st.sampled_from([t.value for t in PriceTier] + ["unknown"]),
    urgency=st.sampled_from([u.value for u in Urgency]),
    budget=st.one_of(st.none(), st.integers(0, 50_000)),
    category=st.sampled_from([c.value for c in Category]),
    emergency=st.booleans(),
    weights=st.fixed_dictionaries({name: st.integers(0, 60) for name in ("distance", "rating", "price")}),
    boost=st.integers(-10, 10),
    zip_code=st.sampled_from(["46032", "46204", "46074", "46060"]),
)
def test_points_always_add_up_to_the_score(
    radius, rating, reviews, response, tier, urgency, budget, category, emergency, weights, boost, zip_code
) -> None:
    rules = copy.deepcopy(DEFAULT_RULES)
    rules["matching"]["weights"].update(weights)
    rules["seasonal_boosts"] = {"3": {category: boost}}
    snapshot = RulesSnapshot(3, rules)
    the_lead = lead(category=category, urgency=urgency, budget_max=budget, location=zip_centroid(zip_code))
    the_business = dataclasses.replace(
        business(),
        categories=(category,),
        radius_miles=radius,
        rating=rating,
        review_count=reviews,
        response_rate=response,
        price_tier=tier,
        emergency_service=emergency,
        location=CARMEL,
    )
    for result in (score_match(the_lead, the_business, snapshot), score_direct(the_lead, the_business, snapshot)):
        if result is None:
            continue
        total = sum(p.points for p in result.points)
        assert math.isclose(total, result.score, abs_tol=0.05 + 1e-9)
        assert all(p.max is None or -1e-9 <= p.points <= p.max + 1e-9 for p in result.points)
        shown = points_shown([p.as_dict() for p in result.points], result.score)
        assert tenths(shown) == round(result.score * 10)
