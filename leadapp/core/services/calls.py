"""AI calls: who may ask, the rules every call obeys, placing it, and what happens when it ends.

Life of an outbound call::

    requested ──(window open)──▶ place_call job ──claim──▶ dialing ─▶ ringing ─▶ in_progress ─▶ completed
    scheduled ──(next window)──▶       │ refused now (consent, DNC, quota, 3 a day) → canceled (reason in `error`)
        │                              └ provider error → failed (outcome error)
        └── cancel_call → canceled                  busy / no-answer → completed (outcome no_answer)

Guarantees:
- A request is refused, with the reason, when the lead has no AI-call consent on file (or no phone), the
  number is on the do-not-call list, the business's plan has used its monthly call quota, or three calls
  were already made to that number in the last 24 hours. `place_call` checks all of it again before dialling.
- Calls are placed only within the recipient's calling hours, 9:00–21:00 in the time zone of the lead's ZIP
  (`zipcodes`); a call requested outside them is `scheduled` for the next window (RQ `enqueue_at`, job id
  `call-<id>`), one requested inside them is enqueued at once. An unknown ZIP must be inside the window on
  both coasts at once.
- Work for the worker is enqueued only after the transaction that records it commits (dropped on rollback);
  when Redis is down `sweep_calls` enqueues what is overdue.
- A `place_call` job run twice (RQ retry, sweeper, duplicate enqueue) dials once: the row moves
  requested/scheduled → dialing by compare-and-set, and a row with a provider call id is never dialled again.
- Quota: a call counts once, in the month it was requested; its retry and consumer-requested callbacks do not
  count (the business did not ask for those).
- Provider status callbacks only move a call forward; the first terminal one ends it, and only that one sets
  the outcome (never replacing one the conversation set), the carrier cost, the one retry (attempt 2, 2 hours
  later within calling hours, for no_answer and error) and the CALL_SUMMARY notifications.
- Recordings are reachable only through signed links that expire (`recording_link`), checked again against
  the viewer's rights on every request (`open_recording`); the app streams them from the provider (never a
  redirect to the provider's URL). Twilio's recording arrives by the signed recording status callback
  (`record_recording`); a purged lead's recordings are deleted at the provider (`delete_recording`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from redis.exceptions import RedisError
from rq import Retry
from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from leadapp.core import crypto, labels, localtime, phones
from leadapp.core.broker import get_redis, key
from leadapp.core.db import session_scope
from leadapp.core.errors import NotAllowed, NotFound, UserError
from leadapp.core.events import publish_after_commit, run_after_commit
from leadapp.core.models import Business, Call, DoNotCall, Lead, Match, TranscriptLine, User, utcnow
from leadapp.core.observability import get_logger, report_exception
from leadapp.core.providers import recordings, telephony
from leadapp.core.services import access, audit, compose, daily_caps, notify
from leadapp.core.services.compose import category_label
from leadapp.core.settings import get_settings
from leadapp.core.tasks import CALLS, MAINTENANCE, enqueue, queue
from leadapp.core.vocab import (
    PLAN_CALL_QUOTA,
    CallDirection,
    CallOutcome,
    CallStatus,
    CallType,
    Channel,
    ContactPreference,
    LeadStatus,
    MatchStatus,
    NotificationKind,
    Plan,
    Role,
    Speaker,
)

log = get_logger(__name__)

MAX_CALLS_PER_NUMBER_PER_DAY = 3
UNVERIFIED = "The consumer has not verified their phone number yet (with the code we text them)."
OPEN_STATUSES = (
    CallStatus.REQUESTED.value,
    CallStatus.SCHEDULED.value,
    CallStatus.DIALING.value,
    CallStatus.RINGING.value,
    CallStatus.IN_PROGRESS.value,
)
CANCELLABLE_STATUSES = (CallStatus.REQUESTED.value, CallStatus.SCHEDULED.value)
TERMINAL_STATUSES = (CallStatus.COMPLETED.value, CallStatus.CANCELED.value, CallStatus.FAILED.value)


def calling_hours() -> tuple[time, time]:
    """The local hours calls may be placed in (CALLING_HOURS_START to CALLING_HOURS_END, default 9 to 21)."""
    settings = get_settings()
    start = time(min(max(settings.calling_hours_start, 0), 23), 0)
    end = time.max if settings.calling_hours_end >= 24 else time(max(settings.calling_hours_end, 1), 0)
    return start, end


"""Local time in the recipient's ZIP: a call starts at or after the first and before the second."""
UNKNOWN_ZIP_ZONES = ("America/New_York", "America/Los_Angeles")
"""Without a known ZIP a call must be inside calling hours on both coasts at once."""
RETRY_DELAY = timedelta(hours=2)
"""A no_answer or error call is tried again once, this much later (then within calling hours)."""
MAX_ATTEMPTS = 2
CARRIER_CENTS_PER_MINUTE = 1.4
"""Carrier price per started minute (Twilio US outbound voice, $0.014); meant to become a setting."""
RECORDING_PURPOSE = "recording"
RECORDING_LINK_TTL_SECONDS = 600
RECORDING_EXPIRED_GRACE_SECONDS = 24 * 3600
"""An expired link is recognised as such (410) for this long after it expired; later it is just invalid (403)."""
PLACE_CALL_JOB = "worker.jobs.place_call"
JOB_RESULT_TTL = 7 * 24 * 3600
DIAL_NOW_SLACK = timedelta(seconds=60)
"""A scheduled call whose time is this close is dialled now rather than rescheduled."""
OVERDUE_AFTER = timedelta(minutes=2)
"""A call still waiting this long after its time had its job lost (Redis down): the sweeper enqueues it."""
STUCK_DIALING_AFTER = timedelta(minutes=10)
# A bridge serving a call says so every ALIVE_EVERY_SECONDS (a Redis key that lives ALIVE_SECONDS); a call in
# progress that nobody has said is alive for longer was left by a bridge that died mid-call.
ALIVE_EVERY_SECONDS = 10
ALIVE_SECONDS = 45
BRIDGE_LOST = "the voice bridge stopped in the middle of the call"
"""A call claimed this long ago with no provider call id lost its worker mid-dial: it ends as an error."""
SWEEP_BATCH = 200
VOICEMAIL_TEXT = (
    "Hello, this is an AI assistant calling on behalf of {business} about your {service} request. "
    "Sorry we missed you. We will try to reach you again, or you can reply to our message. Goodbye."
)
OUTCOME_LABELS = labels.CALL_OUTCOME
MACHINE_ANSWERS = ("machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax")

# Twilio's CallStatus → ours. A call that ended without being answered is `completed` with outcome no_answer;
# our `canceled` means a person cancelled it before it was dialled.
TWILIO_STATUSES: dict[str, str] = {
    "queued": CallStatus.DIALING.value,
    "initiated": CallStatus.DIALING.value,
    "ringing": CallStatus.RINGING.value,
    "in-progress": CallStatus.IN_PROGRESS.value,
    "completed": CallStatus.COMPLETED.value,
    "busy": CallStatus.COMPLETED.value,
    "no-answer": CallStatus.COMPLETED.value,
    "canceled": CallStatus.COMPLETED.value,
    "failed": CallStatus.FAILED.value,
}
UNANSWERED_TWILIO_STATUSES = ("busy", "no-answer", "canceled")
_PROGRESS = {
    CallStatus.REQUESTED.value: 0,
    CallStatus.SCHEDULED.value: 0,
    CallStatus.DIALING.value: 1,
    CallStatus.RINGING.value: 2,
    CallStatus.IN_PROGRESS.value: 3,
}


@dataclass(frozen=True)
class Eligibility:
    allowed: bool
    reason: str = ""


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# --- calling hours --------------------------------------------------------------------------------


def zip_time_zone(zip_code: str) -> str | None:
    """The IANA time zone of a US ZIP code from `zipcodes` ("America/Indiana/Indianapolis"), None if unknown."""
    return localtime.zip_time_zone(zip_code)


def _zones(zip_code: str) -> tuple[ZoneInfo, ...]:
    name = zip_time_zone(zip_code)
    return (ZoneInfo(name),) if name else tuple(ZoneInfo(z) for z in UNKNOWN_ZIP_ZONES)


def _open_in(zone: ZoneInfo, moment: datetime) -> bool:
    local = moment.astimezone(zone).time()
    start, end = calling_hours()
    return start <= local < end


def _openings(zone: ZoneInfo, moment: datetime) -> list[datetime]:
    """The window openings in `zone` from the day before `moment` to three days after, in UTC."""
    today: date = moment.astimezone(zone).date()
    return [
        datetime.combine(today + timedelta(days=offset), calling_hours()[0], tzinfo=zone).astimezone(UTC)
        for offset in range(-1, 4)
    ]


def calling_window(zip_code: str, now: datetime | None = None) -> tuple[bool, datetime]:
    """(is_open, next_open_utc) for a call to someone in `zip_code` at `now` (default: now).

    Open from 9:00 to 21:00 local time (zoneinfo, so daylight-saving days are right). When open,
    `next_open_utc` is `now` itself; otherwise it is the next 9:00 local, in UTC.
    """
    now = _aware(now or utcnow()).astimezone(UTC)
    zones = _zones(zip_code)
    if all(_open_in(zone, now) for zone in zones):
        return True, now
    # The joint window of several zones opens when one of them opens; try those moments in order.
    for opening in sorted({o for zone in zones for o in _openings(zone, now) if o > now}):
        if all(_open_in(zone, opening) for zone in zones):
            return False, opening
    raise RuntimeError(f"no calling window within three days for ZIP {zip_code!r}")  # pragma: no cover


def _lead_zip(lead: Lead | None) -> str:
    return (lead.location_zip or lead.zip or "") if lead is not None else ""


# --- the rules ------------------------------------------------------------------------------------


def _plan_quota(business: Business) -> int:
    return PLAN_CALL_QUOTA.get(Plan(business.plan), 0) if business.plan in Plan._value2member_map_ else 0


def calls_this_month(session: Session, business_id: int, *, exclude_call_id: int | None = None) -> int:
    """Calls counted against the plan this month: first attempts the business asked for, not cancelled."""
    now = utcnow()
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    query = (
        select(func.count())
        .select_from(Call)
        .where(
            Call.business_id == business_id,
            col(Call.created_at) >= month_start,
            col(Call.status) != CallStatus.CANCELED.value,
            col(Call.retry_of_id).is_(None),
            Call.direction == CallDirection.OUTBOUND.value,
            col(Call.call_type) != CallType.CONSUMER_CALLBACK.value,
        )
    )
    if exclude_call_id is not None:
        query = query.where(col(Call.id) != exclude_call_id)
    return int(session.exec(query).one())


def quota_left(session: Session, business: Business) -> int:
    return max(0, _plan_quota(business) - calls_this_month(session, business.id))  # type: ignore[arg-type]


def attempts_today(
    session: Session, phone_hash: str, now: datetime | None = None, *, exclude_call_id: int | None = None
) -> int:
    """Calls to this number (not cancelled) placed, or asked for, in the 24 hours before `now`."""
    since = _aware(now or utcnow()) - timedelta(days=1)
    query = (
        select(func.count())
        .select_from(Call)
        .where(
            Call.to_number_hash == phone_hash,
            col(Call.status) != CallStatus.CANCELED.value,
            func.coalesce(col(Call.started_at), col(Call.created_at)) >= since,
        )
    )
    if exclude_call_id is not None:
        query = query.where(col(Call.id) != exclude_call_id)
    # The cap is per number, whoever asked for the calls: counted over every tenant's calls (a count, nothing else).
    with access.as_system(session, "calls: the daily cap of calls to one number"):
        return int(session.exec(query).one())


def attempts_today_by_number(session: Session, phone_hashes: list[str], now: datetime | None = None) -> dict[str, int]:
    """`attempts_today` for several numbers in one query (numbers without calls are absent)."""
    if not phone_hashes:
        return {}
    since = _aware(now or utcnow()) - timedelta(days=1)
    query = (
        select(Call.to_number_hash, func.count())
        .where(
            col(Call.to_number_hash).in_(phone_hashes),
            col(Call.status) != CallStatus.CANCELED.value,
            func.coalesce(col(Call.started_at), col(Call.created_at)) >= since,
        )
        .group_by(col(Call.to_number_hash))
    )
    with access.as_system(session, "calls: the daily cap of calls to one number"):
        rows = session.exec(query).all()
    return {phone_hash: int(count) for phone_hash, count in rows}


def on_do_not_call_list(session: Session, phone_hash: str) -> bool:
    return session.exec(select(DoNotCall.id).where(DoNotCall.phone_hash == phone_hash)).first() is not None


def _quota_refusal(business: Business, used: int) -> str:
    quota = _plan_quota(business)
    if used < quota:
        return ""
    if quota == 0:
        return "Your plan has no AI calls; upgrade to Starter or Pro."
    return f"This month's {quota} AI calls are used."


def eligibility(
    session: Session, lead: Lead, business: Business, match: Match | None, now: datetime | None = None
) -> Eligibility:
    """Whether an AI call about this lead may be requested now, and if not, why (shown on the button)."""
    if match is not None and match.status not in (MatchStatus.ACCEPTED.value, MatchStatus.CONVERTED.value):
        return Eligibility(False, "Accept the lead first.")
    if not lead.consent_ai_calls or lead.consent_at is None:
        return Eligibility(False, "The consumer did not consent to AI calls.")
    if not lead.contact_phone_hash:
        return Eligibility(False, "The consumer gave no phone number.")
    if on_do_not_call_list(session, lead.contact_phone_hash):  # the strongest refusal, said first
        return Eligibility(False, "This number is on the do-not-call list.")
    if lead.phone_verified_at is None:
        return Eligibility(False, UNVERIFIED)
    refusal = _quota_refusal(business, calls_this_month(session, business.id))  # type: ignore[arg-type]
    refusal = refusal or daily_caps.calls_refusal(session, business.id, now=now)
    if refusal:
        return Eligibility(False, refusal)
    if attempts_today(session, lead.contact_phone_hash, now) >= MAX_CALLS_PER_NUMBER_PER_DAY:
        return Eligibility(False, "Three calls were already made to this number today.")
    open_call = session.exec(
        select(Call.id).where(
            Call.lead_id == lead.id, Call.business_id == business.id, col(Call.status).in_(OPEN_STATUSES)
        )
    ).first()
    if open_call:
        return Eligibility(False, "A call about this lead is already requested.")
    return Eligibility(True)


def placement_refusal(session: Session, call: Call, lead: Lead | None, now: datetime | None = None) -> str:
    """Why `call` must not be dialled now ("" when it may): every rule checked again at dialling time."""
    if lead is None or lead.deleted_at is not None:
        return "The request no longer exists."
    if lead.status in (LeadStatus.WITHDRAWN.value, LeadStatus.REJECTED.value, LeadStatus.DELETED.value):
        return "The request was withdrawn or closed."
    if not lead.consent_ai_calls or lead.consent_at is None:
        return "The consumer did not consent to AI calls."
    if not call.to_number_enc or not call.to_number_hash:
        return "There is no phone number to call."
    if on_do_not_call_list(session, call.to_number_hash):  # the strongest refusal, said first
        return "This number is on the do-not-call list."
    if lead.phone_verified_at is None or call.to_number_hash != lead.contact_phone_hash:
        return UNVERIFIED
    if not phones.is_supported(crypto.decrypt_phone(call.to_number_enc)):
        return phones.unsupported_message()
    if attempts_today(session, call.to_number_hash, now, exclude_call_id=call.id) >= MAX_CALLS_PER_NUMBER_PER_DAY:
        return "Three calls were already made to this number today."
    capped = daily_caps.calls_refusal(session, call.business_id, exclude_call_id=call.id, now=now)
    if capped:
        return capped
    counts_against_quota = (
        call.business_id is not None
        and call.retry_of_id is None
        and call.call_type != CallType.CONSUMER_CALLBACK.value
        and call.direction == CallDirection.OUTBOUND.value
    )
    if counts_against_quota:
        business = session.get(Business, call.business_id)
        if business is None:
            return "The business no longer exists."
        used = calls_this_month(session, call.business_id, exclude_call_id=call.id)  # type: ignore[arg-type]
        return _quota_refusal(business, used)
    return ""


# --- requesting -----------------------------------------------------------------------------------


def _first_slot(zip_code: str, when: datetime | None, now: datetime) -> tuple[str, datetime | None]:
    """(status, scheduled_for) of a new call: `requested` to dial now, or `scheduled` for a later window."""
    target = max(_aware(when), now) if when is not None else now
    is_open, start = calling_window(zip_code, target)
    if when is None and is_open:
        return CallStatus.REQUESTED.value, None
    return CallStatus.SCHEDULED.value, start


def new_outbound_call(
    session: Session,
    lead: Lead,
    *,
    business_id: int | None,
    requested_by_id: int | None,
    call_type: str,
    objective: str,
    when: datetime | None = None,
    now: datetime | None = None,
) -> Call:
    """Add a call to the lead's number relying on its recorded consent, now or in the next calling window.

    The caller has checked the rules. Its `place_call` job is enqueued (or scheduled) once this commits.
    """
    now = _aware(now or utcnow())
    status, scheduled_for = _first_slot(_lead_zip(lead), when, now)
    call = Call(
        lead_id=lead.id,
        business_id=business_id,
        requested_by_id=requested_by_id,
        call_type=CallType(call_type).value,
        objective=objective.strip()[:2000],
        to_number_enc=lead.contact_phone_enc,
        to_number_hash=lead.contact_phone_hash,
        status=status,
        scheduled_for=scheduled_for,
        consent_at=lead.consent_at,
        consent_lead_id=lead.id,
    )
    session.add(call)
    session.flush()
    run_after_commit(session, enqueue_place_call, call.id, scheduled_for)
    return call


def request_call(
    session: Session,
    user: User | None,
    match_id: int,
    objective: str = "",
    call_type: str = CallType.QUALIFY_LEAD,
    when: datetime | None = None,
    now: datetime | None = None,
) -> Call:
    """Record an AI call request for one of the business's matches (the business's owner or an admin).

    Within the consumer's calling hours the call is `requested` and its job enqueued once this commits;
    outside them, or with `when`, it is `scheduled` for the next window at or after that time.
    To an owner, a missing match, another business's and a closed request's are refused alike
    (`access.business_match`, as in `inbox`), so ids reveal nothing and a withdrawn request is never called about.
    """
    # The one refusal for a missing, foreign or closed (withdrawn, rejected, deleted) lead.
    match, lead, business = access.business_match(session, user, match_id, act=True)
    actor = access.require_business(user, business)
    verdict = eligibility(session, lead, business, match, now)
    if not verdict.allowed:
        raise UserError(verdict.reason, field="call")
    call = new_outbound_call(
        session,
        lead,
        business_id=business.id,
        requested_by_id=actor.id,
        call_type=call_type,
        objective=objective or business.call_objective_notes or "Qualify the job",
        when=when,
        now=now,
    )
    audit.record(
        session,
        actor_id=actor.id,
        action="call.request",
        target=call,
        after={"lead_id": lead.id, "call_type": call.call_type, "status": call.status},
    )
    publish_after_commit(
        session, "match", business_id=business.id, match_id=match.id, lead_id=lead.id, consumer_id=lead.consumer_id
    )
    return call


def _publish_call(session: Session, call: Call) -> None:
    """Tell open dashboards and portals that this call changed (after commit)."""
    lead = session.get(Lead, call.lead_id) if call.lead_id else None
    if call.business_id is not None:
        publish_after_commit(session, "match", business_id=call.business_id, lead_id=call.lead_id)
    if lead is not None:
        publish_after_commit(session, "lead", lead_id=lead.id, status=lead.status, consumer_id=lead.consumer_id)


def _may_act_on_call(session: Session, user: User | None, call: Call, *, view: bool) -> bool:
    """Admins; the owner of the call's business; the lead's consumer (for viewing, or their own callbacks)."""
    role = access.role_of(user)
    if role is None or user is None:
        return False
    if role == Role.ADMIN:
        return True
    if role == Role.BUSINESS_OWNER and call.business_id is not None:
        return access.can_manage_business(user, session.get(Business, call.business_id))
    if role == Role.CONSUMER and call.lead_id is not None:
        lead = session.get(Lead, call.lead_id)
        if lead is None or lead.deleted_at is not None or not access.is_lead_owner(user, lead):
            return False
        return view or call.call_type == CallType.CONSUMER_CALLBACK.value
    return False


def cancel_call(session: Session, actor: User | None, call_id: int) -> Call:
    """Cancel a call not dialled yet (requested or scheduled): its business's owner, the consumer for their
    callbacks, or an admin. Refused with the reason once it is being placed or is over. A job already waiting
    for it finds it cancelled and dials nothing.
    """
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound("No such call.")
    if access.role_of(actor) is None:
        raise access.NotLoggedIn("Log in to continue.")
    if not _may_act_on_call(session, actor, call, view=False):
        raise NotAllowed("This is not your call.")
    assert actor is not None
    changed = session.execute(
        update(Call)
        .where(col(Call.id) == call_id, col(Call.status).in_(CANCELLABLE_STATUSES))
        .values(status=CallStatus.CANCELED.value, error=f"canceled by user {actor.id}", updated_at=utcnow())
    )
    session.refresh(call)
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise UserError(f"This call can no longer be canceled (it is {call.status}).", field="call")
    audit.record(session, actor_id=actor.id, action="call.cancel", target=call, after={"status": call.status})
    _publish_call(session, call)
    run_after_commit(session, _drop_waiting_job, call_id)
    return call


# --- the place_call job ---------------------------------------------------------------------------


def enqueue_place_call(call_id: int, at: datetime | None = None, job_id: str | None = None) -> bool:
    """Enqueue `place_call(call_id)` now, or at `at` (RQ's scheduler); False when Redis is unreachable.

    A job still waiting under the same id is not enqueued twice.
    """
    job_id = job_id or f"call-{call_id}"
    if at is None or _aware(at) <= utcnow():
        return enqueue(CALLS, PLACE_CALL_JOB, call_id, job_id=job_id)
    try:
        q = queue(CALLS)
        existing = q.fetch_job(job_id)
        if existing is not None and existing.get_status(refresh=True) in ("scheduled", "queued", "deferred"):
            return True
        q.enqueue_at(
            _aware(at), PLACE_CALL_JOB, call_id, job_id=job_id, result_ttl=JOB_RESULT_TTL, failure_ttl=JOB_RESULT_TTL
        )
        return True
    except RedisError as exc:
        log.warning("call_enqueue_failed", call_id=call_id, at=str(at), error=repr(exc))
        return False


def _drop_waiting_job(call_id: int) -> None:
    """Best effort: remove the call's waiting job (the job would find the call cancelled anyway)."""
    try:
        job = queue(CALLS).fetch_job(f"call-{call_id}")
        if job is not None and job.get_status(refresh=True) in ("scheduled", "queued", "deferred"):
            job.cancel()
    except RedisError as exc:
        log.warning("call_job_not_dropped", call_id=call_id, error=repr(exc))


def bridge_urls(call_id: int) -> tuple[str, str, str, str]:
    """(media stream wss url, status callback url, AMD callback url, recording callback url) on the bridge's
    public address."""
    base = get_settings().voice_bridge_public_url.rstrip("/")
    if base.startswith("https://"):
        ws_base = "wss://" + base.removeprefix("https://")
    else:
        ws_base = "ws://" + base.removeprefix("http://")
    hooks = f"{base}/twilio/calls/{call_id}"
    return f"{ws_base}/media", f"{hooks}/status", f"{hooks}/amd", f"{hooks}/recording"


def _set_if(session: Session, call_id: int, statuses: tuple[str, ...], **values: Any) -> bool:
    """Compare-and-set: apply `values` only while the call is in one of `statuses`; True if it was."""
    changed = session.execute(
        update(Call)
        .where(col(Call.id) == call_id, col(Call.status).in_(statuses))
        .values(updated_at=utcnow(), **values)
    )
    return changed.rowcount == 1  # type: ignore[attr-defined]


def place_call(call_id: int, now: datetime | None = None) -> str:
    """Dial one call if it may be dialled now; returns what happened.

    "dialled"; "rescheduled" (outside calling hours or before its time: scheduled for the next window);
    "refused" (a rule no longer holds: cancelled with the reason in `error`); "failed" (the provider refused:
    outcome error, retried once); "already_dialled" / "skipped:<status>" / "missing" (nothing to do).
    Safe to run twice: only the run that moves the row to `dialing` dials, and never when a provider call
    id is already recorded.
    """
    now = _aware(now or utcnow())
    with session_scope() as session:
        call = session.get(Call, call_id)
        if call is None:
            return "missing"
        if call.provider_call_sid:
            return "already_dialled"
        if call.status not in CANCELLABLE_STATUSES:
            return f"skipped:{call.status}"
        lead = session.get(Lead, call.lead_id) if call.lead_id else None
        refusal = placement_refusal(session, call, lead, now)
        if refusal:
            if _set_if(session, call_id, CANCELLABLE_STATUSES, status=CallStatus.CANCELED.value, error=refusal):
                audit.record(session, actor_id=None, action="call.refused", target=call, after={"reason": refusal})
                _publish_call(session, call)
            log.info("call_refused", call_id=call_id, reason=refusal)
            return "refused"
        due = max(_aware(call.scheduled_for), now) if call.scheduled_for else now
        is_open, start = calling_window(_lead_zip(lead), due)
        if not is_open or start > now + DIAL_NOW_SLACK:
            if _set_if(session, call_id, CANCELLABLE_STATUSES, status=CallStatus.SCHEDULED.value, scheduled_for=start):
                # A new job id: this very job (`call-<id>`) is still running and must not be overwritten.
                run_after_commit(
                    session, enqueue_place_call, call_id, start, f"call-{call_id}-{int(start.timestamp())}"
                )
                _publish_call(session, call)
            return "rescheduled"
        from_number = get_settings().twilio_from_number
        if not _set_if(
            session,
            call_id,
            CANCELLABLE_STATUSES,
            status=CallStatus.DIALING.value,
            started_at=now,
            from_number=from_number,
            provider=telephony.provider_name(),
        ):
            return "claimed_elsewhere"
        to_number = crypto.decrypt_phone(call.to_number_enc)
        _publish_call(session, call)
    stream_url, status_url, amd_url, recording_url = bridge_urls(call_id)
    try:
        if not to_number:
            raise telephony.TelephonyError("the stored number cannot be decrypted", permanent=True)
        sid = telephony.place_outbound_call(
            call_id, to_number, from_number, stream_url, status_url, amd_url, recording_url
        )
    except Exception as exc:
        report_exception(exc, where="place_call", call_id=call_id)
        end_call(call_id, CallStatus.FAILED.value, CallOutcome.ERROR.value, error=str(exc)[:1000])
        return "failed"
    with session_scope() as session:
        # A status callback may have recorded the sid first (it can arrive before this commit).
        session.execute(
            update(Call)
            .where(col(Call.id) == call_id, or_(col(Call.provider_call_sid).is_(None), Call.provider_call_sid == sid))
            .values(provider_call_sid=sid, updated_at=utcnow())
        )
    log.info("call_dialled", call_id=call_id, call_sid=sid)
    return "dialled"


# --- the media stream -----------------------------------------------------------------------------

STREAMABLE_STATUSES = (CallStatus.DIALING.value, CallStatus.RINGING.value, CallStatus.IN_PROGRESS.value)
"""A media stream may start only for a call that is being placed or is live."""


@dataclass(frozen=True)
class StreamClaim:
    """The answer to a media stream's `start`: the call it now holds, or why it holds nothing."""

    call_id: int | None
    refusal: str = ""

    @property
    def granted(self) -> bool:
        return not self.refusal


def claim_media_stream(
    session: Session, raw_call_id: str, token: str, call_sid: str, stream_sid: str, now: datetime | None = None
) -> StreamClaim:
    """Let one media stream hold a call, or say why not (outbound and inbound calls alike, simulated ones too).

    Granted only when `token` is the call's unexpired media-stream token (`crypto.media_stream_token`, sent in
    the call's TwiML), the call is dialling, ringing or in progress, `call_sid` is the provider SID stored for
    it, and no other stream holds it. The hold is a compare-and-set on `calls.media_stream_sid`, so of two
    streams starting at once exactly one wins; `release_media_stream` gives it back at the end. A refusal
    writes nothing.
    """
    call_id = int(raw_call_id) if raw_call_id.isdigit() and len(raw_call_id) < 12 else None
    if call_id is None:
        return StreamClaim(None, "no call id")
    moment = _aware(now or utcnow()).timestamp()
    problem = crypto.media_stream_token_problem(call_id, token, now=moment)
    if problem:
        return StreamClaim(call_id, f"{problem} token")
    if not call_sid or not stream_sid:
        return StreamClaim(call_id, "no call or stream sid")
    changed = session.execute(
        update(Call)
        .where(
            col(Call.id) == call_id,
            col(Call.status).in_(STREAMABLE_STATUSES),
            col(Call.provider_call_sid) == call_sid,
            col(Call.media_stream_sid).is_(None),
        )
        .values(media_stream_sid=stream_sid[:64])
    )
    if changed.rowcount == 1:  # type: ignore[attr-defined]
        return StreamClaim(call_id)
    call = session.get(Call, call_id)
    if call is None:
        return StreamClaim(call_id, "unknown call")
    if call.status not in STREAMABLE_STATUSES:
        return StreamClaim(call_id, f"call is {call.status}")
    if call.provider_call_sid != call_sid:
        return StreamClaim(call_id, "call sid differs from the stored one")
    return StreamClaim(call_id, "another stream holds the call")


def release_media_stream(session: Session, call_id: int, stream_sid: str) -> bool:
    """Give the call back once its stream has ended (only the stream that holds it can); True if it held it."""
    changed = session.execute(
        update(Call)
        .where(col(Call.id) == call_id, col(Call.media_stream_sid) == stream_sid)
        .values(media_stream_sid=None)
    )
    return changed.rowcount == 1  # type: ignore[attr-defined]


# --- after the call -------------------------------------------------------------------------------


def _minutes(seconds: int | None) -> int:
    return math.ceil(seconds / 60) if seconds else 0


def _talked(session: Session, call: Call) -> bool:
    """A person was on the line: AMD heard a human, or the bridge saved something the caller said."""
    if call.answered_by == "human":
        return True
    spoke = session.exec(
        select(TranscriptLine.id).where(TranscriptLine.call_id == call.id, TranscriptLine.speaker == Speaker.CALLER)
    ).first()
    return spoke is not None


def _ending_outcome(session: Session, call: Call, twilio_status: str) -> str:
    if twilio_status in UNANSWERED_TWILIO_STATUSES:
        return CallOutcome.NO_ANSWER.value
    if twilio_status == "failed":
        return CallOutcome.ERROR.value
    if call.answered_by in MACHINE_ANSWERS:
        return CallOutcome.VOICEMAIL.value
    return CallOutcome.GOAL_ACHIEVED.value if _talked(session, call) else CallOutcome.NO_ANSWER.value


def end_call(
    call_id: int,
    status: str,
    outcome: str,
    *,
    error: str = "",
    duration_seconds: int | None = None,
    recording_url: str = "",
    recording_seconds: int | None = None,
    now: datetime | None = None,
) -> bool:
    """End a call that is not over yet: status, outcome (unless the conversation set one), duration, carrier
    cost, recording; then its one retry and the notifications. False when it had already ended (nothing done).
    """
    now = _aware(now or utcnow())
    with session_scope() as session:
        carrier = round(_minutes(duration_seconds) * CARRIER_CENTS_PER_MINUTE, 4)
        values: dict[str, Any] = {
            "status": status,
            "outcome": func.coalesce(col(Call.outcome), outcome),
            "ended_at": now,
            "cost_carrier_cents": carrier,
            "cost_total_cents": carrier + col(Call.cost_realtime_cents) + col(Call.cost_summary_cents),
        }
        if error:
            values["error"] = error[:1000]
        if duration_seconds is not None:
            values["duration_seconds"] = duration_seconds
        if recording_url:
            values["recording_ref"] = recording_url[:500]
            values["recording_seconds"] = recording_seconds
        if not _set_if(session, call_id, (*OPEN_STATUSES,), **values):
            return False
        call = session.get(Call, call_id)
        assert call is not None
        session.refresh(call)
        retry = schedule_retry(session, call, now)
        notify_call_ended(session, call, retry)
        audit.record(
            session,
            actor_id=None,
            action="call.end",
            target=call,
            after={"status": call.status, "outcome": call.outcome, "retry_call_id": retry.id if retry else None},
        )
        _publish_call(session, call)
    log.info("call_ended", call_id=call_id, status=status, outcome=call.outcome)
    return True


def schedule_retry(session: Session, call: Call, now: datetime | None = None) -> Call | None:
    """The one retry of a no_answer / error / ai_failure call: attempt 2, `RETRY_DELAY` later within calling
    hours, its job scheduled once this commits. None when no retry is due (other outcome, already a retry,
    request gone). Idempotent: an existing retry is returned.
    """
    retried = (CallOutcome.NO_ANSWER.value, CallOutcome.ERROR.value, CallOutcome.AI_FAILURE.value)
    if call.outcome not in retried or call.attempt >= MAX_ATTEMPTS:
        return None
    existing = session.exec(select(Call).where(Call.retry_of_id == call.id)).first()
    if existing is not None:
        return existing
    lead = session.get(Lead, call.lead_id) if call.lead_id else None
    if lead is None or lead.deleted_at is not None or not call.to_number_enc:
        return None
    _, start = calling_window(_lead_zip(lead), _aware(now or utcnow()) + RETRY_DELAY)
    retry = Call(
        lead_id=call.lead_id,
        business_id=call.business_id,
        requested_by_id=call.requested_by_id,
        call_type=call.call_type,
        direction=call.direction,
        objective=call.objective,
        to_number_enc=call.to_number_enc,
        to_number_hash=call.to_number_hash,
        status=CallStatus.SCHEDULED.value,
        scheduled_for=start,
        consent_at=call.consent_at,
        consent_lead_id=call.consent_lead_id,
        attempt=call.attempt + 1,
        retry_of_id=call.id,
    )
    session.add(retry)
    session.flush()
    run_after_commit(session, enqueue_place_call, retry.id, start)
    return retry


def record_provider_status(
    call_id: int,
    twilio_status: str,
    *,
    call_sid: str = "",
    duration_seconds: int | None = None,
    recording_url: str = "",
    recording_seconds: int | None = None,
    now: datetime | None = None,
) -> str:
    """Apply one provider status callback (Twilio's CallStatus values); returns what it did.

    Statuses only move forward (a late "ringing" after "in-progress" changes nothing); the first terminal
    status ends the call (`end_call`), later ones change nothing. A callback for another call sid than the
    one recorded is ignored; one arriving before `place_call` stored the sid records it.
    """
    ours = TWILIO_STATUSES.get(twilio_status)
    now = _aware(now or utcnow())
    with session_scope() as session:
        call = session.get(Call, call_id)
        if call is None:
            return "unknown_call"
        if call_sid and call.provider_call_sid and call.provider_call_sid != call_sid:
            log.warning("call_status_for_other_sid", call_id=call_id, call_sid=call_sid)
            return "other_call_sid"
        if call_sid and not call.provider_call_sid:
            session.execute(
                update(Call)
                .where(col(Call.id) == call_id, col(Call.provider_call_sid).is_(None))
                .values(provider_call_sid=call_sid)
            )
        if ours is None:
            return "ignored"
        if call.status in TERMINAL_STATUSES:
            return "already_ended"
        if ours in _PROGRESS:
            behind = tuple(s for s, rank in _PROGRESS.items() if rank < _PROGRESS[ours])
            extra: dict[str, Any] = {"answered_at": now} if ours == CallStatus.IN_PROGRESS.value else {}
            if _set_if(session, call_id, behind, status=ours, **extra):
                _publish_call(session, call)
                return ours
            return "stale"
        outcome = _ending_outcome(session, call, twilio_status)
    ended = end_call(
        call_id,
        ours,
        outcome,
        error="" if twilio_status == "completed" else f"twilio: {twilio_status}",
        duration_seconds=duration_seconds,
        recording_url=recording_url,
        recording_seconds=recording_seconds,
        now=now,
    )
    return ours if ended else "already_ended"


def voicemail_message(session: Session, call: Call) -> str:
    """The short message left on an answering machine (no personal details: anyone may hear it)."""

    business = session.get(Business, call.business_id) if call.business_id else None
    lead = session.get(Lead, call.lead_id) if call.lead_id else None
    return VOICEMAIL_TEXT.format(
        business=business.name if business else "LeadApp",
        service=category_label(lead.category if lead else None).lower(),
    )


def record_answered_by(call_id: int, answered_by: str, *, call_sid: str = "") -> str:
    """Apply the asynchronous answering-machine verdict; returns "voicemail", "human", "unknown" or why not.

    A machine or fax: outcome voicemail, then (after commit) a short message is played and the call hung up
    through the provider. A repeated verdict changes nothing and plays nothing.
    """
    machine = answered_by in MACHINE_ANSWERS
    with session_scope() as session:
        call = session.get(Call, call_id)
        if call is None:
            return "unknown_call"
        if call_sid and call.provider_call_sid and call.provider_call_sid != call_sid:
            return "other_call_sid"
        values: dict[str, Any] = {"answered_by": answered_by[:32], "updated_at": utcnow()}
        if machine:
            values["outcome"] = CallOutcome.VOICEMAIL.value
        changed = session.execute(
            update(Call).where(col(Call.id) == call_id, col(Call.answered_by).is_(None)).values(**values)
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            return "duplicate"
        sid = call.provider_call_sid or call_sid
        still_on = call.status not in TERMINAL_STATUSES
        message = voicemail_message(session, call) if machine else ""
        _publish_call(session, call)
    if not machine:
        return "human" if answered_by == "human" else "unknown"
    if sid and still_on:
        try:
            telephony.play_voicemail_and_hangup(sid, message)
        except telephony.TelephonyError as exc:  # e.g. the call ended meanwhile
            log.warning("voicemail_not_played", call_id=call_id, error=str(exc))
    return "voicemail"


# --- telling people -------------------------------------------------------------------------------


SIMULATED_NOTE = (
    "Simulated call: no phone account is configured, so nobody was phoned. "
    "A scripted caller answered from the request's own details."
)


def is_simulated(call: Call) -> bool:
    """A call on the local simulated line (no phone account): shown as a simulation wherever it appears."""
    return call.provider == telephony.PROVIDER_SIMULATED


def call_name(call: Call) -> str:
    """ "AI call", or "Simulated AI call" for a call on the simulated line."""
    return "Simulated AI call" if is_simulated(call) else "AI call"


def local_summary(
    qualification: dict[str, Any], outcome: str | None, human: bool, lines: list[dict[str, Any]] | None = None
) -> str:
    """A plain summary from the recorded qualification (no model needed): the summary the bridge writes when
    Claude is not keyed, and the one a call message shows when no summary was written.

    `outcome` and `human` add their sentence when given; `lines` (the transcript, when at hand) adds how many
    lines were said and what the caller said last.
    """
    shown = {**qualification}
    if shown.get("urgency") in labels.URGENCY:  # "Urgent", never the stored "high"
        shown["urgency"] = labels.urgency(shown["urgency"])
    parts = [f"{label}: {shown[key]}" for key, label in SUMMARY_FIELDS.items() if shown.get(key)]
    text = ("; ".join(parts) + ".") if parts else "No job details were recorded."
    if outcome:
        text = f"Outcome: {labels.call_outcome(outcome)}. " + text
    if human:
        text += " The caller asked for a human callback."
    if lines is None:
        return text
    caller_lines = [line["text"] for line in lines if line["speaker"] == Speaker.CALLER.value and line["text"]]
    counted = labels.count(len(lines), "transcript line")
    if caller_lines:
        return f"{text} {counted}; the caller last said: “{caller_lines[-1][:200]}”"
    return f"{text} {counted}."


SUMMARY_FIELDS = {
    "need": "Need",
    "urgency": "Urgency",
    "budget": "Budget",
    "timing": "Timing",
    "address_details": "Address",
    "zip": "ZIP",
    "appointment_time": "Appointment",
    "quote": "Quote",
    "caller_name": "Caller",
}


CONCIERGE_DONE = "We added what you told us to your request and are looking for businesses again."


def _summary_text(
    call: Call, retry: Call | None, link: str, next_step: str = "", zone: ZoneInfo = localtime.UTC_ZONE
) -> str:
    """The call summary message; a retry's time in the recipient's `zone` ("tomorrow 9:00 (your time)")."""
    lines = [SIMULATED_NOTE, ""] if is_simulated(call) else []
    lines.append(f"Outcome: {OUTCOME_LABELS.get(call.outcome or '', call.outcome or 'ended')}")
    if call.duration_seconds:
        lines.append(f"Duration: {call.duration_seconds // 60} min {call.duration_seconds % 60} s")
    lines += ["", (call.summary or "").strip() or local_summary(call.qualification or {}, None, False)]
    if next_step:
        lines += ["", next_step]
    if call.human_callback_requested:
        lines += ["", "The consumer asked to speak with a person: please call them back."]
    if retry is not None and retry.scheduled_for is not None:
        lines += ["", f"We will try once more {localtime.scheduled(retry.scheduled_for, utcnow(), zone)}."]
    if link:
        lines += ["", link]
    return "\n".join(lines)


def notify_call_ended(session: Session, call: Call, retry: Call | None = None) -> list[int]:
    """CALL_SUMMARY notifications for a call that ended: the business (its chosen channels) and, for a
    callback, the consumer. Idempotent (one row per call, recipient and channel); sent after commit.
    Returns the notification ids.
    """

    lead = session.get(Lead, call.lead_id) if call.lead_id else None
    if lead is None or lead.deleted_at is not None:
        return []
    outcome = OUTCOME_LABELS.get(call.outcome or "", "Ended")
    service = compose.category_label(lead.category)
    ids: list[int] = []
    business = session.get(Business, call.business_id) if call.business_id else None
    if business is not None:
        link = compose.lead_link(lead)
        text = _summary_text(call, retry, link, zone=localtime.business_zone(business))
        for channel, recipient in notify.business_targets(session, business):
            sms = channel == Channel.SMS.value
            row = notify.create_notification(
                session,
                kind=NotificationKind.CALL_SUMMARY.value,
                channel=channel,
                recipient=recipient,
                subject="" if sms else f"{call_name(call)}: {outcome} · {service} lead #{lead.id}",
                text=compose.fit_sms(f"{call_name(call)} about your {service} lead: {outcome}.", link) if sms else text,
                html="" if sms else compose.html_from_text(text, link),
                dedupe_key=f"call:{call.id}:summary:business:{channel}",
                lead_id=lead.id,
                business_id=business.id,
                user_id=business.owner_id,
            )
            ids.append(row.id)  # type: ignore[arg-type]
    # The consumer hears back after a callback they asked for, and after any call where they spoke with the AI.
    spoke = call.outcome in (CallOutcome.GOAL_ACHIEVED.value, CallOutcome.DECLINED.value)
    if call.call_type == CallType.CONSUMER_CALLBACK.value or spoke:
        link = compose.tracking_link(lead) if lead.consumer_id is None else compose.portal_link()
        completed = business is None and call.outcome == CallOutcome.GOAL_ACHIEVED.value  # LeadApp's concierge call
        simulated = "(Simulated) Y" if is_simulated(call) else "Y"
        text = _summary_text(call, retry, link, CONCIERGE_DONE if completed else "", localtime.lead_zone(lead))
        targets = [(Channel.EMAIL.value, lead.contact_email)] if lead.contact_email else []
        if lead.preferred_contact in (ContactPreference.SMS, ContactPreference.PHONE):
            phone = notify.normalize_phone(crypto.decrypt_phone(lead.contact_phone_enc))
            if phone:
                targets.append((Channel.SMS.value, phone))
        for channel, recipient in targets:
            sms = channel == Channel.SMS.value
            row = notify.create_notification(
                session,
                kind=NotificationKind.CALL_SUMMARY.value,
                channel=channel,
                recipient=recipient,
                subject="" if sms else f"{simulated}our call about your {service.lower()} request: {outcome}",
                text=compose.fit_sms(f"{simulated}our LeadApp callback: {outcome}.", link) if sms else text,
                html="" if sms else compose.html_from_text(text, link),
                dedupe_key=f"call:{call.id}:summary:consumer:{channel}",
                lead_id=lead.id,
                user_id=lead.consumer_id,
            )
            ids.append(row.id)  # type: ignore[arg-type]
    if ids:
        run_after_commit(session, notify.enqueue_sends, list(ids))
    return ids


# --- recordings -----------------------------------------------------------------------------------

RECORDING_PATH = "/api/v1/recordings/"
DELETE_RECORDING_JOB = "worker.jobs.delete_call_recording"


def record_recording(
    call_id: int, *, call_sid: str, recording_sid: str, status: str, duration_seconds: int | None = None
) -> str:
    """Apply Twilio's recording status callback; returns what it did.

    A `completed` recording of our call (the CallSid must be the stored one) is kept by its SID; a repeat
    changes nothing. A recording that arrives for a call whose lead was purged meanwhile is deleted at once.
    """
    if status != "completed":
        return "ignored"
    if not recordings.TWILIO_SID.match(recording_sid or ""):
        return "not_a_recording"
    with session_scope() as session:
        call = session.get(Call, call_id)
        if call is None:
            return "unknown_call"
        if not call_sid or call.provider_call_sid != call_sid:
            log.warning("recording_for_other_sid", call_id=call_id)
            return "other_call_sid"
        if call.recording_ref == recording_sid:
            return "duplicate"
        return _store_recording(session, call, recording_sid, duration_seconds)


def record_local_recording(call_id: int, ref: str, seconds: int | None) -> str:
    """Keep the local recording of a simulated call (what the recording callback does for a Twilio call).

    "stored"; "purge" when the lead was purged meanwhile (it is deleted); "taken" when the call already has one;
    "unknown_call".
    """
    with session_scope() as session:
        call = session.get(Call, call_id)
        if call is None:
            return "unknown_call"
        if call.recording_ref:
            return "taken"
        return _store_recording(session, call, ref, seconds)


def _store_recording(session: Session, call: Call, ref: str, seconds: int | None) -> str:
    call.recording_ref = ref[:500]
    call.recording_seconds = seconds
    call.updated_at = utcnow()
    session.add(call)
    if call.recording_purge_at is not None:
        run_after_commit(session, enqueue_recording_deletion, call.id)
        return "purge"
    _publish_call(session, call)
    return "stored"


def recording_callback_url(call_id: int) -> str:
    """Where Twilio posts a call's finished recording (signed like every webhook)."""
    return bridge_urls(call_id)[3]


def recording_link(session: Session, viewer: User | None, call_id: int, ttl: int | None = None) -> str:
    """A link to the call's recording, streamed by the app, for the business's owner, the lead's consumer or an
    admin (NotAllowed for anyone else, NotFound without a recording). Valid `ttl` seconds; by default long
    enough to play the whole recording (a player asks for more bytes while it plays)."""
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound("No such call.")
    if access.role_of(viewer) is None:
        raise access.NotLoggedIn("Log in to continue.")
    if not _may_act_on_call(session, viewer, call, view=True):
        raise NotAllowed("This is not your call.")
    if not call.recording_ref or call.recording_purge_at is not None:
        raise NotFound("This call has no recording.")
    assert viewer is not None
    if ttl is None:
        ttl = max(RECORDING_LINK_TTL_SECONDS, 2 * (call.recording_seconds or 0) + RECORDING_LINK_TTL_SECONDS)
    expires = int(utcnow().timestamp()) + ttl
    token = crypto.sign(
        RECORDING_PURPOSE,
        {"call": call.id, "viewer": viewer.id, "exp": expires},
        max(ttl, 0) + RECORDING_EXPIRED_GRACE_SECONDS,
    )
    return f"{get_settings().app_url.rstrip('/')}{RECORDING_PATH}{token}"


@dataclass(frozen=True)
class RecordingAccess:
    """What opening a recording link gives: 200 with the recording's `ref`, or 403 / 404 / 410 with `reason`."""

    status: int
    ref: str = ""
    reason: str = ""


def open_recording(token: str, now: datetime | None = None) -> RecordingAccess:
    """Check a recording link: genuine, unexpired, and its viewer still allowed to hear this call (every request
    of a player is checked again: a viewer who lost access, or a purged lead, stops the stream)."""
    payload: Mapping[str, Any] | None = crypto.unsign(RECORDING_PURPOSE, token or "")
    if payload is None:
        return RecordingAccess(403, reason="This link is invalid.")
    call_id, viewer_id, expires = payload.get("call"), payload.get("viewer"), payload.get("exp")
    if not (isinstance(call_id, int) and isinstance(viewer_id, int) and isinstance(expires, int)):
        return RecordingAccess(403, reason="This link is invalid.")
    if expires < _aware(now or utcnow()).timestamp():
        return RecordingAccess(410, reason="This link has expired; open the call again for a new one.")
    with session_scope() as session:
        # The link stands for its viewer: the call is looked up as them (whatever context the server runs in).
        viewer = session.get(User, viewer_id)
        access.enter(session, viewer)
        call = session.get(Call, call_id)
        if call is None or not _may_act_on_call(session, viewer, call, view=True):
            return RecordingAccess(403, reason="You may not hear this recording.")
        if not call.recording_ref or call.recording_purge_at is not None:
            return RecordingAccess(410, reason="This recording is no longer available.")
        return RecordingAccess(200, ref=call.recording_ref)


def enqueue_recording_deletion(call_id: int) -> bool:
    """Enqueue the deletion of a purged call's recording at its provider (retried; the daily purge catches up)."""
    return enqueue(
        MAINTENANCE,
        DELETE_RECORDING_JOB,
        call_id,
        job_id=f"delete-recording-{call_id}",
        retry=Retry(3, [60, 600, 3600]),
    )


def delete_recording(call_id: int) -> str:
    """Delete the recording of a call whose lead was purged, at its provider, then forget its reference.

    Returns "deleted", "nothing" (no recording, or its lead was not purged) or raises on a transient provider
    error (the job is retried). A permanent refusal is logged and the reference kept, for an admin to see.
    Safe to run twice: the second run finds no reference.
    """
    with session_scope() as session:
        call = session.get(Call, call_id)
        if call is None or not call.recording_ref or call.recording_purge_at is None:
            return "nothing"
        ref = call.recording_ref
    try:
        recordings.delete(ref)
    except recordings.RecordingError as exc:
        if not exc.permanent:
            raise
        log.error("recording_not_deleted", call_id=call_id, error=str(exc))
        return "refused"
    with session_scope() as session:
        session.execute(
            update(Call)
            .where(col(Call.id) == call_id, Call.recording_ref == ref)
            .values(recording_ref="", recording_seconds=None, updated_at=utcnow())
        )
    log.info("recording_purged", call_id=call_id)
    return "deleted"


def purged_recording_call_ids(session: Session, limit: int = SWEEP_BATCH) -> list[int]:
    """Calls whose lead was purged and whose recording still waits to be deleted at the provider."""
    return list(
        session.exec(
            select(Call.id)
            .where(col(Call.recording_purge_at).is_not(None), Call.recording_ref != "")
            .order_by(col(Call.id))
            .limit(limit)
        ).all()
    )


# --- sweeper --------------------------------------------------------------------------------------


def _alive_key(call_id: int) -> str:
    return key("call", "alive", call_id)


def mark_alive(call_id: int) -> None:
    """The bridge (or the simulated line) serving this call says it still is (see `sweep_calls`)."""
    get_redis().set(_alive_key(call_id), 1, ex=ALIVE_SECONDS)


def _served(call_ids: Sequence[int]) -> set[int] | None:
    """The calls some bridge said are alive lately; None when Redis cannot tell (then nothing is ended)."""
    if not call_ids:
        return set()
    try:
        pipe = get_redis().pipeline(transaction=False)
        for call_id in call_ids:
            pipe.exists(_alive_key(call_id))
        return {call_id for call_id, alive in zip(call_ids, pipe.execute(), strict=True) if alive}
    except Exception as exc:  # Redis down: a sweep that cannot see the bridges ends no call
        log.warning("calls_alive_check_failed", error=repr(exc))
        return None


def sweep_calls(now: datetime | None = None) -> int:
    """Catch up with calls whose job was lost: enqueue overdue requested/scheduled calls, and end calls left
    `dialing` without a provider call id by a worker that died mid-dial (outcome error, retried once), and
    calls in progress whose bridge stopped saying they are alive (a bridge that died mid-call: failed, with
    the reason, retried once).
    Returns how many calls it acted on. Safe to run any time (jobs are idempotent, waiting jobs not doubled).
    """
    now = _aware(now or utcnow())
    with session_scope() as session:
        due = session.exec(
            select(Call.id, Call.scheduled_for)
            .where(
                col(Call.status).in_(CANCELLABLE_STATUSES),
                func.coalesce(col(Call.scheduled_for), col(Call.created_at)) <= now - OVERDUE_AFTER,
            )
            .order_by(col(Call.id))
            .limit(SWEEP_BATCH)
        ).all()
        stuck = session.exec(
            select(Call.id)
            .where(
                Call.status == CallStatus.DIALING.value,
                col(Call.provider_call_sid).is_(None),
                col(Call.started_at) <= now - STUCK_DIALING_AFTER,
            )
            .order_by(col(Call.id))
            .limit(SWEEP_BATCH)
        ).all()
        streaming = session.exec(
            select(Call.id)
            .where(
                Call.status == CallStatus.IN_PROGRESS.value,
                col(Call.media_stream_sid).is_not(None),
                func.coalesce(col(Call.answered_at), col(Call.started_at)) <= now - timedelta(seconds=ALIVE_SECONDS),
            )
            .order_by(col(Call.id))
            .limit(SWEEP_BATCH)
        ).all()
    acted = sum(1 for call_id, _ in due if enqueue_place_call(call_id))
    for call_id in stuck:
        if end_call(call_id, CallStatus.FAILED.value, CallOutcome.ERROR.value, error="lost while dialling", now=now):
            acted += 1
    served = _served(list(streaming))
    orphaned = [] if served is None else [call_id for call_id in streaming if call_id not in served]
    for call_id in orphaned:
        if end_call(call_id, CallStatus.FAILED.value, CallOutcome.ERROR.value, error=BRIDGE_LOST, now=now):
            acted += 1
    if due or stuck or orphaned:
        log.info("calls_swept", overdue=len(due), stuck=len(stuck), orphaned=len(orphaned), acted=acted)
    return acted


def calls_for_lead(
    session: Session, user: User | None, lead_id: int, business_id: int, zone: ZoneInfo | None = None
) -> list[dict[str, Any]]:
    """The calls about a lead placed for one business, newest first, each with its transcript lines so far.

    Only for someone who may view those calls (the business's owner, the lead's consumer, an admin).
    """
    rows = session.exec(
        select(Call)
        .where(Call.lead_id == lead_id, Call.business_id == business_id)
        .order_by(col(Call.created_at).desc())
        .limit(10)
    ).all()
    views: list[dict[str, Any]] = []
    for call in rows:
        if not _may_act_on_call(session, user, call, view=True):
            continue
        lines = session.exec(
            select(TranscriptLine).where(TranscriptLine.call_id == call.id).order_by(col(TranscriptLine.seq))
        ).all()
        views.append(
            {
                "id": str(call.id),
                "type": call.call_type,
                "type_label": labels.call_type(call.call_type),
                "status": call.status,
                "status_label": labels.call_status(call.status),
                "outcome": call.outcome or "",
                "outcome_label": labels.call_outcome(call.outcome),
                # "tomorrow 9:00 (your time)" in the viewer's zone (`zone`, the business's; UTC when not given).
                "scheduled_for": localtime.scheduled(call.scheduled_for, utcnow(), zone or localtime.UTC_ZONE),
                "summary": call.summary,
                "has_recording": "yes" if call.recording_ref else "",
                "simulated": "yes" if is_simulated(call) else "",
                "transcript": [
                    {
                        "speaker": line.speaker,
                        "speaker_label": labels.word("speaker", line.speaker),
                        "text": line.text + (f" (heard up to {line.heard_ms} ms)" if line.heard_ms else ""),
                    }
                    for line in lines
                ],
            }
        )
    return views
