"""What a request says besides its trade: requirements, specificity, ZIP, budget, urgency, sentiment, spam."""

from __future__ import annotations

import re
from collections.abc import Iterable

import zipcodes

from leadapp.core.observability import get_logger
from leadapp.core.services.classify.model import (
    ALL_CAPS_MIN_LETTERS,
    ALL_CAPS_RATIO,
    EMERGENCY_CATEGORIES,
    MAX_BUDGET,
    MAX_REQUIREMENTS,
    WINTER_MONTHS,
    Sentiment,
    _any,
    _PhraseTable,
)
from leadapp.core.services.rules import RulesSnapshot
from leadapp.core.vocab import Category, Urgency

log = get_logger(__name__)

# --- requirements and specificity -------------------------------------------------------------------

_REQUIREMENT_PHRASES: dict[str, tuple[str, ...]] = {
    "licensed": ("licensed", "license", "licence"),
    "insured": ("insured", "insurance"),
    "bonded": ("bonded",),
    "same day": ("same day", "same-day"),
    "weekend": ("weekend", "saturday", "sunday"),
    "evening": ("evening", "after work"),
    "warranty": ("warranty", "warranties", "guarantee", "guaranteed"),
    "free estimate": ("free estimate", "free quote"),
    "background checked": ("background check", "background checked"),
    "references": ("references",),
}

# Equipment and fixtures: canonical name -> ways people write it.
_EQUIPMENT_PHRASES: dict[str, tuple[str, ...]] = {
    "water heater": ("water heater", "hot water heater"),
    "tankless water heater": ("tankless water heater", "tankless"),
    "furnace": ("furnace",),
    "air conditioner": ("air conditioner", "ac", "a/c", "central air", "ac unit"),
    "heat pump": ("heat pump",),
    "thermostat": ("thermostat",),
    "boiler": ("boiler",),
    "mini split": ("mini split", "ductless"),
    "sump pump": ("sump pump",),
    "garbage disposal": ("garbage disposal",),
    "toilet": ("toilet",),
    "faucet": ("faucet",),
    "sink": ("sink",),
    "shower": ("shower",),
    "bathtub": ("bathtub",),
    "sewer line": ("sewer line",),
    "water softener": ("water softener",),
    "electrical panel": ("electrical panel", "breaker panel", "breaker box", "fuse box"),
    "circuit breaker": ("circuit breaker", "breaker"),
    "outlet": ("outlet",),
    "ceiling fan": ("ceiling fan",),
    "ev charger": ("ev charger",),
    "generator": ("generator",),
    "light fixture": ("light fixture", "chandelier"),
    "washer": ("washer", "washing machine"),
    "dryer": ("dryer",),
    "refrigerator": ("refrigerator", "fridge"),
    "freezer": ("freezer",),
    "dishwasher": ("dishwasher",),
    "oven": ("oven",),
    "stove": ("stove", "cooktop"),
    "microwave": ("microwave",),
    "ice maker": ("ice maker",),
    "garage door opener": ("garage door opener", "garage opener"),
    "garage door spring": ("garage door spring", "torsion spring"),
    "gutters": ("gutter",),
    "deck": ("deck",),
    "fence": ("fence",),
    "hot tub": ("hot tub", "jacuzzi"),
    "pool pump": ("pool pump",),
    "pool heater": ("pool heater",),
    "deadbolt": ("deadbolt",),
    "skylight": ("skylight",),
    "sliding door": ("sliding door", "patio door"),
    "chimney": ("chimney",),
}

_REQUIREMENT_TABLE = _PhraseTable(
    [(phrase, name) for name, phrases in _REQUIREMENT_PHRASES.items() for phrase in phrases]
    + [(phrase, name) for name, phrases in _EQUIPMENT_PHRASES.items() for phrase in phrases]
)
_EQUIPMENT_NAMES = frozenset(_EQUIPMENT_PHRASES)

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
_MEASUREMENT = re.compile(
    r"(?<![\w.])[0-9]+(?:\.[0-9]+)?\s*-?\s*(?:gallons?|gal|sq\.?\s*ft|sqft|square\s+f(?:ee|oo)t|ft|feet|foot|"
    r"inch(?:es)?|amps?|tons?|btus?|volts?|stor(?:y|ies)|bedrooms?|bathrooms?|rooms?|acres?|linear\s+feet|"
    r"lbs?|pounds|windows|doors|outlets|trees)(?![A-Za-z])"
    r"|(?<![\w.])[0-9]+\s*'?\s*(?:x|by)\s*[0-9]+\s*'?(?![\w])",
    re.IGNORECASE,
)
_AGE = re.compile(
    r"(?<![\w.])[0-9]+\s*-?\s*(?:years?|yrs?)\s*-?\s*old|(?:built|installed)\s+in\s+(?:19|20)[0-9]{2}",
    re.IGNORECASE,
)
_ROOMS = _any(
    [
        "kitchen",
        "basement",
        "attic",
        "garage",
        "bathroom",
        "bedroom",
        r"crawl\s*space",
        r"laundry\s+room",
        r"living\s+room",
        r"master\s+bath",
        "upstairs",
        "downstairs",
        "backyard",
        r"front\s+yard",
        "hallway",
        r"(?:first|second|third)\s+floor",
    ]
)


def _requirements(text: str) -> list[str]:
    return list(dict.fromkeys(name for _, name in _REQUIREMENT_TABLE.find(text)))[:MAX_REQUIREMENTS]


def _specificity_signals(text: str, requirements: list[str]) -> set[str]:
    signals = {f"equipment:{name}" for name in requirements if name in _EQUIPMENT_NAMES}
    for kind, regex in (("brand", _BRANDS), ("measure", _MEASUREMENT), ("age", _AGE), ("room", _ROOMS)):
        signals.update(f"{kind}:{m.group(0).lower()}" for m in regex.finditer(text))
    return signals


# --- ZIP and budget ---------------------------------------------------------------------------------

_ZIP_ARG = re.compile(r"^\s*([0-9]{5})(?:-[0-9]{4})?\s*$")
_ZIP_IN_TEXT = re.compile(
    r"(?<![\w$.\-/])(?<![0-9],)([0-9]{5})(?:-[0-9]{4})?(?![\w/]|[.,][0-9])"
    r"(?!\s*(?:dollars?|bucks|usd|btus?|sq|square|ft|feet|miles|gallons?|k\b|thousand))",
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


_AMOUNT = re.compile(
    r"(?<![\w,.$])(?P<dollar>\$\s*)?(?P<num>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?P<dec>\.[0-9]+)?(?![0-9]|,[0-9])"
    r"(?:\s*(?P<k>k|thousand|grand)(?![A-Za-z]))?",
    re.IGNORECASE,
)
_DOLLAR_WORDS = re.compile(r"\s*(?:dollars?|bucks|usd)(?![A-Za-z])", re.IGNORECASE)
_UNIT_AFTER = re.compile(
    r"\s*-?\s*(?:gallons?|gal|years?|yrs?|yo|ft|feet|foot|sq|square|inch|inches|amps?|tons?|btus?|volts?|"
    r"stor(?:y|ies)|rooms?|bedrooms?|bathrooms?|days?|weeks?|months?|hours?|hrs?|minutes?|mins?|miles?|"
    r"lbs?|pounds|acres?|windows|doors|am|pm|people|times?|x)(?![A-Za-z])|\s*[:%/]",
    re.IGNORECASE,
)
_BUDGET_CONTEXT = re.compile(
    r"(?<!\w)(?:budget(?:ed)?|spend|pay|afford|price|cost|costs|quote|offer(?:ing)?|willing)(?!\w)[^.!?\n]*$",
    re.IGNORECASE,
)
_ZIP_BEFORE = re.compile(r"zip(?:\s*code)?\s*(?:is\s*)?:?\s*$", re.IGNORECASE)
_RANGE_GAP = re.compile(r"^\s*(?:-|–|—|to|and)\s*$", re.IGNORECASE)
_MAX_BEFORE = re.compile(
    r"(?:under|below|less\s+than|up\s+to|no\s+more\s+than|max(?:imum)?|at\s+most|not\s+(?:to\s+)?exceed|within)"
    r"\s*:?\s*$",
    re.IGNORECASE,
)
_MIN_BEFORE = re.compile(
    r"(?:over|above|more\s+than|at\s+least|min(?:imum)?|starting\s+at|upwards\s+of)\s*:?\s*$", re.IGNORECASE
)


def _amount_value(match: re.Match[str]) -> int:
    value = float(match.group("num").replace(",", "") + (match.group("dec") or ""))
    if match.group("k"):
        value *= 1000
    return round(value)


def _budget(text: str, zip_found: str | None) -> tuple[int | None, int | None]:
    """(min, max) in dollars: a single amount gives (amount, amount), "under X" (None, X), "over X" (X, None)."""
    tokens: list[tuple[re.Match[str], int, bool]] = []  # (match, value, is money)
    for match in _AMOUNT.finditer(text):
        value = _amount_value(match)
        after, before = text[match.end() : match.end() + 40], text[max(0, match.start() - 40) : match.start()]
        measured = bool(_UNIT_AFTER.match(after))
        if match.group("dollar") or match.group("k") or _DOLLAR_WORDS.match(after):
            money = True
        elif measured or _ZIP_BEFORE.search(before) or match.group("num") == zip_found:
            money = False
        else:
            money = bool(_BUDGET_CONTEXT.search(before))
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
            if in_range and _RANGE_GAP.match(gap) and not _UNIT_AFTER.match(after_other):
                low, high = sorted((value, tokens[other][1]))
                return low, high
        before = text[max(0, match.start() - 40) : match.start()]
        if _MAX_BEFORE.search(before):
            return None, value
        if _MIN_BEFORE.search(before):
            return value, None
        return value, value
    return None, None


def budget_range(said: str) -> tuple[int | None, int | None]:
    """(min, max) dollars of a budget someone stated on its own ("about $500", "300 to 500", "under 2k")."""
    return _budget(f"budget {said}", None)


# --- urgency and sentiment --------------------------------------------------------------------------

_EMERGENCY = _any(
    [
        r"(?<!not an )(?<!not a )(?<!no )emergenc(?:y|ies)",
        r"flood(?:ing|ed|s)?",
        r"gas\s+smell",
        r"smell(?:s|ing)?\s+(?:of\s+|like\s+)?gas",
        r"gas\s+leak",
        r"sparks?",
        r"sparking",
        r"burst(?:ing)?\s+pipes?",
        r"pipes?\s+(?:has\s+|have\s+)?burst",
        r"water\s+everywhere",
        r"smoke",
        r"smoking",
        r"burning\s+smell",
        r"smells?\s+(?:like\s+)?burning",
        r"carbon\s+monoxide",
        r"fire(?!\s*(?:pit|place|wood|alarm))",
    ]
)
_NO_HEAT = _any([r"no\s+heat", r"furnace\s+(?:is\s+)?(?:out|dead|not\s+working)", r"heat\s+(?:is\s+)?out"])
_COLD = _any([r"freez\w*", r"below\s+zero", r"cold", "frozen"])
_HIGH_TIMING = _any(
    [
        "today",
        "tonight",
        "asap",
        r"a\.s\.a\.p\.?",
        r"(?<!not )(?<!non-)urgent(?:ly)?",
        r"right\s+away",
        "immediately",
        r"as\s+soon\s+as\s+possible",
        r"right\s+now",
        r"this\s+(?:morning|afternoon|evening)",
        r"same[\s-]day",
        "tomorrow",
        "quickly",
    ]
)
_HIGH_CONDITION = _any(
    [
        r"leak(?:s|ing|ed|y)?",
        r"no\s+hot\s+water",
        r"no\s+heat",
        r"no\s+(?:ac|a/c|air\s+conditioning|air)",
        r"not\s+(?:cooling|heating)",
        r"no\s+power",
        r"power\s+(?:is\s+)?out",
        r"locked\s+out",
        r"overflow(?:ing|ed)?",
        r"backed\s+up",
        r"won'?t\s+(?:close|open|lock)",
        r"broken\s+window",
    ]
)
_LOW = _any(
    [
        r"no\s+rush",
        r"not\s+urgent",
        r"no\s+hurry",
        r"not\s+in\s+a\s+hurry",
        "sometime",
        "whenever",
        r"next\s+(?:month|year|spring|summer|fall|autumn|winter)",
        r"in\s+a\s+few\s+(?:weeks|months)",
        r"(?:schedule|timing|time|dates?)\s+(?:is\s+|are\s+)?flexible",
        r"flexible\s+(?:on\s+)?(?:timing|schedule|dates?)",
        r"i'?m\s+flexible",
        "eventually",
        r"at\s+your\s+convenience",
        r"when(?:ever)?\s+(?:you|it'?s)\s+(?:are\s+)?convenient",
        "planning",
    ]
)


def _urgency(text: str, category: Category, month: int) -> tuple[Urgency, bool]:
    """(urgency, fits): `fits` is true when the request states an urgency and nothing contradicts it."""
    low = bool(_LOW.search(text))
    no_heat_in_cold = bool(_NO_HEAT.search(text)) and (month in WINTER_MONTHS or bool(_COLD.search(text)))
    if _EMERGENCY.search(text) or no_heat_in_cold:
        if category not in EMERGENCY_CATEGORIES:
            return Urgency.HIGH, False
        return Urgency.EMERGENCY, not low
    high_timing = bool(_HIGH_TIMING.search(text))
    if high_timing and low:
        return Urgency.NORMAL, False
    if high_timing:
        return Urgency.HIGH, True
    if low:
        return Urgency.LOW, True
    if _HIGH_CONDITION.search(text):
        return Urgency.HIGH, True
    return Urgency.NORMAL, False


_NORMAL_TIMING = _any(
    [
        r"this\s+week",
        r"(?:with)?in\s+(?:a|one|the\s+next)\s+(?:week|few\s+days)",
        r"next\s+(?:week|few\s+days|monday|tuesday|wednesday|thursday|friday|saturday|sunday)",
        r"in\s+a\s+few\s+days",
        r"(?:this|next|the)\s+weekend",
        r"(?:a|one|two|couple\s+of)\s+weeks?",
        r"normal",
    ]
)


def stated_urgency(text: str, category: Category, month: int) -> Urgency | None:
    """The urgency the words *say* (an emergency, "today", "this week", "no rush"), or None when they say no
    timing at all: what the problem suggests (a leak is usually urgent) is a guess, and the guided interview
    asks instead of guessing."""
    if _EMERGENCY.search(text) or _HIGH_TIMING.search(text) or _LOW.search(text):
        return _urgency(text, category, month)[0]
    no_heat_in_cold = bool(_NO_HEAT.search(text)) and bool(_COLD.search(text))
    if no_heat_in_cold:
        return _urgency(text, category, month)[0]
    if _NORMAL_TIMING.search(text):
        return Urgency.NORMAL
    return None


_FRUSTRATED = re.compile(
    r"!{3,}|"
    + _any(
        [
            "again",
            r"(?:second|third|fourth|2nd|3rd|4th)\s+time",
            r"fed\s+up",
            r"sick\s+(?:and\s+tired|of)",
            "ridiculous",
            "unacceptable",
            r"frustrat\w*",
            "furious",
            r"still\s+(?:not|broken|leaking|no)",
            r"no[\s-]?shows?",
            r"never\s+showed",
        ]
    ).pattern,
    re.IGNORECASE,
)
_NEGATIVE = _any(
    [
        "terrible",
        "awful",
        "horrible",
        "worst",
        r"disappoint\w*",
        "unhappy",
        "upset",
        "angry",
        "annoyed",
        "ruined",
        r"scam(?:med)?",
        r"ripped\s+off",
        r"bad\s+experience",
        r"poor\s+(?:job|work|service)",
        "hate",
    ]
)
_POSITIVE = _any(
    [
        "thanks",
        "thank",
        r"appreciate\w*",
        "great",
        "excellent",
        "wonderful",
        "love",
        "happy",
        "excited",
        "awesome",
        "amazing",
        "pleased",
    ]
)


def _sentiment(text: str) -> Sentiment:
    if _FRUSTRATED.search(text):
        return "frustrated"
    if _NEGATIVE.search(text):
        return "negative"
    if _POSITIVE.search(text):
        return "positive"
    return "neutral"


# --- spam and cheapness -----------------------------------------------------------------------------

_CHEAP = re.compile(
    r"(?<![\w-])(?<!feel )(?<!toll )(?:free|cheap|cheapest|cheaper|cheaply)(?![\w-])"
    r"(?!\s+(?:estimates?|quotes?|consultations?|inspections?|of\s+charge\s+estimate))",
    re.IGNORECASE,
)


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
