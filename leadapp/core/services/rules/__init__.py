"""Platform rules ("memory"): versioned, admin-editable settings read by the classifier and the matcher.

The newest saved version is in force: the pipeline reads `current_rules(session)` for every lead, so a
saved version applies to the very next lead. Version 0 (never stored) is DEFAULT_RULES. Every stored
version passed `validate_rules`; saving and rolling back are admin-only and audited (`rules.edit`,
`rules.rollback`) with the whole rules before and after. `diff` describes what changed between two
versions in plain words, for the history list.
"""

from __future__ import annotations

from leadapp.core.services.rules.defaults import (
    DEFAULT_RULES,
    RulesSnapshot,
    current_rules,
    merged_with_defaults,
    rules_in_force,
    with_newest_rules,
)
from leadapp.core.services.rules.diff import diff
from leadapp.core.services.rules.form import boosts_to_lines, parse_boost_lines, rules_from_form, rules_to_form
from leadapp.core.services.rules.history import (
    RulesHistory,
    RulesVersionInfo,
    rollback,
    rules_history,
    rules_of_version,
    save_rules,
)
from leadapp.core.services.rules.validation import (
    FORM_FIELDS,
    QUALITY_LABELS,
    ROUTING_MODES,
    WEIGHT_LABELS,
    WEIGHT_NAMES,
    WEIGHT_RANGE,
    validate_rules,
)

__all__ = [
    "DEFAULT_RULES",
    "FORM_FIELDS",
    "QUALITY_LABELS",
    "ROUTING_MODES",
    "WEIGHT_LABELS",
    "WEIGHT_NAMES",
    "WEIGHT_RANGE",
    "RulesHistory",
    "RulesSnapshot",
    "RulesVersionInfo",
    "boosts_to_lines",
    "current_rules",
    "diff",
    "merged_with_defaults",
    "parse_boost_lines",
    "rollback",
    "rules_from_form",
    "rules_history",
    "rules_in_force",
    "rules_of_version",
    "rules_to_form",
    "save_rules",
    "validate_rules",
    "with_newest_rules",
]
