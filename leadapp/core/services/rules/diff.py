"""What changed between two versions, in plain words, for the history list."""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from typing import Any

from leadapp.core.services.rules.form import _plain
from leadapp.core.services.rules.validation import QUALITY_LABELS, WEIGHT_LABELS, WEIGHT_NAMES, _number
from leadapp.core.vocab import CATEGORY_LABELS

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
_AUTO_CALL_LABELS = {
    "confirm_appointment": "Automatic visit confirmation calls",
    "follow_up": "Automatic follow-up calls",
    "follow_up_days": "Follow-up call after (days)",
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
    if head == "auto_calls" and len(path) == 2:
        return _AUTO_CALL_LABELS.get(path[1], path[1])
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
    if isinstance(value, bool):
        return "on" if value else "off"
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
