"""What a consumer sees of their requests: each with its businesses, calls, quotes, reviews and conversations,
and what they may still do with it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from leadapp.core import labels, languages, localtime
from leadapp.core.models import (
    Business,
    Call,
    DoNotCall,
    Lead,
    Match,
    User,
    utcnow,
)
from leadapp.core.services import (
    access,
    calls,
    concierge,
    daily_caps,
    messages,
    optouts,
    quotes,
    reviews,
    rules,
)
from leadapp.core.services.calls import OPEN_STATUSES as OPEN_CALL_STATUSES
from leadapp.core.services.portal.base import (
    ACCEPTED_MATCH_STATUSES,
    CLOSED_REASONS,
    WITHDRAWABLE,
    Actor,
    _lead_for,
)
from leadapp.core.vocab import (
    CallType,
    MatchStatus,
)

# --- views ----------------------------------------------------------------------------------------
# What the consumer reads about their request (status, businesses, calls, reach) is in the request's language
# (`languages.phrases(lead.language)`: Spanish for "es", else English).


def lead_view(lead: Lead) -> dict[str, str]:
    w = languages.phrases(lead.language)
    view = {
        "id": str(lead.id),
        # The language the consumer reads this request in ("en" or "es": `languages.known`).
        "language": languages.known(lead.language),
        "status": lead.status,
        "status_label": w.LEAD_STATUS_LABELS.get(lead.status, lead.status),
        "text": lead.raw_text,
        "zip": lead.zip,
        # In the consumer's own zone (where the job is): how long ago, and the exact time for the hover title.
        "created_at": localtime.relative(lead.created_at, utcnow(), localtime.lead_zone(lead), lead.language),
        "created_exact": localtime.exact(lead.created_at, localtime.lead_zone(lead)),
    }
    if lead.category:
        view["category"] = lead.category
        view["category_label"] = w.CATEGORY_LABELS.get(lead.category, lead.category)
        view["urgency"] = (w.URGENCY_LABELS.get(lead.urgency) or labels.urgency(lead.urgency)) if lead.urgency else ""
    return view


def _match_view(m: Match, b: Business, snapshot: rules.RulesSnapshot, language: str | None) -> dict[str, str]:
    # The rating shown is the verified one (the Bayesian average matching uses), never the typed `Business.rating`.
    w = languages.phrases(language)
    return {
        "business_id": str(b.id),
        "name": b.name,
        "city": f"{b.city}, {b.state}".strip(", "),
        **reviews.rating_for(b, snapshot, language),
        "distance": w.DISTANCE.format(miles=m.distance_miles) if m.distance_miles is not None else "",
        "status": m.status,
        "status_label": w.MATCH_STATUS_LABELS.get(m.status) or labels.match_status(m.status),
        "taken_label": w.MATCH_TAKEN,
    }


def _matches_by_lead(
    session: Session, lead_ids: Sequence[int], language_of: Mapping[int, str | None]
) -> dict[int, list[dict[str, str]]]:
    """Matched businesses of several leads in one query, best score first; each in its lead's language."""
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
        found[m.lead_id].append(_match_view(m, b, snapshot, language_of.get(m.lead_id)))
    return found


def matched_businesses(session: Session, lead: Lead) -> list[dict[str, str]]:
    assert lead.id is not None
    return _matches_by_lead(session, [lead.id], {lead.id: lead.language})[lead.id]


def _withdraw_refusal(lead: Lead) -> str:
    """Why the request cannot be withdrawn ("" when it can), in its language."""
    if lead.status in WITHDRAWABLE:
        return ""
    w = languages.phrases(lead.language)
    return w.NOT_WITHDRAWABLE_REASONS.get(lead.status, w.NOT_WITHDRAWABLE)


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
    capped: dict[tuple[int | None, str], str] = {}
    reasons: dict[int, str] = {}
    for lead in leads:
        w = languages.phrases(lead.language)
        if lead.status in CLOSED_REASONS:
            reason = w.CLOSED_REASONS[lead.status]
        elif not lead.consent_ai_calls or lead.consent_at is None:
            reason = w.NO_CALL_CONSENT
        elif not lead.contact_phone_hash or not lead.contact_phone_enc:
            reason = w.NO_PHONE
        elif lead.phone_verified_at is None:
            reason = w.PHONE_UNVERIFIED
        elif lead.contact_phone_hash in blocked:
            reason = w.OPTED_OUT if blocked[lead.contact_phone_hash] in optouts.CONSUMER_SOURCES else w.ON_DO_NOT_CALL
        elif lead.id in open_callbacks:
            reason = w.CALLBACK_OPEN
        elif calls_today.get(lead.contact_phone_hash, 0) >= calls.MAX_CALLS_PER_NUMBER_PER_DAY:
            reason = w.THREE_CALLS
        else:  # the daily caps: LeadApp's own calls (concierge), or the accepting business's
            business_id = accepting[lead.id][0] if lead.id in accepting else None
            key = (business_id, languages.known(lead.language))
            if key not in capped:
                capped[key] = daily_caps.calls_refusal(session, business_id, now=now, language=lead.language)
            reason = capped[key]
        reasons[lead.id] = reason  # type: ignore[index]
    return reasons


def _call_lines(session: Session, leads: Sequence[Lead]) -> dict[int, str]:
    """One line per request about its latest AI call (scheduled, in progress, or its outcome), in one query; in
    the request's language."""
    by_id = {lead.id: lead for lead in leads if lead.id is not None}
    if not by_id:
        return {}
    rows = session.exec(
        select(Call).where(col(Call.lead_id).in_(list(by_id))).order_by(col(Call.created_at).desc())
    ).all()
    lines: dict[int, str] = {}
    for call in rows:
        if call.lead_id is None or call.lead_id in lines:
            continue
        lead = by_id[call.lead_id]
        w = languages.phrases(lead.language)
        concierge_call, simulated = concierge.is_concierge(call), calls.is_simulated(call)
        if concierge_call:
            what = w.CALL_CONCIERGE_SIMULATED if simulated else w.CALL_CONCIERGE
        else:
            what = w.CALL_SIMULATED if simulated else w.CALL_AI
        ended = call.status in calls.TERMINAL_STATUSES  # the outcome may be known a moment before the call ends
        if call.status == "scheduled" and call.scheduled_for is not None:
            when = localtime.scheduled(call.scheduled_for, utcnow(), localtime.lead_zone(lead), lead.language)
            text = w.CALL_SCHEDULED.format(what=what, when=when)
        elif ended and call.outcome:
            outcome = (w.OUTCOME_LABELS.get(call.outcome) or labels.call_outcome(call.outcome)).lower()
            if concierge_call:
                outcome = w.CONCIERGE_OUTCOMES.get(call.outcome, outcome)
            text = w.CALL_FINISHED.format(what=what, outcome=outcome)
        elif call.status == "canceled":
            text = w.CALL_CANCELED.format(what=what)
        else:
            status = w.CALL_STATUS_LABELS.get(call.status) or labels.call_status(call.status)
            text = w.CALL_NOW.format(what=what, status=status.lower())
        lines[call.lead_id] = text
    return lines


def accepted_label(count: int, language: str | None = None) -> str:
    """The line telling the consumer how many businesses took the request, e.g. "Accepted by 2 businesses"."""
    if count <= 0:
        return ""
    return languages.phrases(language).ACCEPTED_BY.format(count=languages.count_businesses(count, language))


SEEN_MATCH_STATUSES = (
    MatchStatus.VIEWED.value,
    MatchStatus.ACCEPTED.value,
    MatchStatus.DECLINED.value,
    MatchStatus.CONVERTED.value,
)


def reach_label(statuses: Sequence[str], more_coming: bool, language: str | None = None) -> str:
    """How far the request has gone, e.g. "Sent to 3 businesses · 2 have seen it · more if none accepts"
    ("" before it reached any); in `language`."""
    if not statuses:
        return ""
    w = languages.phrases(language)
    seen = sum(1 for status in statuses if status in SEEN_MATCH_STATUSES)
    parts = [
        w.SENT_TO.format(count=languages.count_businesses(len(statuses), language)),
        (w.SEEN_ONE if seen == 1 else w.SEEN_MANY).format(n=seen),
    ]
    if more_coming:
        parts.append(w.MORE_COMING)
    return " · ".join(parts)


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


def callback_explanation(business_name: str | None, language: str | None = None) -> str:
    """What the portal tells the consumer before they confirm a callback: whose call it will be (in `language`)."""
    w = languages.phrases(language)
    if business_name:
        return f"{w.BUSINESS_CALL_EXPLANATION.format(business=business_name)} {w.CALL_HOURS_NOTE}"
    return f"{w.CONCIERGE_EXPLANATION} {w.CALL_HOURS_NOTE}"


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
    matches = _matches_by_lead(session, lead_ids, {lead.id: lead.language for lead in leads if lead.id is not None})
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
            "accepted_label": accepted_label(accepted[lead.id], lead.language),  # type: ignore[index]
            "reach_label": reach_label(
                [m["status"] for m in matches[lead.id]],  # type: ignore[index]
                lead.next_wave_at is not None,
                lead.language,
            ),
            "withdraw_reason": _withdraw_refusal(lead),
            "callback_reason": callbacks[lead.id],  # type: ignore[index]
            "callback_kind": "business" if lead.id in accepting else "concierge",
            "callback_explanation": callback_explanation(
                accepting[lead.id][1] if lead.id in accepting else None, lead.language
            ),
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
    return {"lead": lead_view(lead), "matches": matched_businesses(session, lead)}


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
