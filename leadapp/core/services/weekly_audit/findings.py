"""What the figures raise: flags, proposed rule changes, and accepting one as a new rules version."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session, select

from leadapp.core import crypto, labels
from leadapp.core.errors import NotFound, UserError
from leadapp.core.models import AuditReport, Lead, PlatformRules, User, utcnow
from leadapp.core.services import access, audit
from leadapp.core.services.rules import RulesSnapshot, current_rules, save_rules

SPAM_RATE_CRITICAL = 0.10
LOW_QUALITY_RATE_HIGH = 0.30


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f} %"


def _flag(severity: str, code: str, value: float, threshold: float, message: str) -> dict[str, Any]:
    """One flag as the report stores it."""
    return {"severity": severity, "code": code, "value": value, "threshold": threshold, "message": message}


def flags(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The flags the figures raise: spam rate > 10 % (critical), low-quality rate > 30 % (high)."""
    raised = []
    spam_rate = figures["spam"]["rate"]
    if spam_rate is not None and spam_rate > SPAM_RATE_CRITICAL:
        message = (
            f"Spam rate {_percent(spam_rate)} is above {_percent(SPAM_RATE_CRITICAL)} "
            f"({figures['spam']['count']} of {figures['leads']['classified']} classified leads)."
        )
        raised.append(_flag("critical", "spam_rate", spam_rate, SPAM_RATE_CRITICAL, message))
    low_rate = figures["quality"]["low_quality_rate"]
    if low_rate is not None and low_rate > LOW_QUALITY_RATE_HIGH:
        message = (
            f"Low-quality rate {_percent(low_rate)} is above {_percent(LOW_QUALITY_RATE_HIGH)} "
            f"({figures['quality']['low_quality']} of {figures['leads']['classified']} classified leads "
            f"scored below {figures['quality']['low_quality_below']:g})."
        )
        raised.append(_flag("high", "low_quality_rate", low_rate, LOW_QUALITY_RATE_HIGH, message))
    return raised


def _proposal(kind: str, summary: str, reason: str, change: dict[str, Any]) -> dict[str, Any]:
    """One proposed rule change as the report stores it (`accept_recommendation` marks it accepted)."""
    return {"kind": kind, "summary": summary, "reason": reason, "change": change, "status": "proposed"}


def recommendations(figures: dict[str, Any], rules: RulesSnapshot) -> list[dict[str, Any]]:
    """Proposed rule changes, each {"kind", "summary", "reason", "change", "status": "proposed"}.

    - A repeated text that the rules do not already catch every time (some of its leads are not spam)
      and that has distinctive words: add those words as spam keywords
      (change {"op": "add_spam_keywords", "keywords": [...]}).
    - A repeated number not blocked yet: block exactly that number
      (change {"op": "block_phone", "phone_hash": ..., "number": masked}; the number is looked up when
      the change is accepted, so the report holds no phone number in clear).
    Nothing here changes the rules: `accept_recommendation` does, when an admin accepts one.
    """
    keywords = {str(k).lower() for k in rules.get("spam_keywords") or []}
    proposed: list[dict[str, Any]] = []
    for repeated in figures["patterns"]["repeated_texts"]:
        words = [w for w in repeated["distinctive_words"] if w not in keywords]
        if not words or repeated["spam"] == repeated["count"]:
            continue
        keywords.update(words)
        quoted = ", ".join(f"'{w}'" for w in words)
        reason = (
            f"The same text was submitted {repeated['count']} times "
            f'({repeated["count"] - repeated["spam"]} not caught as spam): "{repeated["text"][:80]}".'
        )
        change = {"op": "add_spam_keywords", "keywords": words}
        proposed.append(_proposal("spam_keywords", f"Add {quoted} to the spam keywords", reason, change))
    for number in figures["patterns"]["repeated_numbers"]:
        if number["blocked"] or number["number"] == "(unreadable)":
            continue
        reason = f"{labels.count(number['count'], 'lead')} came from this number ({number['spam']} already spam)."
        change = {"op": "block_phone", "phone_hash": number["hash"], "number": number["number"]}
        proposed.append(_proposal("blocked_phone", f"Block the phone number {number['number']}", reason, change))
    return proposed


def _phone_for_hash(session: Session, phone_hash: str) -> str:
    encrypted = session.exec(
        select(Lead.contact_phone_enc).where(Lead.contact_phone_hash == phone_hash, Lead.contact_phone_enc != "")
    ).first()
    return crypto.decrypt_phone(encrypted or "")


def apply_change(session: Session, rules: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """`rules` with one proposed change applied (a new dict); UserError if it cannot be applied."""
    updated = {**rules}
    if change.get("op") == "add_spam_keywords":
        existing = [str(k) for k in rules.get("spam_keywords") or []]
        updated["spam_keywords"] = existing + [k for k in change.get("keywords", []) if k not in existing]
    elif change.get("op") == "block_phone":
        phone = _phone_for_hash(session, str(change.get("phone_hash", "")))
        if not phone:
            raise UserError("The leads from this number are gone or unreadable; block it on the rules page instead.")
        pattern = f"^{re.escape(phone)}$"
        existing = [str(p) for p in rules.get("blocked_phone_patterns") or []]
        updated["blocked_phone_patterns"] = existing + ([pattern] if pattern not in existing else [])
    else:
        raise UserError("This recommendation cannot be applied automatically.")
    return updated


def accept_recommendation(session: Session, actor: User | None, report_id: int, index: int) -> PlatformRules:
    """Apply recommendation `index` of report `report_id` as a new rules version; admins only, audited.

    Raises NotFound (no such report or recommendation) and UserError (already accepted, or the rules in
    force already contain the change). The recommendation is marked accepted with the new version, the
    admin and the time; the audit trail gets `rules.edit` (from `save_rules`) and `audit_report.accept`.
    """
    access.require_admin(actor)
    assert actor is not None
    report = session.get(AuditReport, report_id)
    if report is None:
        raise NotFound("No such audit report.")
    items = [dict(item) for item in report.recommendations]
    if not 0 <= index < len(items):
        raise NotFound("No such recommendation in this report.")
    item = items[index]
    if item.get("status") == "accepted":
        raise UserError(f"Already accepted (rules version {item.get('accepted_version')}).")
    rules = current_rules(session)
    updated = apply_change(session, rules.rules, item.get("change") or {})
    if updated == rules.rules:
        raise UserError("The rules in force already contain this change.")
    row = save_rules(session, actor, updated, note=f"Weekly audit #{report_id}: {item.get('summary', '')}")
    item.update(
        status="accepted", accepted_version=row.version, accepted_by_id=actor.id, accepted_at=utcnow().isoformat()
    )
    items[index] = item
    report.recommendations = items
    flag_modified(report, "recommendations")
    session.add(report)
    audit.record(
        session,
        actor_id=actor.id,
        action="audit_report.accept",
        target=report,
        before={"index": index, "status": "proposed"},
        after={"index": index, "status": "accepted", "rules_version": row.version, "change": item.get("change")},
    )
    session.flush()
    return row
