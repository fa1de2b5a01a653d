"""What a request says besides its trade: requirements, specificity, ZIP, budget, urgency, sentiment, spam.

Each extraction is written once and reads the words of the request's language (`words_for`: `english_words`,
`spanish_words`), so "urgente, presupuesto de 300" gives what "urgent, budget of 300" gives."""

from __future__ import annotations

import re
from collections.abc import Iterable

import zipcodes

from leadapp.core.observability import get_logger
from leadapp.core.services.classify import english_words, spanish_words
from leadapp.core.services.classify.english_words import EQUIPMENT_NAMES
from leadapp.core.services.classify.language import detect_language
from leadapp.core.services.classify.model import (
    ALL_CAPS_MIN_LETTERS,
    ALL_CAPS_RATIO,
    EMERGENCY_CATEGORIES,
    MAX_BUDGET,
    MAX_REQUIREMENTS,
    WINTER_MONTHS,
    RequestWords,
    Sentiment,
    _any,
)
from leadapp.core.services.rules import RulesSnapshot
from leadapp.core.vocab import Category, Language, Urgency

log = get_logger(__name__)

WORDS: dict[str, RequestWords] = {Language.ENGLISH.value: english_words, Language.SPANISH.value: spanish_words}


def words_for(language: str | None) -> RequestWords:
    """The request words of a language code ("en", "es"); English for anything else."""
    return WORDS.get(language or "", english_words)


def _words(text: str, language: str | None) -> RequestWords:
    return words_for(language or detect_language(text))


# --- requirements and specificity -------------------------------------------------------------------

# Brand names are written the same in every language.
_BRANDS = _any(
    [
        "rheem",
        "carrier",
        "trane",
        "lennox",
        "goodman",
        "bryant",
        "rinnai",
        "navien",
        r"a\.?\s?o\.?\s+smith",
        "bradford white",
        "whirlpool",
        "samsung",
        "lg",
        "ge",
        "maytag",
        "kenmore",
        "frigidaire",
        "bosch",
        "kitchenaid",
        "electrolux",
        "moen",
        "kohler",
        "delta",
        "american standard",
        "liftmaster",
        "chamberlain",
        "ecobee",
        "honeywell",
        "pella",
        "andersen",
        "kwikset",
        "schlage",
        "sherwin[\\s-]williams",
        "behr",
        "pentair",
        "hayward",
        "trex",
        "generac",
    ]
)


def _requirements(text: str, words: RequestWords) -> list[str]:
    return list(dict.fromkeys(name for _, name in words.REQUIREMENTS.find(text)))[:MAX_REQUIREMENTS]


def _specificity_signals(text: str, requirements: list[str], words: RequestWords) -> set[str]:
    signals = {f"equipment:{name}" for name in requirements if name in EQUIPMENT_NAMES}
    kinds = (("brand", _BRANDS), ("measure", words.MEASUREMENT), ("age", words.AGE), ("room", words.ROOMS))
    for kind, regex in kinds:
        signals.update(f"{kind}:{m.group(0).lower()}" for m in regex.finditer(text))
    return signals


# --- ZIP and budget ---------------------------------------------------------------------------------

_ZIP_ARG = re.compile(r"^\s*([0-9]{5})(?:-[0-9]{4})?\s*$")
_ZIP_IN_TEXT = re.compile(
    r"(?<![\w$.\-/])(?<![0-9],)([0-9]{5})(?:-[0-9]{4})?(?![\w/]|[.,][0-9])"
    r"(?!\s*(?:dollars?|bucks|usd|btus?|sq|square|ft|feet|miles|gallons?|k\b|thousand|d[óo]lares|pies|millas|galones|mil\b))",
    re.IGNORECASE,
)


def _is_real_zip(candidate: str) -> bool:
    try:
        return bool(zipcodes.is_real(candidate))
    except (TypeError, ValueError):
        return False


def _zip(text: str, zip_code: str) -> str | None:
    explicit = _ZIP_ARG.match(zip_code or "")
    if explicit:
        return explicit.group(1)
    for match in _ZIP_IN_TEXT.finditer(text):
        if _is_real_zip(match.group(1)):
            return match.group(1)
    return None


def _amount_value(match: re.Match[str]) -> int:
    value = float(match.group("num").replace(",", "").replace(".", "") + (match.group("dec") or ""))  # "1,500"/"1.500"
    if match.group("k"):
        value *= 1000
    return round(value)


def _budget(text: str, zip_found: str | None, words: RequestWords) -> tuple[int | None, int | None]:
    """(min, max) in dollars: a single amount gives (amount, amount), "under X" (None, X), "over X" (X, None)."""
    tokens: list[tuple[re.Match[str], int, bool]] = []  # (match, value, is money)
    for match in words.AMOUNT.finditer(text):
        value = _amount_value(match)
        after, before = text[match.end() : match.end() + 40], text[max(0, match.start() - 40) : match.start()]
        measured = bool(words.UNIT_AFTER.match(after))
        if match.group("dollar") or match.group("k") or words.DOLLAR_WORDS.match(after):
            money = True
        elif measured or words.ZIP_BEFORE.search(before) or match.group("num") == zip_found:
            money = False
        else:
            money = bool(words.BUDGET_CONTEXT.search(before))
        if value > MAX_BUDGET:
            money, measured = False, True
        tokens.append((match, value, money and not (measured and not match.group("dollar"))))
    for index, (match, value, money) in enumerate(tokens):
        if not money:
            continue
        for other in (index + 1, index - 1):
            if not 0 <= other < len(tokens):
                continue
            first, second = sorted((index, other))
            gap = text[tokens[first][0].end() : tokens[second][0].start()]
            after_other = text[tokens[other][0].end() : tokens[other][0].end() + 40]
            # The other end of a range is an amount too: not a measure, and not past MAX_BUDGET.
            in_range = tokens[other][1] <= MAX_BUDGET
            if in_range and words.RANGE_GAP.match(gap) and not words.UNIT_AFTER.match(after_other):
                low, high = sorted((value, tokens[other][1]))
                return low, high
        before = text[max(0, match.start() - 40) : match.start()]
        if words.MAX_BEFORE.search(before):
            return None, value
        if words.MIN_BEFORE.search(before):
            return value, None
        return value, value
    return None, None


def budget_range(said: str, language: str | None = None) -> tuple[int | None, int | None]:
    """(min, max) dollars of a budget someone stated on its own ("about $500", "300 to 500", "under 2k",
    "entre 200 y 400 dólares"), read in `language` (default: the language the words are in)."""
    words = _words(said, language)
    return _budget(f"{words.BUDGET_WORD} {said}", None, words)


# --- urgency and sentiment --------------------------------------------------------------------------


def _urgency(text: str, category: Category, month: int, words: RequestWords) -> tuple[Urgency, bool]:
    """(urgency, fits): `fits` is true when the request states an urgency and nothing contradicts it."""
    low = bool(words.LOW.search(text))
    no_heat_in_cold = bool(words.NO_HEAT.search(text)) and (month in WINTER_MONTHS or bool(words.COLD.search(text)))
    if words.EMERGENCY.search(text) or no_heat_in_cold:
        if category not in EMERGENCY_CATEGORIES:
            return Urgency.HIGH, False
        return Urgency.EMERGENCY, not low
    high_timing = bool(words.HIGH_TIMING.search(text))
    if high_timing and low:
        return Urgency.NORMAL, False
    if high_timing:
        return Urgency.HIGH, True
    if low:
        return Urgency.LOW, True
    if words.HIGH_CONDITION.search(text):
        return Urgency.HIGH, True
    return Urgency.NORMAL, False


def stated_urgency(text: str, category: Category, month: int, language: str | None = None) -> Urgency | None:
    """The urgency the words *say* (an emergency, "today", "this week", "no rush"), or None when they say no
    timing at all: what the problem suggests (a leak is usually urgent) is a guess, and the guided interview
    asks instead of guessing. Read in `language` (default: the language the words are in)."""
    words = _words(text, language)
    if words.EMERGENCY.search(text) or words.HIGH_TIMING.search(text) or words.LOW.search(text):
        return _urgency(text, category, month, words)[0]
    no_heat_in_cold = bool(words.NO_HEAT.search(text)) and bool(words.COLD.search(text))
    if no_heat_in_cold:
        return _urgency(text, category, month, words)[0]
    if words.NORMAL_TIMING.search(text):
        return Urgency.NORMAL
    return None


def _sentiment(text: str, words: RequestWords) -> Sentiment:
    if words.FRUSTRATED.search(text):
        return "frustrated"
    if words.NEGATIVE.search(text):
        return "negative"
    if words.POSITIVE.search(text):
        return "positive"
    return "neutral"


# --- spam and cheapness -----------------------------------------------------------------------------


def _keyword_regex(keyword: str) -> re.Pattern[str] | None:
    words = keyword.split()
    if not words:
        return None
    return re.compile(r"(?<!\w)" + r"\s+".join(re.escape(w) for w in words) + r"(?!\w)", re.IGNORECASE)


def is_all_caps(text: str) -> bool:
    """True when at least 70 % of the cased letters are capitals and there are at least 10 of them."""
    cased = [ch for ch in text if ch.isupper() or ch.islower()]
    if len(cased) < ALL_CAPS_MIN_LETTERS:
        return False
    return sum(1 for ch in cased if ch.isupper()) >= ALL_CAPS_RATIO * len(cased)


def phone_is_blocked(phone_e164: str, rules: RulesSnapshot) -> bool:
    """True when the E.164 number matches one of the rules' blocked patterns (invalid patterns are skipped)."""
    if not phone_e164:
        return False
    for pattern in rules.get("blocked_phone_patterns") or []:
        try:
            if re.search(str(pattern), phone_e164):
                return True
        except re.error as exc:
            log.warning("blocked_phone_pattern_invalid", pattern=str(pattern), error=str(exc))
    return False


def spam_signals(text: str, *, phone_e164: str, rules: RulesSnapshot) -> list[str]:
    """Every spam signal that fires, as short reasons: "keyword 'crypto'", "blocked phone pattern", "all caps"."""
    reasons: list[str] = []
    for keyword in rules.get("spam_keywords") or []:
        regex = _keyword_regex(str(keyword))
        if regex is not None and regex.search(text):
            reasons.append(f"keyword '{str(keyword).strip().lower()}'")
    if phone_is_blocked(phone_e164, rules):
        reasons.append("blocked phone pattern")
    if is_all_caps(text):
        reasons.append("all caps")
    return reasons


def _join_reasons(reasons: Iterable[str]) -> str:
    joined = "; ".join(dict.fromkeys(r for r in reasons if r))
    return joined if len(joined) <= 500 else joined[:497] + "..."


def _clamp(score: float) -> float:
    return round(min(10.0, max(0.0, score)), 1)
