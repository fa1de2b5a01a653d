"""What a consumer does with their requests: withdraw one, ask for a callback, turn AI calls off by link,
delete their data (purged for good 30 days later)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import String, cast, delete, literal, null, update
from sqlmodel import Session, col, select

from leadapp.core import languages
from leadapp.core.errors import UserError
from leadapp.core.events import publish_after_commit, run_after_commit
from leadapp.core.models import Call, InterviewSession, Lead, Match, Notification, TranscriptLine, User, utcnow
from leadapp.core.services import access, audit, calls, messages, optouts, webhooks
from leadapp.core.services.portal.base import (
    CALLBACK_OBJECTIVE,
    CANCELLABLE_CALL_STATUSES,
    CONCIERGE_OBJECTIVE,
    OPEN_MATCH_STATUSES,
    PURGE_AFTER,
    PURGE_BATCH,
    UNSENT_NOTIFICATION_STATUSES,
    WITHDRAWABLE,
    Actor,
    MagicGrant,
    _actor_id,
    _lead_for,
)
from leadapp.core.services.portal.views import _callback_refusals, _withdraw_refusal
from leadapp.core.vocab import CallStatus, CallType, LeadStatus, MatchStatus, NotificationStatus

# --- actions --------------------------------------------------------------------------------------


def stop_pending_work(session: Session, lead_ids: Sequence[int], why: str) -> set[int]:
    """Expire open matches, cancel calls not yet dialled, hold unsent notifications; returns the businesses touched."""
    if not lead_ids:
        return set()
    ids = list(lead_ids)
    session.execute(
        update(Match)
        .where(col(Match.lead_id).in_(ids), col(Match.status).in_(OPEN_MATCH_STATUSES))
        .values(status=MatchStatus.EXPIRED.value)
    )
    session.execute(
        update(Call)
        .where(col(Call.lead_id).in_(ids), col(Call.status).in_(CANCELLABLE_CALL_STATUSES))
        .values(status=CallStatus.CANCELED.value, error=why, updated_at=utcnow())
    )
    session.execute(
        update(Notification)
        .where(col(Notification.lead_id).in_(ids), col(Notification.status).in_(UNSENT_NOTIFICATION_STATUSES))
        .values(status=NotificationStatus.SUPPRESSED.value, last_error=why)
    )
    return set(session.exec(select(Match.business_id).where(col(Match.lead_id).in_(ids))).all())


def withdraw_request(session: Session, actor: Actor, lead_id: int) -> Lead:
    """Withdraw one request: status `withdrawn` with its time; open matches expire, calls not yet dialled are
    cancelled and unsent notifications held back. Refused with the reason when it is done, rejected or already
    withdrawn. Safe against the pipeline running at the same moment (the status changes by compare-and-set).
    """
    lead = _lead_for(session, actor, lead_id, act=True)
    refusal = _withdraw_refusal(lead)
    if refusal:
        raise UserError(refusal, field="withdraw")
    before = {"status": lead.status}
    now = utcnow()
    changed = session.execute(
        update(Lead)
        .where(col(Lead.id) == lead_id, col(Lead.status).in_(WITHDRAWABLE), col(Lead.deleted_at).is_(None))
        .values(status=LeadStatus.WITHDRAWN.value, withdrawn_at=now, updated_at=now)
    )
    session.refresh(lead)
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        changed_meanwhile = languages.phrases(lead.language).CHANGED_MEANWHILE
        raise UserError(_withdraw_refusal(lead) or changed_meanwhile, field="withdraw")
    businesses = stop_pending_work(session, [lead_id], "request withdrawn")
    webhooks.lead_status_changed(session, lead)
    audit.record(
        session,
        actor_id=_actor_id(actor),
        action="lead.withdraw",
        target=lead,
        before=before,
        after={"status": lead.status, "via": "magic_link" if isinstance(actor, MagicGrant) else "account"},
    )
    for business_id in sorted(businesses):
        publish_after_commit(session, "match", business_id=business_id, lead_id=lead_id)
    publish_after_commit(session, "lead", lead_id=lead_id, status=lead.status, consumer_id=lead.consumer_id)
    return lead


def delete_my_data(session: Session, user: User | None) -> int:
    """Delete every request of this consumer: hidden everywhere from this commit on (`deleted_at`), status
    `deleted`, purged for good after 30 days (`purge_deleted`). Open matches expire, calls not yet dialled
    are cancelled, unsent notifications held back. The account itself stays. Returns how many requests.
    """
    access.require_area(user, access.Area.CONSUMER)
    assert user is not None
    lead_ids = list(
        session.exec(
            select(Lead.id).where(Lead.consumer_id == user.id, col(Lead.deleted_at).is_(None)).order_by(col(Lead.id))
        ).all()
    )
    if not lead_ids:
        return 0
    now = utcnow()
    session.execute(
        update(Lead)
        .where(col(Lead.id).in_(lead_ids), col(Lead.deleted_at).is_(None))
        .values(status=LeadStatus.DELETED.value, deleted_at=now, purge_after=now + PURGE_AFTER, updated_at=now)
    )
    businesses = stop_pending_work(session, lead_ids, "request deleted by the consumer")
    audit.record(
        session,
        actor_id=user.id,
        action="consumer.delete_data",
        target_type="users",
        target_id=user.id or "",
        after={"leads": len(lead_ids), "purge_after": (now + PURGE_AFTER).isoformat()},
    )
    for business_id in sorted(businesses):
        publish_after_commit(session, "match", business_id=business_id)
    for lead_id in lead_ids:
        publish_after_commit(session, "lead", lead_id=lead_id, status=LeadStatus.DELETED.value, consumer_id=user.id)
    return len(lead_ids)


def purge_deleted(session: Session, now: datetime | None = None, limit: int = PURGE_BATCH) -> int:
    """Remove for good up to `limit` leads whose `purge_after` has passed; returns how many.

    With each lead go (foreign-key cascade) its matches and conversions, and explicitly its interview
    sessions, call transcripts and conversations (with their photos in the attachments store, deleted before the
    commit: a store failure raises and purges nothing, the next run tries again). Rows kept for accounting lose
    every personal detail: notifications (recipient, subject, bodies; their dedupe key is freed so a later
    lead reusing the id is notified) and calls (number, summary, qualification; the cost stays in the totals
    and quotas). Call recordings are deleted at the provider after the commit (`calls.delete_recording`);
    until then no link opens them.
    Running it again purges nothing twice.
    """
    now = now or utcnow()
    lead_ids = list(
        session.exec(
            select(Lead.id)
            .where(col(Lead.deleted_at).is_not(None), col(Lead.purge_after) <= now)
            .order_by(col(Lead.id))
            .limit(limit)
        ).all()
    )
    if not lead_ids:
        return 0
    session.execute(
        update(Notification)
        .where(col(Notification.lead_id).in_(lead_ids))
        .values(
            recipient="",
            subject="",
            body_text="",
            body_html="",
            last_error="",
            dedupe_key=literal("purged:", String) + cast(col(Notification.id), String),
        )
        .execution_options(synchronize_session=False)
    )
    call_ids = list(
        session.exec(
            select(Call.id).where(col(Call.lead_id).in_(lead_ids) | col(Call.consent_lead_id).in_(lead_ids))
        ).all()
    )
    if call_ids:
        session.execute(delete(TranscriptLine).where(col(TranscriptLine.call_id).in_(call_ids)))
        session.execute(
            update(Call)
            .where(col(Call.id).in_(call_ids))
            .values(
                to_number_enc="",
                to_number_hash="",
                objective="",
                summary="",
                qualification=null(),
                error="",
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        # The recording itself is at the provider: its reference stays until it is deleted there (a job per
        # call once this commits, and the daily purge catches up with any that failed). From now on no link
        # opens it (`calls.open_recording`), and a recording that arrives later is deleted on arrival.
        recorded = session.execute(
            update(Call)
            .where(col(Call.id).in_(call_ids), Call.recording_ref != "", col(Call.recording_purge_at).is_(None))
            .values(recording_purge_at=now)
            .returning(Call.id)
            .execution_options(synchronize_session=False)
        ).all()
        for (call_id,) in recorded:
            run_after_commit(session, calls.enqueue_recording_deletion, call_id)
        session.execute(
            update(Call)
            .where(col(Call.id).in_(call_ids), Call.recording_ref == "", col(Call.recording_purge_at).is_(None))
            .values(recording_purge_at=now)  # a recording still on its way is deleted when it arrives
            .execution_options(synchronize_session=False)
        )
    session.execute(delete(InterviewSession).where(col(InterviewSession.lead_id).in_(lead_ids)))
    messages.purge_leads(session, lead_ids)  # the conversations and their photos (a store failure rolls all back)
    session.execute(delete(Lead).where(col(Lead.id).in_(lead_ids)))
    audit.record(session, actor_id=None, action="lead.purge", target_type="leads", after={"purged": len(lead_ids)})
    return len(lead_ids)


def request_callback(
    session: Session, actor: Actor, lead_id: int, *, when: datetime | None = None, now: datetime | None = None
) -> Call:
    """Ask for an AI callback about one request: a `consumer_callback` call that relies on the consent recorded
    with the lead, under the same rules as every AI call (`calls`): refused with the reason when the lead has
    no AI-call consent or no phone, the number is on the do-not-call list, three calls were made to it in the
    last 24 hours, the request was withdrawn, or a callback is still open. Within the consumer's calling hours
    it is `requested` and placed at once; outside them (or with `when`) it is `scheduled` for the next window.
    Whose call it is: after a business accepted the lead, that business's (the best-scored one that accepted;
    it does not use its plan quota: the consumer asked for it); before, a LeadApp concierge call without a
    business (`concierge`), which completes the request and has it matched again. `callback_explanation`
    says which, and the portal shows it before the consumer confirms.
    """
    lead = _lead_for(session, actor, lead_id, act=True)
    refusal = _callback_refusals(session, [lead], now)[lead_id]
    if refusal:
        raise UserError(refusal, field="callback")
    accepted = session.exec(
        select(Match)
        .where(
            Match.lead_id == lead_id,
            col(Match.status).in_([MatchStatus.ACCEPTED.value, MatchStatus.CONVERTED.value]),
        )
        .order_by(col(Match.score).desc(), col(Match.id))
    ).first()
    call = calls.new_outbound_call(
        session,
        lead,
        business_id=accepted.business_id if accepted else None,
        requested_by_id=_actor_id(actor),
        call_type=CallType.CONSUMER_CALLBACK.value,
        objective=CALLBACK_OBJECTIVE if accepted else CONCIERGE_OBJECTIVE,
        when=when,
        now=now,
    )
    audit.record(
        session,
        actor_id=_actor_id(actor),
        action="call.request_callback",
        target=call,
        after={
            "lead_id": lead_id,
            "via": "magic_link" if isinstance(actor, MagicGrant) else "account",
            "status": call.status,
            "kind": "business" if accepted else "concierge",
        },
    )
    if accepted is not None:
        publish_after_commit(session, "match", business_id=accepted.business_id, match_id=accepted.id, lead_id=lead_id)
    publish_after_commit(session, "lead", lead_id=lead_id, status=lead.status, consumer_id=lead.consumer_id)
    return call


def ai_calls_by_link(session: Session, grant: MagicGrant, lead_id: int) -> optouts.LinkSwitch:
    """The tracking page's "No AI calls" switch: where this request's number stands (the link is verified)."""
    return optouts.link_switch(session, _lead_for(session, grant, lead_id, act=False))


def set_no_ai_calls_by_link(session: Session, grant: MagicGrant, lead_id: int, on: bool) -> optouts.LinkSwitch:
    """Turn "No AI calls" on or off for the number of the request this verified link names
    (`optouts.set_link_no_ai_calls`). Does not commit."""
    return optouts.set_link_no_ai_calls(session, _lead_for(session, grant, lead_id, act=True), on)
