"""What a consumer sees of their own requests, and what they may do with them.

Guarantees:
- a consumer sees and acts on their own requests only; an admin may read any request but not act for
  the consumer; a magic link (a signed token for one lead, `magic_link`) stands in for an account, for
  that one lead only, and is checked again on every action;
- never a business's phone or email; never another consumer's request; never a deleted request
  (`deleted_at` hides it everywhere at once, `purge_deleted` removes it for good 30 days later);
- every change is published to open pages after it commits (portal tabs, dashboards, tracking tabs).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, cast, delete, literal, null, update
from sqlmodel import Session, col, select

from leadapp.core import labels, localtime
from leadapp.core.errors import NotAllowed, NotFound, UserError
from leadapp.core.events import publish_after_commit, run_after_commit
from leadapp.core.models import (
    Business,
    Call,
    DoNotCall,
    InterviewSession,
    Lead,
    Match,
    Notification,
    TranscriptLine,
    User,
    utcnow,
)
from leadapp.core.services import (
    access,
    audit,
    calls,
    concierge,
    daily_caps,
    messages,
    optouts,
    quotes,
    reviews,
    rules,
    webhooks,
)
from leadapp.core.services.calls import OPEN_STATUSES as OPEN_CALL_STATUSES
from leadapp.core.vocab import (
    CATEGORY_LABELS,
    CallStatus,
    CallType,
    Category,
    LeadStatus,
    MatchStatus,
    NotificationStatus,
)

STATUS_LABELS = labels.LEAD_STATUS

PURGE_AFTER = timedelta(days=30)
PURGE_BATCH = 500

# A request can be withdrawn until the job is done or it was turned down.
WITHDRAWABLE = (
    LeadStatus.RECEIVED.value,
    LeadStatus.CLASSIFIED.value,
    LeadStatus.MATCHED.value,
    LeadStatus.NO_MATCH.value,
    LeadStatus.LOW_QUALITY.value,
    LeadStatus.FLAGGED.value,
    LeadStatus.ACCEPTED.value,
)
NOT_WITHDRAWABLE_REASONS = {
    LeadStatus.WITHDRAWN.value: "This request is already withdrawn.",
    LeadStatus.CONVERTED.value: "This request is done: a business took the job.",
    LeadStatus.REJECTED.value: "This request was turned down.",
    LeadStatus.DELETED.value: "This request was deleted.",
}
# No callback for a request that is no longer open.
CLOSED_REASONS = {
    LeadStatus.WITHDRAWN.value: "This request was withdrawn.",
    LeadStatus.REJECTED.value: "This request was turned down.",
    LeadStatus.DELETED.value: "This request was deleted.",
}
OPEN_MATCH_STATUSES = (MatchStatus.NEW.value, MatchStatus.NOTIFIED.value, MatchStatus.VIEWED.value)
# A business that took the request: it accepted it (and maybe already did the job).
ACCEPTED_MATCH_STATUSES = (MatchStatus.ACCEPTED.value, MatchStatus.CONVERTED.value)
# Calls not yet dialled can still be stopped when the request goes away.
CANCELLABLE_CALL_STATUSES = (CallStatus.REQUESTED.value, CallStatus.SCHEDULED.value)
UNSENT_NOTIFICATION_STATUSES = (NotificationStatus.PENDING.value, NotificationStatus.FAILED.value)
PHONE_UNVERIFIED = "Verify your phone number first: press “Send code” and enter the code we text you."
CALLBACK_OBJECTIVE = "The consumer asked to be called back about their request."
CONCIERGE_OBJECTIVE = (
    "The consumer asked LeadApp to call them back before any business accepted: confirm and complete the request."
)


# --- magic links ----------------------------------------------------------------------------------


MagicGrant = access.MagicGrant
"""What a magic-link holder presents (`access.MagicGrant`: the access layer decides what a link covers)."""
Actor = User | MagicGrant | None


def lead_for_magic_token(session: Session, token: str) -> Lead | None:
    """The lead a magic-link token was made for, if the token is genuine, unexpired and the lead not deleted."""
    return access.magic_lead(session, MagicGrant(token))


# --- ownership ------------------------------------------------------------------------------------


def _lead_for(session: Session, actor: Actor, lead_id: int, *, act: bool) -> Lead:
    """The lead, if `actor` may read it (`act=False`) or act on it (`act=True`); NotFound / NotAllowed otherwise.

    The consumer who owns it may do both; an admin may only read; a magic link works for its own lead only.
    """
    if isinstance(actor, MagicGrant):
        claims = access.magic_claims(actor.token)
        if claims is None:
            raise NotAllowed("This link is invalid or has expired.")
        if claims[0] != lead_id:
            raise NotAllowed("This link is for another request.")
        lead = access.lead_of_claims(session, claims)
        if lead is None:
            raise NotFound("This request no longer exists.")
        return lead
    access.require_area(actor, access.Area.CONSUMER)
    assert actor is not None
    lead = session.get(Lead, lead_id)
    if lead is None or lead.deleted_at is not None:
        raise NotFound("No such request.")
    access.require_consumer_lead(actor, lead)
    if act and not access.is_lead_owner(actor, lead):
        raise NotAllowed("Only the consumer who made this request can change it.")
    return lead


def lead_for(session: Session, actor: Actor, lead_id: int, *, act: bool) -> Lead:
    """`_lead_for` for the consumer's other actions (phone verification): the same one refusal."""
    return _lead_for(session, actor, lead_id, act=act)


def _actor_id(actor: Actor) -> int | None:
    return actor.id if isinstance(actor, User) else None


# --- views ----------------------------------------------------------------------------------------


def lead_view(lead: Lead) -> dict[str, str]:
    view = {
        "id": str(lead.id),
        "status": lead.status,
        "status_label": STATUS_LABELS.get(lead.status, lead.status),
        "text": lead.raw_text,
        "zip": lead.zip,
        # In the consumer's own zone (where the job is): how long ago, and the exact time for the hover title.
        "created_at": localtime.relative(lead.created_at, utcnow(), localtime.lead_zone(lead)),
        "created_exact": localtime.exact(lead.created_at, localtime.lead_zone(lead)),
    }
    if lead.category:
        view["category"] = lead.category
        view["category_label"] = CATEGORY_LABELS.get(Category(lead.category), lead.category)
        view["urgency"] = labels.urgency(lead.urgency) if lead.urgency else ""
    return view


def _match_view(m: Match, b: Business, snapshot: rules.RulesSnapshot) -> dict[str, str]:
    # The rating shown is the verified one (the Bayesian average matching uses), never the typed `Business.rating`.
    return {
        "business_id": str(b.id),
        "name": b.name,
        "city": f"{b.city}, {b.state}".strip(", "),
        **reviews.rating_for(b, snapshot),
        "distance": f"{m.distance_miles:.1f} mi" if m.distance_miles is not None else "",
        "status": m.status,
        "status_label": labels.match_status(m.status),
    }


def _matches_by_lead(session: Session, lead_ids: Sequence[int]) -> dict[int, list[dict[str, str]]]:
    """Matched businesses of several leads in one query, best score first."""
    found: dict[int, list[dict[str, str]]] = {lead_id: [] for lead_id in lead_ids}
    if not lead_ids:
        return found
    rows = session.exec(
        select(Match, Business)
        .join(Business, col(Business.id) == col(Match.business_id))
        .where(col(Match.lead_id).in_(list(lead_ids)))
        .order_by(col(Match.score).desc(), col(Match.id))
    ).all()
    snapshot = rules.current_rules(session) if rows else rules.RulesSnapshot(0, {})
    for m, b in rows:
        found[m.lead_id].append(_match_view(m, b, snapshot))
    return found


def matched_businesses(session: Session, lead_id: int) -> list[dict[str, str]]:
    return _matches_by_lead(session, [lead_id])[lead_id]


def _withdraw_refusal(lead: Lead) -> str:
    if lead.status in WITHDRAWABLE:
        return ""
    return NOT_WITHDRAWABLE_REASONS.get(lead.status, "This request can no longer be withdrawn.")


def _callback_refusals(session: Session, leads: Sequence[Lead], now: datetime | None = None) -> dict[int, str]:
    """Why a callback cannot be requested for each lead ("" when it can), in three queries for all of them
    (the rules of `calls`: consent, phone, do-not-call list, three calls a day, one open callback)."""
    lead_ids = [lead.id for lead in leads if lead.id is not None]
    hashes = [lead.contact_phone_hash for lead in leads if lead.contact_phone_hash]
    open_callbacks = (
        set(
            session.exec(
                select(Call.lead_id).where(
                    col(Call.lead_id).in_(lead_ids),
                    Call.call_type == CallType.CONSUMER_CALLBACK.value,
                    col(Call.status).in_(OPEN_CALL_STATUSES),
                )
            ).all()
        )
        if lead_ids
        else set()
    )
    blocked: dict[str, str] = (
        {
            digest: source
            for digest, source in session.exec(
                select(DoNotCall.phone_hash, DoNotCall.source).where(col(DoNotCall.phone_hash).in_(hashes))
            ).all()
        }
        if hashes
        else {}
    )
    calls_today = calls.attempts_today_by_number(session, hashes, now)
    accepting = _accepting_business(session, lead_ids)
    capped: dict[int | None, str] = {}
    reasons: dict[int, str] = {}
    for lead in leads:
        if lead.status in CLOSED_REASONS:
            reason = CLOSED_REASONS[lead.status]
        elif not lead.consent_ai_calls or lead.consent_at is None:
            reason = "You did not agree to AI calls on this request."
        elif not lead.contact_phone_hash or not lead.contact_phone_enc:
            reason = "This request has no phone number to call."
        elif lead.phone_verified_at is None:
            reason = PHONE_UNVERIFIED
        elif lead.contact_phone_hash in blocked:
            reason = (
                "You asked not to receive AI calls on this number."
                if blocked[lead.contact_phone_hash] in optouts.CONSUMER_SOURCES
                else "This number is on the do-not-call list."
            )
        elif lead.id in open_callbacks:
            reason = "A callback is already requested."
        elif calls_today.get(lead.contact_phone_hash, 0) >= calls.MAX_CALLS_PER_NUMBER_PER_DAY:
            reason = "Three calls were already made to this number today; please try again tomorrow."
        else:  # the daily caps: LeadApp's own calls (concierge), or the accepting business's
            business_id = accepting[lead.id][0] if lead.id in accepting else None
            if business_id not in capped:
                capped[business_id] = daily_caps.calls_refusal(session, business_id, now=now)
            reason = capped[business_id]
        reasons[lead.id] = reason  # type: ignore[index]
    return reasons


CONCIERGE_OUTCOMES = {
    "goal_achieved": "your request was completed",
    "declined": "you declined",
    "no_answer": "no answer, we will try once more",
    "voicemail": "we left a voicemail",
    "error": "it could not connect, we will try once more",
    "ai_failure": "the assistant was cut off, we will try once more",
}


def _call_lines(session: Session, leads: Sequence[Lead]) -> dict[int, str]:
    """One line per request about its latest AI call (scheduled, in progress, or its outcome), in one query."""
    zones = {lead.id: localtime.lead_zone(lead) for lead in leads if lead.id is not None}
    if not zones:
        return {}
    rows = session.exec(
        select(Call).where(col(Call.lead_id).in_(list(zones))).order_by(col(Call.created_at).desc())
    ).all()
    lines: dict[int, str] = {}
    for call in rows:
        if call.lead_id is None or call.lead_id in lines:
            continue
        what = "LeadApp concierge call" if concierge.is_concierge(call) else "AI call"
        if calls.is_simulated(call):
            what = "Simulated AI call" if what == "AI call" else f"{what} (simulated)"
        ended = call.status in calls.TERMINAL_STATUSES  # the outcome may be known a moment before the call ends
        if call.status == "scheduled" and call.scheduled_for is not None:
            text = f"{what} scheduled for {localtime.scheduled(call.scheduled_for, utcnow(), zones[call.lead_id])}"
        elif ended and call.outcome and concierge.is_concierge(call):
            text = f"{what} finished: {CONCIERGE_OUTCOMES.get(call.outcome, labels.call_outcome(call.outcome).lower())}"
        elif ended and call.outcome:
            text = f"{what} finished: {labels.call_outcome(call.outcome).lower()}"
        elif call.status == "canceled":
            text = f"{what} canceled"
        else:
            text = f"{what}: {labels.call_status(call.status).lower()}"
        lines[call.lead_id] = text
    return lines


def accepted_label(count: int) -> str:
    """The line telling the consumer how many businesses took the request, e.g. "Accepted by 2 businesses"."""
    if count <= 0:
        return ""
    return f"Accepted by {labels.count(count, 'business')}"


SEEN_MATCH_STATUSES = (
    MatchStatus.VIEWED.value,
    MatchStatus.ACCEPTED.value,
    MatchStatus.DECLINED.value,
    MatchStatus.CONVERTED.value,
)


def reach_label(statuses: Sequence[str], more_coming: bool) -> str:
    """How far the request has gone, e.g. "Sent to 3 businesses · 2 have seen it · more if none accepts"
    ("" before it reached any)."""
    if not statuses:
        return ""
    seen = sum(1 for status in statuses if status in SEEN_MATCH_STATUSES)
    parts = [f"Sent to {labels.count(len(statuses), 'business')}", f"{seen} {'has' if seen == 1 else 'have'} seen it"]
    if more_coming:
        parts.append("more businesses if none accepts soon")
    return " · ".join(parts)


CONCIERGE_EXPLANATION = (
    "No business has accepted this request yet, so this is a LeadApp concierge call: our AI assistant calls you "
    "on behalf of LeadApp (not of a business) to go over your request and complete the details that are "
    "missing. We then add them to your request and look for businesses again. The call is recorded."
)
BUSINESS_CALL_EXPLANATION = (
    "{business} accepted this request, so an AI assistant will call you on behalf of {business} to go over the "
    "job with you. The call is recorded."
)
CALL_HOURS_NOTE = "We call between 9:00 and 21:00 your time; outside those hours the call waits for 9:00."


def _accepting_business(session: Session, lead_ids: Sequence[int]) -> dict[int, tuple[int, str]]:
    """{lead id: (business id, name)} of the best-scored business that accepted each lead (none: no entry).

    The one `request_callback` calls on behalf of.
    """
    if not lead_ids:
        return {}
    rows = session.exec(
        select(Match.lead_id, Business.id, Business.name)
        .join(Business, col(Business.id) == col(Match.business_id))
        .where(col(Match.lead_id).in_(list(lead_ids)), col(Match.status).in_(ACCEPTED_MATCH_STATUSES))
        .order_by(col(Match.score).desc(), col(Match.id))
    ).all()
    found: dict[int, tuple[int, str]] = {}
    for lead_id, business_id, name in rows:
        found.setdefault(lead_id, (business_id, name))  # type: ignore[arg-type]
    return found


def callback_explanation(business_name: str | None) -> str:
    """What the portal tells the consumer before they confirm a callback: whose call it will be."""
    if business_name:
        return f"{BUSINESS_CALL_EXPLANATION.format(business=business_name)} {CALL_HOURS_NOTE}"
    return f"{CONCIERGE_EXPLANATION} {CALL_HOURS_NOTE}"


def _phone_check(lead: Lead) -> str:
    """ "needed" when the consumer agreed to AI calls on an open request whose number no code verified yet."""
    needed = (
        lead.consent_ai_calls
        and bool(lead.contact_phone_hash)
        and lead.phone_verified_at is None
        and lead.status not in CLOSED_REASONS
    )
    return "needed" if needed else ""


def _request_views(session: Session, leads: Sequence[Lead], reader: User | None = None) -> list[dict[str, Any]]:
    """Each lead's view, its matched businesses, how many of them accepted it (`accepted_count`,
    `accepted_label`), the latest AI call, why withdraw / callback are refused ("" when allowed), and whose call
    a callback would be (`callback_kind` "concierge" or "business", `callback_explanation`), and the quotes the
    businesses sent, side by side (`quotes.quotes_by_lead`), and the converted job's review (`reviews_by_lead`), and the
    conversations with the businesses that took it (`threads`)."""
    lead_ids = [lead.id for lead in leads if lead.id is not None]
    matches = _matches_by_lead(session, lead_ids)
    quoted = quotes.quotes_by_lead(session, leads)
    threads = messages.threads_by_lead(session, leads, reader)  # photo links for the account reading
    reviewed = reviews.reviews_by_lead(session, leads)
    accepting = _accepting_business(session, lead_ids)
    callbacks = _callback_refusals(session, leads)
    call_lines = _call_lines(session, leads)
    accepted = {
        lead_id: sum(1 for m in found if m["status"] in ACCEPTED_MATCH_STATUSES) for lead_id, found in matches.items()
    }
    return [
        {
            "lead": lead_view(lead),
            "matches": matches[lead.id],  # type: ignore[index]
            "accepted_count": accepted[lead.id],  # type: ignore[index]
            "accepted_label": accepted_label(accepted[lead.id]),  # type: ignore[index]
            "reach_label": reach_label(
                [m["status"] for m in matches[lead.id]],  # type: ignore[index]
                lead.next_wave_at is not None,
            ),
            "withdraw_reason": _withdraw_refusal(lead),
            "callback_reason": callbacks[lead.id],  # type: ignore[index]
            "callback_kind": "business" if lead.id in accepting else "concierge",
            "callback_explanation": callback_explanation(accepting[lead.id][1] if lead.id in accepting else None),
            "call_status": call_lines.get(lead.id, ""),  # type: ignore[arg-type]
            "phone_check": _phone_check(lead),
            "phone_last4": lead.contact_phone_last4 if lead.contact_phone_hash else "",
            "quotes": quoted[lead.id],  # type: ignore[index]
            # One conversation per business that took the request (`messages.threads_by_lead`).
            "threads": threads[lead.id],  # type: ignore[index]
            # The converted job to review (`conversion_id`) and its review once written ("reviewed": "yes").
            "review": reviewed.get(lead.id, {}),  # type: ignore[arg-type]
        }
        for lead in leads
    ]


def lead_status_for_submitter(session: Session, lead_id: int) -> dict[str, Any] | None:
    """The status view of a lead the caller just submitted (its id is held server-side, never from a URL)."""
    lead = session.get(Lead, lead_id)
    if lead is None or lead.deleted_at is not None:
        return None
    return {"lead": lead_view(lead), "matches": matched_businesses(session, lead_id)}


def consumer_leads(session: Session, user: User | None, limit: int = 50) -> list[dict[str, Any]]:
    """A consumer's own requests, newest first, each with its matched businesses and what may be done with it.

    `withdraw_reason` / `callback_reason` are "" when the action is possible, else why not (shown on the button).
    """
    access.require_area(user, access.Area.CONSUMER)
    assert user is not None
    leads = session.exec(
        select(Lead)
        .where(Lead.consumer_id == user.id, col(Lead.deleted_at).is_(None))
        .order_by(col(Lead.created_at).desc(), col(Lead.id).desc())
        .limit(min(limit, 100))
    ).all()
    return _request_views(session, leads, user)


def request_view(session: Session, actor: Actor, lead_id: int) -> dict[str, Any]:
    """One request as its consumer (or an admin, or its magic-link holder) sees it; same shape as `consumer_leads`."""
    lead = _lead_for(session, actor, lead_id, act=False)
    return _request_views(session, [lead], actor if isinstance(actor, User) else None)[0]


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
        raise UserError(_withdraw_refusal(lead) or "This request changed meanwhile; try again.", field="withdraw")
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
