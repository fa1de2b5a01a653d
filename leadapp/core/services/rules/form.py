"""The admin form's text fields to and from rules."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from leadapp.core.errors import FieldErrors
from leadapp.core.services.rules.defaults import DEFAULT_RULES, merged_with_defaults
from leadapp.core.services.rules.validation import _MONTHS, WEIGHT_NAMES, _in_form_order, _number, validate_rules
from leadapp.core.vocab import Category


def _plain(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


def boosts_to_lines(boosts: Mapping[str, Mapping[str, Any]]) -> str:
    """Seasonal boosts as the form shows them: one "month:category:points" line each, by month."""
    lines = []
    for month in sorted(boosts, key=lambda m: int(m)):
        for category, points in sorted(boosts[month].items()):
            lines.append(f"{int(month)}:{category}:{_plain(points)}")
    return "\n".join(lines)


def rules_to_form(rules: Mapping[str, Any]) -> dict[str, str]:
    """The text every form field shows for these rules (lists one item a line)."""
    full = merged_with_defaults(dict(rules))
    values = {
        "spam_keywords": "\n".join(full["spam_keywords"]),
        "blocked_phone_patterns": "\n".join(full["blocked_phone_patterns"]),
        "min_words": _plain(full["min_words"]),
        "flag_below": _plain(full["quality"]["flag_below"]),
        "low_quality_below": _plain(full["quality"]["low_quality_below"]),
        "seasonal_boosts": boosts_to_lines(full["seasonal_boosts"]),
        "min_score": _plain(full["matching"]["min_score"]),
        "max_matches": _plain(full["matching"]["max_matches"]),
        "max_radius_miles": _plain(full["matching"]["max_radius_miles"]),
        "routing_mode": str(full["routing"]["mode"]),
        "wave_size": _plain(full["routing"]["wave_size"]),
        "wave_minutes": _plain(full["routing"]["wave_minutes"]),
        "review_prior_rating": _plain(full["reviews"]["prior_rating"]),
        "review_prior_weight": _plain(full["reviews"]["prior_weight"]),
        "auto_confirm_appointment": "on" if full["auto_calls"]["confirm_appointment"] else "off",
        "auto_follow_up": "on" if full["auto_calls"]["follow_up"] else "off",
        "follow_up_days": _plain(full["auto_calls"]["follow_up_days"]),
        "note": "",
    }
    values.update({f"weight_{name}": _plain(full["matching"]["weights"][name]) for name in WEIGHT_NAMES})
    return values


def parse_boost_lines(text: str) -> dict[str, dict[str, str]]:
    """A boosts table from "month:category:points" lines (month 1-12 or its name); FieldErrors if malformed.

    Points are left as text for `validate_rules` to check; a month × category given twice is an error.
    """
    table: dict[str, dict[str, str]] = {}
    categories = {c.value for c in Category}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split(":")]
        if len(parts) != 3 or not all(parts):
            raise FieldErrors({"seasonal_boosts": f"Line {number}: write month:category:points, e.g. 7:hvac:3."})
        month_text, category, points = parts[0].lower(), parts[1].lower().replace(" ", "_"), parts[2]
        month = _MONTHS.get(month_text) or _number(month_text, (1, 12), whole=True)
        if not month:
            raise FieldErrors({"seasonal_boosts": f"Line {number}: '{parts[0]}' is not a month (1 to 12)."})
        if category not in categories:
            raise FieldErrors(
                {"seasonal_boosts": f"Line {number}: unknown category '{parts[1]}' (e.g. hvac, plumbing, pool_spa)."}
            )
        if category in table.get(str(month), {}):
            raise FieldErrors({"seasonal_boosts": f"Line {number}: {month}:{category} is listed twice."})
        table.setdefault(str(month), {})[category] = points
    return table


def rules_from_form(form: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    """The rules an admin's form describes, on top of `base` (settings the form does not show are kept).

    Raises FieldErrors with a message per wrong field (see `validate_rules` and `parse_boost_lines`).
    """

    def text(name: str) -> str:
        return str(form.get(name, "") or "")

    rules = merged_with_defaults(copy.deepcopy(dict(base)))
    errors: dict[str, str] = {}
    rules["spam_keywords"] = text("spam_keywords").splitlines()
    rules["blocked_phone_patterns"] = text("blocked_phone_patterns").splitlines()
    rules["min_words"] = text("min_words")
    rules["quality"] = {
        **rules["quality"],
        "flag_below": text("flag_below"),
        "low_quality_below": text("low_quality_below"),
    }
    try:
        rules["seasonal_boosts"] = parse_boost_lines(text("seasonal_boosts"))
    except FieldErrors as exc:
        errors.update(exc.errors)
        rules["seasonal_boosts"] = {}
    rules["matching"] = {
        "weights": {name: text(f"weight_{name}") for name in WEIGHT_NAMES},
        "min_score": text("min_score"),
        "max_matches": text("max_matches"),
        "max_radius_miles": text("max_radius_miles") or DEFAULT_RULES["matching"]["max_radius_miles"],
    }
    rules["routing"] = {
        "mode": text("routing_mode") or rules["routing"]["mode"],
        "wave_size": text("wave_size") or rules["routing"]["wave_size"],
        "wave_minutes": text("wave_minutes") or rules["routing"]["wave_minutes"],
    }
    rules["reviews"] = {
        "prior_rating": text("review_prior_rating") or rules["reviews"]["prior_rating"],
        "prior_weight": text("review_prior_weight") or rules["reviews"]["prior_weight"],
    }
    rules["auto_calls"] = {
        "confirm_appointment": text("auto_confirm_appointment") or rules["auto_calls"]["confirm_appointment"],
        "follow_up": text("auto_follow_up") or rules["auto_calls"]["follow_up"],
        "follow_up_days": text("follow_up_days") or rules["auto_calls"]["follow_up_days"],
    }
    try:
        cleaned = validate_rules(rules)
    except FieldErrors as exc:
        errors = {**exc.errors, **errors}
    if errors:
        raise FieldErrors(_in_form_order(errors))
    return cleaned
