"""The local Lead Classifier: categories, urgency, budget, ZIP, requirements, sentiment, spam and quality."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from leadapp.core.services.classify import Classification, classify_local, word_count
from leadapp.core.services.classify.model import _PhraseTable
from leadapp.core.services.rules import DEFAULT_RULES, RulesSnapshot
from leadapp.core.vocab import Category, Urgency

RULES = RulesSnapshot(0, copy.deepcopy(DEFAULT_RULES))
SUMMER, WINTER = 7, 1
WATER_HEATER = (
    "My water heater is leaking all over the garage floor, need someone today in Carmel 46032, budget around $500"
)


def rules_with(**changes: Any) -> RulesSnapshot:
    rules = copy.deepcopy(DEFAULT_RULES)
    rules.update(changes)
    return RulesSnapshot(7, rules)


def run(text: str, **kwargs: Any) -> Classification:
    kwargs.setdefault("rules", RULES)
    kwargs.setdefault("month", SUMMER)
    return classify_local(text, **kwargs)


# --- the brief's reference request ------------------------------------------------------------------


def test_water_heater_request_is_plumbing_high_with_budget_zip_and_good_quality() -> None:
    # Leaking + "today" is high, not emergency: nothing is flooding or bursting.
    # Quality 8 = base 3 + complete 2 + specific 1 (water heater, garage) + urgency 1 + budget 1.
    result = run(WATER_HEATER)
    assert result.service_category == Category.PLUMBING
    assert result.urgency == Urgency.HIGH
    assert (result.budget_min, result.budget_max) == (500, 500)
    assert result.location_zip == "46032"
    assert "water heater" in result.key_requirements
    assert result.quality_score == 8.0
    assert not result.spam and result.spam_reason == ""


def test_contact_given_adds_one_point() -> None:
    assert run(WATER_HEATER, email="pat@example.com").quality_score == 9.0
    assert run(WATER_HEATER, phone_e164="+13176640123").quality_score == 9.0


def test_full_marks_for_a_complete_specific_request() -> None:
    text = (
        "Our 10-year-old 50 gallon Rheem water heater in the basement is leaking, need a licensed plumber today, $600"
    )
    result = run(text, zip_code="46032", phone_e164="+13176640123")
    assert result.quality_score == 10.0


# --- categories -------------------------------------------------------------------------------------


CATEGORY_CASES = [
    ("The kitchen faucet drips constantly and the drain under the sink is clogged", Category.PLUMBING),
    ("Toilet keeps running and the sewer line backs up into the basement shower", Category.PLUMBING),
    ("We have a burst pipe in the crawl space", Category.PLUMBING),
    ("The breaker keeps tripping whenever we use the microwave outlet", Category.ELECTRICAL),
    ("Need new wiring and an upgraded electrical panel for an EV charger", Category.ELECTRICAL),
    ("Lights flicker in the whole house and one outlet sparks", Category.ELECTRICAL),
    ("Furnace is making a loud banging noise when it starts", Category.HVAC),
    ("Our AC is blowing warm air and the thermostat is blank", Category.HVAC),
    ("Air conditioner needs a tune-up before summer, maybe a new heat pump", Category.HVAC),
    ("Storm blew shingles off the roof and the gutters are hanging", Category.ROOFING),
    ("Roof is leaking over the bedroom when it rains", Category.ROOFING),
    ("Washer will not spin and the dryer takes forever", Category.APPLIANCE_REPAIR),
    ("Fridge stopped cooling, the freezer is fine", Category.APPLIANCE_REPAIR),
    ("Dishwasher is leaking onto the kitchen floor", Category.APPLIANCE_REPAIR),
    ("Need weekly lawn mowing and a dead tree removed from the backyard", Category.LANDSCAPING),
    ("Looking for a maid service for a deep clean before we move in", Category.CLEANING),
    ("We see mice in the pantry and roaches under the sink", Category.PEST_CONTROL),
    ("Termites found in the porch posts", Category.PEST_CONTROL),
    ("I am locked out of my house and lost my keys", Category.LOCKSMITH),
    ("Garage door opener is broken and the door will not close", Category.GARAGE_DOOR),
    ("Replace two drafty windows and the front door", Category.WINDOWS_DOORS),
    ("Paint the living room and repaint the hallway trim", Category.PAINTING),
    ("Install new hardwood flooring in two bedrooms", Category.FLOORING),
    ("Build a new deck with a railing off the back of the house", Category.CARPENTRY),
    ("Need movers to help moving a three bedroom house across town", Category.MOVING),
    ("Pool pump is loud and the hot tub will not heat", Category.POOL_SPA),
    ("Full kitchen remodel, looking for a general contractor", Category.GENERAL_CONTRACTOR),
    ("Need a handyman to mount my TV and hang pictures", Category.HANDYMAN),
    ("Can someone fix a few small things around the house", Category.HANDYMAN),
    ("I would like to learn to play the violin", Category.OTHER),
]


@pytest.mark.parametrize(("text", "category"), CATEGORY_CASES, ids=[c.value + "-" + t[:24] for t, c in CATEGORY_CASES])
def test_category_from_keywords(text: str, category: Category) -> None:
    assert run(text).service_category == category


# --- urgency ----------------------------------------------------------------------------------------


URGENCY_CASES = [
    ("There is a gas smell in the kitchen near the water line", Urgency.EMERGENCY),
    ("Basement is flooding from a pipe", Urgency.EMERGENCY),
    ("Burst pipe in the wall, water everywhere", Urgency.EMERGENCY),
    ("Outlet in the bedroom sparks when I plug anything in", Urgency.EMERGENCY),
    ("Plumbing emergency, the toilet overflowed", Urgency.EMERGENCY),
    ("Need the toilet fixed asap please", Urgency.HIGH),
    ("Kitchen sink is leaking under the cabinet", Urgency.HIGH),
    ("Can someone come today for the dryer", Urgency.HIGH),
    ("No rush, would like a quote to repaint the fence", Urgency.LOW),
    ("Sometime next month we want the gutters cleaned", Urgency.LOW),
    ("Please replace the bathroom faucet", Urgency.NORMAL),
    ("Leaking faucet but no rush at all", Urgency.LOW),
    ("Need this urgent but also no rush, whatever works", Urgency.NORMAL),
    ("This is not an emergency, just a dripping faucet we can live with", Urgency.NORMAL),
]


@pytest.mark.parametrize(("text", "urgency"), URGENCY_CASES, ids=[t[:30] for t, _ in URGENCY_CASES])
def test_urgency(text: str, urgency: Urgency) -> None:
    assert run(text).urgency == urgency


def test_no_heat_is_an_emergency_in_winter_and_high_in_summer() -> None:
    text = "Furnace quit overnight and there is no heat in the house"
    assert run(text, month=WINTER).urgency == Urgency.EMERGENCY
    assert run(text, month=SUMMER).urgency == Urgency.HIGH


def test_emergency_for_a_job_without_emergencies_is_high_and_earns_no_urgency_point() -> None:
    consistent = run("Painting emergency, the living room walls must be painted", zip_code="46032")
    assert consistent.urgency == Urgency.HIGH
    calm = run("Painting job, the living room walls must be painted", zip_code="46032")
    assert consistent.quality_score == calm.quality_score


def test_contradictory_urgency_earns_no_point() -> None:
    base = "Need the bathroom faucet in the upstairs bathroom replaced, zip 46032"
    stated = run(base + ", asap")
    contradictory = run(base + ", asap but no rush")
    assert stated.quality_score - contradictory.quality_score == 1.0


# --- budget and ZIP ---------------------------------------------------------------------------------


BUDGET_CASES = [
    ("budget around $500", (500, 500)),
    ("we can spend $300-$600 on it", (300, 600)),
    ("$300 - $600", (300, 600)),
    ("between $2,000 and $3,500", (2000, 3500)),
    ("300 to 600 dollars", (300, 600)),
    ("about 500 dollars", (500, 500)),
    ("under 1k please", (None, 1000)),
    ("up to $800", (None, 800)),
    ("at least $2k for the whole job", (2000, None)),
    ("budget is 1,200", (1200, 1200)),
    ("I have $1,200 set aside", (1200, 1200)),
    ("$49.99 for the part", (50, 50)),
    ("a 10-year-old 50 gallon tank", (None, None)),
    ("budget flexible, zip 46032", (None, None)),
    ("call 317-664-0123 after 5", (None, None)),
]


@pytest.mark.parametrize(("snippet", "budget"), BUDGET_CASES, ids=[s for s, _ in BUDGET_CASES])
def test_budget(snippet: str, budget: tuple[int | None, int | None]) -> None:
    result = run(f"Water heater replacement, {snippet}")
    assert (result.budget_min, result.budget_max) == budget


def test_zip_from_text_form_or_none() -> None:
    assert run("Leaky faucet in Carmel, IN 46032, thanks").location_zip == "46032"
    assert run("Leaky faucet at 46032-1234").location_zip == "46032"
    assert run("Leaky faucet in Carmel 46032", zip_code="46250").location_zip == "46250"
    assert run("Leaky faucet in Carmel 46032", zip_code="4625").location_zip == "46032"
    assert run("Leaky faucet, budget $12,000 or 12000 dollars").location_zip is None
    assert run("Leaky faucet, no zip given").location_zip is None


# --- requirements and sentiment ---------------------------------------------------------------------


def test_requirements_are_short_phrases_in_order() -> None:
    text = (
        "Need a licensed and insured electrician for same-day work on a ceiling fan, weekends are fine, "
        "must come with a warranty"
    )
    assert run(text).key_requirements == ["licensed", "insured", "same day", "ceiling fan", "weekend", "warranty"]


SENTIMENT_CASES = [
    ("The dishwasher broke AGAIN!!! Third time this year", "frustrated"),
    ("I am fed up with this leaking roof", "frustrated"),
    ("The last plumber did a terrible job and I am upset", "negative"),
    ("Thanks so much, would appreciate help with the lawn", "positive"),
    ("Please replace the kitchen faucet", "neutral"),
]


@pytest.mark.parametrize(("text", "sentiment"), SENTIMENT_CASES, ids=[s for _, s in SENTIMENT_CASES])
def test_sentiment(text: str, sentiment: str) -> None:
    assert run(text).sentiment == sentiment


# --- spam and quality rules -------------------------------------------------------------------------


def test_test_test_test_is_spam_with_a_low_score() -> None:
    result = run("test test test")
    assert result.spam
    assert result.spam_reason == "keyword 'test'"
    assert result.quality_score < 3


def test_keywords_match_whole_words_only() -> None:
    assert not run("We want the latest model of tankless water heater installed, zip 46032").spam
    assert run("Testing the form: this is a TEST of the water heater request please").spam


def test_blocked_phone_pattern_is_spam() -> None:
    good = run(WATER_HEATER, phone_e164="+13176640123")
    blocked = run(WATER_HEATER, phone_e164="+13175550123")
    assert not good.spam
    assert blocked.spam and blocked.spam_reason == "blocked phone pattern"
    assert good.quality_score - blocked.quality_score == 5.0


def test_all_caps_is_spam() -> None:
    result = run("MY WATER HEATER IS LEAKING ALL OVER THE GARAGE FLOOR PLEASE COME TODAY 46032")
    assert result.spam and result.spam_reason == "all caps"
    assert not run("Our AC and HVAC unit from GE need service in the kitchen area").spam


def test_every_spam_signal_is_listed_and_the_penalty_applies_once() -> None:
    result = run("BUY CRYPTO AND BITCOIN NOW, WORK FROM HOME TODAY", phone_e164="+13175550123")
    assert result.spam_reason == (
        "keyword 'crypto'; keyword 'bitcoin'; keyword 'work from home'; blocked phone pattern; all caps"
    )
    # base 3 + urgency 1 (today) + contact 1 - spam 5 once = 0
    assert result.quality_score == 0.0


def test_cheap_or_free_costs_exactly_two_points() -> None:
    plain = "Need a licensed plumber to replace the 40 gallon water heater in the basement, zip 46032, $900"
    for word in ("cheap", "free", "cheapest"):
        assert run(plain).quality_score - run(plain.replace("Need a", f"Need a {word}")).quality_score == 2.0
    assert run(plain + ", free estimate").quality_score == run(plain).quality_score
    assert run(plain + ", feel free to call").quality_score == run(plain).quality_score


def test_short_text_is_capped_at_four() -> None:
    short = "Water heater leaking today, 46032, $500"
    assert word_count(short) < 10
    assert run(short, phone_e164="+13176640123").quality_score == 4.0


def test_unrealistic_budget_earns_no_point() -> None:
    realistic = run("Roof has missing shingles after the storm in 46032, budget $2,000")
    cheap_roof = run("Roof has missing shingles after the storm in 46032, budget $20")
    assert realistic.quality_score - cheap_roof.quality_score == 1.0


def test_rules_changes_take_effect() -> None:
    text = "Please install gutter guards on the roof of our two story house in 46032, thanks a lot"
    assert not run(text).spam
    flagged = run(text, rules=rules_with(spam_keywords=[*DEFAULT_RULES["spam_keywords"], "gutter guards"]))
    assert flagged.spam and flagged.spam_reason == "keyword 'gutter guards'"

    assert run(text).quality_score > 4
    assert run(text, rules=rules_with(min_words=30)).quality_score == 4.0

    harsher = rules_with(quality={**DEFAULT_RULES["quality"], "short_text_cap": 2})
    assert run("Leaky faucet 46032", rules=harsher).quality_score <= 2.0

    assert run(WATER_HEATER, phone_e164="+13176640123", rules=rules_with(blocked_phone_patterns=[r"^\+1317"])).spam


def test_invalid_rules_values_fall_back_to_defaults() -> None:
    broken = rules_with(quality={"completeness": "two"}, blocked_phone_patterns=["(unclosed"], min_words="ten")
    assert run(WATER_HEATER, rules=broken).quality_score == run(WATER_HEATER).quality_score


# --- the model's own validation ---------------------------------------------------------------------


def test_word_count() -> None:
    assert word_count("") == 0
    assert word_count("  one two\tthree\n") == 3
    assert word_count("$500 - 10-year-old !!!") == 2


VALID = run(WATER_HEATER).model_dump(mode="json")


@pytest.mark.parametrize(
    "change",
    [
        {"quality_score": 11},
        {"quality_score": -0.5},
        {"budget_min": -1},
        {"budget_min": 900, "budget_max": 100},
        {"location_zip": "4603"},
        {"location_zip": "46O32"},
        {"service_category": "spaceships"},
        {"urgency": "whenever"},
        {"sentiment": "ecstatic"},
        {"spam": True, "spam_reason": ""},
        {"key_requirements": ["x" * 61]},
        {"key_requirements": [f"r{i}" for i in range(13)]},
        {"extra_field": 1},
    ],
)
def test_classification_rejects_out_of_range_values(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Classification.model_validate({**VALID, **change})


def test_missing_fields_are_rejected() -> None:
    with pytest.raises(ValidationError):
        Classification.model_validate({k: v for k, v in VALID.items() if k != "urgency"})


# --- property ---------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(text=st.text(), zip_code=st.text(max_size=12), phone=st.sampled_from(["", "+13175550123", "+13176640123"]))
def test_any_text_gives_a_valid_classification(text: str, zip_code: str, phone: str) -> None:
    result = classify_local(text, zip_code=zip_code, phone_e164=phone, rules=RULES, month=WINTER)
    assert 0 <= result.quality_score <= 10
    assert result.service_category in Category
    assert Classification.model_validate(result.model_dump()) == result


def test_a_phrase_table_finds_the_longest_phrase_at_each_word_whatever_its_first_letter() -> None:
    table = _PhraseTable(
        [("water", "w"), ("water heater", "wh"), ("heater", "h"), ("hot water heater", "hwh"), ("leak", "l")]
    )
    found = table.find("Our HOT-water heater leaks; the water heater next door, water and a heater too")
    assert found == [
        ("hot water heater", "hwh"),
        ("leak", "l"),
        ("water heater", "wh"),
        ("water", "w"),
        ("heater", "h"),
    ]
