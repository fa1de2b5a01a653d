"""Requesting a call (now or in the next calling window), cancelling it, and enqueueing its `place_call` job."""

from __future__ import annotations

from datetime import datetime

from redis.exceptions import RedisError
from sqlalchemy import update
from sqlmodel import Session, col

from leadapp.core.errors import UserError
from leadapp.core.events import publish_after_commit, run_after_commit
from leadapp.core.models import Call, Lead, User, utcnow
from leadapp.core.observability import get_logger
from leadapp.core.services import access, audit
from leadapp.core.services.calls.kinds import check_kind, default_objective, parse_when
from leadapp.core.services.calls.rules import call_for, eligibility
from leadapp.core.services.calls.states import CANCELLABLE_STATUSES, _publish_call
from leadapp.core.services.calls.window import _aware, _lead_zip, calling_window
from leadapp.core.tasks import CALLS, enqueue, queue
from leadapp.core.vocab import CallStatus, CallType

log = get_logger(__name__)

PLACE_CALL_JOB = "worker.jobs.place_call"
JOB_RESULT_TTL = 7 * 24 * 3600


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
    return add_call(session, call)


def add_call(session: Session, call: Call) -> Call:
    """Add a new call; its `place_call` job is enqueued (scheduled for `call.scheduled_for`) once this commits."""
    session.add(call)
    session.flush()
    run_after_commit(session, enqueue_place_call, call.id, call.scheduled_for)
    return call


def request_call(
    session: Session,
    user: User | None,
    match_id: int,
    objective: str = "",
    call_type: str = CallType.QUALIFY_LEAD,
    when: datetime | None = None,
    now: datetime | None = None,
    when_text: str = "",
) -> Call:
    """Record an AI call request for one of the business's matches (the business's owner or an admin).

    Within the consumer's calling hours the call is `requested` and its job enqueued once this commits;
    outside them, or with `when`, it is `scheduled` for the next window at or after that time. The kind of
    call must be one the business may ask for now (`kinds.available_kinds`); without an objective it gets the
    kind's own (`kinds.default_objective`). `when_text` is the owner's chosen time as the form sends it, in the
    consumer's zone (`kinds.parse_when`: refused when past, too far or outside the consumer's calling hours).
    To an owner, a missing match, another business's and a closed request's are refused alike
    (`access.business_match`, as in `inbox`), so ids reveal nothing and a withdrawn request is never called about.
    """
    # The one refusal for a missing, foreign or closed (withdrawn, rejected, deleted) lead.
    match, lead, business = access.business_match(session, user, match_id, act=True)
    actor = access.require_business(user, business)
    verdict = eligibility(session, lead, business, match, now)
    if not verdict.allowed:
        raise UserError(verdict.reason, field="call")
    call_type = check_kind(session, lead, business, call_type, now)
    when = when or parse_when(when_text, lead, now)
    call = new_outbound_call(
        session,
        lead,
        business_id=business.id,
        requested_by_id=actor.id,
        call_type=call_type,
        objective=objective.strip()[:1500]
        or default_objective(session, lead, business, call_type, _aware(now or utcnow())),
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


def cancel_call(session: Session, actor: User | None, call_id: int) -> Call:
    """Cancel a call not dialled yet (requested or scheduled): its business's owner, the consumer for their
    callbacks, or an admin. Refused with the reason once it is being placed or is over. A job already waiting
    for it finds it cancelled and dials nothing.
    """
    call = call_for(session, actor, call_id, view=False)
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
