"""Checking rules before they are stored: every field cleaned or named in a FieldErrors."""

from __future__ import annotations

import calendar
import copy
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from leadapp.core.errors import FieldErrors
from leadapp.core.services.rules.defaults import DEFAULT_RULES
from leadapp.core.vocab import Category

MAX_KEYWORDS = 200
KEYWORD_MAX_CHARS = 60
MAX_PATTERNS = 100
PATTERN_MAX_CHARS = 200
MIN_WORDS_RANGE = (1, 100)
THRESHOLD_RANGE = (0, 10)
BOOST_RANGE = (-20, 20)
WEIGHT_RANGE = (0, 50)
MIN_SCORE_RANGE = (0, 100)
MAX_MATCHES_RANGE = (1, 50)
MAX_RADIUS_RANGE = (1, 200)
ROUTING_MODES = ("broadcast", "waterfall")
WAVE_SIZE_RANGE = (1, 10)
WAVE_MINUTES_RANGE = (1, 1440)
PRIOR_RATING_RANGE = (1, 5)
PRIOR_WEIGHT_RANGE = (0, 100)
FOLLOW_UP_DAYS_RANGE = (1, 60)
SWITCHES = {"on": True, "off": False, True: True, False: False}
WEIGHT_NAMES: tuple[str, ...] = tuple(DEFAULT_RULES["matching"]["weights"])
WEIGHT_LABELS: dict[str, str] = {
    "distance": "Distance",
    "category": "Same category",
    "related_category": "Related category",
    "rating": "Rating",
    "response_rate": "Response rate",
    "price": "Price vs budget",
    "urgency": "Urgency fit",
    "requirements": "Requirements",
}
QUALITY_LABELS: dict[str, str] = {
    "flag_below": "Auto-flag below quality",
    "low_quality_below": "Low quality below",
    "short_text_cap": "Short-text quality cap",
    "completeness": "Quality points: completeness",
    "specificity_max": "Quality points: specificity (max)",
    "urgency_fit": "Quality points: urgency fit",
    "realistic_budget": "Quality points: realistic budget",
    "cheap_penalty": "Quality penalty: free/cheap",
    "spam_penalty": "Quality penalty: spam",
    "contact_given": "Quality points: contact given",
}
# A blocked pattern that matches every one of these ordinary numbers (or the empty string) would refuse
# ordinary callers wholesale: ".*", "\\d", "^\\+" and the like are refused.
_ORDINARY_NUMBERS = ("+13178462200", "+12129851234", "+14155238886", "+447911123456")
_MONTHS: dict[str, int] = {
    **{name.lower(): i for i, name in enumerate(calendar.month_name) if name},
    **{abbr.lower(): i for i, abbr in enumerate(calendar.month_abbr) if abbr},
}

# The form's fields, in the order the page shows them (errors are reported in this order too).
FORM_FIELDS: tuple[str, ...] = (
    "spam_keywords",
    "blocked_phone_patterns",
    "min_words",
    "flag_below",
    "low_quality_below",
    "seasonal_boosts",
    *(f"weight_{name}" for name in WEIGHT_NAMES),
    "min_score",
    "max_matches",
    "max_radius_miles",
    "routing_mode",
    "wave_size",
    "wave_minutes",
    "review_prior_rating",
    "review_prior_weight",
    "auto_confirm_appointment",
    "auto_follow_up",
    "follow_up_days",
    "note",
)


def _range_message(low: float, high: float, whole: bool) -> str:
    return f"Enter a {'whole number' if whole else 'number'} from {low:g} to {high:g}."


def _number(value: Any, bounds: tuple[float, float], *, whole: bool = False) -> int | float | None:
    """`value` (a number or a numeric string) as an int (when integral) or float within `bounds`; None if not."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            return None
    if not isinstance(value, int | float) or not math.isfinite(value):
        return None
    if whole and float(value) != int(value):
        return None
    if not bounds[0] <= value <= bounds[1]:
        return None
    return int(value) if float(value) == int(value) else round(float(value), 2)


def _distinct(
    raw: Any, errors: dict[str, str], field: str, noun: str, most: int, clean: Callable[[Any], str]
) -> list[str]:
    """The list in `raw`, each item `clean`ed (blank ones skipped, repeats once), at most `most` of them; else the
    first error (`clean`'s ValueError) under `field` and []."""
    if not isinstance(raw, list | tuple):
        errors[field] = f"{noun.capitalize()} must be a list."
        return []
    cleaned: list[str] = []
    for item in raw:
        try:
            value = clean(item)
        except ValueError as exc:
            errors[field] = str(exc)
            return []
        if value and value not in cleaned:
            cleaned.append(value)
    if len(cleaned) > most:
        errors[field] = f"At most {most} {noun}."
    return cleaned


def _keyword(item: Any) -> str:
    keyword = " ".join(str(item).split()).lower()
    if keyword and not any(ch.isalnum() for ch in keyword):
        raise ValueError(f"'{keyword}' has no letter or digit.")
    if len(keyword) > KEYWORD_MAX_CHARS:
        raise ValueError(f"'{keyword[:30]}…' is longer than {KEYWORD_MAX_CHARS} characters.")
    return keyword


def _pattern(item: Any) -> str:
    pattern = str(item).strip()
    if not pattern:
        return ""
    if len(pattern) > PATTERN_MAX_CHARS:
        raise ValueError(f"'{pattern[:30]}…' is longer than {PATTERN_MAX_CHARS} characters.")
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"'{pattern}' is not a valid regular expression: {exc}.") from exc
    if compiled.search("") or all(compiled.search(number) for number in _ORDINARY_NUMBERS):
        raise ValueError(f"'{pattern}' would block every phone number.")
    return pattern


def _keywords(raw: Any, errors: dict[str, str]) -> list[str]:
    return _distinct(raw, errors, "spam_keywords", "spam keywords", MAX_KEYWORDS, _keyword)


def _patterns(raw: Any, errors: dict[str, str]) -> list[str]:
    return _distinct(raw, errors, "blocked_phone_patterns", "blocked phone patterns", MAX_PATTERNS, _pattern)


def _boosts(raw: Any, errors: dict[str, str]) -> dict[str, dict[str, int | float]]:
    if not isinstance(raw, Mapping):
        errors["seasonal_boosts"] = "Seasonal boosts must be a table of month → category → points."
        return {}
    cleaned: dict[str, dict[str, int | float]] = {}
    categories = {c.value for c in Category}
    for month_key, per_category in raw.items():
        month = _number(month_key, (1, 12), whole=True)
        if month is None:
            errors["seasonal_boosts"] = f"'{month_key}' is not a month (1 to 12)."
            return {}
        if not isinstance(per_category, Mapping):
            errors["seasonal_boosts"] = f"Month {month}: expected category → points."
            return {}
        for category, points in per_category.items():
            if category not in categories:
                errors["seasonal_boosts"] = f"Month {month}: unknown category '{category}'."
                return {}
            value = _number(points, BOOST_RANGE)
            if value is None:
                errors["seasonal_boosts"] = (
                    f"{calendar.month_name[int(month)]} {category}: points must be a number "
                    f"from {BOOST_RANGE[0]} to {BOOST_RANGE[1]}."
                )
                return {}
            cleaned.setdefault(str(month), {})[str(category)] = value
    return {month: cleaned[month] for month in sorted(cleaned, key=int)}


def validate_rules(rules: Mapping[str, Any]) -> dict[str, Any]:
    """A cleaned copy of complete rules (see `merged_with_defaults`), or FieldErrors naming each bad field.

    Guarantees on the result: keywords are lowercased, single-spaced, unique and contain a letter or
    digit; every blocked phone pattern compiles and blocks neither every number nor the empty string;
    min_words is a whole number 1-100; every quality setting is a number 0-10 with flag_below ≤
    low_quality_below; seasonal boosts are keyed by month "1".."12" and known categories, points -20..20;
    each matching weight is 0-50 (at least one above 0), min_score 0-100, max_matches a whole number 1-50;
    routing is broadcast or waterfall, with waves of 1-10 businesses every 1-1440 minutes; the reviews' prior
    rating is a number 1-5 and its weight a whole number 0-100; automatic calls are each on or off, the follow-up
    after 1-60 days.
    Error keys are the form's field names (`FORM_FIELDS`; other quality settings as "quality_<name>").
    """
    errors: dict[str, str] = {}
    cleaned = copy.deepcopy(dict(rules))
    cleaned["spam_keywords"] = _keywords(rules.get("spam_keywords", []), errors)
    cleaned["blocked_phone_patterns"] = _patterns(rules.get("blocked_phone_patterns", []), errors)

    min_words = _number(rules.get("min_words"), MIN_WORDS_RANGE, whole=True)
    if min_words is None:
        errors["min_words"] = _range_message(*MIN_WORDS_RANGE, whole=True)
    cleaned["min_words"] = min_words

    quality_in = rules.get("quality") if isinstance(rules.get("quality"), Mapping) else {}
    quality: dict[str, Any] = {}
    for key in DEFAULT_RULES["quality"]:
        value = _number(quality_in.get(key, DEFAULT_RULES["quality"][key]), THRESHOLD_RANGE)
        field = key if key in ("flag_below", "low_quality_below") else f"quality_{key}"
        if value is None:
            errors[field] = _range_message(*THRESHOLD_RANGE, whole=False)
        quality[key] = value
    if (
        "flag_below" not in errors
        and "low_quality_below" not in errors
        and quality["flag_below"] > quality["low_quality_below"]
    ):
        errors["flag_below"] = "The auto-flag threshold cannot be above the low-quality threshold."
    cleaned["quality"] = quality

    cleaned["seasonal_boosts"] = _boosts(rules.get("seasonal_boosts", {}), errors)

    matching_in = rules.get("matching") if isinstance(rules.get("matching"), Mapping) else {}
    weights_in = matching_in.get("weights") if isinstance(matching_in.get("weights"), Mapping) else {}
    weights: dict[str, Any] = {}
    for name in WEIGHT_NAMES:
        value = _number(weights_in.get(name, DEFAULT_RULES["matching"]["weights"][name]), WEIGHT_RANGE)
        if value is None:
            errors[f"weight_{name}"] = _range_message(*WEIGHT_RANGE, whole=False)
        weights[name] = value
    if not any(f"weight_{name}" in errors for name in WEIGHT_NAMES) and not any(weights.values()):
        errors["weight_distance"] = "At least one matching weight must be above 0."
    min_score = _number(matching_in.get("min_score", DEFAULT_RULES["matching"]["min_score"]), MIN_SCORE_RANGE)
    if min_score is None:
        errors["min_score"] = _range_message(*MIN_SCORE_RANGE, whole=False)
    max_matches = _number(
        matching_in.get("max_matches", DEFAULT_RULES["matching"]["max_matches"]), MAX_MATCHES_RANGE, whole=True
    )
    if max_matches is None:
        errors["max_matches"] = _range_message(*MAX_MATCHES_RANGE, whole=True)
    max_radius = _number(
        matching_in.get("max_radius_miles", DEFAULT_RULES["matching"]["max_radius_miles"]), MAX_RADIUS_RANGE
    )
    if max_radius is None:
        errors["max_radius_miles"] = _range_message(*MAX_RADIUS_RANGE, whole=False)
    cleaned["matching"] = {
        "weights": weights,
        "min_score": min_score,
        "max_matches": max_matches,
        "max_radius_miles": max_radius,
    }
    cleaned["routing"] = _routing(rules.get("routing"), errors)
    cleaned["reviews"] = _reviews(rules.get("reviews"), errors)
    cleaned["auto_calls"] = _auto_calls(rules.get("auto_calls"), errors)

    if errors:
        raise FieldErrors(_in_form_order(errors))
    return cleaned


def _routing(value: Any, errors: dict[str, str]) -> dict[str, Any]:
    given = {**DEFAULT_RULES["routing"], **(value if isinstance(value, Mapping) else {})}
    if given["mode"] not in ROUTING_MODES:
        errors["routing_mode"] = "Choose broadcast or waterfall."
    size = _number(given["wave_size"], WAVE_SIZE_RANGE, whole=True)
    minutes = _number(given["wave_minutes"], WAVE_MINUTES_RANGE, whole=True)
    if size is None:
        errors["wave_size"] = _range_message(*WAVE_SIZE_RANGE, whole=True)
    if minutes is None:
        errors["wave_minutes"] = _range_message(*WAVE_MINUTES_RANGE, whole=True)
    return {"mode": given["mode"], "wave_size": size, "wave_minutes": minutes}


def _reviews(value: Any, errors: dict[str, str]) -> dict[str, Any]:
    given = {**DEFAULT_RULES["reviews"], **(value if isinstance(value, Mapping) else {})}
    prior = _number(given["prior_rating"], PRIOR_RATING_RANGE)
    weight = _number(given["prior_weight"], PRIOR_WEIGHT_RANGE, whole=True)
    if prior is None:
        errors["review_prior_rating"] = _range_message(*PRIOR_RATING_RANGE, whole=False)
    if weight is None:
        errors["review_prior_weight"] = _range_message(*PRIOR_WEIGHT_RANGE, whole=True)
    return {"prior_rating": prior, "prior_weight": weight}


def _auto_calls(value: Any, errors: dict[str, str]) -> dict[str, Any]:
    given = {**DEFAULT_RULES["auto_calls"], **(value if isinstance(value, Mapping) else {})}
    out: dict[str, Any] = {}
    for key in ("confirm_appointment", "follow_up"):
        switch = given[key]
        switch = switch.strip().lower() if isinstance(switch, str) else switch
        if isinstance(switch, bool | str) and switch in SWITCHES:
            out[key] = SWITCHES[switch]
        else:
            errors[f"auto_{key}"] = "Choose on or off."
            out[key] = False
    days = _number(given["follow_up_days"], FOLLOW_UP_DAYS_RANGE, whole=True)
    if days is None:
        errors["follow_up_days"] = _range_message(*FOLLOW_UP_DAYS_RANGE, whole=True)
    out["follow_up_days"] = days
    return out


def _in_form_order(errors: dict[str, str]) -> dict[str, str]:
    order = {name: i for i, name in enumerate(FORM_FIELDS)}
    return dict(sorted(errors.items(), key=lambda item: order.get(item[0], len(order))))
