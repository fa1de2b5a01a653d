"""Platform rules ("memory"): versioned, admin-editable settings read by the classifier and the matcher.

The newest saved version is in force. Version 0 (never stored) is DEFAULT_RULES.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from leadapp.core.errors import UserError
from leadapp.core.models import PlatformRules, User
from leadapp.core.services import access, audit

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
    },
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


def current_rules(session: Session) -> RulesSnapshot:
    """The rules in force: the newest stored version, or the defaults (version 0)."""
    row = session.exec(select(PlatformRules).order_by(PlatformRules.version.desc()).limit(1)).first()  # type: ignore[attr-defined]
    if row is None:
        return RulesSnapshot(0, copy.deepcopy(DEFAULT_RULES))
    return RulesSnapshot(row.version, merged_with_defaults(row.rules))


def save_rules(
    session: Session, actor: User | None, rules: dict[str, Any], note: str = "", rolled_back_from: int | None = None
) -> PlatformRules:
    """Store `rules` as the next version (admins only), audited with the before/after."""
    access.require_admin(actor)
    if not isinstance(rules.get("min_words", 10), int) or not 1 <= int(rules.get("min_words", 10)) <= 100:
        raise UserError("Minimum words must be a whole number from 1 to 100.", field="min_words")
    previous = current_rules(session)
    row = PlatformRules(
        version=previous.version + 1,
        rules=merged_with_defaults(rules),
        note=note[:500],
        rolled_back_from=rolled_back_from,
        created_by_id=actor.id if actor else None,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor_id=actor.id if actor else None,
        action="rules.rollback" if rolled_back_from else "rules.edit",
        target=row,
        before={"version": previous.version, "rules": previous.rules},
        after={"version": row.version, "rules": row.rules},
    )
    return row
