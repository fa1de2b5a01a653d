"""The local classifier reads a Spanish request as it reads its English equivalent: each pair below, the same
request in both languages, gets the same urgency, budget, ZIP, requirements, sentiment and quality score (only the
detected language differs). The timing words alone ("hoy", "esta semana", "sin prisa") give the same stated urgency
as theirs, and a budget said on its own ("entre 200 y 400 dólares") the same range."""

from __future__ import annotations

import copy

import pytest

from leadapp.core.models import Lead
from leadapp.core.services import concierge
from leadapp.core.services.classify import Classification, budget_range, classify_local, stated_urgency
from leadapp.core.services.classify.english_words import EQUIPMENT_NAMES
from leadapp.core.services.classify.model import RequestWords
from leadapp.core.services.classify.signals import WORDS
from leadapp.core.services.classify.spanish_words import _EQUIPMENT_PHRASES
from leadapp.core.services.rules import DEFAULT_RULES, RulesSnapshot
from leadapp.core.vocab import Category, Urgency

RULES = RulesSnapshot(0, copy.deepcopy(DEFAULT_RULES))
SUMMER, WINTER = 7, 1

# (English, Spanish, what both must give: urgency, budget_min, budget_max)
PAIRS: list[tuple[str, str, tuple[Urgency, int | None, int | None]]] = [
    (
        "My water heater is leaking in the garage, I need a plumber today, my budget is $500. Zip 46032.",
        "Mi calentador de agua tiene una fuga en el garaje, necesito un plomero hoy, mi presupuesto es de $500. "
        "Código postal 46032.",
        (Urgency.HIGH, 500, 500),
    ),
    (
        "Urgent: the kitchen sink is clogged and we need a plumber, we can pay 500 dollars, zip 46032.",
        "Urgente: el fregadero de la cocina está tapado y necesitamos un plomero, podemos pagar 500 dólares, "
        "código postal 46032.",
        (Urgency.HIGH, 500, 500),
    ),
    (
        "Please send a licensed and insured plumber as soon as possible, the toilet is clogged. "
        "Budget between 200 and 400 dollars.",
        "Por favor manden un plomero con licencia y asegurado lo antes posible, el inodoro está tapado. "
        "Presupuesto entre 200 y 400 dólares.",
        (Urgency.HIGH, 200, 400),
    ),
    (
        "The basement flooded last night and there is water everywhere, we need a plumber, budget of 300.",
        "Se inundó el sótano anoche y hay agua por todas partes, necesitamos un plomero, presupuesto de 300.",
        (Urgency.EMERGENCY, 300, 300),
    ),
    (
        "There is no water in the house since this morning, we need a plumber to check the pipes, under $400.",
        "No hay agua en la casa desde la madrugada, necesitamos un plomero para revisar las tuberías, menos de $400.",
        (Urgency.HIGH, None, 400),
    ),
    (
        "I would like to paint the living room and two bedrooms this week, budget over 1,500 dollars.",
        "Quisiera pintar la sala y dos recámaras esta semana, presupuesto de más de 1,500 dólares.",
        (Urgency.NORMAL, 1500, None),
    ),
    (
        "We want to install a new fence in the backyard, no rush, sometime next month, about 2k.",
        "Queremos instalar una valla nueva en el patio trasero, sin prisa, el próximo mes, unos 2 mil dólares.",
        (Urgency.LOW, 2000, 2000),
    ),
    (
        "Need an electrician tomorrow: there is no power in the kitchen, I can pay 250 dollars. Thanks!",
        "Necesito un electricista mañana: no hay luz en la cocina, puedo pagar 250 dólares. ¡Gracias!",
        (Urgency.HIGH, 250, 250),
    ),
    (
        "There is a gas smell near the water heater, please come immediately, this is an emergency.",
        "Hay olor a gas cerca del calentador de agua, por favor vengan de inmediato, es una emergencia.",
        (Urgency.EMERGENCY, None, None),
    ),
    (
        "The plumber never showed up again, the shower is still leaking, I'm fed up. Free estimate please.",
        "El plomero nunca llegó otra vez, la regadera todavía gotea, estoy harto. Presupuesto gratis por favor.",
        (Urgency.HIGH, None, None),
    ),
]

FIELDS = (
    "service_category",
    "urgency",
    "budget_min",
    "budget_max",
    "location_zip",
    "key_requirements",
    "sentiment",
    "quality_score",
    "spam",
)


def run(text: str, month: int = SUMMER) -> Classification:
    return classify_local(text, rules=RULES, month=month)


def fields(result: Classification) -> dict[str, object]:
    return {name: getattr(result, name) for name in FIELDS}


@pytest.mark.parametrize(("english", "spanish", "expected"), PAIRS, ids=[p[0][:40] for p in PAIRS])
def test_a_spanish_request_gets_the_fields_of_its_english_equivalent(
    english: str, spanish: str, expected: tuple[Urgency, int | None, int | None]
) -> None:
    en, es = run(english), run(spanish)
    assert (en.language, es.language) == ("en", "es")
    assert (es.urgency, es.budget_min, es.budget_max) == expected
    assert fields(es) == fields(en)


def test_the_pairs_exercise_requirements_sentiment_and_zip() -> None:
    # So that "the same fields" above is not the same emptiness.
    results = [run(spanish) for _, spanish, _ in PAIRS]
    assert {"licensed", "insured"} <= set(results[2].key_requirements)
    assert "water heater" in results[0].key_requirements and "free estimate" in results[9].key_requirements
    assert results[0].location_zip == "46032" and results[0].service_category == Category.PLUMBING
    assert [r.sentiment for r in results[7:10]] == ["positive", "neutral", "frustrated"]


def test_no_heat_in_winter_is_an_emergency_in_both_languages() -> None:
    english = run("We have no heat in the house and the kids are cold, need HVAC repair.", WINTER)
    spanish = run(
        "No tenemos calefacción en la casa y los niños tienen frío, necesitamos reparar la calefacción.", WINTER
    )
    assert english.urgency == spanish.urgency == Urgency.EMERGENCY


@pytest.mark.parametrize(
    ("english", "spanish", "urgency"),
    [
        ("today", "hoy", Urgency.HIGH),
        ("urgent", "urgente", Urgency.HIGH),
        ("as soon as possible", "lo antes posible", Urgency.HIGH),
        ("tomorrow", "mañana", Urgency.HIGH),
        ("this week", "esta semana", Urgency.NORMAL),
        ("no rush", "sin prisa", Urgency.LOW),
        ("it's not urgent", "no es urgente", Urgency.LOW),
        ("the basement flooded", "se inundó el sótano", Urgency.EMERGENCY),
        ("in the morning", "por la mañana", None),  # a time of day, not "tomorrow"
    ],
)
def test_timing_words_alone_state_the_same_urgency(english: str, spanish: str, urgency: Urgency | None) -> None:
    assert stated_urgency(english, Category.PLUMBING, SUMMER) == urgency
    assert stated_urgency(spanish, Category.PLUMBING, SUMMER) == urgency


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("500 dólares", (500, 500)),
        ("$500", (500, 500)),
        ("entre 200 y 400 dólares", (200, 400)),
        ("de 300 a 600", (300, 600)),
        ("$300 a $600", (300, 600)),
        ("menos de 800 dolares", (None, 800)),
        ("al menos 1.500 dólares", (1500, None)),
        ("unos 2 mil", (2000, 2000)),
    ],
)
def test_a_budget_said_in_spanish_reads_as_its_english_equivalent(said: str, expected: tuple[int | None, ...]) -> None:
    assert budget_range(said, "es") == expected


def test_a_budget_said_alone_is_read_in_the_language_of_its_words() -> None:
    assert budget_range("entre 200 y 400 dólares") == budget_range("between 200 and 400 dollars") == (200, 400)


def test_measures_are_not_money_in_spanish_either() -> None:
    result = run("Necesito cambiar un calentador de agua de 40 galones que tiene 12 años, presupuesto de 900 dólares.")
    assert (result.budget_min, result.budget_max) == (900, 900)


def test_every_spanish_equipment_phrase_names_an_english_equipment() -> None:
    assert set(_EQUIPMENT_PHRASES) <= EQUIPMENT_NAMES


def test_a_budget_confirmed_on_a_spanish_concierge_call_is_read_in_spanish() -> None:
    lead = Lead(raw_text="", redacted_text="", language="es")
    assert concierge.lead_changes(lead, {"budget": "$300 a $600"})["budget_max"] == 600


def test_each_language_defines_every_word_list_the_extraction_reads() -> None:
    needed = set(RequestWords.__annotations__)
    for module in WORDS.values():
        assert needed <= set(vars(module)), module.__name__
