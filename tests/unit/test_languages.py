"""Spanish and English: detecting a request's language, the classifiers' answer, the two catalogues a call speaks
from, matching by the languages a business serves, and the Spanish summary and voicemail words."""

from __future__ import annotations

import copy
import dataclasses
import string

import pytest

from leadapp.core import languages
from leadapp.core.languages import english, spanish
from leadapp.core.services import calls, classify
from leadapp.core.services.classify.language import detect_language, recognised_language
from leadapp.core.services.match import BusinessFeatures, LeadFeatures, rank_matches, score_match
from leadapp.core.services.rules import DEFAULT_RULES, RulesSnapshot
from tests.unit.test_match_scoring import business, lead

RULES = RulesSnapshot(0, copy.deepcopy(DEFAULT_RULES))


# --- detection --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Tengo una fuga de agua en la cocina y necesito un plomero lo antes posible, por favor.",
        "Se me rompió el calentador de agua, necesito que alguien venga mañana. Presupuesto 500 dólares, 46032.",
        "Necesito pintar la casa por fuera, no hay prisa",
        "el AC no funciona, necesito un técnico",  # an English loanword in a Spanish request
        "Hola, buenas tardes. Tengo el fregadero tapado.",
        "NECESITO UN ELECTRICISTA PARA MI CASA",
    ],
)
def test_spanish_requests_are_spanish(text: str) -> None:
    assert detect_language(text) == "es"


@pytest.mark.parametrize(
    "text",
    [
        "My 10-year-old water heater is leaking all over the garage floor, need someone licensed today.",
        "Need the whole house painted outside, no rush, budget around $3,000.",
        "Fix my sink on Calle Ocho please, gracias",  # a Spanish street name and a thank-you in an English request
        "The kitchen faucet drips. I live at 12 Avenida del Sol, Los Angeles.",
        "",
        "12345 $400",
    ],
)
def test_english_requests_and_text_without_words_are_english(text: str) -> None:
    assert detect_language(text) == "en"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hola", "es"),
        ("¿Hablan español?", "es"),
        ("Buenas tardes", "es"),
        ("Gracias", "es"),
        ("Hi there", "en"),
        ("ok", "en"),
        ("no", "en"),  # the same word in both languages decides nothing
        ("Sí", "es"),
    ],
)
def test_short_texts_need_one_spanish_sign(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("¿Bueno? ¿Quién habla?", "es"),
        ("Sí, dígame", "es"),
        ("Hello? Who is this?", "en"),
        ("Yes, this is Jane", "en"),
        ("Okay?", None),  # a word of both: it tells nothing, so a call keeps its lead's language
        ("Mm-hmm", None),
        ("", None),
    ],
)
def test_first_words_are_recognised_only_when_they_tell_a_language(text: str, expected: str | None) -> None:
    assert recognised_language(text) == expected
    assert detect_language(text) == (expected or "en")


def test_a_mixed_request_goes_to_the_language_with_more_words() -> None:
    mostly_spanish = "Hello, necesito ayuda con la tubería del baño que gotea desde ayer."
    mostly_english = "Hello, I need help with the bathroom pipe that has been leaking since yesterday, gracias señor."
    assert detect_language(mostly_spanish) == "es"
    assert detect_language(mostly_english) == "en"


def test_the_local_classifier_says_the_language_and_platform_rules_fill_a_missing_one() -> None:
    text = "Tengo una fuga de agua en la cocina y necesito un plomero hoy, 46032."
    local = classify.classify_local(text, rules=RULES)
    assert local.language == "es"
    assert classify.classify_local("My kitchen sink leaks, need a plumber today 46032.", rules=RULES).language == "en"
    # Claude's answer without a language (the tests' fake answers none): the local detection fills it in ...
    silent = local.model_copy(update={"language": None})
    assert classify.enforce_platform_rules(silent, text, zip_code="", phone_e164="", rules=RULES).language == "es"
    # ... and a language Claude gave is kept.
    said = local.model_copy(update={"language": "en"})
    assert classify.enforce_platform_rules(said, text, zip_code="", phone_e164="", rules=RULES).language == "en"


# --- the catalogues ---------------------------------------------------------------------------------


def _public(module: object) -> dict[str, object]:
    return {name: value for name, value in vars(module).items() if name.isupper()}


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_catalogues_define_the_same_words_with_the_same_placeholders() -> None:
    en, es = _public(english), _public(spanish)
    assert set(en) == set(es)
    for name, value in en.items():
        other = es[name]
        if isinstance(value, str):
            assert _fields(value) == _fields(str(other)), name
        elif isinstance(value, tuple):
            assert isinstance(other, tuple) and len(value) == len(other), name
        else:
            assert isinstance(value, dict) and isinstance(other, dict) and set(value) == set(other), name
    assert languages.phrases("es") is spanish
    assert (
        languages.phrases("en") is english and languages.phrases(None) is english and languages.phrases("fr") is english
    )


def test_the_spanish_local_summary_and_voicemail() -> None:
    qualification = {"need": "fuga de agua", "urgency": "high", "budget": "unos $400"}
    lines = [{"speaker": "assistant", "text": "Hola"}, {"speaker": "caller", "text": "Tengo una fuga."}]
    text = calls.local_summary(qualification, "goal_achieved", True, lines, language="es")
    assert text == (
        "Resultado: Calificada. Necesidad: fuga de agua; Urgencia: Urgente; Presupuesto: unos $400. "
        "La persona pidió que la llame alguien del negocio. 2 líneas de transcripción; "
        "lo último que dijo la persona: “Tengo una fuga.”"
    )
    english_text = calls.local_summary(qualification, "goal_achieved", True, lines)
    assert english_text.startswith("Outcome: Qualified. Need: fuga de agua; Urgency: Urgent; Budget: unos $400.")
    assert calls.local_summary({}, None, False, language="es") == "No se registraron datos del trabajo."


# --- matching -----------------------------------------------------------------------------------------


def _lead(language: str) -> LeadFeatures:
    """The matcher tests' reference plumbing request from Carmel, without requirements, written in `language`."""
    return lead(key_requirements=(), language=language)


def _business(business_id: int, served: tuple[str, ...]) -> BusinessFeatures:
    """The matcher tests' reference Carmel plumber (every factor in full), serving the `served` languages."""
    return business(id=business_id, name=f"Plumber {business_id}", languages=served)


def test_a_lead_goes_only_to_businesses_serving_its_language() -> None:
    english_only, spanish_only, both = _business(1, ("en",)), _business(2, ("es",)), _business(3, ("en", "es"))
    candidates = [english_only, spanish_only, both]
    assert [m.business_id for m in rank_matches(_lead("es"), candidates, RULES)] == [2, 3]
    assert [m.business_id for m in rank_matches(_lead("en"), candidates, RULES)] == [1, 3]
    assert score_match(_lead("es"), english_only, RULES) is None
    # Serving a language costs nothing else: the same business scores the same for a lead it serves.
    served = score_match(_lead("es"), both, RULES)
    assert served is not None and served == score_match(
        _lead("en"), dataclasses.replace(both, languages=("en",)), RULES
    )


def test_a_spanish_transfer_is_announced_and_a_missed_one_apologised_for_in_spanish() -> None:
    from voice_bridge import transfer

    assert transfer.connecting_instructions("Smith Plumbing", "es").startswith(
        "Ahora se va a pasar la llamada a alguien de Smith Plumbing. En una frase corta y en español"
    )
    assert "Discúlpate brevemente en español" in transfer.callback_instructions("Smith Plumbing", "es")
    assert transfer.connecting_instructions("Smith Plumbing").startswith("The caller will now be put through")
