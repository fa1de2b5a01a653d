"""The classifier's result (`Classification`), its constants and the small helpers every part shares."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from leadapp.core.services.rules import DEFAULT_RULES, RulesSnapshot
from leadapp.core.vocab import Category, Urgency

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
    language: Literal["en", "es"] | None = Field(
        default=None, description='The language the request is written in: "es" for Spanish, "en" otherwise.'
    )

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
        by_letter: dict[str, list[str]] = {}
        for i, phrase in enumerate(ordered):  # longest first within each letter too
            by_letter.setdefault(phrase[0], []).append(f"(?P<p{i}>{_phrase_pattern(phrase)})")
        # Every phrase starts with a letter: the lookahead skips other positions, and at a word only the phrases
        # starting with its letter are tried (the others cannot match there, so the longest-first order holds).
        groups = "|".join(f"(?={re.escape(letter)})(?:{'|'.join(alts)})" for letter, alts in by_letter.items())
        self._regex = re.compile(rf"(?<![\w/])(?=[a-z])(?:{groups})(?![\w/])", re.IGNORECASE)

    def find(self, text: str) -> list[tuple[str, Any]]:
        """(phrase, value) for every occurrence, in order of appearance."""
        return [(self._names[m.lastgroup], self._values[self._names[m.lastgroup]]) for m in self._regex.finditer(text)]


def _any(patterns: Iterable[str]) -> re.Pattern[str]:
    """Any of `patterns` as a whole word (case-insensitive). The word boundaries are written once around the
    alternation, not once per pattern: the same matches (the engine still tries the patterns in order, backtracking
    into the next when a boundary fails), but about ten times faster on a long list."""
    return re.compile(rf"(?<!\w)(?:{'|'.join(f'(?:{p})' for p in patterns)})(?!\w)", re.IGNORECASE)


class RequestWords(Protocol):
    """One language's words for what a request says besides its trade: a module per language (`english_words`,
    `spanish_words`) defining these names, as `core.languages` has one catalogue per language.

    The extraction in `signals` is written once and reads whichever language's words a request is in, so a Spanish
    request gets the same fields as its English equivalent. Requirement names stay the English canonical ones
    ("licensed", "water heater"): they are shown to owners and matched on, whatever the consumer wrote.
    """

    REQUIREMENTS: _PhraseTable  # requirement and equipment phrases -> canonical (English) name
    MEASUREMENT: re.Pattern[str]  # "40 gallon", "12x14"
    AGE: re.Pattern[str]  # "10 years old", "installed in 2015"
    ROOMS: re.Pattern[str]
    AMOUNT: re.Pattern[str]  # a number, with its optional "$" and thousands word (groups dollar, num, dec, k)
    DOLLAR_WORDS: re.Pattern[str]  # right after an amount: it is money
    UNIT_AFTER: re.Pattern[str]  # right after an amount: it is a measure, not money
    BUDGET_CONTEXT: re.Pattern[str]  # before an amount in the same sentence: it is money
    BUDGET_WORD: str  # what a budget said on its own is read after ("budget 500")
    ZIP_BEFORE: re.Pattern[str]  # before a number: it is a ZIP code
    RANGE_GAP: re.Pattern[str]  # between two amounts: a range ("200 to 400")
    MAX_BEFORE: re.Pattern[str]  # "under 500"
    MIN_BEFORE: re.Pattern[str]  # "over 500"
    EMERGENCY: re.Pattern[str]
    NO_HEAT: re.Pattern[str]
    COLD: re.Pattern[str]
    HIGH_TIMING: re.Pattern[str]  # "today", "asap"
    HIGH_CONDITION: re.Pattern[str]  # "leaking", "no hot water"
    LOW: re.Pattern[str]  # "no rush"
    NORMAL_TIMING: re.Pattern[str]  # "this week"
    FRUSTRATED: re.Pattern[str]
    NEGATIVE: re.Pattern[str]
    POSITIVE: re.Pattern[str]
    CHEAP: re.Pattern[str]  # "cheap", "free" (not "free estimate")
