"""Platform rules ("memory"): versioned, admin-editable settings read by the classifier and the matcher.

The newest saved version is in force: the pipeline reads `current_rules(session)` for every lead, so a
saved version applies to the very next lead. Version 0 (never stored) is DEFAULT_RULES. Every stored
version passed `validate_rules`; saving and rolling back are admin-only and audited (`rules.edit`,
`rules.rollback`) with the whole rules before and after. `diff` describes what changed between two
versions in plain words, for the history list.
"""

from __future__ import annotations

import calendar
import copy
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from leadapp.core.errors import FieldErrors, NotFound, UserError
from leadapp.core.models import PlatformRules, User
from leadapp.core.services import access, audit
from leadapp.core.vocab import CATEGORY_LABELS, Category

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


# --- validation ----------------------------------------------------------------------------------

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


def _keywords(raw: Any, errors: dict[str, str]) -> list[str]:
    if not isinstance(raw, list | tuple):
        errors["spam_keywords"] = "Spam keywords must be a list."
        return []
    cleaned: list[str] = []
    for item in raw:
        keyword = " ".join(str(item).split()).lower()
        if not keyword:
            continue
        if not any(ch.isalnum() for ch in keyword):
            errors["spam_keywords"] = f"'{keyword}' has no letter or digit."
            return []
        if len(keyword) > KEYWORD_MAX_CHARS:
            errors["spam_keywords"] = f"'{keyword[:30]}…' is longer than {KEYWORD_MAX_CHARS} characters."
            return []
        if keyword not in cleaned:
            cleaned.append(keyword)
    if len(cleaned) > MAX_KEYWORDS:
        errors["spam_keywords"] = f"At most {MAX_KEYWORDS} spam keywords."
    return cleaned


def _patterns(raw: Any, errors: dict[str, str]) -> list[str]:
    if not isinstance(raw, list | tuple):
        errors["blocked_phone_patterns"] = "Blocked phone patterns must be a list."
        return []
    cleaned: list[str] = []
    for item in raw:
        pattern = str(item).strip()
        if not pattern:
            continue
        if len(pattern) > PATTERN_MAX_CHARS:
            errors["blocked_phone_patterns"] = f"'{pattern[:30]}…' is longer than {PATTERN_MAX_CHARS} characters."
            return []
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            errors["blocked_phone_patterns"] = f"'{pattern}' is not a valid regular expression: {exc}."
            return []
        if compiled.search("") or all(compiled.search(number) for number in _ORDINARY_NUMBERS):
            errors["blocked_phone_patterns"] = f"'{pattern}' would block every phone number."
            return []
        if pattern not in cleaned:
            cleaned.append(pattern)
    if len(cleaned) > MAX_PATTERNS:
        errors["blocked_phone_patterns"] = f"At most {MAX_PATTERNS} blocked phone patterns."
    return cleaned


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
    rating is a number 1-5 and its weight a whole number 0-100.
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


def _in_form_order(errors: dict[str, str]) -> dict[str, str]:
    order = {name: i for i, name in enumerate(FORM_FIELDS)}
    return dict(sorted(errors.items(), key=lambda item: order.get(item[0], len(order))))


# --- the admin form ------------------------------------------------------------------------------


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
    try:
        cleaned = validate_rules(rules)
    except FieldErrors as exc:
        errors = {**exc.errors, **errors}
    if errors:
        raise FieldErrors(_in_form_order(errors))
    return cleaned


# --- saving, history, rollback -------------------------------------------------------------------


def save_rules(
    session: Session, actor: User | None, rules: dict[str, Any], note: str = "", rolled_back_from: int | None = None
) -> PlatformRules:
    """Store `rules` (missing keys from the defaults) as the next version; admins only, audited.

    Raises NotAllowed/NotLoggedIn for anyone but an active admin and FieldErrors for invalid rules
    (nothing is stored then). The audit event (`rules.edit`, or `rules.rollback` when
    `rolled_back_from` is given, 0 included) holds the version and rules before and after. Flushes,
    does not commit: the new version is in force once the caller commits.
    """
    access.require_admin(actor)
    cleaned = validate_rules(merged_with_defaults(rules))
    previous = current_rules(session)
    row = PlatformRules(
        version=previous.version + 1,
        rules=cleaned,
        note=note.strip()[:500],
        rolled_back_from=rolled_back_from,
        created_by_id=actor.id if actor else None,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor_id=actor.id if actor else None,
        action="rules.rollback" if rolled_back_from is not None else "rules.edit",
        target=row,
        before={"version": previous.version, "rules": previous.rules},
        after={"version": row.version, "rules": row.rules, "note": row.note},
    )
    return row


def rules_of_version(session: Session, version: int) -> dict[str, Any]:
    """The complete rules of a stored version (0: the defaults); NotFound for a version never saved."""
    if version == 0:
        return copy.deepcopy(DEFAULT_RULES)
    row = session.exec(select(PlatformRules).where(PlatformRules.version == version)).first()
    if row is None:
        raise NotFound(f"There is no rules version {version}.")
    return merged_with_defaults(row.rules)


def rollback(session: Session, actor: User | None, version: int) -> PlatformRules:
    """Put an earlier version back in force by saving a NEW version equal to it (history is never rewritten).

    Admins only; audited as `rules.rollback` with `rolled_back_from` = `version` (0 restores the
    defaults). Raises NotFound for an unknown version and UserError when that version's rules are
    already the ones in force.
    """
    access.require_admin(actor)
    target = rules_of_version(session, version)
    if validate_rules(target) == current_rules(session).rules:
        raise UserError(f"Version {version} is the same as the rules in force; nothing to roll back.")
    return save_rules(session, actor, target, note=f"Rolled back to version {version}", rolled_back_from=version)


@dataclass(frozen=True)
class RulesVersionInfo:
    """One entry of the rules history, with what changed since the version before it."""

    version: int
    author: str
    created_at: datetime | None
    note: str
    rolled_back_from: int | None
    changes: list[str]
    current: bool


@dataclass(frozen=True)
class RulesHistory:
    entries: list[RulesVersionInfo]
    total: int  # every version, the defaults (version 0) included


def rules_history(session: Session, actor: User | None, *, offset: int = 0, limit: int = 20) -> RulesHistory:
    """Versions newest first (`limit` from `offset`), each with its author, note and `diff` to the one before.

    Admins only. The last entry of the full history is version 0, the built-in defaults.
    """
    access.require_admin(actor)
    limit = max(1, min(limit, 100))
    offset = max(0, offset)
    stored = session.exec(select(func.count()).select_from(PlatformRules)).one()
    newest = session.exec(select(func.max(PlatformRules.version))).one() or 0
    # One more row than shown: the oldest shown version is compared with the one before it.
    rows = session.exec(
        select(PlatformRules, User.email)
        .join(User, col(User.id) == col(PlatformRules.created_by_id), isouter=True)
        .order_by(col(PlatformRules.version).desc())
        .offset(offset)
        .limit(limit + 1)
    ).all()
    entries: list[RulesVersionInfo] = []
    for index, (row, email) in enumerate(rows[:limit]):
        before = merged_with_defaults(rows[index + 1][0].rules) if index + 1 < len(rows) else None
        if before is None:
            before = rules_of_version(session, row.version - 1) if row.version > 1 else copy.deepcopy(DEFAULT_RULES)
        entries.append(
            RulesVersionInfo(
                version=row.version,
                author=email or "(deleted user)",
                created_at=row.created_at,
                note=row.note,
                rolled_back_from=row.rolled_back_from,
                changes=diff(before, merged_with_defaults(row.rules)),
                current=row.version == newest,
            )
        )
    if len(entries) < limit and offset + len(entries) == stored:
        entries.append(
            RulesVersionInfo(
                version=0,
                author="LeadApp",
                created_at=None,
                note="Built-in defaults",
                rolled_back_from=None,
                changes=[],
                current=stored == 0,
            )
        )
    return RulesHistory(entries=entries, total=stored + 1)


# --- diff ----------------------------------------------------------------------------------------

_TOP_LABELS = {
    "spam_keywords": "Spam keywords",
    "blocked_phone_patterns": "Blocked phone patterns",
    "min_words": "Minimum words",
}
_MATCHING_LABELS = {
    "min_score": "Minimum match score",
    "max_matches": "Maximum matches per lead",
    "max_radius_miles": "Largest service radius (miles)",
}
_ORDER = ("spam_keywords", "blocked_phone_patterns", "min_words", "quality", "seasonal_boosts", "matching")


def _label(path: tuple[str, ...]) -> str:
    head = path[0]
    if len(path) == 1:
        return _TOP_LABELS.get(head, head.replace("_", " ").capitalize())
    if head == "quality" and len(path) == 2:
        return QUALITY_LABELS.get(path[1], f"Quality {path[1]}")
    if head == "seasonal_boosts" and len(path) == 3:
        month = _number(path[1], (1, 12), whole=True)
        month_name = calendar.month_name[int(month)] if month else path[1]
        category = next((label for c, label in CATEGORY_LABELS.items() if c.value == path[2]), path[2])
        return f"Seasonal boost, {month_name}, {category}"
    if head == "matching" and len(path) == 3 and path[1] == "weights":
        return f"Matching weight: {WEIGHT_LABELS.get(path[2], path[2])}"
    if head == "matching" and len(path) == 2:
        return _MATCHING_LABELS.get(path[1], f"Matching {path[1]}")
    if head == "reviews" and len(path) == 2:
        return {"prior_rating": "Review prior rating", "prior_weight": "Review prior weight"}.get(path[1], path[1])
    return ".".join(path)


def _flatten(value: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    if isinstance(value, Mapping) and value:
        flat: dict[tuple[str, ...], Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, (*path, str(key))))
        return flat
    return {path: value} if path else {}


# Within a section: the order the form shows (thresholds first, weights before min score and max matches).
_PART_ORDER = {
    **{name: i for i, name in enumerate(QUALITY_LABELS)},
    "weights": 0,
    "min_score": 1,
    "max_matches": 2,
    "max_radius_miles": 3,
    **{name: i for i, name in enumerate(WEIGHT_NAMES)},
}


def _sort_key(path: tuple[str, ...]) -> tuple[Any, ...]:
    rank = _ORDER.index(path[0]) if path[0] in _ORDER else len(_ORDER)
    rest = tuple((int(p), "") if p.isdigit() else (_PART_ORDER.get(p, 99), p) for p in path[1:])
    return (rank, path[0], rest)


def _shown(value: Any) -> str:
    if value is None or value == {}:
        return "none"
    if isinstance(value, list):
        return ", ".join(f"'{item}'" for item in value) or "none"
    return _plain(value)


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What changed from `old` to `new`, one plain sentence per setting, in the form's order.

    Lists (keywords, patterns) are compared as sets: "Spam keywords: added 'x', 'y'; removed 'z'".
    Other settings read "<label>: <old> → <new>", with "none" for a missing value (a seasonal boost
    added or removed). Equal numbers (3 and 3.0) are no change. Identical rules give [].
    """
    before, after = _flatten(old), _flatten(new)
    lines: list[str] = []
    for path in sorted(set(before) | set(after), key=_sort_key):
        was, now = before.get(path), after.get(path)
        if isinstance(was, list) or isinstance(now, list):
            was_list, now_list = list(was or []), list(now or [])
            added = [item for item in now_list if item not in was_list]
            removed = [item for item in was_list if item not in now_list]
            parts = []
            if added:
                parts.append("added " + _shown(added))
            if removed:
                parts.append("removed " + _shown(removed))
            if parts:
                lines.append(f"{_label(path)}: {'; '.join(parts)}")
        elif was != now:
            lines.append(f"{_label(path)}: {_shown(was)} → {_shown(now)}")
    return lines
