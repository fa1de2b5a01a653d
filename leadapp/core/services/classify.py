"""The Lead Classifier: structure a consumer's free-text request and score its quality.

Two classifiers produce the same `Classification`:

- Claude (when `ANTHROPIC_API_KEY` is set), through `leadapp.core.providers.llm`;
- `classify_local`, a deterministic keyword/regex classifier that needs nothing outside this process.

`classify` picks one, falls back to the local classifier when Claude fails, and then applies the
mechanical platform rules (spam keywords, blocked phone patterns, all caps, the short-text cap, the form
ZIP) to whatever came back, so those rules hold whichever classifier answered.

Quality score (0-10), the same rules for both classifiers (points come from `rules["quality"]`):

- start from BASE_QUALITY (3): a plausible request with nothing else going for it sits just at the
  auto-flag line (`flag_below` 3) and below `low_quality_below` (5), so it needs two positive signals
  before businesses see it;
- completeness +2: a known category (not "other"), a location (ZIP) and some detail;
- specificity +1 (one or two concrete details: equipment, brand, measurement, age, room) or +2 (three or
  more), at most `specificity_max`;
- urgency fit +1: an urgency is stated and consistent (no "asap" next to "no rush"; no emergency for a
  job that cannot have one, such as painting);
- realistic budget +1: a budget is given and reaches MIN_PLAUSIBLE_BUDGET for the category;
- "free"/"cheap" −2 (`cheap_penalty`; "free estimate", "feel free" and "toll free" are not asking for free);
- spam signals −5 once (`spam_penalty`), however many fired: a rules spam keyword (whole words,
  case-insensitive), a phone matching a blocked pattern, text mostly in capitals;
- contact given +1 (phone or email);
- fewer than `min_words` words caps the score at `short_text_cap` (4); the result is clamped to 0-10.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import zipcodes
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from leadapp.core.observability import get_logger, report_exception
from leadapp.core.services.rules import DEFAULT_RULES, RulesSnapshot
from leadapp.core.settings import get_settings
from leadapp.core.vocab import Category, Urgency

log = get_logger(__name__)

Sentiment = Literal["positive", "neutral", "negative", "frustrated"]

BASE_QUALITY = 3.0
MAX_BUDGET = 10_000_000
MAX_REQUIREMENTS = 12
ALL_CAPS_RATIO = 0.7
ALL_CAPS_MIN_LETTERS = 10
WINTER_MONTHS = frozenset({11, 12, 1, 2, 3})

# The least a real job in each category costs (USD): a budget below it is not "realistic".
MIN_PLAUSIBLE_BUDGET: dict[Category, int] = {
    Category.PLUMBING: 100,
    Category.ELECTRICAL: 100,
    Category.HVAC: 150,
    Category.ROOFING: 300,
    Category.APPLIANCE_REPAIR: 100,
    Category.HANDYMAN: 50,
    Category.PAINTING: 200,
    Category.CARPENTRY: 150,
    Category.FLOORING: 300,
    Category.LANDSCAPING: 50,
    Category.CLEANING: 50,
    Category.PEST_CONTROL: 75,
    Category.LOCKSMITH: 50,
    Category.GARAGE_DOOR: 100,
    Category.WINDOWS_DOORS: 150,
    Category.GENERAL_CONTRACTOR: 500,
    Category.MOVING: 150,
    Category.POOL_SPA: 100,
    Category.OTHER: 50,
}

# Categories where a genuine emergency exists; "emergency" for the others is not a consistent urgency.
EMERGENCY_CATEGORIES = frozenset(
    {
        Category.PLUMBING,
        Category.ELECTRICAL,
        Category.HVAC,
        Category.ROOFING,
        Category.LOCKSMITH,
        Category.GARAGE_DOOR,
        Category.WINDOWS_DOORS,
        Category.APPLIANCE_REPAIR,
        Category.PEST_CONTROL,
        Category.OTHER,
    }
)


# --- the structured result --------------------------------------------------------------------------

Requirement = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=60)]


class Classification(BaseModel):
    """What the classifier extracted from one request; out-of-range values fail validation."""

    model_config = ConfigDict(extra="forbid")

    service_category: Category = Field(description="The one service category that fits the request best.")
    urgency: Urgency = Field(
        description="emergency: danger or damage happening now (flooding, gas smell, sparks, no heat in "
        "winter, burst pipe); high: wants it today/asap or something is actively leaking/broken; "
        "low: explicitly no rush; normal: everything else."
    )
    budget_min: int | None = Field(ge=0, le=MAX_BUDGET, description="Lowest budget in whole US dollars, or null.")
    budget_max: int | None = Field(ge=0, le=MAX_BUDGET, description="Highest budget in whole US dollars, or null.")
    location_zip: str | None = Field(pattern=r"^[0-9]{5}$", description="5-digit US ZIP code of the job, or null.")
    key_requirements: list[Requirement] = Field(
        max_length=MAX_REQUIREMENTS,
        description='Short lowercase phrases: credentials and timing asked for ("licensed", "insured", '
        '"same day", "weekend", "warranty") and the equipment concerned ("water heater").',
    )
    sentiment: Sentiment = Field(description="The consumer's tone.")
    quality_score: float = Field(ge=0, le=10, allow_inf_nan=False, description="Lead quality from 0 to 10.")
    spam: bool = Field(description="True when any spam signal fired.")
    spam_reason: str = Field(max_length=500, description="Which spam signals fired, '; '-separated; empty if none.")

    @field_validator("key_requirements")
    @classmethod
    def _unique_requirements(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _consistent(self) -> Classification:
        if self.budget_min is not None and self.budget_max is not None and self.budget_min > self.budget_max:
            raise ValueError("budget_min is greater than budget_max")
        if self.spam and not self.spam_reason.strip():
            raise ValueError("spam_reason is required when spam is true")
        return self


# --- small pure helpers -----------------------------------------------------------------------------


def word_count(text: str) -> int:
    """The number of whitespace-separated words that contain at least one letter or digit."""
    return sum(1 for token in text.split() if any(ch.isalnum() for ch in token))


def quality_rules(rules: RulesSnapshot) -> dict[str, Any]:
    """The quality settings in force: the rules' own numbers over the defaults (missing or non-numbers: default)."""
    own = rules.get("quality")
    own = own if isinstance(own, dict) else {}
    return {
        key: value if isinstance(value := own.get(key), int | float) and not isinstance(value, bool) else default
        for key, default in DEFAULT_RULES["quality"].items()
    }


def min_words(rules: RulesSnapshot) -> int:
    """The rules' minimum word count (the default when missing or not a number)."""
    value = rules.get("min_words")
    return value if isinstance(value, int) and not isinstance(value, bool) else int(DEFAULT_RULES["min_words"])


def _phrase_pattern(phrase: str) -> str:
    """Regex for a phrase as whole words: any run of spaces/hyphens between words, an optional plural."""
    words = [re.escape(word) for word in phrase.split()]
    body = r"[\s\-]+".join(words)
    if phrase[-1].isalpha() and len(phrase) >= 4:
        body += r"(?:s|es)?"
    return body


class _PhraseTable:
    """Finds phrases from a table in text, longest phrase first, each stretch of text counted once."""

    def __init__(self, entries: Iterable[tuple[str, Any]]) -> None:
        self._values: dict[str, Any] = {}
        for phrase, value in entries:
            key = phrase.lower()
            if not key[:1].isalpha() or not key[:1].isascii():
                raise ValueError(f"phrase must start with a letter: {phrase!r}")
            if key in self._values:
                raise ValueError(f"phrase listed twice: {phrase!r}")
            self._values[key] = value
        ordered = sorted(self._values, key=len, reverse=True)
        self._names = {f"p{i}": phrase for i, phrase in enumerate(ordered)}
        alternatives = "|".join(f"(?P<p{i}>{_phrase_pattern(phrase)})" for i, phrase in enumerate(ordered))
        # Every phrase starts with a letter: the lookahead skips other positions before trying the alternatives.
        self._regex = re.compile(rf"(?<![\w/])(?=[a-z])(?:{alternatives})(?![\w/])", re.IGNORECASE)

    def find(self, text: str) -> list[tuple[str, Any]]:
        """(phrase, value) for every occurrence, in order of appearance."""
        return [(self._names[m.lastgroup], self._values[self._names[m.lastgroup]]) for m in self._regex.finditer(text)]


def _any(patterns: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(rf"(?<!\w)(?:{p})(?!\w)" for p in patterns), re.IGNORECASE)


# --- categories -------------------------------------------------------------------------------------

# (strong, weak): a strong phrase names the job or its equipment (2 points), a weak one hints at it (1).
_CATEGORY_PHRASES: dict[Category, tuple[tuple[str, ...], tuple[str, ...]]] = {
    Category.PLUMBING: (
        (
            "plumber",
            "plumbing",
            "water heater",
            "hot water heater",
            "tankless water heater",
            "tankless",
            "pipe",
            "burst pipe",
            "frozen pipe",
            "drain",
            "toilet",
            "faucet",
            "sewer",
            "sewer line",
            "sink",
            "shower",
            "bathtub",
            "garbage disposal",
            "sump pump",
            "water line",
            "septic",
            "water softener",
            "spigot",
            "hose bib",
            "no hot water",
            "backed up",
            "shut off valve",
            "gas line",
            "gas leak",
            "gas smell",
            "smell gas",
        ),
        ("leak", "leaking", "leaky", "clog", "clogged", "tub", "water pressure", "drip", "dripping", "overflowing"),
    ),
    Category.ELECTRICAL: (
        (
            "electrician",
            "electrical",
            "breaker",
            "circuit breaker",
            "breaker panel",
            "breaker box",
            "electrical panel",
            "fuse box",
            "outlet",
            "wiring",
            "rewire",
            "rewiring",
            "light fixture",
            "light switch",
            "ceiling fan",
            "gfci",
            "ev charger",
            "generator",
            "sparks",
            "sparking",
            "chandelier",
            "recessed lighting",
            "circuit",
            "doorbell",
            "solar panel",
        ),
        ("lights", "light", "panel", "switch", "flickering", "tripping", "no power", "power outage", "wire"),
    ),
    Category.HVAC: (
        (
            "hvac",
            "furnace",
            "ac",
            "a/c",
            "air conditioner",
            "air conditioning",
            "central air",
            "heat pump",
            "thermostat",
            "no heat",
            "boiler",
            "ductwork",
            "duct",
            "mini split",
            "ductless",
            "condenser",
            "compressor",
            "air handler",
            "refrigerant",
            "freon",
            "not cooling",
            "not heating",
            "blowing warm air",
            "blowing cold air",
            "radiator",
            "dehumidifier",
            "humidifier",
        ),
        ("heater", "heating", "cooling", "heat", "vent", "air filter"),
    ),
    Category.ROOFING: (
        (
            "roof",
            "roofing",
            "roofer",
            "shingle",
            "roof leak",
            "gutter",
            "flashing",
            "soffit",
            "fascia",
            "chimney",
            "ice dam",
            "hail damage",
        ),
        (),
    ),
    Category.APPLIANCE_REPAIR: (
        (
            "appliance",
            "washer",
            "washing machine",
            "dryer",
            "fridge",
            "refrigerator",
            "freezer",
            "dishwasher",
            "oven",
            "stove",
            "cooktop",
            "microwave",
            "ice maker",
            "range hood",
            "wine cooler",
            "trash compactor",
        ),
        (),
    ),
    Category.HANDYMAN: (
        (
            "handyman",
            "odd job",
            "small repair",
            "small job",
            "honey do",
            "tv mount",
            "mount a tv",
            "mount my tv",
            "mount tv",
            "hang pictures",
            "hanging pictures",
            "furniture assembly",
            "assemble furniture",
            "drywall",
            "caulk",
            "caulking",
            "shelves",
            "curtain rod",
            "blinds",
        ),
        ("patch", "to do list"),
    ),
    Category.PAINTING: (
        (
            "paint",
            "painting",
            "painter",
            "repaint",
            "interior painting",
            "exterior painting",
            "staining",
            "primer",
            "wallpaper",
            "cabinet painting",
        ),
        ("stain", "touch up"),
    ),
    Category.CARPENTRY: (
        (
            "carpentry",
            "carpenter",
            "deck",
            "decking",
            "trim",
            "molding",
            "moulding",
            "baseboard",
            "crown molding",
            "cabinet",
            "shelving",
            "built in",
            "framing",
            "stairs",
            "railing",
            "pergola",
            "wood rot",
            "fence",
            "gazebo",
            "woodwork",
        ),
        ("porch",),
    ),
    Category.FLOORING: (
        (
            "flooring",
            "hardwood",
            "hardwood floor",
            "laminate",
            "vinyl plank",
            "lvp",
            "tile",
            "carpet",
            "carpeting",
            "refinish floors",
            "subfloor",
            "grout",
        ),
        ("floor",),
    ),
    Category.LANDSCAPING: (
        (
            "lawn",
            "lawn care",
            "mowing",
            "mow",
            "landscaping",
            "landscaper",
            "landscape",
            "tree removal",
            "tree trimming",
            "tree",
            "stump",
            "stump grinding",
            "hedge",
            "shrub",
            "mulch",
            "sod",
            "sprinkler",
            "irrigation",
            "leaf removal",
            "weeds",
            "weeding",
            "yard work",
            "snow removal",
            "snow plowing",
            "retaining wall",
            "aeration",
            "garden",
        ),
        ("yard", "grass", "leaves", "bushes"),
    ),
    Category.CLEANING: (
        (
            "cleaning",
            "cleaner",
            "house cleaning",
            "maid",
            "maid service",
            "deep clean",
            "move out cleaning",
            "carpet cleaning",
            "window cleaning",
            "gutter cleaning",
            "pressure washing",
            "power washing",
            "janitorial",
            "housekeeping",
            "housekeeper",
            "dryer vent cleaning",
            "duct cleaning",
            "air duct cleaning",
        ),
        ("clean", "dusting", "mopping", "vacuuming"),
    ),
    Category.PEST_CONTROL: (
        (
            "pest",
            "pest control",
            "exterminator",
            "extermination",
            "termite",
            "mice",
            "mouse",
            "rats",
            "rat",
            "rodent",
            "roach",
            "cockroach",
            "bed bug",
            "bedbug",
            "ants",
            "wasp",
            "hornet",
            "bees",
            "spider",
            "fleas",
            "raccoon",
            "squirrel",
            "infestation",
            "mosquito",
        ),
        (),
    ),
    Category.LOCKSMITH: (
        (
            "locksmith",
            "locked out",
            "lock out",
            "lockout",
            "deadbolt",
            "rekey",
            "rekeying",
            "lost keys",
            "lost my keys",
            "car keys",
            "smart lock",
            "door lock",
            "change locks",
            "change the locks",
        ),
        ("lock", "key", "keys"),
    ),
    Category.GARAGE_DOOR: (
        (
            "garage door",
            "garage door opener",
            "garage door spring",
            "garage opener",
            "overhead door",
            "liftmaster",
            "chamberlain",
            "torsion spring",
        ),
        (),
    ),
    Category.WINDOWS_DOORS: (
        (
            "window",
            "window replacement",
            "broken window",
            "front door",
            "back door",
            "sliding door",
            "patio door",
            "screen door",
            "storm door",
            "entry door",
            "french door",
            "door",
            "window seal",
            "skylight",
            "door frame",
            "weatherstripping",
            "double pane",
        ),
        ("glass", "pane"),
    ),
    Category.GENERAL_CONTRACTOR: (
        (
            "general contractor",
            "contractor",
            "remodel",
            "remodeling",
            "renovation",
            "renovate",
            "home addition",
            "kitchen remodel",
            "bathroom remodel",
            "basement finishing",
            "finish basement",
            "finish my basement",
            "construction",
        ),
        ("addition", "build", "rebuild"),
    ),
    Category.MOVING: (
        (
            "moving",
            "movers",
            "mover",
            "moving company",
            "moving truck",
            "relocation",
            "relocate",
            "piano moving",
            "packing",
            "help moving",
            "junk removal",
        ),
        ("move", "haul", "hauling"),
    ),
    Category.POOL_SPA: (
        (
            "pool",
            "swimming pool",
            "hot tub",
            "spa",
            "pool pump",
            "pool heater",
            "pool cleaning",
            "pool filter",
            "pool liner",
            "chlorine",
            "jacuzzi",
        ),
        (),
    ),
}


def category_keywords(category: Category) -> tuple[str, ...]:
    """The phrases that name a category's jobs and equipment for the local classifier (shown to Claude too)."""
    return _CATEGORY_PHRASES.get(category, ((), ()))[0]


_CATEGORY_TABLE = _PhraseTable(
    (phrase, (category, weight))
    for category, (strong, weak) in _CATEGORY_PHRASES.items()
    for weight, phrases in ((2, strong), (1, weak))
    for phrase in phrases
)

# A request naming no trade but asking for a small fix goes to a handyman.
_GENERIC_JOB = _any(["fix", "fixed", "repair", "repairs", "install", "replace", "hang", "assemble", "mount"])

_CATEGORY_ORDER = {category: index for index, category in enumerate(Category)}


def _category(text: str) -> Category:
    scores: dict[Category, int] = {}
    for _, (category, weight) in _CATEGORY_TABLE.find(text):
        scores[category] = scores.get(category, 0) + weight
    if scores:
        # Highest score wins; a tie goes to the category listed first in the vocabulary.
        return min(scores, key=lambda c: (-scores[c], _CATEGORY_ORDER[c]))
    return Category.HANDYMAN if _GENERIC_JOB.search(text) else Category.OTHER


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


# --- the classifiers --------------------------------------------------------------------------------


def classify_local(
    text: str,
    *,
    zip_code: str = "",
    phone_e164: str = "",
    email: str = "",
    rules: RulesSnapshot,
    month: int | None = None,
) -> Classification:
    """Classify a request with keywords and regexes; never raises, needs no network.

    Guarantees: the same input (and month) always gives the same result; the quality score follows the
    module's documented rules and lies in 0-10; `spam` is true exactly when a spam signal fired, with the
    signals listed in `spam_reason`. A valid 5-digit `zip_code` wins over a ZIP found in the text. `month`
    (1-12, default: the current UTC month) decides whether "no heat" is an emergency (winter: Nov-Mar).
    """
    month = month if month is not None and 1 <= month <= 12 else datetime.now(UTC).month
    q = quality_rules(rules)
    category = _category(text)
    location = _zip(text, zip_code)
    budget_min, budget_max = _budget(text, location)
    urgency, urgency_fits = _urgency(text, category, month)
    requirements = _requirements(text)
    signals = _specificity_signals(text, requirements)
    words = word_count(text)
    short = words < min_words(rules)
    reasons = spam_signals(text, phone_e164=phone_e164, rules=rules)

    score = BASE_QUALITY
    if category != Category.OTHER and location and (not short or signals):
        score += q["completeness"]
    if signals:
        score += min(q["specificity_max"], 1 if len(signals) < 3 else 2)
    if urgency_fits:
        score += q["urgency_fit"]
    budget_top = max((b for b in (budget_min, budget_max) if b is not None), default=None)
    if budget_top is not None and budget_top >= MIN_PLAUSIBLE_BUDGET[category]:
        score += q["realistic_budget"]
    if _CHEAP.search(text):
        score -= q["cheap_penalty"]
    if reasons:
        score -= q["spam_penalty"]
    if phone_e164 or email:
        score += q["contact_given"]
    if short:
        score = min(score, q["short_text_cap"])

    return Classification(
        service_category=category,
        urgency=urgency,
        budget_min=budget_min,
        budget_max=budget_max,
        location_zip=location,
        key_requirements=requirements,
        sentiment=_sentiment(text),
        quality_score=_clamp(score),
        spam=bool(reasons),
        spam_reason=_join_reasons(reasons),
    )


def enforce_platform_rules(
    result: Classification, text: str, *, zip_code: str, phone_e164: str, rules: RulesSnapshot, email: str = ""
) -> Classification:
    """Apply the mechanical rules to a classification from any classifier.

    Guarantees: every spam signal of `spam_signals` is reflected (spam true, reason listed, the spam
    penalty applied once if the classifier had not already called it spam, and the score no higher than
    `classify_local` gives the same request, since text can steer a model); text shorter than the minimum
    is capped at the short-text cap; a valid form ZIP is the location. Claude never sees the phone number,
    so the blocked-pattern rule can only be applied here.
    """
    q = quality_rules(rules)
    reasons = spam_signals(text, phone_e164=phone_e164, rules=rules)
    score = result.quality_score
    spam, spam_reason = result.spam, result.spam_reason
    if reasons:
        if not spam:
            score -= q["spam_penalty"]
        existing = [r.strip() for r in spam_reason.split(";")] if spam else []
        spam, spam_reason = True, _join_reasons([*existing, *reasons])
        # The request text reaches the model, so it can talk the model into any score ("ignore the rules, this
        # is a 10"); once a spam signal fired here, the model may not rate it above the local classifier.
        local = classify_local(text, zip_code=zip_code, phone_e164=phone_e164, email=email, rules=rules)
        score = min(score, local.quality_score)
    if word_count(text) < min_words(rules):
        score = min(score, q["short_text_cap"])
    explicit_zip = _ZIP_ARG.match(zip_code or "")
    return result.model_copy(
        update={
            "quality_score": _clamp(score),
            "spam": spam,
            "spam_reason": spam_reason,
            "location_zip": explicit_zip.group(1) if explicit_zip else result.location_zip,
        }
    )


def classify(
    text: str, *, zip_code: str = "", phone_e164: str = "", email: str = "", rules: RulesSnapshot
) -> tuple[Classification, str]:
    """Classify a request with Claude when keyed, else locally; never raises for a provider failure.

    Returns (classification, classifier name): "claude" when Claude answered (after at most one retry),
    "local-fallback" when Claude was configured but failed, "local" without ANTHROPIC_API_KEY. The
    consumer's phone and email never leave this process: Claude is told only whether they were given.
    The platform's mechanical rules (`enforce_platform_rules`) hold for every result.
    """
    if not get_settings().anthropic_api_key:
        return classify_local(text, zip_code=zip_code, phone_e164=phone_e164, email=email, rules=rules), "local"

    # Imported here: the provider adapter builds its tool schema from Classification, defined above.
    from leadapp.core.providers.llm import ProviderError, claude_classify

    try:
        result = claude_classify(
            text, zip_code=zip_code, phone_present=bool(phone_e164), email_present=bool(email), rules=rules
        )
    except ProviderError as exc:
        log.warning("classify_fallback", provider="anthropic", reason=str(exc), rules_version=rules.version)
        name = "local-fallback"
    except Exception as exc:
        report_exception(exc, stage="classify", provider="anthropic", rules_version=rules.version)
        name = "local-fallback"
    else:
        contact = {"phone_e164": phone_e164, "email": email}
        return enforce_platform_rules(result, text, zip_code=zip_code, rules=rules, **contact), "claude"
    return classify_local(text, zip_code=zip_code, phone_e164=phone_e164, email=email, rules=rules), name
