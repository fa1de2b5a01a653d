"""Saving a version, the history of versions and rolling back to one (admins only, audited)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from leadapp.core.errors import NotFound, UserError
from leadapp.core.models import PlatformRules, User
from leadapp.core.services import access, audit
from leadapp.core.services.rules.defaults import DEFAULT_RULES, current_rules, merged_with_defaults
from leadapp.core.services.rules.diff import diff
from leadapp.core.services.rules.validation import validate_rules


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
