"""The rules in force: the defaults (version 0), a snapshot of one version, and the newest stored version."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, true
from sqlmodel import Session, select

from leadapp.core.models import PlatformRules

DEFAULT_RULES: dict[str, Any] = {
    "spam_keywords": [
        "test",
        "asdf",
        "lorem ipsum",
        "crypto",
        "bitcoin",
        "casino",
        "viagra",
        "loan offer",
        "click here",
        "seo services",
        "work from home",
    ],
    # Regular expressions matched against the E.164 number.
    "blocked_phone_patterns": [r"^\+1\d{3}555\d{4}$", r"^\+1(\d)\1{9}$", r"^\+11234567890$"],
    "min_words": 10,
    "quality": {
        "flag_below": 3,
        "low_quality_below": 5,
        "short_text_cap": 4,
        "completeness": 2,
        "specificity_max": 2,
        "urgency_fit": 1,
        "realistic_budget": 1,
        "cheap_penalty": 2,
        "spam_penalty": 5,
        "contact_given": 1,
    },
    # Month numbers (1-12) -> {category: bonus points on the match score}.
    "seasonal_boosts": {
        "6": {"hvac": 3, "pool_spa": 3},
        "7": {"hvac": 3, "pool_spa": 3},
        "8": {"hvac": 3},
        "12": {"hvac": 2, "plumbing": 2},
        "1": {"hvac": 2, "plumbing": 2},
    },
    "matching": {
        "weights": {
            "distance": 30,
            "category": 20,
            "related_category": 12,
            "rating": 15,
            "response_rate": 15,
            "price": 10,
            "urgency": 5,
            "requirements": 5,
        },
        "min_score": 50,
        "max_matches": 10,
        "max_radius_miles": 100,
    },
    # broadcast: every match offered at once; waterfall: the best `wave_size` (weighted by how fast each
    # answers) first, `wave_size` more every `wave_minutes` while nobody accepts, up to max_matches.
    "routing": {"mode": "broadcast", "wave_size": 3, "wave_minutes": 10},
    # The verified rating matching uses: (prior_weight × prior_rating + Σ stars) / (prior_weight + count), so a
    # business with few reviews sits near the prior and many reviews outweigh it.
    "reviews": {"prior_rating": 4.0, "prior_weight": 5},
    # AI calls the worker schedules by itself (each within the consumer's calling hours, with the consent and
    # every rule a call the owner asks for obeys): the day before an accepted quote's visit, and
    # `follow_up_days` after a job is marked converted.
    "auto_calls": {"confirm_appointment": False, "follow_up": False, "follow_up_days": 7},
}


@dataclass(frozen=True)
class RulesSnapshot:
    version: int
    rules: dict[str, Any]

    def get(self, key: str) -> Any:
        return self.rules.get(key, DEFAULT_RULES.get(key))


def merged_with_defaults(rules: dict[str, Any]) -> dict[str, Any]:
    """Rules with every missing key (also inside nested dicts) taken from DEFAULT_RULES."""
    merged = copy.deepcopy(DEFAULT_RULES)
    for key, value in rules.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key != "seasonal_boosts":
            merged[key] = {**merged[key], **value}
            if key == "matching" and isinstance(value.get("weights"), dict):
                merged[key]["weights"] = {**DEFAULT_RULES["matching"]["weights"], **value["weights"]}
        else:
            merged[key] = copy.deepcopy(value)
    return merged


_merged: dict[tuple[str, int, int, Any], dict[str, Any]] = {}
"""Merged rules per stored version row, this process's copy: (database, row id, version, saved at) → rules. A
stored version is never changed (saving or rolling back adds a version), so it is read and merged once."""
_MERGED_KEEP = 8
_rules_table = PlatformRules.__table__  # type: ignore[attr-defined]
_NEWEST = (
    select(_rules_table.c.id, _rules_table.c.version, _rules_table.c.created_at)
    .order_by(_rules_table.c.version.desc())
    .limit(1)
)
"""Which version is newest: one statement built once (it is asked for every lead, in the web and in the worker)."""


_newest = _NEWEST.subquery("newest_rules")


def with_newest_rules(statement: Select[Any]) -> Select[Any]:
    """`statement` (one row, or none) with the newest stored version's id, version and saved-at time as its last three
    columns (NULLs when none is stored): a caller reads its row and which rules are in force in one statement, and
    passes those three to `rules_in_force`."""
    return statement.add_columns(*_newest.c).outerjoin(_newest, true())


def current_rules(session: Session) -> RulesSnapshot:
    """The rules in force: the newest stored version, or the defaults (version 0).

    Asked of the database every time (a saved version applies to the very next lead), but only which version
    is newest: the rules themselves are read once per version and process. Each caller gets its own copy."""
    return rules_in_force(session, session.connection().execute(_NEWEST).first())


def rules_in_force(session: Session, newest: Sequence[Any] | None) -> RulesSnapshot:
    """`current_rules` for the newest version's (id, version, saved at) already read (`with_newest_rules`)."""
    if newest is None or newest[0] is None:
        return RulesSnapshot(0, _copied(DEFAULT_RULES))
    key = (str(session.get_bind().url), int(newest[0]), int(newest[1]), newest[2])
    merged = _merged.get(key)
    if merged is None:
        rules = session.exec(select(PlatformRules.rules).where(PlatformRules.id == newest[0])).one()
        merged = merged_with_defaults(rules or {})
        if len(_merged) >= _MERGED_KEEP:
            _merged.clear()
        _merged[key] = merged
    return RulesSnapshot(int(newest[1]), _copied(merged))


def _copied(value: Any) -> Any:
    """A copy of rules as JSON holds them (dicts, lists, and immutable scalars inside): what `copy.deepcopy` gives,
    at a fraction of its cost (it is made for every lead, in the web and in the worker)."""
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copied(v) for v in value]
    if value is None or isinstance(value, str | int | float):
        return value
    return copy.deepcopy(value)
