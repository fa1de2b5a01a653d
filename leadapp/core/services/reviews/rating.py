"""The verified rating (pure: no database): a Bayesian average of visible verified reviews with the rules' prior.

    rating = (prior_weight × prior_rating + Σ stars) / (prior_weight + count)

With no reviews it is the prior; each review pulls it towards the reviews' own mean, so a few reviews move it a
little and many move it a lot. Matching and every page that shows a rating use this one function.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from leadapp.core import languages
from leadapp.core.services.rules import DEFAULT_RULES, RulesSnapshot


def prior(rules: RulesSnapshot | Mapping[str, Any] | None) -> tuple[float, float]:
    """(prior_rating, prior_weight) from the rules (the defaults for a missing or unreadable value)."""
    given = rules.get("reviews") if rules is not None else None
    given = given if isinstance(given, Mapping) else {}
    defaults = DEFAULT_RULES["reviews"]

    def number(name: str) -> float:
        try:
            value = float(given.get(name, defaults[name]))
        except (TypeError, ValueError):
            return float(defaults[name])
        return value if math.isfinite(value) and value >= 0 else float(defaults[name])

    return number("prior_rating"), number("prior_weight")


def verified_rating(count: int, stars_total: int, rules: RulesSnapshot | Mapping[str, Any] | None) -> float:
    """The Bayesian average of `count` visible reviews whose stars add up to `stars_total`."""
    prior_rating, prior_weight = prior(rules)
    count, stars_total = max(0, int(count)), max(0, int(stars_total))
    if prior_weight + count <= 0:
        return prior_rating
    return (prior_weight * prior_rating + stars_total) / (prior_weight + count)


def rating_label(
    count: int, stars_total: int, rules: RulesSnapshot | Mapping[str, Any] | None, language: str | None = None
) -> str:
    """ "★ 4.6 (12 verified reviews)" or "No verified reviews yet"; in `language` (English by default)."""
    w = languages.phrases(language)
    if count <= 0:
        return w.NO_REVIEWS
    rating = verified_rating(count, stars_total, rules)
    return (w.RATED_ONE if count == 1 else w.RATED_MANY).format(rating=f"{rating:.1f}", count=count)
