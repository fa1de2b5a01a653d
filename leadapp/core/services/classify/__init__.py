"""The Lead Classifier: structure a consumer's free-text request and score its quality.

Two classifiers produce the same `Classification`:

- Claude (when `ANTHROPIC_API_KEY` is set): `claude.py` holds its prompt, `providers.llm` the SDK call;
- `classify_local` (`local.py`), a deterministic keyword/regex classifier that needs nothing outside this
  process, built on the phrase tables of `categories.py` and the signals of `signals.py`; the signals (budget,
  urgency, requirements, sentiment, cheapness) are read with the words of the request's language
  (`english_words.py`, `spanish_words.py`: the same names in each), so a Spanish request gets the fields of its
  English equivalent.

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

Language ("en" or "es"): Claude's when it says, else the local detection's (`language.detect_language`).
"""

from __future__ import annotations

from leadapp.core.providers import llm
from leadapp.core.services.classify.categories import category_keywords
from leadapp.core.services.classify.claude import claude_classify
from leadapp.core.services.classify.language import detect_language
from leadapp.core.services.classify.local import classify_local, enforce_platform_rules
from leadapp.core.services.classify.model import (
    ALL_CAPS_MIN_LETTERS,
    ALL_CAPS_RATIO,
    BASE_QUALITY,
    EMERGENCY_CATEGORIES,
    MAX_BUDGET,
    MIN_PLAUSIBLE_BUDGET,
    Classification,
    Sentiment,
    min_words,
    quality_rules,
    word_count,
)
from leadapp.core.services.classify.signals import (
    budget_range,
    is_all_caps,
    phone_is_blocked,
    spam_signals,
    stated_urgency,
)
from leadapp.core.services.rules import RulesSnapshot

__all__ = [
    "ALL_CAPS_MIN_LETTERS",
    "ALL_CAPS_RATIO",
    "BASE_QUALITY",
    "EMERGENCY_CATEGORIES",
    "MAX_BUDGET",
    "MIN_PLAUSIBLE_BUDGET",
    "Classification",
    "Sentiment",
    "budget_range",
    "category_keywords",
    "classify",
    "classify_local",
    "claude_classify",
    "detect_language",
    "enforce_platform_rules",
    "is_all_caps",
    "min_words",
    "phone_is_blocked",
    "quality_rules",
    "spam_signals",
    "stated_urgency",
    "word_count",
]


def classify(
    text: str, *, zip_code: str = "", phone_e164: str = "", email: str = "", rules: RulesSnapshot
) -> tuple[Classification, str]:
    """Classify a request with Claude when keyed, else locally; never raises for a provider failure.

    Returns (classification, classifier name): "claude" when Claude answered (after at most one retry),
    "local-fallback" when Claude was configured but failed, "local" without ANTHROPIC_API_KEY. The
    consumer's phone and email never leave this process: Claude is told only whether they were given.
    The platform's mechanical rules (`enforce_platform_rules`) hold for every result.
    """
    contact = {"phone_e164": phone_e164, "email": email}

    def claude() -> Classification:
        answer = claude_classify(
            text, zip_code=zip_code, phone_present=bool(phone_e164), email_present=bool(email), rules=rules
        )
        return enforce_platform_rules(answer, text, zip_code=zip_code, rules=rules, **contact)

    def local() -> Classification:
        return classify_local(text, zip_code=zip_code, rules=rules, **contact)

    return llm.with_fallback("classify", claude, local, rules_version=rules.version)
