"""The lead pipeline after intake: classify → score → match → compose → notify.

A lead from a call to a business's own number (`lead.business_id`) is matched to that business alone and
it is told at once; once that business releases it (`lead.released_at`), it is matched like any lead.

`process_lead` is safe to run twice or concurrently for one lead: each stage moves the lead's status
forward only from the status it expects (a compare-and-set UPDATE), matches are unique per
(lead, business) and notifications per purpose, so a repeat creates nothing new.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from leadapp.core import languages
from leadapp.core.crypto import decrypt_phone
from leadapp.core.db import session_scope
from leadapp.core.events import publish_after_commit
from leadapp.core.models import Lead, Match, Notification, utcnow
from leadapp.core.observability import get_logger
from leadapp.core.services import classify, match, notify, webhooks
from leadapp.core.services.rules import RulesSnapshot, current_rules, rules_in_force, with_newest_rules
from leadapp.core.vocab import LeadSource, LeadStatus, MatchStatus

log = get_logger(__name__)


def apply_classification(lead: Lead, result: classify.Classification, classifier: str, rules: RulesSnapshot) -> None:
    """Copy a classification onto the lead and decide its status by the quality thresholds in the rules."""
    quality = rules.get("quality")
    lead.category = result.service_category.value
    lead.urgency = result.urgency.value
    lead.budget_min, lead.budget_max = result.budget_min, result.budget_max
    lead.location_zip = result.location_zip or lead.zip
    lead.key_requirements = list(result.key_requirements)
    lead.sentiment = result.sentiment
    if lead.source != LeadSource.PHONE.value:  # a call's lead speaks what the caller spoke (set by the call)
        lead.language = languages.known(result.language)
    lead.quality_score = round(float(result.quality_score), 1)
    lead.is_spam, lead.spam_reason = result.spam, result.spam_reason[:500]
    lead.classifier, lead.rules_version = classifier, rules.version
    lead.classified_at = lead.updated_at = utcnow()
    reasons = []
    if result.spam:
        reasons.append(f"spam: {result.spam_reason}")
    if lead.quality_score < float(quality["flag_below"]):
        reasons.append(f"quality {lead.quality_score} below {quality['flag_below']}")
    if reasons:
        lead.flagged, lead.flag_reason = True, "; ".join(reasons)[:500]
        lead.status = LeadStatus.FLAGGED.value
    elif lead.quality_score < float(quality["low_quality_below"]):
        lead.status = LeadStatus.LOW_QUALITY.value
    else:
        lead.status = LeadStatus.CLASSIFIED.value


_leads = Lead.__table__  # type: ignore[attr-defined]
_CLAIM = (
    update(_leads)
    .where(_leads.c.id == bindparam("lead_id"), _leads.c.status == bindparam("expected"))
    .values(updated_at=bindparam("now"))
)
"""Built once, run below the ORM: the claim is the hottest statement of the pipeline and needs no identity map."""


def _claim(session: Session, lead_id: int, expected: str) -> bool:
    """Touch the lead only if it is still in `expected` status (guards against concurrent runs). The lead held by the
    session is not refreshed: its `updated_at` is set again by whoever changes it next."""
    result = session.connection().execute(_CLAIM, {"lead_id": lead_id, "expected": expected, "now": utcnow()})
    return result.rowcount == 1


_LEAD_AND_RULES = with_newest_rules(select(Lead).where(col(Lead.id) == bindparam("lead_id")))
"""The lead and which rules are in force, in one statement built once (every run needs both)."""


def process_lead(lead_id: int) -> str:
    """Run the pipeline for one lead as far as it goes; returns the lead's final status.

    Classification and matching commit together (one transaction per run); notifications are committed
    before they are sent. A lead whose run dies half-way stays in its early status and the lead sweeper
    runs it again (a repeat creates no new matches or notifications).
    """
    to_send: list[int | Notification] = []
    with session_scope() as session, session.no_autoflush:  # the lead's changes go out in one UPDATE, at the end
        row = session.execute(_LEAD_AND_RULES, {"lead_id": lead_id}).first()
        lead = row[0] if row is not None else None
        if row is None or lead is None or lead.deleted_at is not None:
            return "missing"
        rules = rules_in_force(session, row[1:])
        classified_here = False
        if lead.status == LeadStatus.RECEIVED.value:
            phone = ""
            if lead.contact_phone_enc:
                phone = decrypt_phone(lead.contact_phone_enc)
            result, classifier = classify.classify(
                lead.raw_text, zip_code=lead.zip, phone_e164=phone, email=lead.contact_email, rules=rules
            )
            if not _claim(session, lead_id, LeadStatus.RECEIVED.value):
                return lead.status
            apply_classification(lead, result, classifier, rules)
            session.add(lead)
            classified_here = True
        if lead.business_id is not None and lead.released_at is None:
            to_send = list(_deliver_to_called_business(session, lead, rules))
            status = lead.status
        elif lead.status != LeadStatus.CLASSIFIED.value:
            if classified_here:  # held back (flagged, low quality): tell the open pages
                _publish(session, lead)
            return lead.status
        else:
            # A lead classified by an earlier run (or put back by an admin, or released by the business it
            # called) is claimed here.
            if not classified_here and not _claim(session, lead_id, LeadStatus.CLASSIFIED.value):
                return lead.status
            # A lead classified here was never matched: its matches and notifications are not looked up first.
            matches: list[Match] = match.create_matches(session, lead, rules, first=classified_here)
            lead.status = LeadStatus.MATCHED.value if matches else LeadStatus.NO_MATCH.value
            lead.matched_at = lead.updated_at = utcnow()
            session.add(lead)
            webhooks.lead_status_changed(session, lead)
            rows = notify.notify_matched_lead(session, lead, matches, first=classified_here)
            session.flush()
            to_send = [n for n in rows if n.id is not None]  # sent from these copies, not read again
            _publish(session, lead, matches)
            status = lead.status
        # First attempt right here, in the pipeline job (one job per lead, no queue hop before the businesses
        # hear of it). The rows made above are claimed in this transaction, which commits with their claim before
        # any provider is called; a transient provider failure gets its own send job with RQ's backoff Retry, and
        # rows a crash leaves behind are re-enqueued by the notification sweeper.
        statuses = notify.send_batch(to_send)
    log.info("lead_processed", lead_id=lead_id, status=status, notifications=statuses)
    return status


def _publish(session: Session, lead: Lead, matches: Sequence[Match] = ()) -> None:
    """After the commit, tell the open pages of the lead's new matches and of the lead's status."""
    for m in matches:
        publish_after_commit(session, "match", lead_id=lead.id, business_id=m.business_id, match_id=m.id)
    publish_after_commit(session, "lead", lead_id=lead.id, status=lead.status, consumer_id=lead.consumer_id)


def _deliver_to_called_business(session: Session, lead: Lead, rules: RulesSnapshot) -> list[int]:
    """An inbound call's lead goes to the business it called, and to no one else (until that business releases it).

    Its direct match is created (whatever the quality: the business took the call, so it is told of it at once);
    the lead becomes `matched` unless the classifier held it back (flagged or low quality: then it keeps that
    status, which also keeps it out of the marketplace if it is released). Returns the business's new-lead
    notifications to send; idempotent (one match per lead and business, one notification per channel).
    """
    direct = match.create_direct_match(session, lead, rules)
    if lead.status in (LeadStatus.RECEIVED.value, LeadStatus.CLASSIFIED.value):
        lead.status = LeadStatus.MATCHED.value
    lead.matched_at = lead.matched_at or utcnow()
    lead.updated_at = utcnow()
    session.add(lead)
    webhooks.lead_status_changed(session, lead)
    rows = notify.notify_businesses(session, lead, [direct])
    session.flush()
    _publish(session, lead, [direct])
    return [n.id for n in rows if n.id is not None]


REMATCHABLE = (
    LeadStatus.CLASSIFIED.value,
    LeadStatus.MATCHED.value,
    LeadStatus.NO_MATCH.value,
    LeadStatus.LOW_QUALITY.value,
)
"""A lead whose details were completed (a concierge call) is matched again from these statuses; a flagged lead
waits for its review, and an accepted, done or closed one is not offered to anybody new."""


def rematch_lead(lead_id: int, *, details_confirmed: bool = False) -> str:
    """Match a lead again after its details changed; returns its status afterwards (or why nothing was done).

    New matches only (`match.add_matches`): each new business is notified like any match, the consumer hears
    when a request that had no match now has one. A low-quality request whose details a person confirmed on a
    call (`details_confirmed`) is offered to businesses like any other. Safe to run twice: a repeat finds the
    businesses already matched and creates nothing.
    """
    notification_ids: list[int] = []
    with session_scope() as session:
        lead = session.get(Lead, lead_id)
        if lead is None or lead.deleted_at is not None:
            return "missing"
        allowed = REMATCHABLE if details_confirmed else tuple(s for s in REMATCHABLE if s != LeadStatus.LOW_QUALITY)
        if lead.status not in allowed:
            return f"skipped:{lead.status}"
        if lead.business_id is not None and lead.released_at is None:
            return "skipped:called_in"  # a call to a business is that business's lead until it releases it
        if not _claim(session, lead_id, lead.status):
            return lead.status
        accepted = session.exec(
            select(Match.id).where(
                Match.lead_id == lead_id,
                col(Match.status).in_([MatchStatus.ACCEPTED.value, MatchStatus.CONVERTED.value]),
            )
        ).first()
        if accepted is not None:
            return "skipped:accepted"
        before = lead.status
        new = match.add_matches(session, lead, current_rules(session))
        if new:
            lead.status = LeadStatus.MATCHED.value
            lead.matched_at = lead.matched_at or utcnow()
        elif lead.status in (LeadStatus.CLASSIFIED.value, LeadStatus.LOW_QUALITY.value):
            lead.status = LeadStatus.NO_MATCH.value
        lead.updated_at = utcnow()
        session.add(lead)
        webhooks.lead_status_changed(session, lead)
        rows = notify.notify_businesses(session, lead, new)
        if new and before != LeadStatus.MATCHED.value:
            everyone = session.exec(select(Match).where(Match.lead_id == lead_id).order_by(col(Match.score).desc()))
            rows += notify.notify_consumer_result(session, lead, list(everyone.all()))
        session.flush()
        notification_ids = [n.id for n in rows if n.id is not None]
        _publish(session, lead, new)
        status = lead.status
    statuses = notify.send_batch(notification_ids)
    log.info("lead_rematched", lead_id=lead_id, status=status, notifications=statuses)
    return status


WAVE_BATCH = 200


def offer_next_waves(*, now: datetime | None = None, limit: int = WAVE_BATCH) -> int:
    """Offer each waterfall lead whose next wave is due (`lead.next_wave_at` passed) to its next businesses
    (`match.offer_next_wave`) and notify them; returns how many leads were looked at. The worker runs it every
    minute.

    Each lead in its own transaction, claimed by a compare-and-set on `next_wave_at`, so two sweeps at once
    offer a wave once; notifications are committed with the matches and sent after (the notification
    sweeper sends what a crash left pending). Safe to run twice: a repeat finds nothing due.
    """
    now = now or utcnow()
    with session_scope() as session:
        due = session.exec(
            select(Lead.id)
            .where(col(Lead.next_wave_at).is_not(None), col(Lead.next_wave_at) <= now)
            .order_by(col(Lead.next_wave_at))
            .limit(limit)
        ).all()
    for lead_id in due:
        notification_ids: list[int] = []
        with session_scope() as session:
            claimed = session.execute(
                update(Lead).where(Lead.id == lead_id, Lead.next_wave_at <= now).values(next_wave_at=None)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                continue  # another sweep took it
            lead = session.get(Lead, lead_id)
            if lead is None:
                continue
            new = match.offer_next_wave(session, lead, current_rules(session), now=now)
            session.add(lead)
            rows = notify.notify_businesses(session, lead, new)
            session.flush()
            notification_ids = [n.id for n in rows if n.id is not None]
            if new:
                _publish(session, lead, new)
        if notification_ids:
            log.info("lead_wave_offered", lead_id=lead_id, notifications=len(notification_ids))
            notify.send_batch(notification_ids)
    return len(due)
